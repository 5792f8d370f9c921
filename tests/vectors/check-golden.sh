#!/usr/bin/env bash
# check-golden.sh: the ctest golden_bundle. The committed golden.imab must
# still be accepted by the current imab-verify (and by `openssl cms -verify`)
# with the same report, and the current builder must still write the same
# manifest and payload for the same inputs. A failure here means the bundle
# format or the report changed: see tests/vectors/README.md.
# Prints "[  SKIPPED ]" (ctest: Skipped) when a tool it needs is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
verify_bin=${IMAB_VERIFY_BIN:-$root/build/verifier/imab-verify}

for tool in openssl tar cmp diff; do
  if ! command -v "$tool" >/dev/null; then
    echo "[  SKIPPED ] $tool not installed"
    exit 0
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# One JSON member a line, so a difference shows as a short diff.
split_json() { sed 's/, "/,\n"/g' "$1"; }

# 1. The committed bundle verifies, and the report is the committed one.
if (cd "$here" && "$verify_bin" verify --json \
  --release-ca keys/release-ca.pem golden.imab) >"$work/report.json" \
  2>"$work/verify.err"; then
  echo "ok: imab-verify accepts golden.imab"
else
  fail "imab-verify refuses golden.imab (exit $?): $(cat "$work/verify.err")"
fi
if cmp -s "$work/report.json" "$here/golden.expected"; then
  echo "ok: the report equals golden.expected"
else
  fail "the report differs from golden.expected:"
  diff <(split_json "$here/golden.expected") <(split_json "$work/report.json") || true
fi

# 2. Its signature is plain CMS that OpenSSL verifies over the manifest.
tar -xf "$here/golden.imab" -C "$work" manifest manifest.sig payload.tar.zst
if openssl cms -verify -binary -inform DER -in "$work/manifest.sig" \
  -content "$work/manifest" -CAfile "$here/keys/release-ca.pem" \
  -purpose any -out /dev/null 2>"$work/cms.err"; then
  echo "ok: openssl cms -verify accepts manifest.sig over manifest"
else
  fail "openssl cms -verify refuses manifest.sig: $(cat "$work/cms.err")"
fi

# 3. Today's builder writes the same manifest and payload (manifest.sig is
# an ECDSA signature: new on every run, so not compared).
mkdir "$work/rebuilt"
"$here/make-golden.sh" "$work/rebuilt" >/dev/null
tar -xf "$work/rebuilt/golden.imab" -C "$work/rebuilt" manifest payload.tar.zst
if cmp -s "$work/manifest" "$work/rebuilt/manifest"; then
  echo "ok: the rebuilt manifest is byte-identical"
else
  fail "the rebuilt manifest differs:"
  diff "$work/manifest" "$work/rebuilt/manifest" | cut -c1-160 || true
fi
if cmp -s "$work/payload.tar.zst" "$work/rebuilt/payload.tar.zst"; then
  echo "ok: the rebuilt payload is byte-identical"
elif command -v zstd >/dev/null &&
  cmp -s <(zstd -dc "$work/payload.tar.zst") \
    <(zstd -dc "$work/rebuilt/payload.tar.zst"); then
  fail "the rebuilt payload holds the same tar stream but compresses to" \
    "other bytes (another libzstd?); regenerate with make-golden.sh"
else
  fail "the rebuilt payload differs"
fi
if cmp -s "$work/rebuilt/golden.expected" "$here/golden.expected"; then
  echo "ok: the rebuilt bundle's report equals golden.expected"
else
  fail "the rebuilt bundle's report differs from golden.expected"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
