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
# The kernel variant: "" (the test kernel of `make test`) or "debug" (`make
# test-debug`: the same config plus ci/kernel-debug.config, KASAN). The
# debug variant has its own cache entry (its key covers both fragments),
# its own module build directory and its own modules folder, so the two
# never overwrite each other.
QTFS_KERNEL_VARIANT=${QTFS_KERNEL_VARIANT:-}
case "$QTFS_KERNEL_VARIANT" in
    "")
        KERNEL_FRAGMENT=$QTFS_ROOT/ci/kernel.config
        MODULES_DIR=$QTFS_ROOT/build/modules
        ;;
    debug)
        # build-kernel.sh merges and checks one fragment: give it both.
        mkdir -p "$QTFS_ROOT/build"
        KERNEL_FRAGMENT=$QTFS_ROOT/build/kernel-debug-fragment.config
        cat "$QTFS_ROOT/ci/kernel.config" "$QTFS_ROOT/ci/kernel-debug.config" >"$KERNEL_FRAGMENT.$$"
        mv "$KERNEL_FRAGMENT.$$" "$KERNEL_FRAGMENT"
        MODULES_DIR=$QTFS_ROOT/build/modules-debug
        ;;
    *)
        printf 'error: QTFS_KERNEL_VARIANT=%s: unknown (empty or "debug")\n' "$QTFS_KERNEL_VARIANT" >&2
        exit 1
        ;;
esac
export QTFS_KERNEL_VARIANT MODULES_DIR

kernel_version() {
    # 6.12.117-1~deb12u1 -> 6.12.117
    dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null | sed 's/-.*//'
}

kernel_cache_dir() {
    # QTFS_KERNEL_CACHE names the test kernel's tree, QTFS_DEBUG_KERNEL_CACHE
    # the debug variant's.
    local override=${QTFS_KERNEL_CACHE:-}
    [ "$QTFS_KERNEL_VARIANT" = debug ] && override=${QTFS_DEBUG_KERNEL_CACHE:-}
    if [ -n "$override" ]; then
        echo "$override"
        return
    fi
    local key
    key=$( {
        cat "$KERNEL_FRAGMENT" "$QTFS_ROOT/ci/build-kernel.sh"
        rustc --version
        "clang$LLVM_SUFFIX" --version | head -1
        bindgen --version 2>/dev/null || true
    } | sha256sum | cut -c1-12)
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/qtfs/linux-$(kernel_version)${QTFS_KERNEL_VARIANT:+-$QTFS_KERNEL_VARIANT}-$key"
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
