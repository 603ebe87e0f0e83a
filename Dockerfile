# The toolkit image: what the init containers and the artifacts sidecar run (`stores ...`).
#   docker build -t plx-stores:0.1.0 .
# then push it to your registry and point STORES_TOOLKIT_IMAGE (or --toolkit-image) at it.
#
# Without a Docker daemon, or where the base below cannot be pulled, `bash scripts/build-image.sh`
# builds this same file with buildah, on a Debian bookworm root filesystem made by debootstrap
# (passed as BASE); see docs/reference/toolkit-image.md.
#
# The base is pinned by digest. The digest is the one public Dockerfiles pin for
# python:3.11-slim; Docker Hub cannot be read from this repository's CI machines, so re-pin it
# from your registry (`docker buildx imagetools inspect python:3.11-slim`) when you build.
ARG BASE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${BASE}
# set by scripts/build-image.sh: a hash of what is copied in, so an unchanged checkout is not rebuilt
ARG SOURCE_HASH=unknown
LABEL org.opencontainers.image.title="plx-stores" \
      org.opencontainers.image.description="Storage connections and volume mounts for ML platforms on Kubernetes" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.plx-stores.source-hash="${SOURCE_HASH}"
COPY pyproject.toml README.md LICENSE /src/
COPY stores /src/stores
COPY k8s /src/k8s
# one virtualenv, with the pip the base's Python brings (not upgraded: the extras must resolve
# with the oldest pip the image supports, Debian bookworm's 23.0.1; tests/test_installability.py)
# 65532: the user the rendered containers run as (settings.run_as_user, `runAsUser`); one UID
# for the image and the pod, so files the sidecar writes are the run's
RUN python3 -m venv /opt/stores \
    && /opt/stores/bin/pip install --no-cache-dir --disable-pip-version-check "/src[s3,gcs,azure]" \
    && rm -rf /src \
    && groupadd --gid 65532 stores \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin stores
ENV PATH=/opt/stores/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1
# the rendered containers run as this user with a read-only root filesystem and /tmp as an emptyDir
USER 65532:65532
ENTRYPOINT []
CMD ["stores", "--help"]
