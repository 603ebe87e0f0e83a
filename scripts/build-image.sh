#!/usr/bin/env bash
# Build the toolkit image plx-stores:<version> (what the rendered init containers and the
# artifacts sidecar run), with or without a Docker daemon.
#
#   bash scripts/build-image.sh [--tag NAME:TAG] [--engine auto|docker|buildah] [--rebuild]
#
# - With a Docker daemon (`docker info` answers) and --engine auto|docker: `docker build` of the
#   Dockerfile, base pinned by digest there.
# - Otherwise buildah (installed with apt-get when missing and run as root; the vfs storage
#   driver, chroot isolation, host network: no daemon, no overlay, no user namespaces needed)
#   builds the same Dockerfile. Its base is the pinned python:3.11-slim when the registry can be
#   reached, else a Debian bookworm root filesystem made by debootstrap (minbase + python3,
#   python3-venv, ca-certificates, passwd) from the mirror apt already uses, cached in
#   .tools/image/ and committed as localhost/plx-stores-base:bookworm. Same install steps,
#   same UID (65532), same entrypoint, same labels: the Dockerfile's.
# - An image whose io.plx-stores.source-hash label matches the checkout is not rebuilt
#   (--rebuild forces it). The image's size is printed at the end.
#
# Env: STORES_IMAGE_BASE (a base image to use as is), STORES_DEBIAN_MIRROR (the debootstrap
# mirror), STORES_BUILDAH_STORAGE_DRIVER (default vfs).
# The image lives in buildah's store (`buildah --storage-driver vfs images`); hand it to a
# cluster with `buildah push plx-stores:0.1.0 docker://<registry>/plx-stores:0.1.0` or
# `buildah push plx-stores:0.1.0 docker-archive:plx-stores.tar:plx-stores:0.1.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n1)
TAG="plx-stores:$VERSION"
ENGINE=auto
REBUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=$2; shift 2 ;;
    --tag=*) TAG=${1#--tag=}; shift ;;
    --engine) ENGINE=$2; shift 2 ;;
    --engine=*) ENGINE=${1#--engine=}; shift ;;
    --rebuild) REBUILD=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$ENGINE" in auto|docker|buildah) ;; *) echo "build-image.sh: --engine is auto, docker or buildah" >&2; exit 2 ;; esac

log() { printf 'build-image: %s\n' "$*" >&2; }
START=$(date +%s)

# the pinned base of the Dockerfile (ARG BASE=...)
PINNED_BASE=$(sed -n 's/^ARG BASE=//p' Dockerfile | head -n1)
grep -q "org.opencontainers.image.version=\"$VERSION\"" Dockerfile \
  || { echo "build-image.sh: the Dockerfile's version label is not pyproject's $VERSION" >&2; exit 1; }

# what goes into the image: the Dockerfile and the files it copies (not caches)
SOURCE_HASH=$(find Dockerfile .dockerignore pyproject.toml README.md LICENSE stores k8s -type f \
                -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 | LC_ALL=C sort -z \
              | xargs -0 sha256sum | sha256sum | cut -c1-16)

# ---- with a Docker daemon: the Dockerfile as it is --------------------------------------------
if [ "$ENGINE" != buildah ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  log "docker daemon found: docker build -t $TAG"
  docker build --build-arg "SOURCE_HASH=$SOURCE_HASH" -t "$TAG" .
  log "built $TAG in $(( $(date +%s) - START )) s"
  echo "$TAG size: $(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
  exit 0
fi
if [ "$ENGINE" = docker ]; then
  echo "build-image.sh: --engine docker, but no Docker daemon answers (docker info)" >&2
  exit 1
fi

# ---- buildah, no daemon ----------------------------------------------------------------------
need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "build-image.sh: needs ${need[*]} (apt-get install ${need[*]}, as root)" >&2
    exit 1
  fi
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
if [ "$(id -u)" != 0 ]; then
  echo "build-image.sh: buildah with chroot isolation and the vfs driver runs as root here" >&2
  exit 1
fi
BUILDAH=(buildah --storage-driver "${STORES_BUILDAH_STORAGE_DRIVER:-vfs}")

image_label() {  # image label -> value ('' when the image or the label is absent)
  "${BUILDAH[@]}" inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}
print_size() {
  local size
  size=$("${BUILDAH[@]}" images --noheading --format '{{.Size}}' "$TAG" | head -n1)
  echo "$TAG size: $size"
}

if [ "$REBUILD" = 0 ] && [ "$(image_label "$TAG" io.plx-stores.source-hash)" = "$SOURCE_HASH" ]; then
  log "$TAG is up to date with the checkout (source hash $SOURCE_HASH; --rebuild to build anyway)"
  print_size
  exit 0
fi

# the Debian mirror apt already uses (deb822 .sources or one-line .list), else deb.debian.org
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk 'BEGIN{RS=""} /Suites:[^\n]*(^|[ \t])bookworm([ \t]|$|\n)/ && /Components:[^\n]*main/ {
                 if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while (i<=NF && $i !~ /\]$/) i++; i++ }
                 if ($(i+1)=="bookworm") { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo http://deb.debian.org/debian
}

registry_reachable() {
  command -v curl >/dev/null 2>&1 || return 1
  local code
  code=$(curl -s -o /dev/null --connect-timeout 5 --max-time 10 -w '%{http_code}' https://registry-1.docker.io/v2/ || true)
  [ -n "$code" ] && [ "$code" != 000 ]
}

DEBIAN_PACKAGES=python3,python3-venv,ca-certificates,passwd
BASE_IMAGE=localhost/plx-stores-base:bookworm
if [ -n "${STORES_IMAGE_BASE:-}" ]; then
  BASE=$STORES_IMAGE_BASE
  log "base: $BASE (STORES_IMAGE_BASE)"
elif registry_reachable && "${BUILDAH[@]}" pull -q "$PINNED_BASE" >/dev/null 2>&1; then
  BASE=$PINNED_BASE
  log "base: $BASE (pulled)"
else
  BASE=$BASE_IMAGE
  CACHE=$ROOT/.tools/image
  TARBALL=$CACHE/bookworm-minbase.tar
  BASE_KEY="bookworm minbase $DEBIAN_PACKAGES"
  if [ "$(image_label "$BASE_IMAGE" io.plx-stores.base)" != "$BASE_KEY" ]; then
    if [ ! -s "$TARBALL" ] || [ "$(cat "$TARBALL.key" 2>/dev/null)" != "$BASE_KEY" ]; then
      MIRROR=${STORES_DEBIAN_MIRROR:-$(debian_mirror)}
      log "the pinned base cannot be pulled: debootstrap bookworm from $MIRROR (cached in .tools/image/)"
      mkdir -p "$CACHE"
      ROOTFS=$(mktemp -d "$CACHE/rootfs.XXXXXX")
      trap 'rm -rf "$ROOTFS"' EXIT
      t0=$(date +%s)
      debootstrap --variant=minbase --include="$DEBIAN_PACKAGES" bookworm "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
      rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log
      tar -C "$ROOTFS" --numeric-owner -cf "$TARBALL.part" .
      mv "$TARBALL.part" "$TARBALL"
      echo "$BASE_KEY" >"$TARBALL.key"
      rm -rf "$ROOTFS"
      trap - EXIT
      log "debootstrap took $(( $(date +%s) - t0 )) s"
    else
      log "the pinned base cannot be pulled: base root filesystem from the cache .tools/image/bookworm-minbase.tar"
    fi
    ctr=$("${BUILDAH[@]}" from scratch)
    "${BUILDAH[@]}" add "$ctr" "$TARBALL" / >/dev/null
    "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
      --cmd /bin/sh --label "io.plx-stores.base=$BASE_KEY" "$ctr"
    "${BUILDAH[@]}" commit -q --rm "$ctr" "$BASE_IMAGE" >/dev/null
  fi
  log "base: $BASE_IMAGE (debootstrap, Debian bookworm)"
fi

log "buildah bud -t $TAG (vfs, chroot isolation, host network; log in .tools/image/build.log)"
mkdir -p .tools/image
# the host's CA bundle, for the RUN step only (not in the image): where egress goes through a
# TLS-intercepting proxy, its CA is there and pip needs it to reach PyPI
HOST_CA=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  HOST_CA=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
fi
OLD_ID=$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$TAG" 2>/dev/null || true)
"${BUILDAH[@]}" bud --isolation chroot --network host --pull=false --layers=false "${HOST_CA[@]}" \
  --build-arg "BASE=$BASE" --build-arg "SOURCE_HASH=$SOURCE_HASH" -t "$TAG" -f Dockerfile . >.tools/image/build.log 2>&1 \
  || { tail -n 30 .tools/image/build.log >&2; echo "build-image.sh: buildah bud failed" >&2; exit 1; }
# the earlier build of this tag, now untagged
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$TAG")" ]; then
  "${BUILDAH[@]}" rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
log "built $TAG in $(( $(date +%s) - START )) s"
print_size
