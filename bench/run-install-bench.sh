#!/usr/bin/env bash
# Benchmarks `imab-verify install` (verify + write the inactive A/B slot,
# syncfs + switch) on a shared rootfs preset against `zstd -dc | tar -x` of
# the same payload, alternating A and B in one run, and prints median wall
# time, median peak RSS and the median of the per-pair time ratios. Not a
# test: it asserts nothing, it reports. The peer neither verifies, restores
# xattrs nor syncs; the install does all three (bench/README.md).
#
# Usage: bench/run-install-bench.sh [-n RUNS] [PRESET ...]   (default: medium)
#   IMAB_SHARED     folder holding bench/make-rootfs.sh (default: ../shared)
#   IMAB_BENCH_DIR  work folder (default: build/bench); rootfs trees are cached
#   IMAB_BENCH_BUILD  build folder to use/make (default: build, RelWithDebInfo)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$IMAB_ROOT"
runs=5
if [ "${1:-}" = "-n" ]; then runs=$2; shift 2; fi
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(medium)

imab_install_packages time bc zstd
build=${IMAB_BENCH_BUILD:-$IMAB_ROOT/build}
imab_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
shared=${IMAB_SHARED:-$IMAB_ROOT/../shared}
work=${IMAB_BENCH_DIR:-$IMAB_ROOT/build/bench}
mkdir -p "$work"
[ -f "$work/keys/release.key" ] || scripts/make-dev-keys.sh "$work/keys"
[ -f "$work/keys/ima-rsa.der" ] || scripts/make-ima-keys.sh "$work/keys"
build_bin=$build/builder/imab-build
verify_bin=$build/verifier/imab-verify

source "$(dirname "$0")/pair_lib.sh"

printf '%-32s %19s | %19s |\n' "" "install (median)" "zstd|tar -x (median)"
for preset in "${presets[@]}"; do
  root=$work/rootfs-$preset
  if [ ! -f "$work/rootfs-$preset.done" ]; then
    rm -rf "$root"
    "$shared/bench/make-rootfs.sh" "$preset" "$root" >/dev/null
    # The small and medium presets keep usr/bin/sh -> dash but not dash, so
    # the kernel would find no init (/sbin/init, /etc/init, /bin/init,
    # /bin/sh) and the device refuses the image: give sh its target.
    [ -e "$root/usr/bin/sh" ] || cp -a "$(readlink -f /usr/bin/sh)" "$root/usr/bin/"
    touch "$work/rootfs-$preset.done"
  fi
  # Signed for the device's IMA key, as the device's trust decision needs.
  bundle=$work/$preset-device.imab
  keys=$work/keys
  [ -f "$bundle" ] || "$build_bin" build --rootfs "$root" --version 1.0 \
    --compatible bench --signing-key "$keys/release.key" \
    --signing-cert "$keys/release.pem" --ima-key "$keys/ima-rsa.key" \
    --ima-cert "$keys/ima-rsa.der" --output "$bundle" >/dev/null 2>&1
  (cd "$work" && tar xf "$bundle" payload.tar.zst && mv payload.tar.zst "$preset.payload.tar.zst")
  device=$work/device-$preset
  rm -rf "$device" "$work/x"
  "$verify_bin" device init --root "$device" --compatible bench \
    --release-ca "$keys/release-ca.pem" --kernel-ca "$keys/ima-ca.pem" \
    --ima-cert "$keys/ima-rsa.der" >/dev/null
  # Each install erases the inactive slot and writes it; the peer gets the
  # same removal of its previous tree.
  pair "$preset: install vs zstd|tar -x" \
    "'$verify_bin' install '$bundle' --root '$device' --allow-reinstall" \
    "rm -rf '$work/x'; mkdir '$work/x'; zstd -dc '$work/$preset.payload.tar.zst' | tar -xf - -C '$work/x'"
  rm -rf "$device" "$work/x"
done
