#!/usr/bin/env bash
# Benchmarks `imab-verify install` onto a block slot (a loop device: a fresh
# ext4 made by the install, the verified entries streamed in, unmounted,
# remounted read-only and read back, then the switch) against what a plain
# tar update of the same partition does:
#   mkfs.ext4 + mount + zstd -dc | tar --xattrs --xattrs-include='*' -x + umount
# on a loop device of the same size, with the same ext4 options, in a private
# mount namespace as the install uses. The two alternate in one run; prints
# median wall time, median peak RSS and the median of the per-pair ratios
# (targets: <= 32 MiB peak RSS, <= 1.3x). Not a test: it asserts nothing.
#
# Usage: bench/run-install-block-bench.sh [-n RUNS] [PRESET]   (default: medium, 3 runs)
#   IMAB_SHARED     folder holding bench/make-rootfs.sh (default: ../shared)
#   IMAB_BENCH_DIR  work folder (default: build/bench); rootfs trees are cached
#   IMAB_BENCH_BUILD  build folder to use/make (default: build, RelWithDebInfo)
#   IMAB_BENCH_MKFS_OPTIONS  the device's mkfs-options, used by both sides
#   IMAB_BENCH_PEER_ONLY=1   time the peer against itself (no install)
#   IMAB_BENCH_NO_BUILD=1    use the build folder as it is
# Needs root (losetup, mount). The loop devices are detached on exit.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$IMAB_ROOT"
runs=3
if [ "${1:-}" = "-n" ]; then runs=$2; shift 2; fi
preset=${1:-medium}
[ "$(id -u)" -eq 0 ] || { echo "needs root (loop devices, mount)" >&2; exit 2; }

imab_install_packages time bc zstd e2fsprogs grub-common
build=${IMAB_BENCH_BUILD:-$IMAB_ROOT/build}
[ -n "${IMAB_BENCH_NO_BUILD:-}" ] || imab_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
shared=${IMAB_SHARED:-$IMAB_ROOT/../shared}
work=${IMAB_BENCH_DIR:-$IMAB_ROOT/build/bench}
mkdir -p "$work"
[ -f "$work/keys/release.key" ] || scripts/make-dev-keys.sh "$work/keys"
[ -f "$work/keys/ima-rsa.der" ] || scripts/make-ima-keys.sh "$work/keys"
build_bin=$build/builder/imab-build
verify_bin=$build/verifier/imab-verify
keys=$work/keys

source "$(dirname "$0")/pair_lib.sh"

# The preset and its bundle, as run-install-bench.sh makes them (shared cache).
root=$work/rootfs-$preset
if [ ! -f "$work/rootfs-$preset.done" ]; then
  rm -rf "$root"
  "$shared/bench/make-rootfs.sh" "$preset" "$root" >/dev/null
  [ -e "$root/usr/bin/sh" ] || cp -a "$(readlink -f /usr/bin/sh)" "$root/usr/bin/"
  touch "$work/rootfs-$preset.done"
fi
bundle=$work/$preset-device.imab
[ -f "$bundle" ] || "$build_bin" build --rootfs "$root" --version 1.0 \
  --compatible bench --signing-key "$keys/release.key" \
  --signing-cert "$keys/release.pem" --ima-key "$keys/ima-rsa.key" \
  --ima-cert "$keys/ima-rsa.der" --output "$bundle" >/dev/null 2>&1
payload=$work/$preset.payload.tar.zst
(cd "$work" && tar xf "$bundle" payload.tar.zst && mv payload.tar.zst "$payload")

# Three loop devices of one size: slot a, slot b, and the peer's partition.
# Twice the image plus room for ext4's own tables.
image_bytes=$(du -sb "$root" | cut -f1)
slot_mib=$(( image_bytes * 2 / 1048576 + 256 ))
loops=()
cleanup() {
  local dev
  for dev in "${loops[@]}"; do losetup -d "$dev" 2>/dev/null || true; done
  rm -f "$work"/block-*.img
}
trap cleanup EXIT
for name in a b peer; do
  rm -f "$work/block-$name.img"
  truncate -s "${slot_mib}M" "$work/block-$name.img"
  loops+=("$(losetup --find --show "$work/block-$name.img")")
done
slot_a=${loops[0]} slot_b=${loops[1]} peer=${loops[2]}

# The ext4 options both sides use: the device's mkfs-options (none by
# default: mkfs.ext4's own defaults).
mkfs_options=${IMAB_BENCH_MKFS_OPTIONS:-}
# The device: the two loop devices as its slots, a grubenv for the boot
# loader, the state folder on the root (a data partition on a board).
device=$work/device-block-$preset
rm -rf "$device"
mkdir -p "$device/boot/grub"
grub-editenv "$device/boot/grub/grubenv" create
settings=(--set slots=block --set "slot-a=$slot_a" --set "slot-b=$slot_b"
  --set bootloader=grub --set grubenv=/boot/grub/grubenv)
[ -z "$mkfs_options" ] || settings+=(--set "mkfs-options=$mkfs_options")
[ -n "${IMAB_BENCH_PEER_ONLY:-}" ] ||
  "$verify_bin" device init --root "$device" --compatible bench \
    --release-ca "$keys/release-ca.pem" --kernel-ca "$keys/ima-ca.pem" \
    --ima-cert "$keys/ima-rsa.der" "${settings[@]}" >/dev/null

mnt=$work/block-peer-mnt
mkdir -p "$mnt"
peer_cmd="unshare -m --propagation private sh -c \"mkfs.ext4 -q -F $mkfs_options $peer && mount $peer '$mnt' && zstd -dc '$payload' | tar --xattrs --xattrs-include='*' -xf - -C '$mnt' && umount '$mnt'\""

printf '%-32s %19s | %19s |\n' "" "install (median)" "mkfs+tar (median)"
if [ -n "${IMAB_BENCH_PEER_ONLY:-}" ]; then
  # The peer alone, timed against itself (to check the set-up).
  pair "$preset: mkfs+tar vs itself" "$peer_cmd" "$peer_cmd"
else
  pair "$preset: block install vs mkfs+tar" \
    "'$verify_bin' install '$bundle' --root '$device' --allow-reinstall" \
    "$peer_cmd"
fi
rm -rf "$device" "$mnt"
