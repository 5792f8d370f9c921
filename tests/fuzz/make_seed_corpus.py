#!/usr/bin/env python3
# Regenerates the seed corpora of tests/fuzz (run from tests/fuzz/corpus).
sha = "ab" * 32
def header(n):
    return ("imabundle-manifest 1\nkind full\nimage-version 1.2.3\ncompatible board-x\n"
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
files = {
 "valid_all_types": valid,
 "valid_empty": header(0) + "end\n",
 "bad_trailing_bytes": valid + "x",
 "bad_count_more": header(1) + recs[0] + recs[3] + "end\n",
 "bad_section": header(0).replace("entries\n", "section keys 1\nend-section keys\nentries\n") + "end\n",
 "bad_xattr_order": header(1) + "file a 0644 0 0 1 " + sha + "\nxattr user.b -\nxattr user.a -\nend\n",
 "bad_hardlink_xattr": header(1) + "hardlink a b\nxattr user.a -\nend\n",
 "bad_escape": header(1) + "symlink a%2f 0 0 b\nend\n",
 "bad_truncated": valid[: len(valid) // 2],
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
