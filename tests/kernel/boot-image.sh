#!/usr/bin/env bash
# boot-image.sh: boots an image tree under QEMU with IMA appraisal enforced
# and writes what the guest printed to WORK/console.log.
#
#   boot-image.sh --kernel BZIMAGE --tree DIR --work WORK [--exec FILE]
#                 [--initramfs IMAGE_PATH]... [--policy FILE]
#
# DIR is the extracted image (owners, modes and security.* xattrs as the
# device would have them); it becomes an ext4 disk (mkfs.ext4 -d copies the
# xattrs). The guest's initramfs is the image's own initramfs files (image
# paths, in the order the bootloader loads them) with the harness segment
# (busybox, guest-init.sh, the probe, the policy) appended, so the kernel
# loads the certificates of the image's /etc/keys exactly as on the device;
# an image without an initramfs has its root file system's
# /etc/keys/x509_{ima,evm}.der copied into the segment instead (the kernel
# then loads them from the root file system). --policy FILE is written to
# /sys/kernel/security/ima/policy after the harness's dont_appraise lines
# for pseudo file systems; without it the kernel runs ima_policy=appraise_tcb.
# --exec FILE lists the programs to execute, "PATH [ARG...]" per line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${IMAB_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imabundle/kernel}
kernel="" tree="" work="" exec_list="" policy="" initramfs=()
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=$2 ;;
    --tree) tree=$2 ;;
    --work) work=$2 ;;
    --exec) exec_list=$2 ;;
    --policy) policy=$2 ;;
    --initramfs) initramfs+=("$2") ;;
    *) echo "boot-image: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
die() { echo "boot-image: $*" >&2; exit 1; }
[ -f "$kernel" ] || die "--kernel $kernel: no such file"
[ -d "$tree" ] || die "--tree $tree: no such folder"
[ -n "$work" ] || die "--work missing"
mkdir -p "$work" "$cache"

# The probe, built once per source version.
probe=$cache/probe-$(sha256sum <"$here/probe.c" | cut -c1-12)
if [ ! -x "$probe" ]; then
  gcc -static -O2 -Wall -Werror -o "$probe.tmp.$$" "$here/probe.c"
  mv "$probe.tmp.$$" "$probe"
fi
busybox=$(command -v busybox) || die "busybox missing (apt-get install busybox-static)"
! readelf -l "$busybox" | grep -q INTERP || die "$busybox is not static (apt-get install busybox-static)"

# The host path of image path $1, its symlinks resolved inside the image
# (an absolute target starts at the image's root), at most 40 hops.
in_tree() {
  local path=$1 hops=0 done="" part target
  while [ -n "$path" ]; do
    part=${path%%/*}
    [ "$part" = "$path" ] && path="" || path=${path#*/}
    case $part in
      ""|.) continue ;;
      ..) done=${done%/*}; continue ;;
    esac
    if [ -L "$tree$done/$part" ]; then
      hops=$((hops + 1)); [ $hops -le 40 ] || return 1
      target=$(readlink "$tree$done/$part")
      case $target in /*) done="" ;; esac
      path="$target${path:+/$path}"
    else
      done="$done/$part"
    fi
  done
  printf '%s\n' "$tree$done"
}

seg=$work/segment
rm -rf "$seg" && mkdir -p "$seg/bin" "$seg/imab"
cp "$busybox" "$seg/bin/busybox"
cp "$here/guest-init.sh" "$seg/init"
cp "$probe" "$seg/imab/probe"
chmod 0755 "$seg/init" "$seg/imab/probe"
if [ -n "$exec_list" ]; then cp "$exec_list" "$seg/imab/exec"; else : >"$seg/imab/exec"; fi
if [ -n "$policy" ]; then
  # Pseudo file systems (include/uapi/linux/magic.h): proc, sysfs, debugfs,
  # tmpfs (the initramfs), ramfs, securityfs, devpts.
  for magic in 0x9fa0 0x62656572 0x64626720 0x01021994 0x858458f6 0x73636673 0x1cd1; do
    echo "dont_appraise fsmagic=$magic"
  done >"$seg/imab/policy"
  cat "$policy" >>"$seg/imab/policy"
fi

initrd=$work/initrd
: >"$initrd"
if [ ${#initramfs[@]} -gt 0 ]; then
  for f in "${initramfs[@]}"; do
    real=$(in_tree "$f") && [ -f "$real" ] || die "initramfs $f: not a file in the image"
    cat "$real" >>"$initrd"
    # The kernel takes an uncompressed archive only at a 4-byte boundary;
    # it skips the zero padding.
    pad=$(( (4 - $(stat -c %s "$initrd") % 4) % 4 ))
    head -c "$pad" /dev/zero >>"$initrd"
  done
else
  for k in x509_ima.der x509_evm.der; do
    if real=$(in_tree "etc/keys/$k") && [ -f "$real" ]; then
      mkdir -p "$seg/etc/keys"
      cp "$real" "$seg/etc/keys/$k"
    fi
  done
fi
(cd "$seg" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >>"$initrd"

# The disk: the tree's size plus room for ext4's own blocks.
disk=$work/disk.ext4
kib=$(du -sk --apparent-size "$tree" | cut -f1)
rm -f "$disk"
mkfs.ext4 -q -F -d "$tree" -b 4096 -N $(( $(find "$tree" | wc -l) + 256 )) \
  "$disk" $(( kib * 2 + 16384 ))K

accel=(-accel tcg -cpu max)
# /dev/kvm on these hosts may be kvm_pvm, a hypervisor a stock kernel hangs
# under: use KVM only when a hardware module provides it.
if [ -z "${IMAB_KERNEL_TCG:-}" ] && [ ! -e /sys/module/kvm_pvm ] &&
   [ -w /dev/kvm ] && { [ -e /sys/module/kvm_intel ] || [ -e /sys/module/kvm_amd ]; }; then
  accel=(-enable-kvm -cpu host)
fi
cmdline="console=ttyS0 quiet panic=-1 ima_appraise=enforce log_buf_len=4M audit_backlog_limit=8192"
[ -n "$policy" ] || cmdline="$cmdline ima_policy=appraise_tcb"
timeout "${IMAB_BOOT_TIMEOUT:-240}" qemu-system-x86_64 "${accel[@]}" -m 512 \
  -nographic -no-reboot -nodefaults -serial stdio -monitor none \
  -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
  -drive file="$disk",if=virtio,format=raw,readonly=on \
  </dev/null >"$work/console.log" 2>"$work/qemu.err" || {
    rc=$?
    die "qemu failed (rc $rc): $(tail -c 300 "$work/qemu.err" | tr '\n' ' ')"
  }
grep -q 'IMAB-GUEST dmesg-end' "$work/console.log" ||
  die "the guest did not finish (see $work/console.log)"
rm -f "$disk"
