#!/usr/bin/env bash
# The toolkit image's tests (tests/image/, issue 22): build the image with scripts/build-image.sh
# (buildah, no daemon; seconds when the image is up to date with the checkout), then run the
# rendered init containers and sidecar in it against the S3 / GCS / Azure emulators.
# Runs as root (buildah's chroot isolation and vfs driver, the tests' mount namespaces).
# Extra arguments go to pytest, e.g. `scripts/test-image.sh -k sidecar -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-image.sh
STORES_IMAGE_TESTS=1 exec bash scripts/test.sh tests/image "$@"
