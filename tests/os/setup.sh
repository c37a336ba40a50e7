# Installing the suite on the two router guests as an administrator does
# (tests/os/README.md), sourced by tests/os/lab after lib.sh: the package
# with dpkg -i, IP forwarding, the web tool's password, ssh keys for
# "copy lvs.cf to backup" and for root's scp, the lab's lvs.cf. bash.

# The lab's lvs.cf (tests/lab/lvs.cf) with what two separate machines need:
# the sync daemon (long-lived connections survive a failover) and ssh as
# the remote shell (scp to the backup).
lab_lvs_cf() {
    sed -e 's/^syncdaemon = 0$/syncdaemon = 1/' \
        -e '/^heartbeat_port = /a rsh_command = ssh' \
        "$ROOT/tests/lab/lvs.cf"
}

install_package() { # name deb
    local n=$1 deb=$2
    rscp "$n" "$deb" /root/ || return 1
    rssh "$n" "dpkg -i /root/$(basename "$deb")" >"$RUN/$n.dpkg.log" 2>&1 || {
        sed "s/^/    $n dpkg: /" "$RUN/$n.dpkg.log"
        return 1
    }
}

setup_router() { # name
    local n=$1
    install_package "$n" "$DEB" || return 1
    # What Piranha's documentation asks of a NAT router, and the web tool's
    # password (piranha-passwd reads it twice from standard input).
    rssh "$n" 'set -e
        printf "net.ipv4.ip_forward = 1\n" >/etc/sysctl.d/90-lvs.conf
        sysctl -q -p /etc/sysctl.d/90-lvs.conf
        printf "lab\nlab\n" | piranha-passwd >/dev/null
        ssh-keygen -q -t ed25519 -N "" -C "root@'"$n"'" -f /root/.ssh/id_ed25519 </dev/null
        # The web tool copies lvs.cf to the backup as user piranha, with
        # scp (packaging/README.md, "piranha-gui.service").
        install -d -m 0700 -o piranha -g piranha /etc/sysconfig/ha/.ssh
        runuser -u piranha -- ssh-keygen -q -t ed25519 -N "" -C "piranha@'"$n"'" \
            -f /etc/sysconfig/ha/.ssh/id_ed25519 </dev/null
        # The piranha user may only copy files over SFTP (its shell is
        # nologin). Its authorized_keys lives outside its home: the home
        # /etc/sysconfig/ha is group-writable (the web tool saves there),
        # which sshd'"'"'s StrictModes refuses for an authorized_keys below it.
        install -d -m 0755 /etc/ssh/authorized_keys.d
        printf "Match User piranha\n    AuthorizedKeysFile /etc/ssh/authorized_keys.d/%%u\n    ForceCommand internal-sftp\n    DisableForwarding yes\n" \
            >/etc/ssh/sshd_config.d/piranha.conf
        sshd -t
        systemctl reload ssh' >"$RUN/$n.setup.log" 2>&1 || {
        sed "s/^/    $n setup: /" "$RUN/$n.setup.log"
        return 1
    }
}

# Trust between the routers: r1's root and piranha keys on r2 (scp and the
# web tool's copy), the host keys recorded the way ssh-keyscan would.
setup_trust() {
    local k
    rssh r1 'cat /root/.ssh/id_ed25519.pub' >"$RUN/r1-root.pub" || return 1
    rssh r1 'cat /etc/sysconfig/ha/.ssh/id_ed25519.pub' >"$RUN/r1-piranha.pub" || return 1
    rscp r2 "$RUN/r1-root.pub" /root/r1-root.pub || return 1
    rscp r2 "$RUN/r1-piranha.pub" /etc/ssh/authorized_keys.d/piranha || return 1
    rssh r2 'cat /root/r1-root.pub >>/root/.ssh/authorized_keys && chmod 0644 /etc/ssh/authorized_keys.d/piranha' || return 1
    for n in r1 r2; do
        k=$(cut -d' ' -f1,2 "$RUN/$n-seed/ssh/ssh_host_ed25519_key.pub")
        printf '%s,%s,%s %s\n' "$n" "$([ "$n" = r1 ] && echo primary || echo backup)" "${LAN_IP[$n]}" "$k"
    done >"$RUN/routers.known_hosts"
    for n in r1 r2; do
        rscp "$n" "$RUN/routers.known_hosts" /root/.ssh/known_hosts || return 1
        rscp "$n" "$RUN/routers.known_hosts" /etc/sysconfig/ha/.ssh/known_hosts || return 1
        rssh "$n" 'chown piranha:piranha /etc/sysconfig/ha/.ssh/known_hosts && chmod 0644 /etc/sysconfig/ha/.ssh/known_hosts' || return 1
    done
}

# lvs.cf on the primary (written into the package's file, keeping its
# owner and mode), then to the backup with plain scp, as root, from r1.
setup_config() {
    lab_lvs_cf >"$RUN/lvs.cf"
    rscp r1 "$RUN/lvs.cf" /root/lab-lvs.cf || return 1
    rssh r1 'set -e
        cat /root/lab-lvs.cf >/etc/sysconfig/ha/lvs.cf
        lvscf check -c /etc/sysconfig/ha/lvs.cf
        cd /etc/sysconfig/ha && scp -q lvs.cf backup:/etc/sysconfig/ha/' \
        >"$RUN/config.log" 2>&1 || {
        sed 's/^/    config: /' "$RUN/config.log"
        return 1
    }
}
