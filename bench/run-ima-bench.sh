#!/usr/bin/env bash
# IMA/EVM signing benchmark on the shared `medium` preset (or the preset
# given): imab-build with RSA-2048 and P-256 signing keys against the
# fastest evmctl pipeline (`evmctl sign -r --imasig --portable`, then
# `tar --xattrs | zstd -T0 -3`), measured in the same run, plus the limits
# computed from `openssl speed` on this machine. Reports, asserts nothing.
#
# Usage: bench/run-ima-bench.sh [-n RUNS] [PRESET]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$IMAB_ROOT"
runs=3
if [ "${1:-}" = "-n" ]; then runs=$2; shift 2; fi
preset=${1:-medium}
imab_install_packages time bc
imab_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
shared=${IMAB_SHARED:-$IMAB_ROOT/../shared}
work=${IMAB_BENCH_DIR:-$IMAB_ROOT/build/bench}
mkdir -p "$work"
[ -f "$work/keys/release.key" ] || scripts/make-dev-keys.sh "$work/keys"
[ -f "$work/keys/ima-rsa.der" ] || scripts/make-ima-keys.sh "$work/keys"
build_bin=$IMAB_ROOT/build/builder/imab-build
verify_bin=$IMAB_ROOT/build/verifier/imab-verify
cores=$(nproc)

root=$work/rootfs-$preset
if [ ! -f "$work/rootfs-$preset.done" ]; then
  rm -rf "$root"
  "$shared/bench/make-rootfs.sh" "$preset" "$root" >/dev/null
  touch "$work/rootfs-$preset.done"
fi
files=$(find "$root" -type f | wc -l)

# time_median CMD: median wall seconds of $runs runs (after one warm-up).
time_median() {
  bash -c "$1" >/dev/null 2>&1
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e' -o "$work/t.one" bash -c "$1" >/dev/null 2>"$work/t.err" ||
      { cat "$work/t.err" >&2; exit 1; }
    cat "$work/t.one"
  done | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
peak_rss_mib() {
  /usr/bin/time -f '%M' -o "$work/m.one" bash -c "$1" >/dev/null 2>&1
  echo "scale=1; $(cat "$work/m.one")/1024" | bc
}

# Signatures per second of one core, from openssl speed.
rsa_line=$(openssl speed -seconds 2 rsa2048 2>/dev/null | grep '^rsa 2048')
rsa_sign=$(echo "$rsa_line" | awk '{print $(NF-1)}'); rsa_verify=$(echo "$rsa_line" | awk '{print $NF}')
ec_line=$(openssl speed -seconds 2 ecdsap256 2>/dev/null | grep 'nistp256')
ec_sign=$(echo "$ec_line" | awk '{print $(NF-1)}'); ec_verify=$(echo "$ec_line" | awk '{print $NF}')

common="--rootfs '$root' --version 1 --compatible bench --signing-key '$work/keys/release.key' \
  --signing-cert '$work/keys/release.pem'"
t_plain=$(time_median "'$build_bin' build $common --output '$work/plain.imab'")
t_vplain=$(time_median "'$verify_bin' verify '$work/plain.imab' --release-ca '$work/keys/release-ca.pem'")

echo "preset=$preset files=$files cores=$cores"
echo "openssl speed (1 core): rsa2048 sign/s=$rsa_sign verify/s=$rsa_verify; p256 sign/s=$ec_sign verify/s=$ec_verify"
echo "unsigned: build ${t_plain}s, verify ${t_vplain}s"
for kind in rsa ec; do
  key=$work/keys/ima-$kind.key; cert=$work/keys/ima-$kind.der
  if [ $kind = rsa ]; then rate=$rsa_sign; vrate=$rsa_verify; else rate=$ec_sign; vrate=$ec_verify; fi
  out=$work/signed-$kind.imab
  ours="'$build_bin' build $common --ima-key '$key' --ima-cert '$cert' --output '$out'"
  t_ours=$(time_median "$ours")
  t_one=$(time_median "$ours --signing-threads 1 --threads 1")
  rm -rf "$work/evm-copy"; cp -a "$root" "$work/evm-copy"
  peer="evmctl sign -r --imasig --portable --generation 0 -a sha256 --key '$key' '$work/evm-copy' &&
    tar --xattrs --xattrs-include='*' -cf - -C '$work/evm-copy' . | zstd -T0 -3 -q -f -o '$work/evm.tar.zst'"
  t_peer=$(time_median "$peer")
  limit=$(echo "2*$files/($rate*$cores) + $t_plain" | bc -l)
  t_verify=$(time_median "'$verify_bin' verify '$out' --release-ca '$work/keys/release-ca.pem'")
  vlimit=$(echo "2*$files/($vrate*$cores) + $t_vplain" | bc -l)
  # The issue's limit, from peers in this run: decompress (zstd -dc) +
  # hash (openssl dgst over the compressed payload and over the tar stream)
  # + signature verifies spread over the cores, each part measured alone.
  rm -rf "$work/vparts"; mkdir -p "$work/vparts"
  tar -xf "$out" -C "$work/vparts" payload.tar.zst
  zstd -dc -q "$work/vparts/payload.tar.zst" > "$work/vparts/payload.tar"
  t_unzstd=$(time_median "zstd -dc -q '$work/vparts/payload.tar.zst' >/dev/null")
  t_hash=$(time_median "openssl dgst -sha256 '$work/vparts/payload.tar.zst' '$work/vparts/payload.tar' >/dev/null")
  climit=$(echo "2*$files/($vrate*$cores) + $t_unzstd + $t_hash" | bc -l)
  rm -rf "$work/vparts"
  rss=$(peak_rss_mib "'$verify_bin' verify '$out' --release-ca '$work/keys/release-ca.pem'")
  printf '%s: build %.2fs | evmctl pipeline %.2fs (speed-up %.1fx) | limit %.2fs (ratio %.2f) | 1 thread %.2fs (scaling %.2fx)\n' \
    "$kind" "$t_ours" "$t_peer" "$(echo "$t_peer/$t_ours" | bc -l)" "$limit" "$(echo "$t_ours/$limit" | bc -l)" \
    "$t_one" "$(echo "$t_one/$t_ours" | bc -l)"
  printf '%s: verify %.2fs | limit decompress %.2fs + hash %.2fs + verifies = %.2fs (ratio %.2f) | stricter limit, own unsigned verify + verifies %.2fs (ratio %.2f) | imab-verify peak RSS %s MiB\n' \
    "$kind" "$t_verify" "$t_unzstd" "$t_hash" "$climit" "$(echo "$t_verify/$climit" | bc -l)" \
    "$vlimit" "$(echo "$t_verify/$vlimit" | bc -l)" "$rss"
done
rm -rf "$work/evm-copy"

# Signing alone (no I/O, hashing or compression competing for the cores).
sign_bin=$IMAB_ROOT/build/bench/imab-sign-bench
for kind in rsa ec; do
  n=$([ $kind = rsa ] && echo 8000 || echo 40000)
  one=$("$sign_bin" "$work/keys/ima-$kind.key" "$work/keys/ima-$kind.der" 1 "$n" | sed 's/.*per_second=//')
  all=$("$sign_bin" "$work/keys/ima-$kind.key" "$work/keys/ima-$kind.der" "$cores" "$n" | sed 's/.*per_second=//')
  printf '%s: signing alone %s/s on 1 thread, %s/s on %s threads (scaling %.2fx)\n' \
    "$kind" "$one" "$all" "$cores" "$(echo "$all/$one" | bc -l)"
done
