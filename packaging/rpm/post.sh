# %post of lvs-suite ($1 = 1 on install, 2 on upgrade).
HA=/etc/sysconfig/ha
# Setgid, group-writable: piranha-web (user piranha) replaces lvs.cf
# atomically and every file made there belongs to the group piranha.
chown root:piranha "$HA" && chmod 2775 "$HA"
if [ ! -d "$HA/conf" ]; then
    install -d -m 0750 -o root -g piranha "$HA/conf"
else
    chgrp piranha "$HA/conf" && chmod 0750 "$HA/conf"
fi
if [ ! -e "$HA/.lvs.cf.lock" ]; then
    install -m 0660 -o root -g piranha /dev/null "$HA/.lvs.cf.lock"
fi
# The command lines lvs.cf may make root run (lvs.cf(5), PROGRAMS): made
# once, holding the commands of the lvs.cf in place (the ones Piranha or
# an earlier version ran as root; shells and launchers are left out and
# named), then root's to edit. Without it no such command runs.
if [ ! -e /etc/sysconfig/lvs-programs ] && [ -f "$HA/lvs.cf" ]; then
    /usr/sbin/lvscf -c "$HA/lvs.cf" programs --allow-current >&2 || \
        echo "lvs-suite: could not create /etc/sysconfig/lvs-programs from $HA/lvs.cf; see lvs.cf(5), PROGRAMS" >&2
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 2 ]; then
        # pulse restarts only on a standby router (STATUS= says so); on the
        # active one that would fail over (see the Debian postinst).
        systemctl try-restart piranha-gui.service >/dev/null 2>&1 || :
        if systemctl is-active --quiet pulse.service; then
            case "$(systemctl show -P StatusText pulse.service 2>/dev/null)" in
                standby*) systemctl try-restart pulse.service || : ;;
                *) echo "lvs-suite: pulse keeps running the old binaries; restart it when a failover is acceptable (systemctl restart pulse)." >&2 ;;
            esac
        fi
    fi
fi
exit 0
