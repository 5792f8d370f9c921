#!/usr/bin/env bash
# make-sample-rootfs.sh DIR: a small sample image for the demo and tests:
# real ELF files from this machine (libc.so.6, the ELF interpreter, a few
# programs) plus generated files, links, a fifo and xattrs.
set -euo pipefail
dir=${1:?usage: make-sample-rootfs.sh DIR}
[ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || { echo "$dir is not empty" >&2; exit 2; }
mkdir -p "$dir"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc/ssl/certs,etc/keys,var/log,home/user,boot}
ln -s usr/bin "$dir/bin"; ln -s usr/sbin "$dir/sbin"; ln -s usr/lib "$dir/lib"; ln -s usr/lib64 "$dir/lib64"

libdir=/usr/lib/x86_64-linux-gnu
for f in libc.so.6 ld-linux-x86-64.so.2 libselinux.so.1 libpcre2-8.so.0 libacl.so.1 libattr.so.1; do
  [ -e "$libdir/$f" ] && cp -L "$libdir/$f" "$dir/usr/lib/x86_64-linux-gnu/$f"
done
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$dir/usr/lib64/ld-linux-x86-64.so.2"
for p in ls cat true sh; do
  src=$(type -P "$p" || true)
  [ -n "$src" ] && cp -L "$src" "$dir/usr/bin/$p"
done
cp -L "$(type -P sh)" "$dir/usr/sbin/init"

printf 'sample-device\n' > "$dir/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' > "$dir/etc/passwd"
: > "$dir/var/log/empty.log"
head -c 3000000 /dev/urandom > "$dir/home/user/blob.bin"
printf 'hello\n' > "$dir/home/user/notes.txt"
chown -R 1000:1000 "$dir/home/user"
ln "$dir/home/user/notes.txt" "$dir/home/user/notes-hardlink.txt"
ln -s /etc/hostname "$dir/etc/hostname-link"
cp "$dir/usr/bin/true" "$dir/usr/bin/suid-true"; chmod 4755 "$dir/usr/bin/suid-true"
mkfifo "$dir/var/log/fifo"
if command -v setfattr >/dev/null; then
  setfattr -n user.comment -v "sample image" "$dir/etc/hostname" 2>/dev/null || true
  [ "$(id -u)" -eq 0 ] &&
    setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 \
      "$dir/usr/bin/ls" 2>/dev/null || true
fi
exit 0
