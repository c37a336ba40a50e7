# %preun of lvs-suite ($1 = 0 on erase, 1 on upgrade): stop the daemons
# before their binaries go away (pulse relinquishes to the backup).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now piranha-gui.service pulse.service >/dev/null 2>&1 || :
fi
exit 0
