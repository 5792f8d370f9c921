#!/usr/bin/env bash
# build-kernel.sh VERSION CA_PEM: builds (once) a small IMA/EVM kernel from
# Debian's linux-source-VERSION with CA_PEM compiled in as its only trusted
# key, and prints the path of its bzImage.
#
# Everything is cached outside the clone, under $IMAB_KERNEL_CACHE (default
# ~/.cache/imabundle/kernel):
#   src-VERSION-PKGVER/              the unpacked source, shared by builds
#   build-VERSION-PKGVER-CONF/       the build tree, kept: a new CA costs a
#                                    relink, not a rebuild
#   bzImage-VERSION-PKGVER-CONF-CA   one image per CA
# CONF is the hash of kernel.options, CA the hash of CA_PEM.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=${1:?usage: build-kernel.sh VERSION CA_PEM}
ca=${2:?usage: build-kernel.sh VERSION CA_PEM}
cache=${IMAB_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imabundle/kernel}
tarball=/usr/src/linux-source-$version.tar.xz

log() { printf 'build-kernel %s: %s\n' "$version" "$*" >&2; }
die() { log "$*"; exit 1; }

[ -f "$tarball" ] || die "$tarball missing (apt-get install linux-source-$version)"
[ -f "$ca" ] || die "CA $ca missing"
pkgver=$(dpkg-query -W -f='${Version}' "linux-source-$version")
conf=$(sha256sum <"$here/kernel.options" | cut -c1-12)
cahash=$(sha256sum <"$ca" | cut -c1-12)
src=$cache/src-$version-$pkgver
build=$cache/build-$version-$pkgver-$conf
image=$cache/bzImage-$version-$pkgver-$conf-$cahash

mkdir -p "$cache"
if [ -f "$image" ]; then echo "$image"; exit 0; fi

# One builder per version at a time; others wait, then find the image.
exec 9>"$cache/.lock-$version"
flock 9
if [ -f "$image" ]; then echo "$image"; exit 0; fi

if [ ! -f "$src/Makefile" ]; then
  log "unpacking $tarball"
  rm -rf "$src.tmp" && mkdir -p "$src.tmp"
  tar -xf "$tarball" -C "$src.tmp" --strip-components=1
  rm -rf "$src" && mv "$src.tmp" "$src"
fi

options() { grep -v -e '^#' -e '^$' -e '^!' "$here/kernel.options"; }
options_off() { sed -n 's/^!//p' "$here/kernel.options"; }

configure() {
  log "configuring $build"
  rm -rf "$build" && mkdir -p "$build"
  cp "$ca" "$build/test-ca.pem"
  make -s -C "$src" O="$build" tinyconfig >/dev/null
  local args=() o
  while read -r o; do args+=(-e "$o"); done < <(options)
  while read -r o; do args+=(-d "$o"); done < <(options_off)
  "$src/scripts/config" --file "$build/.config" "${args[@]}" \
    --set-str SYSTEM_TRUSTED_KEYS test-ca.pem --set-str IMA_DEFAULT_HASH sha256 \
    -e IMA_DEFAULT_HASH_SHA256
  make -s -C "$src" O="$build" olddefconfig >/dev/null
  local missing=()
  while read -r o; do
    grep -qx "CONFIG_$o=y" "$build/.config" || missing+=("$o")
  done < <(options)
  while read -r o; do
    ! grep -qx "CONFIG_$o=y" "$build/.config" || missing+=("!$o")
  done < <(options_off)
  [ ${#missing[@]} -eq 0 ] || die "options not =y after olddefconfig: ${missing[*]}"
  touch "$build/.configured"
}

[ -f "$build/.configured" ] || configure
# A changed CA: copy it in (kbuild then rebuilds the certificate list and
# relinks). cmp keeps the mtime when nothing changed.
cmp -s "$ca" "$build/test-ca.pem" || cp "$ca" "$build/test-ca.pem"
log "building (first build takes minutes; log in $build/make.log)"
if ! make -C "$src" O="$build" -j"$(nproc)" bzImage >"$build/make.log" 2>&1; then
  tail -20 "$build/make.log" >&2
  die "kernel build failed"
fi
cp "$build/arch/x86/boot/bzImage" "$image.tmp"
mv "$image.tmp" "$image"
echo "$image"
