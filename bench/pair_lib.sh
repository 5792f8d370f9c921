# Shared by the benchmark scripts (sourced): timing a command as a whole
# process and pairing it with a peer measured in the same run. Needs $work
# (output folder) and $runs (runs per command) set by the caller.

# measure OUTFILE CMD...: one run, appends "wall_seconds max_rss_kib".
measure() {
  local out=$1; shift
  sync
  /usr/bin/time -f '%e %M' -o "$out.one" "$@" >/dev/null 2>"$out.err" ||
    { echo "command failed: $*" >&2; cat "$out.err" >&2; exit 1; }
  cat "$out.one" >> "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# pair NAME "A command" "B command": runs A and B alternately (after one
# warm-up each, whose failure is shown), prints median wall and peak RSS of
# each and the median of the per-pair time ratios A/B.
pair() {
  local name=$1 a=$2 b=$3
  local f="$work/${name//[^A-Za-z0-9]/_}"
  rm -f "$f.a" "$f.b"
  local cmd
  for cmd in "$a" "$b"; do
    bash -c "$cmd" >/dev/null 2>"$f.err" || { echo "failed: $cmd" >&2; cat "$f.err" >&2; exit 1; }
  done
  for _ in $(seq "$runs"); do
    measure "$f.a" bash -c "$a"
    measure "$f.b" bash -c "$b"
  done
  local wa wb ra rb ratio
  wa=$(cut -d' ' -f1 "$f.a" | median); wb=$(cut -d' ' -f1 "$f.b" | median)
  ra=$(cut -d' ' -f2 "$f.a" | median); rb=$(cut -d' ' -f2 "$f.b" | median)
  ratio=$(paste -d' ' "$f.a" "$f.b" | awk '{ print ($3 > 0 ? $1 / $3 : 0) }' | median)
  printf '%-32s %8.2fs %8.1fMiB | %8.2fs %8.1fMiB | ratio %.2f\n' \
    "$name" "$wa" "$(echo "$ra/1024" | bc -l)" "$wb" "$(echo "$rb/1024" | bc -l)" "$ratio"
}
