#!/usr/bin/env bash
# Refresh requirements.lock, the pinned runtime dependencies of kg-exporter (everything
# `pip install .` pulls in, with exact versions). The Dockerfile installs exactly these; CI
# installs the tests' environment constrained by them, so the image carries the tested versions.
#
#   scripts/lock.sh                          # re-resolve after editing pyproject.toml; other pins kept
#   scripts/lock.sh --upgrade                # every dependency to its newest allowed release
#   scripts/lock.sh --upgrade-package NAME   # just that one
#
# uv, not pip-compile: uv reads no pip configuration, so a machine's own wheelhouse, extra indexes
# or global constraints (these machines have all three in pip.conf) cannot leak into the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || true)
[ -n "$uv" ] || [ ! -x .venv/bin/uv ] || uv=.venv/bin/uv
if [ -z "$uv" ]; then
  echo "scripts/lock.sh needs uv: .venv/bin/pip install 'uv>=0.9'" >&2
  exit 2
fi
# Python 3.11 on Linux: the interpreter of the image's base and of CI.
exec "$uv" pip compile pyproject.toml --quiet --python-version 3.11 --python-platform linux \
  --custom-compile-command scripts/lock.sh --output-file requirements.lock "$@"
