#!/usr/bin/env bash
# Builds the product image on a machine without a Docker engine and without an image registry (README
# "Containers"): Podman + Buildah from Debian, overlay storage (vfs where overlay is refused), runc, host
# networking, and a base image made locally with debootstrap instead of pulling python:3.11-slim.
# deploy/Dockerfile itself is unchanged for everyone else: only its PYTHON_IMAGE build argument points at the
# local base here.
#
#   deploy/build-local-images.sh                   # base image if missing, then the product image
#   deploy/build-local-images.sh --rebuild-base    # debootstrap the base again first
#
# Needs root and: apt-get install podman buildah runc debootstrap
# Environment (all optional):
#   DARKREACH_IMAGE    the product image's name            (default localhost/darkreach-pipeline:latest)
#   LOCAL_BASE_IMAGE   the debootstrapped base image's name (default localhost/localbase:bookworm)
#   DEBIAN_MIRROR      the mirror debootstrap downloads from (default: the first one apt uses here)
#   DEBIAN_SUITE       the Debian release of the base; its python3 must be 3.11+ (default bookworm)
# Podman/Buildah read deploy/podman/containers.conf and storage.conf unless CONTAINERS_CONF /
# CONTAINERS_STORAGE_CONF are already set. The last line printed is the image's name and size.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${DARKREACH_IMAGE:-localhost/darkreach-pipeline:latest}"
BASE="${LOCAL_BASE_IMAGE:-localhost/localbase:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
export CONTAINERS_STORAGE_CONF="${CONTAINERS_STORAGE_CONF:-$ROOT/deploy/podman/storage.conf}"

rebuild_base=0
case "${1:-}" in
    "") ;;
    --rebuild-base) rebuild_base=1 ;;
    *) echo "usage: $0 [--rebuild-base]" >&2; exit 2 ;;
esac

missing=()
for tool in podman buildah runc debootstrap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing: ${missing[*]}; install them with: apt-get install podman buildah runc debootstrap" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "run as root: debootstrap and the storage in deploy/podman/storage.conf (/var/lib/containers) need it" >&2
    exit 1
fi

# The mirror apt uses here (deb822 "URIs:" or one-line "deb URL suite"), unless DEBIAN_MIRROR says otherwise.
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local url
    url="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | awk '/^URIs:/ {print $2} /^deb / {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; break}}' \
        | grep -v -e security -e '^$' | grep '/debian/\?$' | head -n1 || true)"
    echo "${url:-http://deb.debian.org/debian}"
}

started=$SECONDS
if [ "$rebuild_base" = 1 ] || ! podman image exists "$BASE"; then
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d /var/tmp/darkreach-base.XXXXXX)"
    trap 'rm -rf "$rootfs"' EXIT
    echo "== base image $BASE: debootstrap $SUITE from $mirror"
    # minbase + Python: what python:3.11-slim offers the Dockerfile (python3, venv/ensurepip, CA certificates).
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs" "$mirror" \
        > "$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
    rm -f "$rootfs.log"
    # As the official slim images do: no package caches, lists or documentation.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    tar --numeric-owner -C "$rootfs" -c . \
        | podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    echo "   $(podman run --rm "$BASE" python3 -c 'import sys; print("python", sys.version.split()[0])') ($((SECONDS - started)) s)"
fi
podman run --rm "$BASE" python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
    || { echo "$BASE: its python3 is older than 3.11 (pyproject.toml requires-python); use DEBIAN_SUITE=bookworm" >&2; exit 1; }

# pip inside the build needs this machine's pip configuration (index, find-links, constraints) and CA certificates:
# bind-mounted read-only into every RUN step (never copied into a layer), with the local folders they name.
mounts=()
mount_ro() { [ -e "$1" ] && mounts+=(--volume "$1:${2:-$1}:ro"); return 0; }
for conf in /etc/pip.conf /etc/xdg/pip; do mount_ro "$conf"; done
mount_ro "$HOME/.config/pip/pip.conf" /root/.config/pip/pip.conf
for bundle in /etc/ssl/certs/ca-certificates.crt "${PIP_CERT:-}" "${SSL_CERT_FILE:-}"; do
    [ -n "$bundle" ] && mount_ro "$bundle"
done
for dir in $(cat /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" 2>/dev/null \
        | grep -o -E '(file://)?/[^ ,"]+' | sed 's#^file://##' | sort -u); do
    case "$dir" in /etc/*|/root/*) continue ;; esac      # the configuration files themselves, mounted above
    case "$dir" in */simple|*/simple/) dir="$(dirname "$dir")" ;; esac   # a PEP 503 index links to ../files
    mount_ro "$dir"
done

echo "== product image $IMAGE from deploy/Dockerfile (PYTHON_IMAGE=$BASE)"
build_started=$SECONDS
# --format docker keeps the Dockerfile's HEALTHCHECK (the OCI image format has no health check field).
podman build --format docker --network host --pull=never \
    -f "$ROOT/deploy/Dockerfile" --ignorefile "$ROOT/deploy/Dockerfile.dockerignore" \
    --build-arg PYTHON_IMAGE="$BASE" "${mounts[@]}" -t "$IMAGE" "$ROOT"
size="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
echo "== built $IMAGE in $((SECONDS - build_started)) s: $((size / 1000000)) MB"
