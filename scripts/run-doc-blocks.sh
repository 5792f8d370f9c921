#!/usr/bin/env bash
# run-doc-blocks.sh DOC.md WORKDIR: runs every ```sh block of DOC.md, in
# order, in one bash session inside WORKDIR (set -euo pipefail), so the
# documented procedures are tested exactly as written.
set -euo pipefail
doc=${1:?usage: run-doc-blocks.sh DOC.md WORKDIR}
work=${2:?usage: run-doc-blocks.sh DOC.md WORKDIR}
script=$(awk '/^```sh$/ {on=1; next} /^```/ {on=0; next} on {print}' "$doc")
cd "$work"
exec bash -euo pipefail -c "$script"
