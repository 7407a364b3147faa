#!/usr/bin/env bash
# Builds the image's default base from Debian's packages: a minimal Debian root file system with a headless
# Java 17 runtime, a user "zapi" (uid and gid 10001) and /data owned by it, saved as a `docker save` tarball that
# Jib reads as its base through tar://. No registry and no container engine are needed; debootstrap, root and
# network access to the Debian mirror are.
#
#   deploy/image/build-base.sh <output tarball> [<image.base>]
#
# The second argument is the base Jib is given (-Dimage.base): when it is not tar://<output tarball>, a base of the
# user's own is used and nothing is built.
#
# The tarball is built once: it is kept while this script and the suite and mirror it names are unchanged
# (delete it to build it again). Settings, from the environment:
#   DEBIAN_SUITE   default bookworm
#   DEBIAN_MIRROR  default http://deb.debian.org/debian
set -euo pipefail

out=${1:?usage: build-base.sh <output tarball> [<image.base>]}
base=${2:-tar://$out}
if [[ "$base" != "tar://$out" ]]; then
  echo "build-base: the image is built on $base; no Debian base is built"
  exit 0
fi
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
uid=10001
script_dir=$(cd "$(dirname "$0")" && pwd)
stamp="$(sha256sum "$script_dir/build-base.sh" | cut -d' ' -f1) $suite $mirror"

if [[ -f "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; then
  echo "build-base: $out is up to date"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "build-base: debootstrap needs root; run the build as root, or name a registry base with -Dimage.base=..." >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "build-base: debootstrap is missing: apt-get install -y debootstrap" \
       "(or name a registry base with -Dimage.base=...)" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$(realpath "$out")")/.base-XXXXXX")
rootfs="$work/rootfs"
cleanup() {
  # debootstrap mounts proc and sys inside the root file system while packages are configured
  for mounted in "$rootfs/proc" "$rootfs/sys" "$rootfs/dev/pts"; do
    if mountpoint -q "$mounted" 2>/dev/null; then umount -l "$mounted" || true; fi
  done
  # --one-file-system: never into a mount left behind
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "build-base: debootstrap $suite from $mirror (a few minutes, once)"
debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates "$suite" "$rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -50 "$work/debootstrap.log" >&2; exit 1; }

chroot "$rootfs" groupadd --gid "$uid" zapi
chroot "$rootfs" useradd --uid "$uid" --gid "$uid" --home-dir /data --no-create-home \
  --shell /usr/sbin/nologin zapi
install -d -o "$uid" -g "$uid" -m 0750 "$rootfs/data"

# what a runtime image does not need: package caches and lists, documentation, the devices debootstrap made
# (a container engine provides /dev, /proc and /sys)
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
find "$rootfs/dev" -mindepth 1 -delete
java_home=$(dirname "$(dirname "$(readlink -f "$rootfs/usr/bin/java" | sed "s|^$rootfs||")")")
test -x "$rootfs$java_home/bin/java"

# a `docker save` tarball: one layer, its config, and manifest.json naming them
image="$work/image"
mkdir -p "$image"
tar --numeric-owner --sort=name -C "$rootfs" -cf "$image/layer.tar" .
layer_sha=$(sha256sum "$image/layer.tar" | cut -d' ' -f1)
mkdir "$image/$layer_sha"
mv "$image/layer.tar" "$image/$layer_sha/layer.tar"
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$image/config.json" <<JSON
{"architecture":"$(dpkg --print-architecture)","os":"linux","created":"$created",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=$java_home","LANG=C.UTF-8"],
           "User":"$uid:$uid","WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]},
 "history":[{"created":"$created","created_by":"deploy/image/build-base.sh: debootstrap $suite openjdk-17-jre-headless"}]}
JSON
config_sha=$(sha256sum "$image/config.json" | cut -d' ' -f1)
mv "$image/config.json" "$image/$config_sha.json"
cat > "$image/manifest.json" <<JSON
[{"Config":"$config_sha.json","RepoTags":["zapi-send-call-base:$suite"],"Layers":["$layer_sha/layer.tar"]}]
JSON
tar -C "$image" -cf "$out.tmp" manifest.json "$config_sha.json" "$layer_sha"
mv "$out.tmp" "$out"
echo "$stamp" > "$out.stamp"
echo "build-base: $out ($(du -h "$out" | cut -f1))"
