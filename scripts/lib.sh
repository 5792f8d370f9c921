# Shared set-up for scripts/demo, scripts/test and bench/: installs the Debian
# packages the project needs (when missing) and builds into build/.
# Sourced, not run.

IMAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAB_PACKAGES=(cmake ninja-build g++ pkg-config libssl-dev libarchive-dev
  libzstd-dev libcli11-dev libgtest-dev libgmock-dev zstd xz-utils gzip
  attr ima-evm-utils openssl tar cpio keyutils ca-certificates libp11-dev softhsm2
  ccache lz4 bzip2 zlib1g-dev liblzma-dev libbz2-dev liblz4-dev
  clang-format-14 python3-clang-14 cloc
  grub-common libubootenv-tool u-boot-tools
  libblkid-dev e2fsprogs fdisk strace systemd)

# The kernel matrix: kernel sources and build tools, QEMU, busybox, ext4.
IMAB_KERNEL_PACKAGES=(linux-source-6.1 linux-source-6.12 build-essential bc
  bison flex libelf-dev qemu-system-x86 busybox-static e2fsprogs)

imab_log() { printf '==> %s\n' "$*" >&2; }

imab_install_packages() {
  local missing=() p
  for p in "${IMAB_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  imab_log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# imab_build DIR [cmake args...]: configure once, then build incrementally.
imab_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    imab_log "configuring $dir"
    # ccache keeps its cache outside the clone (~/.ccache unless CCACHE_DIR
    # says otherwise), so a fresh clone on a warm machine compiles little.
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$IMAB_ROOT" -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
  fi
  imab_log "building $dir"
  # Paths relative to the clone, so another clone of the same commit hits.
  CCACHE_BASEDIR=${CCACHE_BASEDIR:-$IMAB_ROOT} ninja -C "$dir" >&2
}
