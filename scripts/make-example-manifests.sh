#!/usr/bin/env bash
# Regenerates manifests/examples/*.manifest from the demo's bundles: the
# factory image (1.0.0, RSA-2048 IMA/EVM key) and the key rotation (1.1.0,
# P-256 key, certificate shipped in the initramfs, key generation 1). Run it
# after a change to the manifest format; tests/verifier/
# manifests_examples_test.cpp reads the results with the current reader.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IMAB_ROOT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
IMAB_DEMO_DIR=$work/demo scripts/demo >/dev/null
for pair in demo.imab:factory-1.0.0.manifest rotate.imab:rotation-1.1.0.manifest; do
  bundle=${pair%%:*} out=manifests/examples/${pair#*:}
  tar -xOf "$work/demo/$bundle" manifest > "$out"
  imab_log "$out: $(wc -l < "$out") lines"
done
