#!/usr/bin/env bash
# Build the kg-exporter image from the Dockerfile, with whatever container tooling this machine has.
#
#   scripts/image.sh [build]   build it (tag: $KG_IMAGE, default localhost/kg-exporter:dev)
#   scripts/image.sh env       print ENGINE=, IMAGE= and the engine's environment as KEY=VALUE
#                              lines: what tests/image needs to run the image the same way
#
# With a Docker engine that answers (`docker info`), it is a plain `docker build` on the
# Dockerfile's pinned base. Without one, buildah builds and podman runs, which is how CI and the
# development machines do it: they have no Docker engine and reach no container registry, so the
# base is made locally from Debian packages (mmdebstrap: Debian 12's python3 3.11, see
# docs/operations.md for what a base must provide) and passed as PYTHON_IMAGE. Set PYTHON_IMAGE
# yourself to build on another base, KG_IMAGE_ENGINE=docker|podman to choose the engine.
#
# podman and buildah get a configuration of their own under $KG_IMAGE_WORK (default
# /var/tmp/kg-exporter-image; /etc/containers is left alone), with what these machines need:
#  - runc: crun refuses their hybrid cgroup v1/v2 setup; cgroupfs, events to a file (no systemd);
#  - rlimits below the current hard limits: without CAP_SYS_RESOURCE, podman's default
#    nofile/nproc of 1048576 makes the runtime fail with "setrlimit ...: operation not permitted";
#  - overlay storage; KG_IMAGE_STORAGE_DRIVER=vfs where the kernel cannot stack overlays (inside a
#    container), at the cost of a full copy of the image for every layer and container.
# The build stage's pip must trust the CA of the machine's TLS-intercepting egress proxy: the host
# bundle is lent to the build's RUN steps through mounts, so none of it lands in the image.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${KG_IMAGE:-localhost/kg-exporter:dev}
WORK=${KG_IMAGE_WORK:-/var/tmp/kg-exporter-image}
DEBIAN_SUITE=bookworm
# What the local base holds (see make_local_base); its tag changes with this list, so editing it
# makes a new base instead of reusing an old one.
BASE_PACKAGES=python3,python3-venv,python-is-python3,passwd,ca-certificates,libstdc++6
LOCAL_BASE=localhost/kg-exporter-base:$DEBIAN_SUITE-$(echo "$BASE_PACKAGES" | sha256sum | cut -c1-8)

log() { echo "image.sh: $*" >&2; }
die() { log "$*"; exit 1; }
timed() {
  local start=$SECONDS
  "$@"
  log "$((SECONDS - start)) s: $1"
}

choose_engine() {
  if [ -n "${KG_IMAGE_ENGINE:-}" ]; then
    echo "$KG_IMAGE_ENGINE"
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo docker
  elif command -v podman >/dev/null 2>&1 && command -v buildah >/dev/null 2>&1; then
    echo podman
  else
    echo none
  fi
}

configure_podman() {
  mkdir -p "$WORK"
  local hard nofile
  hard=$(ulimit -Hn)
  nofile=$((hard < 65536 ? hard : 65536))
  cat >"$WORK/storage.conf" <<CONF
[storage]
driver = "${KG_IMAGE_STORAGE_DRIVER:-overlay}"
runroot = "$WORK/run"
graphroot = "$WORK/storage"
CONF
  cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
  export CONTAINERS_STORAGE_CONF="$WORK/storage.conf" CONTAINERS_CONF="$WORK/containers.conf"
}

print_env() {
  echo "ENGINE=$1"
  echo "IMAGE=$IMAGE"
  if [ "$1" = podman ]; then
    echo "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
    echo "CONTAINERS_CONF=$CONTAINERS_CONF"
  fi
}

# Debian's python3 (3.11 in bookworm) and no more than the image needs: `python` (both stages),
# venv with ensurepip (the build stage's pip), groupadd/useradd (the final stage's user), CA
# certificates (the build's pip, and TLS when no CA file is configured), and libstdc++, which
# manylinux wheels expect from the system (pyoxigraph does not import without it). The "essential"
# variant has no apt; a merged /usr without the usrmerge package (which pulls in perl); no
# documentation, manual pages or translations.
make_local_base() {
  command -v mmdebstrap >/dev/null 2>&1 ||
    die "no container registry base and no mmdebstrap to make one: apt-get install mmdebstrap"
  local sources=() hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  # dpkg syncs every file it writes; a throw-away root filesystem needs none of that.
  if command -v eatmydata >/dev/null 2>&1 && [ -d /usr/share/mmdebstrap/hooks/eatmydata ]; then
    hooks+=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)
  fi
  # The machine's own Debian sources (mirror, updates, security), when it has them.
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ]; then sources=("$f"); break; fi
  done
  mmdebstrap --quiet --variant=essential "${hooks[@]}" \
    --include="$BASE_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    "$DEBIAN_SUITE" - "${sources[@]}" | podman import --quiet - "$LOCAL_BASE" >/dev/null
}

build_with_docker() {
  local args=()
  [ -z "${PYTHON_IMAGE:-}" ] || args=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
  docker build "${args[@]}" --tag "$IMAGE" .
}

build_with_buildah() {
  local base=${PYTHON_IMAGE:-}
  if [ -z "$base" ]; then
    base=$LOCAL_BASE
    podman image exists "$base" || timed make_local_base
  fi
  local mounts=()
  # The bundle pip is told to use, else the system's (Debian's path; here it holds the proxy's CA,
  # and CI may run without the variables).
  local ca=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
  if [ -n "$ca" ] && [ -f "$ca" ]; then
    printf '[global]\ncert = /run/kg-build/ca.crt\n' >"$WORK/pip-build.conf"
    mounts=(--volume "$WORK/pip-build.conf:/etc/pip.conf:ro" --volume "$ca:/run/kg-build/ca.crt:ro")
  fi
  # --layers: a rebuild after a source change reuses the layer of locked dependencies.
  buildah bud --layers --isolation chroot --build-arg "PYTHON_IMAGE=$base" \
    "${mounts[@]}" --tag "$IMAGE" .
}

engine=$(choose_engine)
case "$engine" in
  docker) ;;
  podman) configure_podman ;;
  *) die "no container engine: a Docker engine, or podman + buildah (Debian: apt-get install podman buildah runc mmdebstrap)" ;;
esac

case "${1:-build}" in
  env) print_env "$engine" ;;
  build)
    if [ "$engine" = docker ]; then
      timed build_with_docker
      size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
    else
      timed build_with_buildah
      size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
    fi
    log "$IMAGE: $((size / 1000000)) MB"
    ;;
  *) die "usage: scripts/image.sh [build|env]" ;;
esac
