#!/usr/bin/env bash
# Build qtfs.ko and qtfs_server.ko out of tree against the cached kernel and
# copy them to build/modules/ (QTFS_KERNEL_VARIANT=debug: against the debug
# kernel, into build/modules-debug/, see ci/env.sh).
source "$(dirname "$0")/env.sh"

kdir=$("$QTFS_ROOT/ci/build-kernel.sh" | tail -n 1)
out=$MODULES_DIR
src=$QTFS_ROOT
if [ -n "$QTFS_KERNEL_VARIANT" ]; then
    # Kbuild (6.12) puts an external module's objects beside its sources:
    # build a copy, so that the test kernel's objects in the checkout are
    # left alone. The copy keeps its objects (and the sources their
    # times) between runs, so only what changed is rebuilt.
    src=$QTFS_ROOT/build/kmod-$QTFS_KERNEL_VARIANT
    mkdir -p "$src/qtfs-kmod"
    cp -p "$QTFS_ROOT/Kbuild" "$src/"
    (cd "$QTFS_ROOT/qtfs-kmod" && git ls-files -z --cached --others --exclude-standard . |
        xargs -0 cp -p --parents -t "$src/qtfs-kmod/")
fi
log "building modules against $kdir"
make -C "$kdir" M="$src" LLVM="$LLVM_SUFFIX" -j"$(nproc)" modules
mkdir -p "$out"
cp "$src/qtfs.ko" "$src/qtfs_server.ko" "$out/"
log "modules ready in $out"
