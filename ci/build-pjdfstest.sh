#!/usr/bin/env bash
# Build a static pjdfstest (crates.io, the Rust rewrite of the POSIX file
# system test suite) once, into a cache outside the checkout:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/qtfs/pjdfstest-<version>/bin/pjdfstest
# A complete cache is reused; the stamp is written last, so an interrupted
# build is detected and redone. stdout carries only the binary's path (last
# line); progress goes to stderr. PJDFSTEST_VERSION overrides the version.
source "$(dirname "$0")/env.sh"
exec 3>&1 1>&2

version=${PJDFSTEST_VERSION:-0.2.2}
target=x86_64-unknown-linux-musl
dir=${XDG_CACHE_HOME:-$HOME/.cache}/qtfs/pjdfstest-$version
bin=$dir/bin/pjdfstest
stamp=$dir/.qtfs-pjdfstest-complete
mkdir -p "$(dirname "$dir")"
# One build at a time per cache entry; a second caller waits, then reuses it.
exec 9>"$dir.lock"
flock 9
if [ -f "$stamp" ] && [ -x "$bin" ]; then
    log "pjdfstest cache is complete: $bin"
    echo "$bin" >&3
    exit 0
fi

command -v cargo >/dev/null || die "cargo missing: run 'make deps'"
rustup target list --installed 2>/dev/null | grep -qx "$target" \
    || die "rust target $target missing: run 'make deps'"
log "building pjdfstest $version (static, $target) into $dir"
rm -rf "$dir"
mkdir -p "$dir"
# Its own target dir: the workspace's CARGO_TARGET_DIR is not shared with it.
CARGO_TARGET_DIR=$dir/target cargo install --locked "pjdfstest@$version" \
    --target "$target" --root "$dir"
rm -rf "$dir/target"
[ -x "$bin" ] || die "cargo install produced no $bin"
# A dynamic binary would not run in the busybox guests: insist on static.
info=$(file -L "$bin")
case "$info" in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) die "pjdfstest is not static: $info" ;;
esac
"$bin" -l >/dev/null || die "$bin does not run"
touch "$stamp"
log "pjdfstest ready: $bin ($(du -h "$bin" | cut -f1))"
echo "$bin" >&3
