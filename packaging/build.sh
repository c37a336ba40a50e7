#!/usr/bin/env bash
# Builds the Debian and RPM packages of the suite into packaging/build/:
#   1. the release binaries (cargo build --release --workspace --bins);
#   2. man pages (generated from the clap definitions + packaging/man/*) and
#      shell completions, with xtask;
#   3. lvs-suite_VERSION-1_ARCH.deb (cargo deb) and
#      lvs-suite-VERSION-1.ARCH.rpm (cargo generate-rpm).
# Needs cargo-deb and cargo-generate-rpm (packaging/test.sh installs them).
# LVS_PKG_NO_BUILD=1 skips step 1 (binaries already built).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=packaging/build
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
release="$target_dir/release"
bins=(pulse lvsd nanny fos send_arp lvscf piranha-web piranha-passwd)

if [ "${LVS_PKG_NO_BUILD:-0}" != 1 ]; then
    cargo build --release --locked --workspace --bins
fi
for b in "${bins[@]}"; do
    [ -x "$release/$b" ] || { echo "build.sh: $release/$b is missing" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/man" "$out/bin"
cargo run --locked -q -p xtask -- man "$out/man.src" >/dev/null
for page in "$out"/man.src/*; do
    gzip -9n -c "$page" >"$out/man/$(basename "$page").gz"
done
cargo run --locked -q -p xtask -- completions "$out/completions" >/dev/null

# The release profile keeps debug info (debug = 1). cargo-deb strips what it
# packages itself; for the RPM, stripped copies (target/release is shared
# and left alone).
for b in "${bins[@]}"; do
    strip --strip-unneeded -o "$out/bin/$b" "$release/$b"
done

cargo deb -p lvs-suite --no-build --strip --output "$out/"
cargo generate-rpm -p packaging/suite --output "$out/"
ls -l "$out"/*.deb "$out"/*.rpm
