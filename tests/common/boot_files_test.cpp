#include "common/read/boot_files.h"

#include <gtest/gtest.h>

namespace imab {
namespace {

TEST(BootFiles, KernelsByNameAtTopLevelAndUnderBoot) {
  for (const char* path :
       {"boot/vmlinuz-6.1.0-18-amd64", "boot/vmlinuz", "boot/vmlinux-6.1",
        "boot/bzImage", "boot/Image", "boot/Image.gz", "boot/zImage",
        "boot/uImage", "boot/kernel8.img", "boot/firmware/kernel_2712.img",
        "boot/efi/EFI/x/vmlinuz", "vmlinuz", "vmlinuz.old", "Image",
        // Boot Loader Spec type 1: boot/<token>/<kver>/linux.
        "boot/4a1f/6.1.0-13-amd64/linux", "boot/efi/4a1f/6.6.0/linux"}) {
    EXPECT_EQ(BootFileRoleOf(path), BootFileRole::kKernel) << path;
  }
}

TEST(BootFiles, InitramfsByNameAtTopLevelAndUnderBoot) {
  for (const char* path :
       {"boot/initrd.img-6.1.0", "boot/initramfs.img",
        "boot/initramfs-6.1.0.img", "boot/firmware/initramfs8", "initrd.img",
        "initrd.img.old", "boot/4a1f/6.1.0-13-amd64/initrd"}) {
    EXPECT_EQ(BootFileRoleOf(path), BootFileRole::kInitramfs) << path;
  }
}

TEST(BootFiles, OtherPathsAreNotBootFiles) {
  for (const char* path :
       {"usr/lib/modules/6.1.0/vmlinuz", "opt/initrd.img", "boot/config-6.1",
        "boot/System.map-6.1", "boot/grub/grub.cfg", "etc/kernel",
        "bootx/vmlinuz", "kern", "boot", "boot/grub/i386-pc/linux.mod",
        "boot/grub/x86_64-efi/linux16.mod"}) {
    EXPECT_EQ(BootFileRoleOf(path), BootFileRole::kNone) << path;
  }
}

TEST(BootFiles, LinksResolveInsideTheImage) {
  EXPECT_EQ(ResolveImageLink("vmlinuz", "boot/vmlinuz-6.1"),
            "boot/vmlinuz-6.1");
  EXPECT_EQ(ResolveImageLink("boot/vmlinuz", "vmlinuz-6.1"),
            "boot/vmlinuz-6.1");
  EXPECT_EQ(ResolveImageLink("boot/initrd.img", "/opt/rd"), "opt/rd");
  EXPECT_EQ(ResolveImageLink("boot/x", "../../../opt/./rd"), "opt/rd");
}

}  // namespace
}  // namespace imab
