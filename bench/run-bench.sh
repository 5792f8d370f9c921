#!/usr/bin/env bash
# Benchmarks imab-build and imab-verify on the shared rootfs presets against
# peers measured in the same run, alternating A and B, and prints medians and
# median ratios. Not a test: it asserts nothing, it reports.
#
# Usage: bench/run-bench.sh [-n RUNS] [PRESET ...]    (default: small medium)
#   IMAB_SHARED  folder holding bench/make-rootfs.sh (default: ../shared)
#   IMAB_BENCH_DIR  work folder (default: build/bench); rootfs trees are cached
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$IMAB_ROOT"
runs=5
if [ "${1:-}" = "-n" ]; then runs=$2; shift 2; fi
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(small medium)

imab_install_packages time bc
imab_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
shared=${IMAB_SHARED:-$IMAB_ROOT/../shared}
work=${IMAB_BENCH_DIR:-$IMAB_ROOT/build/bench}
mkdir -p "$work"
[ -f "$work/keys/release.key" ] || scripts/make-dev-keys.sh "$work/keys"
build_bin=$IMAB_ROOT/build/builder/imab-build
verify_bin=$IMAB_ROOT/build/verifier/imab-verify

source "$(dirname "$0")/pair_lib.sh"

printf '%-32s %19s | %19s |\n' "" "imabundle (median)" "peer (median)"
for preset in "${presets[@]}"; do
  root=$work/rootfs-$preset
  if [ ! -f "$work/rootfs-$preset.done" ]; then
    rm -rf "$root"
    "$shared/bench/make-rootfs.sh" "$preset" "$root" >/dev/null
    touch "$work/rootfs-$preset.done"
  fi
  bundle=$work/$preset.imab
  keys=$work/keys
  build_cmd="'$build_bin' build --rootfs '$root' --version 1.0 --compatible bench \
    --signing-key '$keys/release.key' --signing-cert '$keys/release.pem' --output '$bundle'"
  pair "$preset: build vs tar|zstd -3" "$build_cmd" \
    "tar -cf - -C '$root' . | zstd -T0 -3 -q -f -o '$work/$preset.tar.zst'"
  (cd "$work" && tar xf "$bundle" payload.tar.zst && mv payload.tar.zst "$preset.payload.tar.zst")
  pair "$preset: verify vs zstd|sha256" \
    "'$verify_bin' verify '$bundle' --release-ca '$keys/release-ca.pem'" \
    "zstd -dc '$work/$preset.payload.tar.zst' | sha256sum"
  rm -rf "$work/x"
  pair "$preset: extract vs zstd|tar -x" \
    "rm -rf '$work/x'; '$verify_bin' extract '$bundle' --release-ca '$keys/release-ca.pem' --to '$work/x'" \
    "rm -rf '$work/x'; mkdir '$work/x'; zstd -dc '$work/$preset.payload.tar.zst' | tar -xf - -C '$work/x'"
  rm -rf "$work/x"
done
