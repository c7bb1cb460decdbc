#!/usr/bin/env bash
# Install every prerequisite of the build and the tests. Idempotent and quick
# when everything is present: nothing is downloaded then.
source "$(dirname "$0")/env.sh"

DEBIAN_PACKAGES=(
    linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev
    flex bison bc libelf-dev libssl-dev cpio xz-utils make
    qemu-system-x86 busybox-static musl-tools
    openssh-server openssh-client openssl python3
    # bench-fs baselines, copied into the guests: knfsd's userspace, diod, iperf3
    nfs-kernel-server diod iperf3
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

installed_components=$(rustup component list --installed)
for component in rust-src rustfmt clippy; do
    grep -q "^$component" <<<"$installed_components" || { log "rustup: $component"; rustup component add "$component"; }
done
rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
    { log "rustup: musl target"; rustup target add x86_64-unknown-linux-musl; }

command -v bindgen >/dev/null || { log "installing bindgen-cli"; cargo install --locked bindgen-cli; }
log "dependencies present"
