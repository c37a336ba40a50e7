# The automated scenario of tests/os/lab --check, part 2 (sourced; bash):
# the steps that move the VIP (stop-handover, watchdog-restart,
# power-off-failover), the package upgrade and the purge.

# The client's long-lived connections all in NAME's connection table (the
# sync daemon copied them there); false after TIMEOUT seconds.
wait_synced() { # name timeout_s
    local start=$SECONDS ports table p missing
    while :; do
        ports=$(client conns | sed 's/^CONNS *//')
        table=$(rssh "$1" 'ipvsadm -Lnc' 2>/dev/null)
        missing=""
        for p in $ports; do
            grep -q " 192\.168\.100\.10:$p " <<<"$table" || missing="$missing $p"
        done
        if [ -n "$ports" ] && [ -z "$missing" ]; then
            say "the $(wc -w <<<"$ports") long-lived connections are in $1's connection table"
            return 0
        fi
        [ $((SECONDS - start)) -ge "$2" ] && { say "not in $1's table: ${missing:-no connections}"; return 1; }
        sleep 1
    done
}

# Waits until no other router than NAME holds the VIP and NAME does.
wait_only_active() { # name timeout_s
    local start=$SECONDS
    until [ "$(active_router)" = "$1" ]; do
        [ $((SECONDS - start)) -ge "$2" ] && return 1
        sleep 0.3
    done
}

step_stop_handover() {
    local a b
    a=$(active_router)
    b=$(other "$a")
    say "active: $a; stopping pulse there"
    wait_synced "$b" 20 || problem "the long-lived connections were not synchronised to $b"
    baseline
    rssh "$a" 'systemctl stop pulse' || problem "systemctl stop pulse failed on $a"
    wait_role "$b" active 5 || problem "$b did not take over: $(router_state "$b")"
    local st
    st=$(router_state "$a")
    [ "$st" = "0 0" ] || problem "$a still holds VIP/IPVS services after the stop ($st)"
    [ "$(rssh "$a" 'systemctl is-active pulse')" = inactive ] || problem "pulse on $a is not inactive"
    [ -z "$(rssh "$a" 'pgrep -x lvsd; pgrep -x nanny')" ] || problem "lvsd or nanny still runs on $a"
    sleep 2
    # Back as the backup: no failback.
    rssh "$a" 'systemctl start pulse' || problem "systemctl start pulse failed on $a"
    sleep $((DEADTIME + 1))
    [ "$(active_router)" = "$b" ] || problem "after starting pulse again on $a the active router is $(active_router)"
    say "$a: $(pulse_status "$a")"
    say "$b: $(pulse_status "$b")"
}

step_watchdog() {
    local a b pid t0 restarts0 restarts1 newpid
    a=$(active_router)
    b=$(other "$a")
    pid=$(rssh "$a" 'systemctl show -P MainPID pulse')
    restarts0=$(rssh "$a" 'systemctl show -P NRestarts pulse')
    say "SIGSTOP to pulse (pid $pid) on the active router $a (WatchdogSec=$(rssh "$a" 'systemctl show -P WatchdogUSec pulse'))"
    t0=$SECONDS
    rssh "$a" "kill -STOP $pid" || problem "kill -STOP failed"
    # Polled over ssh (each poll takes up to a second on a loaded machine):
    # the client's figures are the exact measure.
    wait_role "$b" active $((DEADTIME + 4)) || problem "$b did not take over within deadtime + 4 s"
    say "$b took over $((SECONDS - t0)) s after the SIGSTOP"
    # systemd's watchdog kills the stopped pulse; Restart= starts it again.
    local start=$SECONDS
    until restarts1=$(rssh "$a" 'systemctl show -P NRestarts pulse') && [ "$restarts1" -gt "$restarts0" ] \
        && [ "$(rssh "$a" 'systemctl is-active pulse')" = active ]; do
        [ $((SECONDS - start)) -ge 40 ] && break
        sleep 0.5
    done
    newpid=$(rssh "$a" 'systemctl show -P MainPID pulse')
    say "$a: pulse restarted by systemd after $((SECONDS - t0)) s (NRestarts $restarts0 -> $restarts1, pid $pid -> $newpid)"
    [ "$restarts1" -gt "$restarts0" ] || problem "systemd did not restart pulse on $a"
    [ "$newpid" != "$pid" ] && [ "$newpid" != 0 ] || problem "pulse on $a is not a new process ($newpid)"
    # WatchdogSec=5 after the last ping (at most 2.5 s before the SIGSTOP),
    # RestartSec=2, the start itself: within deadtime + 10 s.
    [ $((SECONDS - t0)) -le $((DEADTIME + 10)) ] || problem "the restart took $((SECONDS - t0)) s"
    rssh "$a" 'journalctl -b -u pulse -o cat --no-pager | grep -i -m1 "watchdog"' | sed "s/^/    $a journal: /"
    sleep $((DEADTIME + 1))
    [ "$(active_router)" = "$b" ] || problem "a second failover: the active router is $(active_router)"
    is_passive "$a" || problem "$a is not passive after its restart: $(router_state "$a")"
    say "$a: $(pulse_status "$a")"
}

step_power_off() {
    local a b b2 st
    a=$(active_router)
    b=$(other "$a")
    wait_synced "$b" 20 || problem "the long-lived connections were not synchronised to $b"
    baseline
    say "power cut of the active router $a"
    power_off "$a"
    drop_ssh "$a"
    wait_role "$b" active $((DEADTIME + 3)) || problem "$b did not take over"
    # The power comes back a little later: a booting guest takes most of
    # this machine's CPU under TCG, and the client's first answers through
    # the new router are what this step times, not a boot next to them.
    sleep "$DEADTIME"
    say "$a boots again"
    start_router "$a"
    if b2=$(wait_boot "$a" 240); then
        say "$a reached multi-user.target ${b2% *} s after qemu started"
        COLD_BOOT=${b2% *}
    else
        problem "$a did not boot again"
    fi
    wait_ssh "$a" 60 || problem "no ssh into $a"
    [ "$(rssh "$a" 'systemctl is-active pulse')" = active ] || problem "pulse was not started by systemd on $a"
    sleep $((DEADTIME + 1))
    [ "$(active_router)" = "$b" ] || problem "failback: the active router is $(active_router)"
    st=$(router_state "$a")
    [ "$st" = "0 0" ] || problem "$a rejoined with VIP/IPVS services ($st)"
    say "$a: $(pulse_status "$a")"
}

step_upgrade() {
    local a b sums0 sums1 pid_a pid_b out
    a=$(active_router)
    b=$(other "$a")
    # A newer build of the same package (revision 2).
    (cd "$ROOT" && cargo deb -p lvs-suite --no-build --strip --deb-revision 2 --output "$RUN/" >"$RUN/deb2.log" 2>&1) \
        || { problem "cargo deb of the newer build failed"; return; }
    local deb2
    deb2=$(ls "$RUN"/lvs-suite_*-2_amd64.deb | head -n 1)
    sums0="$(rssh r1 'sha256sum /etc/sysconfig/ha/lvs.cf') $(rssh r2 'sha256sum /etc/sysconfig/ha/lvs.cf')"
    pid_a=$(rssh "$a" 'systemctl show -P MainPID pulse')
    pid_b=$(rssh "$b" 'systemctl show -P MainPID pulse')
    say "upgrading the backup $b to $(basename "$deb2")"
    install_package "$b" "$deb2" || problem "dpkg -i on $b failed"
    sed "s/^/    $b dpkg: /" "$RUN/$b.dpkg.log" | grep -v '^    [^:]*: (Reading\|^    [^:]*: Preparing\|^    [^:]*: Unpacking\|^    [^:]*: Setting up' | head -n 5
    grep -q 'restarting pulse (this router is standby)' "$RUN/$b.dpkg.log" \
        || problem "the package did not say it restarts pulse on the backup $b"
    [ "$(rssh "$b" 'systemctl show -P MainPID pulse')" != "$pid_b" ] || problem "pulse on the backup $b was not restarted by the package"
    [ "$(rssh "$b" 'systemctl is-active pulse')" = active ] || problem "pulse on $b is not running after the upgrade"
    sleep 2
    FIG=$(client mark upgrade-backup)
    echo "$FIG"
    [ "$(fig failed_requests)" = 0 ] && [ "$(fig resets)" = 0 ] || problem "upgrading the backup cost requests: $FIG"
    say "upgrading the active router $a"
    install_package "$a" "$deb2" || problem "dpkg -i on $a failed"
    grep -i 'pulse' "$RUN/$a.dpkg.log" | sed "s/^/    $a dpkg: /"
    [ "$(rssh "$a" 'systemctl show -P MainPID pulse')" = "$pid_a" ] || problem "the package restarted pulse on the active router $a"
    [ "$(active_router)" = "$a" ] || problem "the upgrade moved the VIP"
    FIG=$(client mark upgrade-active-dpkg)
    echo "$FIG"
    [ "$(fig failed_requests)" = 0 ] && [ "$(fig resets)" = 0 ] || problem "dpkg -i on the active router cost requests: $FIG"
    # README, migration step 3: a planned switchover to the upgraded backup.
    wait_synced "$b" 20 || problem "the long-lived connections were not synchronised to $b"
    baseline
    rssh "$a" 'systemctl restart pulse' || problem "systemctl restart pulse on $a failed"
    wait_role "$b" active 5 || problem "$b did not take over after the restart on $a"
    sleep $((DEADTIME + 1))
    [ "$(active_router)" = "$b" ] || problem "after the restart the active router is $(active_router)"
    sums1="$(rssh r1 'sha256sum /etc/sysconfig/ha/lvs.cf') $(rssh r2 'sha256sum /etc/sysconfig/ha/lvs.cf')"
    [ "$sums0" = "$sums1" ] || problem "lvs.cf changed in the upgrade"
    for n in r1 r2; do
        out=$(rssh "$n" "dpkg-query -W -f='\${Version} \${Status}' lvs-suite")
        say "$n: lvs-suite $out"
        grep -q -- '-2 install ok installed' <<<"$out" || problem "$n: lvs-suite is '$out'"
    done
}

step_upgrade_checks() {
    # The active router's part is one planned failover: as stop-handover.
    [ "$(fig gap_ms)" -le $((500 + BASELINE_MS)) ] 2>/dev/null \
        || problem "no answer for $(fig gap_ms) ms (one failover: 500 ms + the baseline $BASELINE_MS ms)"
    [ "$(fig resets)" = 0 ] || problem "$(fig resets) long-lived connections were reset"
}

step_purge() {
    local n a b left
    a=$(active_router)
    b=$(other "$a")
    for n in "$b" "$a"; do
        rssh "$n" 'dpkg --purge lvs-suite' >"$RUN/$n.purge.log" 2>&1 || {
            problem "dpkg --purge on $n failed"
            sed "s/^/    $n: /" "$RUN/$n.purge.log"
        }
        left=$(rssh "$n" 'for p in pulse lvsd nanny piranha-web; do pgrep -a -x "$p"; done; ip -4 -o addr show | grep -E " (192\.168\.100\.100|10\.0\.1\.254)/"; ipvsadm -Ln | grep -E "^(TCP|UDP|FWM)"; ls /etc/sysconfig/ha/lvs.cf /lib/systemd/system/pulse.service 2>/dev/null')
        [ -z "$left" ] || problem "after the purge on $n: $left"
    done
}
