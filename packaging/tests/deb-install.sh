#!/usr/bin/env bash
# Run by test.sh inside a throwaway root (chroot on an overlay of /), with
# lvs-suite.deb and lvs.cf.sample in the current directory.
set -euxo pipefail
mode() { stat -c "$1" "$2"; }

gid60_free=0; getent group 60 >/dev/null || gid60_free=1
uid60_free=0; getent passwd 60 >/dev/null || uid60_free=1
dpkg -i lvs-suite.deb </dev/null

getent group piranha
getent passwd piranha | grep -q ':/etc/sysconfig/ha:/usr/sbin/nologin$'
if [ "$gid60_free" = 1 ]; then [ "$(getent group piranha | cut -d: -f3)" = 60 ]; fi
if [ "$uid60_free" = 1 ]; then [ "$(getent passwd piranha | cut -d: -f3)" = 60 ]; fi
[ "$(mode %a:%U:%G /etc/sysconfig/ha)" = 2775:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/ha/lvs.cf)" = 660:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/ha/conf)" = 2750:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/ha/.lvs.cf.lock)" = 660:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/pulse)" = 644:root:root ]
grep -qx 'OPTIONS=""' /etc/sysconfig/pulse
# The exec-policy allowlist: made by postinst, root's only, no command yet
# (the shipped lvs.cf is empty).
[ "$(mode %a:%U:%G /etc/sysconfig/lvs-programs)" = 644:root:root ]
! grep -v '^#' /etc/sysconfig/lvs-programs | grep -q .
[ ! -s /etc/sysconfig/ha/lvs.cf ]

# Piranha shipped lvs.cf empty, and an empty file is refused.
if lvscf check; then exit 1; fi

# piranha-passwd writes the password file for the user piranha.
printf '%s\n%s\n' s3cret s3cret | piranha-passwd
[ "$(mode %a:%U /etc/sysconfig/ha/conf/piranha.passwd)" = 600:piranha ]
grep -q '^piranha:' /etc/sysconfig/ha/conf/piranha.passwd

# The user piranha can replace lvs.cf the way piranha-web saves it, and
# the new file is group piranha (setgid directory).
install -m 644 lvs.cf.sample /tmp/sample
su -s /bin/sh piranha -c 'umask 007; cp /tmp/sample /etc/sysconfig/ha/.lvs.cf.tmp && mv /etc/sysconfig/ha/.lvs.cf.tmp /etc/sysconfig/ha/lvs.cf'
[ "$(mode %G /etc/sysconfig/ha/lvs.cf)" = piranha ]
# ... and take the shared lock.
su -s /bin/sh piranha -c 'test -w /etc/sysconfig/ha/.lvs.cf.lock'
# ... but not write the password file's directory.
if su -s /bin/sh piranha -c 'touch /etc/sysconfig/ha/conf/x' 2>/dev/null; then exit 1; fi
lvscf check --syntax-only
lvscf set keepalive 3

# Upgrade (the same package again): the changed conffile and modes stay.
dpkg -i lvs-suite.deb </dev/null
grep -q '^keepalive = 3' /etc/sysconfig/ha/lvs.cf
[ "$(mode %a:%G /etc/sysconfig/ha)" = 2775:piranha ]

man -w lvs.cf pulse lvsd nanny send_arp lvscf piranha-web piranha-passwd
[ -e /usr/share/bash-completion/completions/lvscf ]

# Purge removes the package's files, overrides and lock; the administrator's
# password file and the user stay (Debian policy keeps system users).
dpkg --purge lvs-suite
[ ! -e /usr/sbin/pulse ]
[ ! -e /etc/sysconfig/ha/lvs.cf ]
[ ! -e /etc/sysconfig/ha/.lvs.cf.lock ]
[ ! -e /etc/sysconfig/pulse ]
[ ! -e /etc/sysconfig/lvs-programs ]
if dpkg-statoverride --list /etc/sysconfig/ha; then exit 1; fi
[ -e /etc/sysconfig/ha/conf/piranha.passwd ]
getent passwd piranha
echo deb-install-ok
