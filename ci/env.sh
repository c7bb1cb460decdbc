# Shared settings for the ci/ scripts: sourced, never run.
# The kernel cache is keyed by kernel version, the config fragment and the
# toolchain, because out-of-tree Rust modules must be built by the very rustc
# and clang that built the tree.
set -euo pipefail

QTFS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export QTFS_ROOT
export LLVM_SUFFIX=-19
# Cargo's output, outside the checkout (the Makefile sets the same default).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qtfs/cargo-target}
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_FRAGMENT=$QTFS_ROOT/ci/kernel.config

kernel_version() {
    # 6.12.117-1~deb12u1 -> 6.12.117
    dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null | sed 's/-.*//'
}

kernel_cache_dir() {
    if [ -n "${QTFS_KERNEL_CACHE:-}" ]; then
        echo "$QTFS_KERNEL_CACHE"
        return
    fi
    local key
    key=$( {
        cat "$KERNEL_FRAGMENT" "$QTFS_ROOT/ci/build-kernel.sh"
        rustc --version
        "clang$LLVM_SUFFIX" --version | head -1
        bindgen --version 2>/dev/null || true
    } | sha256sum | cut -c1-12)
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/qtfs/linux-$(kernel_version)-$key"
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
