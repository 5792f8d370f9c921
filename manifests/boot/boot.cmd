# imabundle: A/B slot selection for U-Boot (manifests/device.conf.md,
# "Bootloader", uboot). Compile with
#   mkimage -A arm64 -T script -C none -n imabundle -d boot.cmd boot.scr
# The variables, kept in U-Boot's environment by imab-verify
# (bootloader = uboot, through fw_setenv) and by this script:
#   BOOT_ORDER             "A B" or "B A": the slots in the order to try
#   BOOT_A_LEFT, BOOT_B_LEFT
#                          the starts the slot has left: set to
#                          boot-attempts by an install and by mark-good,
#                          0 by mark-bad; this script takes one before
#                          each start
# Counts are hex digits without 0x, as setexpr reads and writes them (the
# same as decimal up to 9). A missing variable reads as below, and
# imab-verify reads it the same way: keep the 3 equal to boot-attempts.
# The board sets kernel_part_a / kernel_part_b (the partitions holding
# each slot's /boot) and its own load and boot lines.

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3
test -n "${kernel_part_a}" || setenv kernel_part_a 2
test -n "${kernel_part_b}" || setenv kernel_part_b 3

# U-Boot's hush splits "${BOOT_ORDER}" into its words here (as RAUC's
# scripts rely on).
setenv imab_slot
for slot in "${BOOT_ORDER}"; do
  if test -z "${imab_slot}"; then
    if test "${slot}" = "A"; then
      if test "${BOOT_A_LEFT}" != "0"; then
        setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
        setenv imab_slot a
        setenv imab_part ${kernel_part_a}
      fi
    elif test "${slot}" = "B"; then
      if test "${BOOT_B_LEFT}" != "0"; then
        setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
        setenv imab_slot b
        setenv imab_part ${kernel_part_b}
      fi
    fi
  fi
done

if test -n "${imab_slot}"; then
  # The attempt is taken before the slot runs: a hang or a crash counts.
  saveenv
else
  # No slot has starts left: the first of the order starts anyway, so
  # that the device stays reachable; nothing is saved, status shows it.
  for slot in "${BOOT_ORDER}"; do
    if test -z "${imab_slot}"; then
      if test "${slot}" = "A"; then
        setenv imab_slot a
        setenv imab_part ${kernel_part_a}
      else
        setenv imab_slot b
        setenv imab_part ${kernel_part_b}
      fi
    fi
  done
  echo "imabundle: no slot has starts left, trying slot ${imab_slot}"
fi

# imab.slot= on the kernel command line tells imab-verify which slot runs.
setenv bootargs "${bootargs} root=/dev/mmcblk0p${imab_part} imab.slot=${imab_slot} ro rootwait"
load mmc 0:${imab_part} ${kernel_addr_r} /boot/Image
load mmc 0:${imab_part} ${fdt_addr_r} /boot/board.dtb
booti ${kernel_addr_r} - ${fdt_addr_r}
