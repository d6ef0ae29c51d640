# syntax=docker/dockerfile:1
# kg-exporter: `docker build -t kg-exporter:0.1.0 .` (or scripts/image.sh, which CI runs).
# Runs `kg-exporter run` by default; the reference Metadata Service runs from the same image as
# `python -m kg_exporter.service ...` (deploy/overlays/with-metadata-service).

# One pinned base for both stages: what is built is what runs (same Python, same ABI). Bump the
# patch version deliberately; tests/deploy/test_image.py refuses an unpinned tag. What another
# base must provide: docs/operations.md, "The image".
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Two virtualenvs. /opt/installer has pip (from the interpreter's ensurepip) and never leaves this
# stage; /opt/kg-exporter is made without pip or setuptools, so it ends up holding exactly what
# is installed into it below, and it is the only thing the final stage takes.
RUN python -m venv /opt/installer \
 && python -m venv --without-pip /opt/kg-exporter
# The locked dependencies (requirements.lock, the versions CI tests) in a layer of their own, so a
# source change does not download them again. Binary wheels only: nothing is compiled, so no
# compiler is needed here and none can reach the final image. pip compiles the bytecode now, with
# the target interpreter: the final root filesystem is read-only.
COPY requirements.lock ./
RUN /opt/installer/bin/pip --python /opt/kg-exporter/bin/python install \
      --only-binary=:all: --no-deps --requirement requirements.lock
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY kg_exporter/ kg_exporter/
COPY kg_templates/ kg_templates/
COPY ontology/ ontology/
# Our wheel (pure Python; the build hook bundles kg_templates/ and ontology/ into it), installed
# with the lock as constraints and no index: a dependency the lock lacks, or pins to a version
# pyproject.toml does not allow, fails the build here instead of floating to whatever the index
# serves today. `pip check` then proves the environment is complete and consistent.
RUN /opt/installer/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/installer/bin/pip --python /opt/kg-exporter/bin/python install \
      --no-index --constraint requirements.lock /wheels/*.whl \
 && /opt/installer/bin/pip --python /opt/kg-exporter/bin/python check

FROM ${PYTHON_IMAGE}
# Nothing that installs packages stays in the image: the base's own pip, setuptools and wheel (the
# official image carries them; old setuptools is what image scanners flag) and the wheels that
# ensurepip or `python -m venv` would install from. The build fails if pip is still importable.
# (--break-system-packages: a pip in /usr/local of a Debian-based base is pip's to remove, but a
# PEP 668 marker makes it refuse without the flag.)
# A fixed numeric user, so Kubernetes can verify runAsNonRoot (deploy/ runs it as 10001 too).
RUN (python -m pip uninstall --yes --quiet --break-system-packages pip setuptools wheel \
      >/dev/null 2>&1 || true) \
 && rm -rf "$(python -c 'import ensurepip, os; print(os.path.dirname(ensurepip.__file__))')/_bundled" \
      /usr/share/python-wheels \
 && ! python -c 'import pip' 2>/dev/null \
 && ! python -c 'import setuptools' 2>/dev/null \
 && groupadd --system --gid 10001 kg \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin kg
COPY --from=build /opt/kg-exporter /opt/kg-exporter
ENV PATH=/opt/kg-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# /metrics, /healthz, /readyz (settings: daemon.listen).
EXPOSE 9090
ENTRYPOINT ["kg-exporter"]
CMD ["run", "--config", "/etc/kg-exporter/config/config.yaml"]
