#!/usr/bin/env bash
# Build the guests' base initramfs (uncompressed cpio, shared by both roles):
# busybox, the workspace's static binaries, the modules, users for the POSIX
# tests, and /init. The scenario comes as a second cpio appended per run.
# Usage: build-initramfs.sh <output.cpio>
# RIG_EXTRA_BINS (optional): colon-separated paths of further executables
# (static: the guests have no libc) copied into the guests' /usr/local/bin,
# e.g. pjdfstest for `make pjdfstest`. Unset or empty: nothing is added.
# RIG_EXTRA_DYN_BINS (optional): colon-separated paths of dynamically linked
# executables of this machine (Debian's), copied to the same paths in the
# guests with every library ldd names and the dynamic loader, e.g. knfsd's
# userspace and diod for `make bench-fs`.
# RIG_EXTRA_FILES (optional): colon-separated absolute paths of further files
# or directories copied to the same paths (e.g. /etc/netconfig for libtirpc).
source "$(dirname "$0")/../../ci/env.sh"

out=${1:?usage: build-initramfs.sh <output.cpio>}
bins=$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/release
mods=$MODULES_DIR  # build/modules, or build/modules-debug for the debug kernel
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,lib/qtfs,root,scenario}
cp /bin/busybox "$stage/bin/busybox"
cp "$QTFS_ROOT/tests/rig/guest-init" "$stage/init"
chmod 755 "$stage/init"

# Every binary of the workspace, built static by `make user`.
[ -d "$bins" ] || die "$bins missing: run 'make user'"
find "$bins" -maxdepth 1 -type f -executable -exec cp {} "$stage/usr/local/bin/" \;
[ -n "$(ls "$stage/usr/local/bin")" ] || die "no binaries in $bins: run 'make user'"
if [ -n "${RIG_EXTRA_BINS:-}" ]; then
    IFS=: read -ra extra_bins <<<"$RIG_EXTRA_BINS"
    for b in "${extra_bins[@]}"; do
        [ -n "$b" ] || continue
        [ -f "$b" ] && [ -x "$b" ] || die "RIG_EXTRA_BINS: $b is not an executable file"
        cp "$b" "$stage/usr/local/bin/"
    done
fi

if [ -n "${RIG_EXTRA_DYN_BINS:-}" ]; then
    IFS=: read -ra dyn_bins <<<"$RIG_EXTRA_DYN_BINS"
    for b in "${dyn_bins[@]}"; do
        [ -n "$b" ] || continue
        [ -f "$b" ] && [ -x "$b" ] || die "RIG_EXTRA_DYN_BINS: $b is not an executable file"
        cp --parents -L "$b" "$stage/"
        # "libx.so => /lib/.../libx.so (0x…)" and the loader's own line.
        ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
            while IFS= read -r lib; do
                [ -e "$stage$lib" ] || cp --parents -L "$lib" "$stage/"
            done
    done
fi
if [ -n "${RIG_EXTRA_FILES:-}" ]; then
    IFS=: read -ra extra_files <<<"$RIG_EXTRA_FILES"
    for f in "${extra_files[@]}"; do
        [ -n "$f" ] || continue
        [ -e "$f" ] || die "RIG_EXTRA_FILES: $f does not exist"
        cp -r --parents -L "$f" "$stage/"
    done
fi

# The modules (absent only while they cannot be built yet).
cp "$mods"/*.ko "$stage/lib/qtfs/" 2>/dev/null || log "warning: no modules in $mods"

cat > "$stage/etc/rig.env" <<ENV
HOST_IP=10.10.0.1
DPU_IP=10.10.0.2
QTFS_MODULES=/lib/qtfs
ENV
cat > "$stage/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
tests:x:1000:1000:tests:/tmp:/bin/sh
pjdfstest:x:1001:1001:pjdfstest:/tmp:/bin/sh
PASSWD
cat > "$stage/etc/group" <<GROUP
root:x:0:
tests:x:1000:
pjdfstest:x:1001:
nogroup:x:65534:
GROUP
echo "127.0.0.1 localhost" > "$stage/etc/hosts"

(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) > "$out"
