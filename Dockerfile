# The toolkit image: what the init containers and the artifacts sidecar run (`stores ...`).
#   docker build -t plx-stores:0.1.0 .
# then push it to your registry and point STORES_TOOLKIT_IMAGE (or --toolkit-image) at it.
# Pin the base by digest in your own build (`FROM python:3.11-slim@sha256:...`): the digest is
# the registry's, and this repository's machines cannot read Docker Hub to record one.
FROM python:3.11-slim
LABEL org.opencontainers.image.title="plx-stores" \
      org.opencontainers.image.description="Storage connections and volume mounts for ML platforms on Kubernetes" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY pyproject.toml README.md LICENSE /src/
COPY stores /src/stores
COPY k8s /src/k8s
# 65532: the user the rendered containers run as (settings.run_as_user, `runAsUser`); one UID
# for the image and the pod, so files the sidecar writes are the run's
RUN pip install --no-cache-dir "/src[s3,gcs,azure]" && rm -rf /src \
    && useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin stores
# the rendered containers run as this user with a read-only root filesystem and /tmp as an emptyDir
USER 65532
ENTRYPOINT []
CMD ["stores", "--help"]
