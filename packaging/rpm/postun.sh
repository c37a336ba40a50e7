# %postun of lvs-suite ($1 = 0 on erase, 1 on upgrade). The user piranha and
# piranha.passwd stay.
if [ "$1" -eq 0 ]; then
    rm -f /etc/sysconfig/ha/.lvs.cf.lock /etc/sysconfig/lvs-programs
    rmdir /etc/sysconfig/ha/conf 2>/dev/null || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
