#!/usr/bin/env bash
# usage: systemd_unit_test.sh SOURCE_DIR
# manifests/systemd/imab-mark-good.service passes `systemd-analyze verify`
# (ExecStart pointed at the built imab-verify, since verify checks that the
# command exists) and runs mark-good. Skipped without systemd-analyze.
set -euo pipefail
root=${1:?usage: $0 SOURCE_DIR}
unit=$root/manifests/systemd/imab-mark-good.service
if ! command -v systemd-analyze >/dev/null; then
  echo "[  SKIPPED ] systemd-analyze not installed (apt-get install systemd)"
  exit 0
fi
verify=${IMAB_VERIFY_BIN:?IMAB_VERIFY_BIN not set}
grep -qx 'ExecStart=/usr/bin/imab-verify mark-good' "$unit" || {
  echo "expected ExecStart=/usr/bin/imab-verify mark-good in $unit" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/imab-verify|$verify|" "$unit" >"$tmp/imab-mark-good.service"
systemd-analyze verify "$tmp/imab-mark-good.service"
# A unit with a missing command must fail, or the check above proves nothing.
printf '[Service]\nExecStart=/nonexistent/imab-verify\n' >"$tmp/broken.service"
if systemd-analyze verify "$tmp/broken.service" 2>/dev/null; then
  echo "systemd-analyze verify accepted a missing command" >&2
  exit 1
fi
echo "systemd unit verified"
