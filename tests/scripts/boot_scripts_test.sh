#!/usr/bin/env bash
# boot_scripts_test.sh SOURCE_DIR: the ctests boot_script_grub and
# boot_script_uboot. manifests/boot/grub.cfg must pass grub-script-check
# (grub-common), and manifests/boot/boot.cmd must compile with
# `mkimage -T script` (u-boot-tools) into an image mkimage lists as a
# script. Prints "[  SKIPPED ]" (ctest: Skipped) when the tool is missing.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SOURCE_DIR grub|uboot" >&2; exit 2; }
boot=$1/manifests/boot
need() {
  if ! command -v "$1" >/dev/null; then
    echo "[  SKIPPED ] $1 not installed ($2)"
    exit 0
  fi
}
case $2 in
  grub)
    need grub-script-check grub-common
    grub-script-check "$boot/grub.cfg"
    # The variables the grub backend writes are the ones the snippet reads.
    for name in ORDER A_OK A_TRY B_OK B_TRY; do
      grep -q "load_env.* $name\b" "$boot/grub.cfg"
    done
    ;;
  uboot)
    need mkimage u-boot-tools
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkimage -A arm64 -T script -C none -n imabundle -d "$boot/boot.cmd" \
      "$work/boot.scr" >/dev/null
    mkimage -l "$work/boot.scr" | grep -q "Script"
    for name in BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT saveenv; do
      grep -q "$name" "$boot/boot.cmd"
    done
    ;;
  *)
    echo "usage: $0 SOURCE_DIR grub|uboot" >&2
    exit 2
    ;;
esac
echo "boot script $2: ok"
