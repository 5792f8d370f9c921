#!/bin/busybox sh
# /init of the test guest (tests/kernel/boot-image.sh composes it around the
# image's own initramfs): sets up IMA/EVM the way a device's early userspace
# does, loads the policy, mounts the image read-only and runs the probes.
# Every line the harness reads starts with IMAB-.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t securityfs securityfs /sys/kernel/security
# Audit records go to printk when no auditd runs; without this the records
# of the policy load use up the printk burst and appraisal records are lost.
echo 0 > /proc/sys/kernel/printk_ratelimit
echo "IMAB-GUEST keys-begin"
cat /proc/keys
echo "IMAB-GUEST keys-end"
# EVM in x509 mode, setup complete: portable signatures only, no HMAC key.
echo 0x80000002 > /sys/kernel/security/evm 2>/dev/null ||
  echo "IMAB-GUEST evm-setup-failed"
if [ -f /imab/policy ]; then
  if cat /imab/policy > /sys/kernel/security/ima/policy; then
    echo "IMAB-GUEST policy-loaded"
  else
    echo "IMAB-GUEST policy-refused"
  fi
fi
if mount -t ext4 -o ro /dev/vda /mnt; then
  /imab/probe /mnt /imab/exec
else
  echo "IMAB-GUEST mount-failed"
fi
echo "IMAB-GUEST dmesg-begin"
dmesg
echo "IMAB-GUEST dmesg-end"
sync
reboot -f
