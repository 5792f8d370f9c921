#!/usr/bin/env bash
# Regenerates the seed corpora of the verifier-side fuzz targets
# (cms_shape, payload_stream, manifest_sections, cpio, ima_policy,
# device_config, slot_state_file, kernel_image) from a bundle imab-build
# makes, cpio, openssl, the example policies and device.conf.md.
# Usage: tests/fuzz/make_verifier_seeds.sh BUILD_DIR
# (the corpora committed are these seeds merged with what fuzzing found;
# see README.md).
set -euo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
# A corpus folder emptied of everything but the crash reproducers (crash_*).
fresh() {
  mkdir -p "$here/corpus/$1"
  find "$here/corpus/$1" -type f ! -name 'crash_*' -delete
  echo "$here/corpus/$1"
}
cert() {  # cert NAME CN [EXTRA openssl req args]: NAME.key, NAME.pem
  local name=$1 cn=$2; shift 2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -subj "/CN=$cn" -days 3650 "$@" -out "$name.pem" 2>/dev/null
}

# A small image: a script, a symlink, an initramfs, a CA store input.
mkdir -p tree/etc tree/usr/bin tree/boot tree/usr/share/ca-certificates/local
echo root:x:0:0 > tree/etc/passwd
printf '#!/bin/sh\necho hi\n' > tree/usr/bin/hello; chmod 755 tree/usr/bin/hello
ln -s usr/bin tree/bin
cp "$here/corpus/initramfs/keys_files_plain" tree/boot/initrd.img-6.1
cert rel release; cert ima ima -addext keyUsage=digitalSignature
cert store "Seed Store CA" -addext basicConstraints=critical,CA:TRUE
cp store.pem tree/usr/share/ca-certificates/local/seed.crt
echo local/seed.crt > tree/etc/ca-certificates.conf
"$build/builder/imab-build" build --rootfs tree --version 1.0 --compatible board-x \
  --signing-key rel.key --signing-cert rel.pem --ima-key ima.key --ima-cert ima.pem \
  --expires-in 30 -o b.imab >/dev/null 2>&1
python3 - "$work" <<'PY'
import sys, tarfile
t = tarfile.open(sys.argv[1] + "/b.imab")
for m in t.getmembers():
    open(sys.argv[1] + "/" + m.name, "wb").write(t.extractfile(m).read())
PY
zstd -q -d -c payload.tar.zst > payload.tar

# cms_shape: the bundle's signature, openssl's own, and damaged copies.
out=$(fresh cms_shape)
cp manifest.sig "$out/bundle_sig"
openssl cms -sign -binary -in manifest -signer rel.pem -inkey rel.key -md sha256 \
  -outform DER -out "$out/openssl_detached" 2>/dev/null
openssl cms -sign -binary -in manifest -signer rel.pem -inkey rel.key -md sha256 \
  -noattr -outform DER -out "$out/bad_no_signed_attrs" 2>/dev/null
head -c 200 manifest.sig > "$out/bad_truncated"

# payload_stream: manifest, separator, uncompressed payload.
out=$(fresh payload_stream)
{ cat manifest; printf 'IMABFUZZ-PAYLOAD\n'; cat payload.tar; } > "$out/bundle"
{ cat manifest; printf 'IMABFUZZ-PAYLOAD\n'; head -c 2048 payload.tar; } > "$out/bad_short"

# manifest_sections: byte 0 picks the entry point (manifest_sections_fuzz.cpp:
# trust-root, development, validity, keys, ima, ca-store, entries), byte 1
# the entry count; the rest is the text after that line.
out=$(fresh manifest_sections)
python3 - "$work/manifest" "$out" <<'PY'
import sys
text = open(sys.argv[1], "rb").read()
names = [b"trust-root 1", b"development 1", b"validity 1", b"keys 2", b"ima 1", b"ca-store 1"]
count = int(text.split(b"\nentry-count ")[1].split(b"\n")[0])
for i, name in enumerate(names):
    at = text.find(b"section " + name + b"\n")
    if at < 0:
        continue
    body = text[at + len(b"section ") + len(name) + 1:]
    open(sys.argv[2] + "/" + name.split()[0].decode(), "wb").write(bytes([i, count]) + body)
entries = text[text.find(b"\nentries\n") + 9:]
open(sys.argv[2] + "/entries", "wb").write(bytes([6, count]) + entries)
open(sys.argv[2] + "/development", "wb").write(
    bytes([1, 0]) + b"end-section development\nentries\nend\n")
PY

# cpio: the initramfs seeds that are plain cpio, and one from GNU cpio.
out=$(fresh cpio)
cp "$here/corpus/initramfs/keys_files_plain" "$here/corpus/initramfs/keys_symlink_plain" "$out/"
(cd tree && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out/tree"
head -c 100 "$out/tree" > "$out/bad_truncated"

# ima_policy: byte 0 picks the kernel (ima_policy_fuzz.cpp), the rest is a
# policy: the examples, and each rule literal of the policy tests.
out=$(fresh ima_policy)
for p in "$repo"/manifests/ima-policy/*.policy; do
  { printf '\x00'; cat "$p"; } > "$out/$(basename "$p" .policy)"
  { printf '\x0e'; cat "$p"; } > "$out/$(basename "$p" .policy)_612_modsig"
done
python3 - "$repo/tests/verifier/ima_policy_test.cpp" "$out" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
rules = sorted(set(re.findall(r'"((?:measure|dont_measure|appraise|dont_appraise|audit|hash|dont_hash)[^"\\]*)', src)))
for i, rule in enumerate(rules[:60]):
    open("%s/rule_%02d" % (sys.argv[2], i), "wb").write(bytes([i % 16]) + rule.encode() + b"\n")
PY

# device_config: the documented example, and minimal ones.
out=$(fresh device_config)
cat > "$out/minimal" <<'CONF'
compatible = board-x
kernel-ca = /etc/imabundle/kernel-ca.pem
ima-cert = /etc/keys/x509_ima.der
release-ca = /etc/imabundle/release-ca.pem
CONF
cat > "$out/full" <<'CONF'
# every key
compatible = board-x
kernel-profile = le32
kernel-version = 6.12
kernel-ca = /etc/imabundle/kernel-ca.pem
ima-cert = /etc/keys/x509_ima.der
evm-cert = /etc/keys/x509_evm.der
ima-policy = /etc/ima/ima-policy
rootfs-magic = 0xef53
rootfs-type = ext4
rootfs-uuid = 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
ima-appraise-modsig = no
trust-root = /etc/imabundle/trust-root
release-require-eku = yes
critical-defaults = no
critical = /usr/bin/app
required-anchor = ISRG_Root_X1.pem
ca-expiry-horizon-days = 30
layout = in-place
initramfs = none
init = /sbin/init
slots-dir = /data/slots
allow-development = yes
CONF
printf 'compatible board-x\n' > "$out/bad_no_equals"

# slot_state_file: states as EncodeSlotState writes them.
out=$(fresh slot_state_file)
root_hex=$(xxd -p -c 100000 "$here/corpus/trust_root/valid")
ima_hex=$(openssl x509 -in ima.pem -outform DER | xxd -p -c 100000)
printf 'imabundle-slot-state 1\nslot a\nversion -\ncompatible -\nkey-generation 0\ntrust-root-version 0\ntrust-root -\ninstalled-at 0\nbundle-sha256 -\nend\n' > "$out/empty"
printf 'imabundle-slot-state 1\nslot b\nversion 1.2.3\ncompatible board-x\nkey-generation 4\ntrust-root-version 2\ntrust-root %s\ninstalled-at 1700000000\nbundle-sha256 %s\nkernel-ca %s\nima-cert %s\nevm-cert %s\nkernel-profile le64\nkernel-version 6.12\nend\n' \
  "$root_hex" "$(printf 'ab%.0s' $(seq 32))" "$ima_hex" "$ima_hex" "$ima_hex" > "$out/full"

# kernel_image: an arm64 Image, an Image.gz, a vmlinux ELF and a bzImage,
# each carrying a needle of kernel_image_fuzz.cpp and a version banner.
out=$(fresh kernel_image)
python3 - "$out" <<'PY'
import gzip, lzma, struct, sys
out = sys.argv[1]
body = b"Linux version 6.1.0-fuzz (seed)\n" + b"\x30\x82\x01\x0a\x02\x82" + b"imab-fuzz-ca" + bytes(64)
# arm64 Image header (Documentation/arch/arm64/booting.rst): image_size at 16, magic ARM\x64 at 56.
image = bytearray(64) + body
struct.pack_into("<QQQ", image, 8, 0, len(image), 0xa)
image[56:60] = b"ARM\x64"
open(out + "/arm64_image", "wb").write(image)
open(out + "/arm64_image_gz", "wb").write(gzip.compress(bytes(image), mtime=0))
# vmlinux: ELF64 with one PT_LOAD over the body.
ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 120, 0, 0, len(body), len(body), 0x1000)
open(out + "/vmlinux", "wb").write(ehdr + phdr + body)
# bzImage (Documentation/arch/x86/boot.rst): setup_sects at 0x1f1, "HdrS"
# at 0x202, payload_offset/length at 0x248/0x24c relative to the protected-mode code.
# The payload ends with the decompressed size (arch/x86/boot/compressed).
payload = lzma.compress(body, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
payload += struct.pack("<I", len(body))
setup_sects = 1
boot = bytearray(512 * (setup_sects + 1))
boot[0x1f1] = setup_sects
boot[0x1fe:0x200] = b"\x55\xaa"
boot[0x202:0x206] = b"HdrS"
struct.pack_into("<H", boot, 0x206, 0x20f)
struct.pack_into("<II", boot, 0x248, 16, len(payload))
open(out + "/bzimage_xz", "wb").write(bytes(boot) + bytes(16) + payload)
# The other payload compressions of arch/x86/boot/compressed.
import bz2, subprocess
others = {
    "gzip": gzip.compress(body, mtime=0),
    "bzip2": bz2.compress(body),
    "lzma": lzma.compress(body, format=lzma.FORMAT_ALONE),
    "zstd": subprocess.run(["zstd", "-q", "-c"], input=body, capture_output=True, check=True).stdout,
}
for name, packed in others.items():
    payload = packed + struct.pack("<I", len(body))
    head = bytearray(boot)
    struct.pack_into("<II", head, 0x248, 16, len(payload))
    open(out + "/bzimage_" + name, "wb").write(bytes(head) + bytes(16) + payload)
open(out + "/unknown_layout", "wb").write(body)
PY
echo "seeds written under $here/corpus"
