#!/usr/bin/env bash
# make-golden.sh [--new-keys] [OUT_DIR]: builds the golden bundle from a tiny
# rootfs made here and the committed keys in tests/vectors/keys/, and writes
# OUT_DIR/golden.imab and OUT_DIR/golden.expected (the `imab-verify verify
# --json` report of it). OUT_DIR defaults to tests/vectors/ (regenerating the
# committed vector: see tests/vectors/README.md for when); check-golden.sh
# builds into a temporary folder and compares.
#
# Everything that goes into the manifest is fixed: the rootfs is a tarball
# with sorted names, owner 0:0 and one mtime, SOURCE_DATE_EPOCH pins
# `created`, and the IMA/EVM key is RSA (PKCS#1 v1.5 signatures are
# deterministic). Only manifest.sig changes from run to run (ECDSA).
#
# --new-keys replaces the keys (every byte of the vector changes): only when
# the committed ones can no longer serve (they are valid until 2125).
# IMAB_BUILD_BIN / IMAB_VERIFY_BIN name the executables (default: build/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build_bin=${IMAB_BUILD_BIN:-$root/build/builder/imab-build}
verify_bin=${IMAB_VERIFY_BIN:-$root/build/verifier/imab-verify}
readonly epoch=1700000000

new_keys=0
if [ "${1:-}" = --new-keys ]; then
  new_keys=1
  shift
fi
out=$(mkdir -p "${1:-$here}" && cd "${1:-$here}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Release CA and signer (as scripts/make-dev-keys.sh, valid 100 years) and an
# RSA-2048 IMA/EVM signing key with a self-signed certificate.
make_keys() {
  local k=$here/keys
  rm -rf "$k"
  mkdir -p "$k"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 36500 -subj "/O=imabundle golden/CN=Golden Release CA" \
    -keyout "$k/release-ca.key" -out "$k/release-ca.pem" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=imabundle golden/CN=Golden Release Signing" \
    -keyout "$k/release.key" -out "$work/release.csr" 2>/dev/null
  printf '%s\n' basicConstraints=critical,CA:FALSE \
    keyUsage=critical,digitalSignature extendedKeyUsage=critical,codeSigning \
    subjectKeyIdentifier=hash authorityKeyIdentifier=keyid >"$work/leaf.ext"
  openssl x509 -req -in "$work/release.csr" -CA "$k/release-ca.pem" \
    -CAkey "$k/release-ca.key" -CAcreateserial -CAserial "$work/ca.srl" \
    -days 36500 -extfile "$work/leaf.ext" -out "$k/release.pem" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 36500 \
    -subj "/O=imabundle golden/CN=Golden IMA Signing" \
    -keyout "$k/ima.key" -out "$k/ima.pem" \
    -addext basicConstraints=critical,CA:FALSE \
    -addext keyUsage=critical,digitalSignature 2>/dev/null
  chmod 600 "$k"/*.key
}

# Each kind of record the payload can carry but devices: directories
# (one sticky), files (setuid, empty, a name that needs percent-encoding),
# a symlink and a hard link.
make_rootfs() {
  local r=$work/rootfs
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/usr/bin"
  printf 'golden init\n' >"$r/bin/sh"
  printf 'hello from the golden bundle\n' >"$r/etc/motd"
  printf 'a name with a space\n' >"$r/etc/with space"
  : >"$r/etc/empty"
  printf 'setuid\n' >"$r/usr/bin/su"
  ln -s ../bin/sh "$r/usr/bin/sh"
  ln "$r/bin/sh" "$r/usr/bin/init"
  chmod 0755 "$r" "$r/bin" "$r/etc" "$r/usr" "$r/usr/bin" "$r/bin/sh"
  chmod 1777 "$r/tmp"
  chmod 0644 "$r/etc/motd" "$r/etc/with space" "$r/etc/empty"
  chmod 4755 "$r/usr/bin/su"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$epoch \
    --format=gnu -C "$r" -cf "$work/rootfs.tar" .
}

if [ "$new_keys" = 1 ]; then
  make_keys
fi
make_rootfs
SOURCE_DATE_EPOCH=$epoch "$build_bin" build --rootfs "$work/rootfs.tar" \
  --version 1.0.0 --compatible golden-board \
  --signing-key "$here/keys/release.key" --signing-cert "$here/keys/release.pem" \
  --ima-key "$here/keys/ima.key" --ima-cert "$here/keys/ima.pem" \
  --threads 0 --output "$out/golden.imab" >/dev/null 2>"$work/build.err" || {
  cat "$work/build.err" >&2
  exit 1
}
# The report names the CA as given: run from tests/vectors/ with a relative
# path so it reads the same wherever the tree is.
(cd "$here" && "$verify_bin" verify --json --release-ca keys/release-ca.pem \
  "$out/golden.imab") >"$out/golden.expected"
echo "wrote $out/golden.imab ($(wc -c <"$out/golden.imab") bytes) and golden.expected"
