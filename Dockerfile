# syntax=docker/dockerfile:1
# kg-exporter: `docker build -t kg-exporter:0.1.0 .`
# Runs `kg-exporter run` by default; the reference Metadata Service runs from the same image as
# `python -m kg_exporter.service ...` (deploy/overlays/with-metadata-service).

# One pinned base for both stages: what is built is what runs (same Python, same ABI). Bump the
# patch version deliberately; tests/deploy/test_image.py refuses an unpinned tag.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# A virtualenv is one directory to copy into the final stage, and nothing else of this stage.
RUN python -m venv /opt/kg-exporter
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY kg_exporter/ kg_exporter/
COPY kg_templates/ kg_templates/
COPY ontology/ ontology/
# Our wheel first (pure Python; the build hook bundles kg_templates/ and ontology/ into it), then
# every dependency as a binary wheel only: nothing is compiled, so no compiler is needed here and
# none can end up in the final image. pip compiles the bytecode now: the final root filesystem is
# read-only. pip itself is removed from the venv: nothing installs anything at run time.
RUN /opt/kg-exporter/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/kg-exporter/bin/pip install --only-binary=:all: /wheels/*.whl \
 && /opt/kg-exporter/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE}
# A fixed numeric user, so Kubernetes can verify runAsNonRoot (deploy/ runs it as 10001 too).
RUN groupadd --system --gid 10001 kg \
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
