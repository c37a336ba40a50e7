#!/usr/bin/env bash
# Run by test.sh inside a throwaway root (chroot on an overlay of /), with
# lvs-suite.rpm in the current directory. Debian's rpm has no database of
# the system's libraries, hence --nodeps; the scriptlets run for real.
set -euxo pipefail
mode() { stat -c "$1" "$2"; }

rpm -ivh --nodeps lvs-suite.rpm
getent passwd piranha | grep -q ':/etc/sysconfig/ha:'
[ "$(mode %a:%U:%G /etc/sysconfig/ha)" = 2775:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/ha/lvs.cf)" = 660:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/ha/conf)" = 2750:root:piranha ]
[ "$(mode %a:%U:%G /etc/sysconfig/ha/.lvs.cf.lock)" = 660:root:piranha ]
[ "$(mode %a /usr/sbin/pulse)" = 755 ]
echo 'serial_no = 5' >>/etc/sysconfig/ha/lvs.cf
rpm -Uvh --nodeps --replacepkgs lvs-suite.rpm
grep -q 'serial_no = 5' /etc/sysconfig/ha/lvs.cf
rpm -e --nodeps lvs-suite
[ ! -e /usr/sbin/pulse ]
[ ! -e /etc/sysconfig/ha/.lvs.cf.lock ]
echo rpm-install-ok
