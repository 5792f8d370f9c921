#!/usr/bin/env bash
# Regenerates the seed corpora of the binary fuzz targets (initramfs,
# trust_root, ima_xattr) with cpio, gzip, zstd, openssl and imab-build.
# Usage: tests/fuzz/make_binary_seeds.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"

# initramfs: keys as files, as a symlink, in every compression, and broken.
out=$here/corpus/initramfs; rm -rf "$out"; mkdir -p "$out"
mkdir -p tree/etc/keys tree/bin
printf '#!/bin/sh\n' > tree/init
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \
  -subj /CN=seed -days 3650 -outform DER -out tree/etc/keys/x509_evm.der 2>/dev/null
ln -s x509_evm.der tree/etc/keys/x509_ima.der
(cd tree && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out/keys_symlink_plain"
gzip -n -c "$out/keys_symlink_plain" > "$out/keys_symlink_gzip"
zstd -q -c "$out/keys_symlink_plain" > "$out/keys_symlink_zstd"
rm tree/etc/keys/x509_ima.der; cp tree/etc/keys/x509_evm.der tree/etc/keys/x509_ima.der
(cd tree && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out/keys_files_plain"
# An early microcode-style archive, then the main one compressed.
(cd tree && echo ./init | cpio -o -H newc --quiet) > early
cat early "$out/keys_symlink_gzip" > "$out/two_segments"
head -c 300 "$out/keys_files_plain" > "$out/bad_truncated"
printf 'not an initramfs' > "$out/bad_garbage"

# trust_root: one valid self-signed root, and a damaged copy.
out=$here/corpus/trust_root; rm -rf "$out"; mkdir -p "$out"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -subj /CN=release-ca -days 3650 -out ca.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out root.key 2>/dev/null
"$build/builder/imab-build" trust-root create --version 1 --threshold 1 \
  --release-ca ca.pem --key root.key --out "$out/valid" >/dev/null
sed 's/threshold 1/threshold 2/' "$out/valid" > "$out/bad_threshold"

# ima_xattr: the forms the kernel knows, and broken headers.
out=$here/corpus/ima_xattr; rm -rf "$out"; mkdir -p "$out"
printf '\x04\x04' > "$out/digest_sha256"; head -c 32 /dev/zero >> "$out/digest_sha256"
printf '\x01' > "$out/digest_sha1"; head -c 20 /dev/zero >> "$out/digest_sha1"
printf 'x' > data
openssl dgst -sha256 -binary data > dg
openssl pkeyutl -sign -inkey k.pem -in dg -out sig -pkeyopt digest:sha256
len=$(stat -c %s sig)
for type in 03 05; do
  printf "\\x$type\\x02\\x04\\x12\\x34\\x56\\x78\\x00\\x$(printf %02x "$len")" > "$out/sig_$type"
  cat sig >> "$out/sig_$type"
done
printf '\x03\x01\x04\x12\x34\x56\x78\x00\x01\x00' > "$out/bad_version"
printf '\x03\x02' > "$out/bad_short"
