#!/usr/bin/env bash
# Build the Rust-enabled test kernel into the cache (see ci/env.sh for the
# key). A complete cache is reused; the stamp is written last, so a build that
# was interrupted is detected and redone from a clean tree.
source "$(dirname "$0")/env.sh"
# Progress goes to stderr; stdout carries only the tree's path (last line).
exec 3>&1 1>&2

dir=$(kernel_cache_dir)
stamp=$dir/.qtfs-kernel-complete
mkdir -p "$(dirname "$dir")"
# One build at a time per cache entry; a second caller waits, then reuses it.
exec 9>"$dir.lock"
flock 9
if [ -f "$stamp" ]; then
    log "kernel cache is complete: $dir"
    echo "$dir" >&3
    exit 0
fi

[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL missing: run 'make deps'"
log "building kernel $(kernel_version) in $dir"
rm -rf "$dir"
mkdir -p "$dir"
tar -xf "$KERNEL_TARBALL" -C "$dir" --strip-components=1

kmake() { make -C "$dir" LLVM="$LLVM_SUFFIX" "$@"; }
kmake -s tinyconfig
"$dir/scripts/kconfig/merge_config.sh" -m -O "$dir" "$dir/.config" "$KERNEL_FRAGMENT" >/dev/null
kmake -s olddefconfig

# Kconfig drops an option whose dependencies are unmet without failing: check.
missing=0
while IFS= read -r line; do
    case "$line" in CONFIG_*=*) ;; *) continue ;; esac
    grep -qxF "$line" "$dir/.config" || { echo "config not applied: $line" >&2; missing=1; }
done < "$KERNEL_FRAGMENT"
[ "$missing" = 0 ] || die "the kernel config fragment does not apply cleanly"

kmake rustavailable >/dev/null || die "Rust toolchain not usable by the kernel: run 'make deps'"
time kmake -j"$(nproc)" bzImage modules
touch "$stamp"
log "kernel ready: $dir"
echo "$dir" >&3
