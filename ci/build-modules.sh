#!/usr/bin/env bash
# Build qtfs.ko and qtfs_server.ko out of tree against the cached kernel and
# copy them to build/modules/.
source "$(dirname "$0")/env.sh"

kdir=$("$QTFS_ROOT/ci/build-kernel.sh" | tail -n 1)
out=$QTFS_ROOT/build/modules
log "building modules against $kdir"
make -C "$kdir" M="$QTFS_ROOT" LLVM="$LLVM_SUFFIX" -j"$(nproc)" modules
mkdir -p "$out"
cp "$QTFS_ROOT/qtfs.ko" "$QTFS_ROOT/qtfs_server.ko" "$out/"
log "modules ready in $out"
