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

# measure OUTFILE CMD...: one run, appends "wall_seconds max_rss_kib".
measure() {
  local out=$1; shift
  sync
  /usr/bin/time -f '%e %M' -o "$out.one" "$@" >/dev/null 2>"$out.err" ||
    { echo "command failed: $*" >&2; cat "$out.err" >&2; exit 1; }
  cat "$out.one" >> "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# pair NAME "A command" "B command": runs A and B alternately, prints
# median wall and peak RSS of each and the median of the per-pair ratios.
pair() {
  local name=$1 a=$2 b=$3
  local f="$work/${name//[^A-Za-z0-9]/_}"
  rm -f "$f.a" "$f.b"
  bash -c "$a" >/dev/null 2>&1; bash -c "$b" >/dev/null 2>&1   # warm-up
  for _ in $(seq "$runs"); do
    measure "$f.a" bash -c "$a"
    measure "$f.b" bash -c "$b"
  done
  local wa wb ra rb ratio
  wa=$(cut -d' ' -f1 "$f.a" | median); wb=$(cut -d' ' -f1 "$f.b" | median)
  ra=$(cut -d' ' -f2 "$f.a" | median); rb=$(cut -d' ' -f2 "$f.b" | median)
  ratio=$(paste -d' ' "$f.a" "$f.b" | awk '{ print ($3 > 0 ? $1 / $3 : 0) }' | median)
  printf '%-28s %8.2fs %8.1fMiB | %8.2fs %8.1fMiB | ratio %.2f\n' \
    "$name" "$wa" "$(echo "$ra/1024" | bc -l)" "$wb" "$(echo "$rb/1024" | bc -l)" "$ratio"
}

printf '%-28s %19s | %19s |\n' "" "imabundle (median)" "peer (median)"
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
