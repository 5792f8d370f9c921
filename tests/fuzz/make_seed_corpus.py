#!/usr/bin/env python3
# Regenerates the seed corpora of tests/fuzz (run from tests/fuzz/corpus).
sha = "ab" * 32
def header(n):
    return ("imabundle-manifest 2\nkind full\nimage-version 1.2.3\ncompatible board-x\n"
            "created 1700000000\npayload-size 1234\npayload-sha256 " + sha +
            "\nentry-count " + str(n) + "\nentries\n")
recs = [
 "dir usr 0755 0 0\nxattr security.selinux 73797374656d5f75\n",
 "file usr/a%20b 4755 0 0 5 " + "01" * 32 + "\nxattr security.ima 0302\nxattr user.empty -\n",
 "hardlink usr/c usr/a%20b\n",
 "symlink lib 0 0 usr/lib\n",
 "char dev-null 0666 0 0 1 3\n",
 "block sda 0660 0 6 8 0\n",
 "fifo run-p 0600 1 1\n",
]
valid = header(len(recs)) + "".join(recs) + "end\n"
# A self-signed P-256 certificate (SKID=hash, so keyid f12a15f4); the reader
# treats it as opaque bytes, the verifier parses it (FORMAT.md §3.3.1).
cert = (
 "3082017b30820121a0030201020214291e80be35187c3af20a75112eef39088a4ae617300a06082a8648ce3d04030230"
 "133111300f06035504030c087365656420696d61301e170d3236313132383031333034355a170d333631313235303133"
 "3034355a30133111300f06035504030c087365656420696d613059301306072a8648ce3d020106082a8648ce3d030107"
 "034200040dc26e74b7ec6c19e52c10c3e5565a5432980e2290a5a569718bf72adc8993a05ee29a1f84fa675734eb46cb"
 "c2be6b3c1b5d5b2d21d9fdd06ee1087bb0e94ec2a3533051301f0603551d230418301680141a55bde3984ea2873da348"
 "8b6c58fdfef12a15f4300f0603551d130101ff040530030101ff301d0603551d0e041604141a55bde3984ea2873da348"
 "8b6c58fdfef12a15f4300a06082a8648ce3d040302034800304502204dc6d3d195b36cb2d55db2538f70ccdf1cf45b1d"
 "e4d49df9b85cde1ea9bffbf60221008679c329552c8712a2d746bc7102383ecd69922056331348ff89c3e005ded285"
)
def with_ima(text, section):
    return text.replace("entries\n", section + "entries\n", 1)
ima = "section ima 1\nkernel-profile le64\ncert f12a15f4 " + cert + "\nend-section ima\n"
ca_store = ("section ca-store 1\nbundle " + "cd" * 32 + "\nanchor ISRG_Root_X1.pem " +
            "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6" +
            " 2064567878 C=US,%20O=Internet%20Security%20Research%20Group,%20CN=ISRG%20Root%20X1\n"
            "anchor My_Corp_=Dev=__Root.pem " + "ef" * 32 + " 1893456000 CN=My%20Corp\n"
            "end-section ca-store\n")
files = {
 "valid_all_types": valid,
 "valid_empty": header(0) + "end\n",
 "bad_trailing_bytes": valid + "x",
 "bad_count_more": header(1) + recs[0] + recs[3] + "end\n",
 "bad_section": header(0).replace("entries\n", "section keys 2\nend-section keys\nentries\n") + "end\n",
 "bad_xattr_order": header(1) + "file a 0644 0 0 1 " + sha + "\nxattr user.b -\nxattr user.a -\nend\n",
 "bad_hardlink_xattr": header(1) + "hardlink a b\nxattr user.a -\nend\n",
 "bad_escape": header(1) + "symlink a%2f 0 0 b\nend\n",
 "bad_owner_minus_one": header(1) + "dir a 0755 0 4294967295\nend\n",
 "bad_truncated": valid[: len(valid) // 2],
 "valid_ima_section": with_ima(valid, ima),
 "valid_ima_two_certs": with_ima(header(0) + "end\n", ima.replace(
     "end-section", "cert f12a15f5 3003020101\nend-section").replace(
     "le64", "le32:security.selinux,security.ima,security.capability")),
 "bad_ima_twice": with_ima(valid, ima + ima),
 "bad_ima_keyid_order": with_ima(valid, ima.replace(
     "end-section", "cert 0000ffff 3003020101\nend-section")),
 "bad_ima_no_end": with_ima(valid, ima.replace("end-section ima\n", "")),
 "valid_ca_store_section": with_ima(valid, ima + ca_store),
 "bad_ca_store_unsorted": with_ima(valid, ca_store.replace(
     "end-section", "anchor A.pem " + "ab" * 32 + " 1 CN=A\nend-section")),
 "bad_ca_store_before_ima": with_ima(valid, ca_store + ima),
 # Section keys 2 (FORMAT.md §3.3.3): a kernel CA, the kernels carrying it.
 "valid_keys_kernels": with_ima(valid, "section keys 2\nkey-generation 3\nkernel-ca " + cert +
     "\nkernel boot/vmlinuz-6.1.0 6.1\nkernel vmlinuz 6.1\ninitramfs boot/initrd.img " + sha +
     " -\nend-section keys\n" + ima),
 # A kernel line needs the kernel-ca lines of its CAs.
 "bad_keys_kernel_without_ca": with_ima(valid, "section keys 2\nkey-generation 3" +
     "\nkernel boot/vmlinuz-6.1.0 6.1\nkernel vmlinuz 6.1\ninitramfs boot/initrd.img " + sha +
     " -\nend-section keys\n" + ima),
 "bad_keys_kernel_order": with_ima(valid, "section keys 2\nkey-generation 3\nkernel-ca " + cert +
     "\nkernel vmlinuz 6.1\nkernel boot/vmlinuz 6.1\nend-section keys\n" + ima),
}
for name, text in files.items():
    open("manifest_reader/" + name, "wb").write(text.encode("latin-1"))

# Bundle layout: canonical ustar members per FORMAT.md §2.2.
def octal(v, width):
    return ("%0*o" % (width - 1, v)).encode() + b"\0"
def tar_header(name, size, mtime):
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = octal(0o644, 8)
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = octal(size, 12)
    h[136:148] = octal(mtime, 12)
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    h[148:156] = ("%06o" % sum(h)).encode() + b"\0 "
    return bytes(h)
def pad(b):
    return b + b"\0" * ((-len(b)) % 512)
def bundle(members, mtime=1700000000):
    return b"".join(tar_header(n, len(d), mtime) + pad(d) for n, d in members) + b"\0" * 1024
members = [("manifest", files["valid_empty"].encode()),
           ("manifest.sig", b"\x30\x03\x02\x01\x01"),
           ("payload.tar.zst", b"\x28\xb5\x2f\xfd" + b"\0" * 9)]
good = bundle(members)
open("bundle_layout/valid_small", "wb").write(good)
open("bundle_layout/bad_trailing_block", "wb").write(good + b"\0" * 512)
open("bundle_layout/bad_member_order", "wb").write(bundle([members[0], members[2], members[1]]))
open("bundle_layout/bad_truncated", "wb").write(good[:1000])
