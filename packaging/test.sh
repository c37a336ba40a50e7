#!/usr/bin/env bash
# Builds and checks the packages. As root on Debian 12:
#
#   packaging/test.sh
#
# Installs what is missing (cargo-deb and cargo-generate-rpm with
# `cargo install --locked`: several minutes the first time; rpm, man-db,
# groff-base and systemd from Debian), runs packaging/build.sh (release
# build, man pages, completions, .deb, .rpm), then checks the packages'
# metadata, file lists and modes, the man pages, the completions, the
# systemd units (systemd-analyze verify) and a real install, upgrade and
# purge of the .deb, and an install and erase of the .rpm, each in a
# throwaway copy-on-write root (a private mount namespace with an overlay of
# /, so the host is never touched). Prints a PASS/FAIL line per check and
# "N passed, N failed" last; exit status 0 only when all passed.
# LVS_PKG_NO_BUILD=1 skips the cargo build (binaries already built);
# LVS_PKG_STEPS="deb_files units_verify" runs only the named checks.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root_dir=$PWD
out=packaging/build
bins=(pulse lvsd nanny fos send_arp lvscf piranha-web piranha-passwd)
pages=(lvs.cf.5 pulse.8 lvsd.8 nanny.8 fos.8 send_arp.8 lvscf.8 piranha-web.8 piranha-passwd.8
    lvscf-check.8 lvscf-dump.8 lvscf-get.8 lvscf-set.8 lvscf-unset.8 lvscf-rename.8 lvscf-move.8
    lvscf-programs.8)

pass=0
fail=0
failed=()
step() {
    local name=$1
    shift
    if [ -n "${LVS_PKG_STEPS:-}" ] && ! grep -qw -- "$1" <<<"$LVS_PKG_STEPS"; then
        return 0
    fi
    local log
    log=$(mktemp)
    if "$@" >"$log" 2>&1; then
        pass=$((pass + 1))
        echo "PASS $name"
    else
        fail=$((fail + 1))
        failed+=("$name")
        echo "FAIL $name"
        sed 's/^/    /' "$log" | tail -40
    fi
    rm -f "$log"
}

# ---------------------------------------------------------------- tools
prerequisites() {
    local missing=()
    command -v rpm >/dev/null || missing+=(rpm)
    command -v man >/dev/null || missing+=(man-db)
    command -v groff >/dev/null || missing+=(groff-base)
    command -v systemd-analyze >/dev/null || missing+=(systemd)
    command -v unshare >/dev/null || missing+=(util-linux)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" || return 1
    fi
    local crates=()
    cargo deb --version >/dev/null 2>&1 || crates+=(cargo-deb)
    cargo generate-rpm --version >/dev/null 2>&1 || crates+=(cargo-generate-rpm)
    if [ ${#crates[@]} -gt 0 ]; then
        echo "installing ${crates[*]} (takes a few minutes)"
        cargo install --locked "${crates[@]}" || return 1
    fi
}

deb() { ls "$out"/lvs-suite_*.deb; }
rpmfile() { ls "$out"/lvs-suite-*.rpm; }

# ---------------------------------------------------------------- .deb
deb_control() {
    local info
    info=$(dpkg-deb -f "$(deb)") || return 1
    echo "$info"
    grep -qx 'Package: lvs-suite' <<<"$info" &&
        grep -qx 'Conflicts: piranha' <<<"$info" &&
        grep -qx 'Replaces: piranha' <<<"$info" &&
        grep -qx 'Provides: piranha' <<<"$info" &&
        grep -qx 'Recommends: ipvsadm' <<<"$info" &&
        grep -q '^Depends: .*libc6' <<<"$info" &&
        grep -q '^Depends: .*passwd' <<<"$info" &&
        dpkg-deb -I "$(deb)" postinst >/dev/null &&
        dpkg-deb -I "$(deb)" prerm >/dev/null &&
        dpkg-deb -I "$(deb)" postrm >/dev/null
}

# expect LISTING MODE PATH: the listing (tar -tv style) has PATH with MODE.
expect_mode() {
    if ! awk -v m="$2" -v p="$3" '$1 == m && ($NF == p || $NF == "." p) { ok = 1 } END { exit !ok }' <<<"$1"; then
        echo "missing or wrong mode: $2 $3"
        return 1
    fi
}

deb_files() {
    local list ok=0
    list=$(dpkg-deb -c "$(deb)") || return 1
    for b in "${bins[@]}"; do expect_mode "$list" -rwxr-xr-x "/usr/sbin/$b" || ok=1; done
    expect_mode "$list" -rw-rw---- /etc/sysconfig/ha/lvs.cf || ok=1
    expect_mode "$list" -rw-r--r-- /etc/sysconfig/pulse || ok=1
    expect_mode "$list" -rw-r--r-- /etc/sysconfig/piranha-gui || ok=1
    expect_mode "$list" -rw-r--r-- /lib/systemd/system/pulse.service || ok=1
    expect_mode "$list" -rw-r--r-- /lib/systemd/system/piranha-gui.service || ok=1
    expect_mode "$list" -rw-r--r-- /usr/share/man/man5/lvs.cf.5.gz || ok=1
    for p in "${pages[@]}"; do
        [ "$p" = lvs.cf.5 ] || expect_mode "$list" -rw-r--r-- "/usr/share/man/man8/$p.gz" || ok=1
    done
    for b in "${bins[@]}"; do
        expect_mode "$list" -rw-r--r-- "/usr/share/bash-completion/completions/$b" || ok=1
        expect_mode "$list" -rw-r--r-- "/usr/share/zsh/vendor-completions/_$b" || ok=1
        expect_mode "$list" -rw-r--r-- "/usr/share/fish/vendor_completions.d/$b.fish" || ok=1
    done
    expect_mode "$list" -rw-r--r-- /usr/share/doc/lvs-suite/examples/lvs.cf.sample || ok=1
    if grep -E 'ipvs-selftest|lvsd-benchgen|/usr/bin/' <<<"$list"; then
        echo "test or bench binaries, or files in /usr/bin, are packaged"
        ok=1
    fi
    [ "$ok" = 0 ] || echo "$list"
    return $ok
}

deb_conffiles() {
    local tmp c
    tmp=$(mktemp -d)
    dpkg-deb -e "$(deb)" "$tmp" || return 1
    c=$(cat "$tmp/conffiles")
    rm -rf "$tmp"
    echo "$c"
    grep -qx /etc/sysconfig/ha/lvs.cf <<<"$c" &&
        grep -qx /etc/sysconfig/pulse <<<"$c" &&
        grep -qx /etc/sysconfig/piranha-gui <<<"$c"
}

# ---------------------------------------------------------------- .rpm
rpm_meta() {
    local r
    r=$(rpmfile) || return 1
    rpm -qpi "$r" 2>/dev/null | head -3
    rpm -qp --provides "$r" 2>/dev/null | grep -qx 'piranha = 0.8.6-100' &&
        rpm -qp --obsoletes "$r" 2>/dev/null | grep -qx 'piranha < 0.8.6-100' &&
        rpm -qp --conflicts "$r" 2>/dev/null | grep -qx 'piranha < 0.8.6-100' &&
        rpm -qp --recommends "$r" 2>/dev/null | grep -qx 'ipvsadm' &&
        rpm -qp --requires "$r" 2>/dev/null | grep -q 'libc.so.6' &&
        rpm -qp --scripts "$r" 2>/dev/null | grep -q 'groupadd -r -g 60 piranha' &&
        rpm -qp --scripts "$r" 2>/dev/null | grep -q 'preuninstall scriptlet' &&
        rpm -qp --scripts "$r" 2>/dev/null | grep -q 'postuninstall scriptlet'
}

rpm_files() {
    local r list ok=0
    r=$(rpmfile) || return 1
    list=$(rpm -qlpv "$r" 2>/dev/null) || return 1
    for b in "${bins[@]}"; do expect_mode "$list" -rwxr-xr-x "/usr/sbin/$b" || ok=1; done
    awk '$1 == "-rw-rw----" && $3 == "root" && $4 == "piranha" && $NF == "/etc/sysconfig/ha/lvs.cf" { ok = 1 } END { exit !ok }' <<<"$list" ||
        { echo "lvs.cf is not -rw-rw---- root piranha"; ok=1; }
    expect_mode "$list" -rw-r--r-- /usr/lib/systemd/system/pulse.service || ok=1
    expect_mode "$list" -rw-r--r-- /usr/lib/systemd/system/piranha-gui.service || ok=1
    expect_mode "$list" -rw-r--r-- /usr/share/man/man5/lvs.cf.5.gz || ok=1
    for p in "${pages[@]}"; do
        [ "$p" = lvs.cf.5 ] || expect_mode "$list" -rw-r--r-- "/usr/share/man/man8/$p.gz" || ok=1
    done
    expect_mode "$list" -rw-r--r-- /usr/share/zsh/site-functions/_lvscf || ok=1
    local conf
    conf=$(rpm -qpc "$r" 2>/dev/null)
    for c in /etc/sysconfig/ha/lvs.cf /etc/sysconfig/pulse /etc/sysconfig/piranha-gui; do
        grep -qx "$c" <<<"$conf" || { echo "$c is not %config"; ok=1; }
    done
    if grep -E 'ipvs-selftest|lvsd-benchgen' <<<"$list"; then ok=1; fi
    [ "$ok" = 0 ] || echo "$list"
    return $ok
}

# ---------------------------------------------------------------- man pages
man_render() {
    local ok=0 p w
    for p in "$out"/man.src/*; do
        w=$(groff -man -ww -z "$p" 2>&1)
        if [ -n "$w" ]; then
            echo "$p: $w"
            ok=1
        fi
        if ! MANWIDTH=80 man -l "$p" 2>&1 >/dev/null | (! grep .); then ok=1; fi
        MANWIDTH=80 man -l "$p" 2>/dev/null | grep -q . || { echo "$p renders empty"; ok=1; }
    done
    for p in "${pages[@]}"; do
        [ -f "$out/man.src/$p" ] || { echo "missing $p"; ok=1; }
    done
    return $ok
}

# Every long option a binary's --help prints appears in its man page
# (catches a hand-written page that fell behind its binary).
man_options() {
    local ok=0 b help opts page o
    local target_dir
    target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    for b in pulse lvsd nanny lvscf piranha-web piranha-passwd \
        "lvscf check" "lvscf dump" "lvscf get" "lvscf set" "lvscf unset" "lvscf rename" "lvscf move" \
        "lvscf programs"; do
        # shellcheck disable=SC2086 # "lvscf check" is a command and its argument
        help=$("$target_dir/release/"$b --help 2>&1)
        opts=$(grep -oE -- '--[a-z][a-z0-9_-]+' <<<"$help" | sort -u)
        page=$(MANWIDTH=200 man -l "$out/man.src/${b/ /-}.8" 2>/dev/null)
        [ -n "$opts" ] || { echo "$b --help lists no option"; ok=1; }
        for o in $opts; do
            if ! grep -qF -- "$o" <<<"$page"; then
                echo "$b: $o is in --help but not in ${b/ /-}.8"
                ok=1
            fi
        done
    done
    return $ok
}

completions() {
    local ok=0 b
    for b in "${bins[@]}"; do
        bash -n "$out/completions/bash/$b" || ok=1
        grep -q "$b" "$out/completions/zsh/_$b" || ok=1
        grep -q "complete -c $b" "$out/completions/fish/$b.fish" || ok=1
    done
    bash -c "source $out/completions/bash/lvscf && complete -p lvscf" || ok=1
    return $ok
}

# ---------------------------------------------------------------- systemd
# Runs "$@" in a private mount namespace where / is a copy-on-write overlay
# (tmpfs upper layer) mounted at $OVL/root, with /proc and /dev. Nothing
# done inside reaches the host; it all goes when the command ends.
in_throwaway_root() {
    local ovl
    ovl=$(mktemp -d /tmp/lvs-pkg-test.XXXXXX)
    unshare -m bash -c '
        set -e
        ovl=$1; shift
        mount --make-rprivate /
        mount -t tmpfs tmpfs "$ovl"
        mkdir -p "$ovl/up" "$ovl/work" "$ovl/root"
        mount -t overlay overlay -o "lowerdir=/,upperdir=$ovl/up,workdir=$ovl/work" "$ovl/root"
        mount -t proc proc "$ovl/root/proc"
        mount --rbind /dev "$ovl/root/dev"
        mkdir -p "$ovl/root/pkgtest"
        export OVL=$ovl
        "$@"
    ' _ "$ovl" "$@"
    local rc=$?
    rmdir "$ovl" 2>/dev/null
    return $rc
}

units_verify() {
    local tmp rc
    tmp=$(mktemp -d)
    dpkg-deb -x "$(deb)" "$tmp" || return 1
    # verify checks that ExecStart binaries and Documentation man pages exist:
    # overlay the package's /usr/sbin on the host's, in a private namespace.
    unshare -m bash -c '
        set -e
        mount --make-rprivate /
        mount -t overlay overlay -o "lowerdir=$1/usr/sbin:/usr/sbin" /usr/sbin
        MANPATH=$1/usr/share/man systemd-analyze verify \
            "$1/lib/systemd/system/pulse.service" "$1/lib/systemd/system/piranha-gui.service" 2>&1 | tee /dev/stderr | (! grep -q .)
    ' _ "$tmp"
    rc=$?
    systemd-analyze security --offline=yes --no-pager "$tmp/lib/systemd/system/piranha-gui.service" 2>/dev/null |
        grep -i 'overall exposure' || true
    rm -rf "$tmp"
    return $rc
}

# ---------------------------------------------------------------- installs
# install_in_throwaway_root PACKAGE SCRIPT: runs packaging/tests/SCRIPT in a
# throwaway root with the package (and the sample lvs.cf) in its directory.
install_in_throwaway_root() {
    local pkg=$1 script=$2
    in_throwaway_root bash -c '
        set -e
        cp "$1" "$OVL/root/pkgtest/lvs-suite.${1##*.}"
        cp "$2" packaging/lvs.cf.sample "$OVL/root/pkgtest/"
        chroot "$OVL/root" bash -c "cd /pkgtest && ./$(basename "$2")"
    ' _ "$pkg" "packaging/tests/$script"
}

deb_install() { install_in_throwaway_root "$(deb)" deb-install.sh; }
rpm_install() { install_in_throwaway_root "$(rpmfile)" rpm-install.sh; }

# ---------------------------------------------------------------- run
step "prerequisites (cargo-deb, cargo-generate-rpm, rpm, man, systemd-analyze)" prerequisites
step "build: release binaries, man pages, completions, .deb, .rpm" packaging/build.sh
step ".deb control: name, Conflicts/Replaces/Provides piranha, Depends, Recommends, scripts" deb_control
step ".deb files and modes (no test binaries)" deb_files
step ".deb conffiles (lvs.cf, sysconfig files)" deb_conffiles
step ".rpm metadata: Provides/Obsoletes/Conflicts piranha, requires, scriptlets" rpm_meta
step ".rpm files, modes, owners, %config(noreplace)" rpm_files
step "man pages render (man -l) with no groff -ww warnings" man_render
step "man pages document every long option of --help" man_options
step "shell completions (bash, zsh, fish) for every tool" completions
step "systemd-analyze verify pulse.service piranha-gui.service" units_verify
step ".deb install, conffile kept on upgrade, purge (throwaway root)" deb_install
step ".rpm install, config kept on upgrade, erase (throwaway root)" rpm_install

echo
if [ "$fail" -gt 0 ]; then
    printf 'failed: %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
