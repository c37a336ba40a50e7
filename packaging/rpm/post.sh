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
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 2 ]; then
        # pulse is not restarted: on the active router that fails over.
        systemctl try-restart piranha-gui.service >/dev/null 2>&1 || :
    fi
fi
exit 0
