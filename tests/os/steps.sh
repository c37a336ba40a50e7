# The automated scenario of tests/os/lab --check, part 1 (sourced; bash):
# the step runner and the steps that keep the pair as it is
# (boot-enabled, notify-ready, journal, reload-no-drop, web-on-3636).
# Part 2, the failovers, upgrade and purge: steps-failover.sh.
#
# Each step prints PASS NAME or FAIL NAME (with the reasons), then the
# client's figures for the step: FIGURE step=NAME failed_requests=N
# resets=N gap_ms=N ...

PASSED=0
FAILED=0
PROBLEMS=()
FIG=""
declare -A FIRST_BOOT=() REBOOT=()
COLD_BOOT=""
DEADTIME=3   # tests/lab/lvs.cf

problem() { PROBLEMS+=("$*"); }
# The client's longest time without an answer over 4 quiet seconds, right
# before a timed failover: on a loaded machine the three TCG guests alone
# keep the client waiting hundreds of milliseconds now and then, and the
# limits below are for the outage the failover adds to that.
BASELINE_MS=0
baseline() {
    client mark before-baseline >/dev/null
    sleep 4
    local f
    f=$(client mark baseline)
    BASELINE_MS=$(sed -n 's/.* gap_ms=\([0-9]*\).*/\1/p' <<<"$f")
    BASELINE_MS=${BASELINE_MS:-0}
    say "baseline: the longest wait for an answer without a failover was $BASELINE_MS ms"
}
# The value of KEY in the last FIGURE line.
fig() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$FIG"; }

run_step() { # name function
    local name=$1 fn=$2 t0=$SECONDS
    if [ -n "${LVS_OS_STEPS:-}" ] && ! grep -qw -- "$name" <<<"$LVS_OS_STEPS"; then
        return 0
    fi
    PROBLEMS=()
    BASELINE_MS=0
    echo
    say "--- $name"
    client mark "before-$name" >/dev/null
    "$fn"
    FIG=$(client mark "$name")
    [ -n "$FIG" ] || problem "the client did not answer its control port"
    step_checks "$name"
    if [ ${#PROBLEMS[@]} -eq 0 ]; then
        echo "PASS $name ($((SECONDS - t0)) s)"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL $name ($((SECONDS - t0)) s)"
        printf '    - %s\n' "${PROBLEMS[@]}"
        # Where the world's frames go, for the post-mortem.
        client neigh | sed 's/^/    world /'
        for n in r1 r2; do
            [ -n "${QEMU_PID[$n]:-}" ] && rssh "$n" 'ip -4 -o addr show | grep -v " lo "; ipvsadm -Ln | grep -c -- "->"' 2>/dev/null | sed "s/^/    $n: /"
        done
        FAILED=$((FAILED + 1))
    fi
    echo "$FIG baseline_ms=$BASELINE_MS"
}

# What each step demands of the client's figures.
step_checks() {
    case $1 in
        reload-no-drop | web-on-3636 | notify-ready | journal)
            [ "$(fig failed_requests)" = 0 ] || problem "$(fig failed_requests) requests failed"
            [ "$(fig resets)" = 0 ] || problem "$(fig resets) long-lived connections were reset"
            ;;
        stop-handover)
            [ "$(fig gap_ms)" -le $((500 + BASELINE_MS)) ] 2>/dev/null \
                || problem "no answer for $(fig gap_ms) ms (limit 500 ms + the baseline $BASELINE_MS ms)"
            [ "$(fig resets)" = 0 ] || problem "$(fig resets) long-lived connections were reset"
            ;;
        watchdog-restart)
            [ "$(fig gap_ms)" -le $(((DEADTIME + 1) * 1000)) ] 2>/dev/null \
                || problem "no answer for $(fig gap_ms) ms (limit $(((DEADTIME + 1) * 1000)))"
            [ "$(fig resets)" = 0 ] || problem "$(fig resets) long-lived connections were reset"
            ;;
        upgrade-in-place) step_upgrade_checks ;;
        power-off-failover)
            [ "$(fig gap_ms)" -le $(((DEADTIME + 1) * 1000 + BASELINE_MS)) ] 2>/dev/null \
                || problem "no answer for $(fig gap_ms) ms (limit deadtime + 1 s = $(((DEADTIME + 1) * 1000)) ms + the baseline $BASELINE_MS ms)"
            ;;
    esac
}

run_steps() {
    client mark setup >/dev/null
    run_step boot-enabled step_boot_enabled
    run_step notify-ready step_notify_ready
    run_step journal step_journal
    run_step reload-no-drop step_reload
    run_step web-on-3636 step_web
    run_step stop-handover step_stop_handover
    run_step watchdog-restart step_watchdog
    run_step power-off-failover step_power_off
    run_step upgrade-in-place step_upgrade
    run_step purge step_purge
    if [ -n "${LVS_OS_PAUSE:-}" ]; then
        touch "$RUN/pause"
        say "paused (LVS_OS_PAUSE): rm $RUN/pause to go on"
        while [ -e "$RUN/pause" ]; do sleep 1; done
    fi
    echo
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# ------------------------------------------------------------ router state
# "VIPS SERVICES": the VIP on eth0 (0/1) and the IPVS services (count).
router_state() { # name
    rssh "$1" "echo \$(ip -4 -o addr show dev eth0 | grep -c ' $VIP/') \$(ipvsadm -Ln | grep -c '^TCP')" 2>/dev/null
}
is_active() { [ "$(router_state "$1")" = "1 1" ]; }
is_passive() { [ "$(router_state "$1")" = "0 0" ]; }
# Waits until NAME is active (or passive); false after TIMEOUT seconds.
wait_role() { # name active|passive timeout_s
    local start=$SECONDS
    until "is_$2" "$1"; do
        [ $((SECONDS - start)) -ge "$3" ] && return 1
        sleep 0.3
    done
}
pulse_status() { rssh "$1" 'systemctl show -P StatusText pulse'; }
# When systemd started NAME's pulse (ms since the epoch, the guest's clock).
pulse_started() {
    rssh "$1" 'date -d "$(systemctl show --timestamp=us -P ExecMainStartTimestamp pulse)" +%s%3N' 2>/dev/null
}
fmt_ms() { [ -n "$1" ] && date -u -d "@$(($1 / 1000)).$(printf %03d $(($1 % 1000)))" +%T.%3N; }
# The one router holding the VIP, or "none"/"both".
active_router() {
    local a=""
    for n in $ROUTERS; do is_active "$n" && a="$a $n"; done
    a=${a# }
    case $a in "") echo none ;; *" "*) echo both ;; *) echo "$a" ;; esac
}
other() { [ "$1" = r1 ] && echo r2 || echo r1; }
# The real servers all up (nanny's view, in the kernel: 3 destinations).
wait_servers() { # name timeout_s
    local start=$SECONDS
    until [ "$(rssh "$1" "ipvsadm -Ln | grep -c -- '-> 10.0.1.1'")" = 3 ]; do
        [ $((SECONDS - start)) -ge "$2" ] && return 1
        sleep 0.5
    done
}

# ------------------------------------------------------------------ steps
step_boot_enabled() {
    local n b
    for n in r1 r2; do
        rssh "$n" 'systemctl enable pulse piranha-gui' >/dev/null 2>&1 || problem "systemctl enable failed on $n"
    done
    # Both at once: the backup must not win a simultaneous start.
    reboot_router r1
    reboot_router r2
    for n in r1 r2; do
        drop_ssh "$n"
    done
    for n in r1 r2; do
        if b=$(wait_boot "$n" 240); then
            say "$n rebooted to multi-user.target in ${b% *} s (kernel uptime ${b#* } s)"
            REBOOT[$n]=${b% *}
        else
            problem "$n did not come back"
        fi
    done
    for n in r1 r2; do wait_ssh "$n" 60 || problem "no ssh into $n after the reboot"; done
    for n in r1 r2; do
        local en act
        en=$(rssh "$n" 'systemctl is-enabled pulse piranha-gui' | tr '\n' ' ')
        act=$(rssh "$n" 'systemctl is-active pulse piranha-gui' | tr '\n' ' ')
        [ "$en" = "enabled enabled " ] || problem "$n: is-enabled says '$en'"
        [ "$act" = "active active " ] || problem "$n: is-active says '$act'"
    done
    # The primary wins unless its pulse started more than deadtime after
    # the backup's (then the backup took over alone, and there is no
    # failback): compare the two start times.
    local s1 s2 want=r1
    s1=$(pulse_started r1)
    s2=$(pulse_started r2)
    say "pulse started by systemd at boot: r1 $(fmt_ms "$s1"), r2 $(fmt_ms "$s2")"
    if [ -n "$s1" ] && [ -n "$s2" ] && [ $((s1 - s2)) -gt $((DEADTIME * 1000)) ]; then
        want=r2
        say "r1 booted more than deadtime after r2: r2 is expected to be active"
    fi
    wait_role "$want" active $((DEADTIME * 4)) || problem "$want is not active: $(router_state "$want")"
    is_passive "$(other "$want")" || problem "$(other "$want") is not passive: $(router_state "$(other "$want")")"
    wait_servers "$want" 30 || problem "$want does not have the 3 real servers in its table"
    say "r1: $(pulse_status r1)"
    say "r2: $(pulse_status r2)"
}

step_notify_ready() {
    local out rc ms sock st a b
    a=$(active_router)
    b=$(other "$a")
    rssh "$b" 'systemctl stop pulse' || problem "systemctl stop pulse on $b failed"
    # Right when `systemctl start` returns, the role must already be known.
    out=$(rssh "$b" 't0=$(date +%s%N); systemctl start pulse; rc=$?; t1=$(date +%s%N)
        st=$(systemctl show -P StatusText pulse); s=no; [ -S /run/piranha/pulse.sock ] && s=yes
        echo "$rc $(( (t1 - t0) / 1000000 )) $s $st"')
    read -r rc ms sock st <<<"$out"
    say "$b: systemctl start pulse returned $rc after $ms ms; status socket: $sock; status: $st"
    [ "$rc" = 0 ] || problem "systemctl start pulse failed ($rc)"
    [ "$sock" = yes ] || problem "no status socket when systemctl start returned"
    case $st in
        standby* | backup*) ;;
        *) problem "status right after start is '$st', not the backup role" ;;
    esac
    [ "$(rssh "$b" 'systemctl show -P Type pulse')" = notify ] || problem "pulse.service is not Type=notify"
    [ "$(rssh "$b" 'systemctl is-active pulse')" = active ] || problem "$b: pulse is not active"
    local status1
    status1=$(rssh "$a" 'systemctl status --no-pager pulse' | grep -m1 'Status:' | sed 's/^ *//')
    say "$a: $status1"
    grep -q 'Status: "active, 1 virtual, 3/3 real servers up' <<<"$status1" \
        || problem "$a's systemctl status line is '$status1'"
    is_active "$a" || problem "$a lost the VIP"
}

step_journal() {
    local j a start=$SECONDS
    a=$(active_router)
    # The ARP rounds end 5 s after a takeover.
    while :; do
        j=$(rssh "$a" 'journalctl -b -u pulse -o short --no-pager')
        grep -q 'gratuitous lvs arps finished' <<<"$j" || [ $((SECONDS - start)) -ge 10 ] && break
        sleep 1
    done
    printf '%s\n' "$j" >"$RUN/$a.journal"
    for want in 'pulse\[[0-9]+\]: .*gratuitous lvs arps finished' \
        'lvsd\[[0-9]+\]: ' \
        'nanny\[[0-9]+\]: .*\[ active \] making 10\.0\.1\.1[123]:80 available'; do
        grep -Eq "$want" <<<"$j" || problem "journalctl -u pulse has no line matching /$want/"
    done
    [ -n "$(rssh "$a" 'journalctl -b -t lvsd -t nanny -o cat --no-pager | head -n 3')" ] \
        || problem "journalctl -t lvsd -t nanny shows nothing"
    grep -E 'gratuitous|making|lvsd\[' <<<"$j" | head -n 5 | sed "s/^/    $a journal: /"
}

step_reload() {
    local before after a cf
    a=$(active_router)
    before=$(rssh "$a" "ipvsadm -Ln | grep -- '-> 10.0.1.12:80'")
    # One weight, on the primary, with the same tool an admin uses, then
    # to the backup with plain scp.
    rssh r1 'lvscf set virtual.web.server.s2.weight 3 && cd /etc/sysconfig/ha && scp -q lvs.cf backup:/etc/sysconfig/ha/' \
        || problem "editing or copying lvs.cf failed"
    cf=$(rssh r1 'sha256sum </etc/sysconfig/ha/lvs.cf')
    [ "$cf" = "$(rssh r2 'sha256sum </etc/sysconfig/ha/lvs.cf')" ] || problem "the backup's lvs.cf differs after scp"
    rssh "$a" 'ipvsadm -Ln' >"$RUN/ipvs.before"
    for n in "$(other "$a")" "$a"; do
        rssh "$n" 'systemctl reload pulse' || problem "systemctl reload pulse failed on $n"
    done
    # The new weight is in the kernel within a second of the reload.
    local start=$SECONDS
    until grep -Eq -- '-> 10\.0\.1\.12:80 +Masq +3 ' <<<"$after"; do
        [ $((SECONDS - start)) -ge 2 ] && break
        sleep 0.2
        after=$(rssh "$a" "ipvsadm -Ln | grep -- '-> 10.0.1.12:80'")
    done
    rssh "$a" 'ipvsadm -Ln' >"$RUN/ipvs.after"
    say "$a before: $before"
    say "$a after:  $after"
    # Exactly that weight: the table is the same but for s2's weight
    # (connection counters aside).
    local diffs
    diffs=$(diff <(sed 's/ \+[0-9]\+ \+[0-9]\+ *$//' "$RUN/ipvs.before") \
        <(sed 's/ \+[0-9]\+ \+[0-9]\+ *$//' "$RUN/ipvs.after") | grep -c '^[<>]')
    [ "$diffs" = 2 ] || problem "the table changed in $diffs lines, expected s2's line only"
    grep -Eq -- '-> 10\.0\.1\.12:80 +Masq +3 ' <<<"$after" || problem "s2's weight is not 3 within 2 s of the reload: $after"
    rssh "$a" 'journalctl -u pulse -n 3 -o cat --no-pager' | sed "s/^/    $a journal: /"
    is_active "$a" || problem "$a lost the VIP"
    is_passive "$(other "$a")" || problem "$(other "$a") is not passive any more"
}

step_web() {
    local out
    # The browser test driver of crates/piranha-web (Chromium + chromedriver)
    # against r1's web tool through the forwarded port.
    out=$(web_save_and_copy 2>&1)
    printf '%s\n' "$out" | sed 's/^/    web: /'
    grep -q '^WEB-OK' <<<"$out" || problem "the browser save or copy failed"
    local unit
    unit=$(rssh r1 'for p in User NoNewPrivileges ProtectSystem; do printf "%s " "$(systemctl show -P $p piranha-gui)"; done; ps -o user= -C piranha-web | head -n1')
    say "r1 piranha-gui: $unit"
    grep -q 'piranha yes strict piranha' <<<"$unit" || problem "piranha-gui runs as '$unit'"
    local own
    own=$(rssh r1 'stat -c "%U:%G %a" /etc/sysconfig/ha/lvs.cf')
    [ "$own" = "piranha:piranha 660" ] || problem "r1's lvs.cf after the web save is $own, expected piranha:piranha 660"
    grep -q 'serial_no' <<<"$(rssh r1 'cat /etc/sysconfig/ha/lvs.cf')" || problem "r1's lvs.cf lost its serial_no"
    [ "$(rssh r1 'sha256sum </etc/sysconfig/ha/lvs.cf')" = "$(rssh r2 'sha256sum </etc/sysconfig/ha/lvs.cf')" ] \
        || problem "the backup's lvs.cf is not the same bytes after 'copy lvs.cf to backup'"
    rssh r1 'grep -n "weight" /etc/sysconfig/ha/lvs.cf' | sed 's/^/    r1 lvs.cf: /'
}

# The browser test driver of crates/piranha-web (tests/browser.rs,
# lab_router_save_and_copy_to_backup) against r1 through its forwarded port.
web_save_and_copy() {
    (cd "$ROOT" && LAB_WEB_URL="http://127.0.0.1:${WEB_PORT[r1]}" LAB_WEB_PASSWORD=lab \
        LAB_WEB_SERVER=s3 LAB_WEB_WEIGHT=2 \
        cargo test --locked -q -p piranha-web --test browser -- --ignored --exact \
        lab_router_save_and_copy_to_backup --nocapture 2>&1)
}
