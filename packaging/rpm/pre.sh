# %pre of lvs-suite: the web tool's user and group, uid/gid 60 as in
# Piranha when free (a system upgraded from Piranha already has them).
if ! getent group piranha >/dev/null; then
    if getent group 60 >/dev/null; then
        groupadd -r piranha
    else
        groupadd -r -g 60 piranha
    fi
fi
if ! getent passwd piranha >/dev/null; then
    if getent passwd 60 >/dev/null; then
        useradd -r -g piranha -d /etc/sysconfig/ha -M -s /sbin/nologin -c "LVS web configuration tool" piranha
    else
        useradd -r -u 60 -g piranha -d /etc/sysconfig/ha -M -s /sbin/nologin -c "LVS web configuration tool" piranha
    fi
fi
exit 0
