# The toolkit image: what the init containers and the artifacts sidecar run (`stores ...`).
#   docker build -t plx-stores:0.1.0 .
# then push it to your registry and point STORES_TOOLKIT_IMAGE (or --toolkit-image) at it.
FROM python:3.11-slim
COPY pyproject.toml README.md /src/
COPY stores /src/stores
COPY k8s /src/k8s
RUN pip install --no-cache-dir "/src[s3,gcs,azure]" && rm -rf /src \
    && useradd --uid 1000 --no-create-home --shell /usr/sbin/nologin stores
# the rendered containers run as this user with a read-only root filesystem and /tmp as an emptyDir
USER 1000
ENTRYPOINT []
CMD ["stores", "--help"]
