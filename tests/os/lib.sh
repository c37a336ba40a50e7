# Host side of the systemd lab (tests/os/README.md), sourced by tests/os/lab:
# the run directory, the virtual LANs, the three guests (start, power
# off, wait for boot) and ssh into the routers. bash.
#
# Every file of a run lives in $RUN (under the cache directory) and every
# process it starts is recorded by pid; lab_cleanup removes and stops
# exactly those.

OS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$OS_DIR/../.." && pwd)
CACHE=${LVS_OS_CACHE:-$OS_DIR/cache}
VIP=192.168.100.100
ROUTERS="r1 r2"
declare -A LAN_IP=([r1]=192.168.100.1 [r2]=192.168.100.2)
declare -A SRV_IP=([r1]=10.0.1.2 [r2]=10.0.1.3)
declare -A MAC_ID=([r1]=01 [r2]=02 [world]=10)
declare -A SSH_PORT=() WEB_PORT=() QEMU_PID=() BOOTS=()
ROUTER_MEM=${LVS_OS_MEM:-512}
SWITCH_PIDS=()

say() { printf '[lab] %s\n' "$*"; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 125; }
now_ms() { date +%s%3N; }

# A TCP port nobody listens on, from 20000-59999, or $1 when that is free.
free_port() {
    local p=${1:-} tries=0
    while :; do
        if [ -n "$p" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null \
            && ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
        tries=$((tries + 1))
        [ "$tries" -gt 50 ] && return 1
        p=$((20000 + RANDOM % 40000))
    done
}

lab_init() {
    mkdir -p "$CACHE"
    RUN=$(mktemp -d "$CACHE/run.XXXXXX")
    # Two LANs, each a learning switch (lab-traffic switch) that the
    # guests' cards reach over Unix datagram sockets in $RUN: no host
    # networking, nothing shared with another run.
    local lan
    for lan in lan srv; do
        "$TRAFFIC_BIN" switch --dir "$RUN" --lan "$lan" --ports r1,r2,world >>"$RUN/switch.log" 2>&1 &
        SWITCH_PIDS+=($!)
    done
    local web1=${LVS_OS_WEB1:-3636} web2=${LVS_OS_WEB2:-3637}
    WEB_PORT[r1]=$(free_port "$web1") || die "no free port"
    WEB_PORT[r2]=$(free_port "$web2") || die "no free port"
    [ "${WEB_PORT[r1]}" = "$web1" ] || say "port $web1 is taken: r1's web tool is on ${WEB_PORT[r1]}"
    [ "${WEB_PORT[r2]}" = "$web2" ] || say "port $web2 is taken: r2's web tool is on ${WEB_PORT[r2]}"
    SSH_PORT[r1]=$(free_port) && SSH_PORT[r2]=$(free_port) || die "no free port"
    CTL_PORT=$(free_port) && STOP_PORT=$(free_port) || die "no free port"
    ssh-keygen -q -t ed25519 -N '' -C lab-host -f "$RUN/key"
    : >"$RUN/known_hosts"
}

lab_cleanup() {
    local name pid
    for name in "${!QEMU_PID[@]}"; do
        pid=${QEMU_PID[$name]}
        kill "$pid" 2>/dev/null
        [ -s "$RUN/$name.pid" ] && kill "$(cat "$RUN/$name.pid")" 2>/dev/null
    done
    [ -n "${WORLD_PID:-}" ] && kill "$WORLD_PID" 2>/dev/null
    for name in "${!QEMU_PID[@]}"; do
        pid=$(cat "$RUN/$name.pid" 2>/dev/null)
        [ -n "$pid" ] || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
        kill -9 "$pid" 2>/dev/null
    done
    [ -n "${WORLD_PID:-}" ] && { wait "$WORLD_PID" 2>/dev/null; }
    if [ -n "${WORLD_QEMU:-}" ] && [ -s "$WORLD_QEMU" ]; then
        kill "$(cat "$WORLD_QEMU")" 2>/dev/null
    fi
    for pid in "${SWITCH_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for s in "$RUN"/ssh-*; do
        [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1
    done
    if [ -n "${LVS_OS_KEEP:-}" ]; then
        say "kept $RUN"
    else
        rm -rf "$RUN"
    fi
}

# ------------------------------------------------------------------ guests
# The seed disk of a router: identity and network (tests/os/guest/lab-seed).
make_seed() { # name
    local n=$1 d=$RUN/$1-seed
    mkdir -p "$d/ssh"
    echo "$n" >"$d/hostname"
    printf '%s r1 primary\n%s r2 backup\n' "${LAN_IP[r1]}" "${LAN_IP[r2]}" >"$d/hosts"
    ssh-keygen -q -t ed25519 -N '' -C "$n" -f "$d/ssh/ssh_host_ed25519_key"
    printf '[127.0.0.1]:%s %s\n' "${SSH_PORT[$n]}" "$(cut -d' ' -f1,2 "$d/ssh/ssh_host_ed25519_key.pub")" >>"$RUN/known_hosts"
    cp "$RUN/key.pub" "$d/authorized_keys"
    echo 3 >"$d/nics"
    cat >"$d/net.sh" <<EOF
ip link set lo up
ip link set eth0 up
ip addr add ${LAN_IP[$n]}/24 dev eth0
ip link set eth1 up
ip addr add ${SRV_IP[$n]}/24 dev eth1
ip link set eth2 up
ip addr add 10.0.2.15/24 dev eth2
EOF
    mkfs.ext4 -q -F -L lab-seed -d "$d" "$RUN/$n-seed.img" 8M >/dev/null 2>&1 || die "mkfs.ext4 of the seed of $n"
}

# The qemu -netdev of guest NAME's card on LAN (its socket, the switch's).
netdev() { # name lan
    rm -f "$RUN/$1-$2.sock"   # left by a qemu that was killed
    echo "dgram,id=$2,local.type=unix,local.path=$RUN/$1-$2.sock,remote.type=unix,remote.path=$RUN/$2.sock"
}

# Starts router NAME's qemu (a qcow2 overlay on the cached base image, so
# its disk survives reboots and power cuts of this run).
start_router() { # name
    local n=$1 m=${MAC_ID[$1]}
    [ -f "$RUN/$n.qcow2" ] || qemu-img create -q -f qcow2 -F raw -b "$IMAGE" "$RUN/$n.qcow2" || die "qemu-img"
    [ -f "$RUN/$n-seed.img" ] || make_seed "$n"
    BOOTS[$n]=$(( $(boots "$n") + 1 ))
    echo "$(now_ms)" >"$RUN/$n.started"
    # clocksource=hpet: under a loaded host the kernel's quick TSC
    # calibration can be off by a factor of 20 (a guest clock running 20
    # times too fast makes pulse's deadtime 150 ms); qemu's HPET follows
    # the host's clock.
    # A reboot of the guest ends this qemu (-no-reboot) and starts a new
    # one on the same disk: the machine comes back with cleared memory, as
    # after a hardware reset. (qemu's own reset keeps the old guest's
    # memory and translated code, and TCG then crawls through the next
    # boot: 60-200 s instead of 20-30 s.)
    (
        while :; do
            qemu-system-x86_64 -accel tcg -cpu max -m "$ROUTER_MEM" -smp 1 \
                -kernel "$KERNEL" -initrd "$INITRD" \
                -append "console=ttyS0 quiet loglevel=3 net.ifnames=0 rdinit=/init panic=-1 mitigations=off nokaslr clocksource=hpet random.trust_cpu=on i8042.noaux=1 i8042.nokbd=1 i8042.nopnp=1" \
                -nodefaults -display none -monitor none \
                -chardev "file,id=con,path=$RUN/$n.console,append=on" -serial chardev:con \
                -drive "file=$RUN/$n.qcow2,if=virtio,format=qcow2" \
                -drive "file=$RUN/$n-seed.img,if=virtio,format=raw,readonly=on" \
                -netdev "$(netdev "$n" lan)" -device "virtio-net-pci,netdev=lan,mac=52:54:00:00:01:$m,addr=0x10" \
                -netdev "$(netdev "$n" srv)" -device "virtio-net-pci,netdev=srv,mac=52:54:00:00:02:$m,addr=0x11" \
                -netdev "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${SSH_PORT[$n]}-:22,hostfwd=tcp:127.0.0.1:${WEB_PORT[$n]}-:3636" \
                -device "virtio-net-pci,netdev=mgmt,addr=0x12" \
                -pidfile "$RUN/$n.pid" -no-reboot </dev/null >>"$RUN/$n.qemu.log" 2>&1
            tail -c 400 "$RUN/$n.console" 2>/dev/null | grep -aq 'reboot: Restarting system' || break
            echo "@@LAB-RESET@@" >>"$RUN/$n.console"
        done
    ) &
    QEMU_PID[$n]=$!
}

boots() {
    local c=0
    [ -f "$RUN/$1.console" ] && c=$(grep -ac '^@@LAB-READY' "$RUN/$1.console")
    echo "${c:-0}"
}

# Waits until router NAME has printed its BOOTS-th ready marker; prints
# the seconds since $RUN/NAME.started and the kernel's uptime at the marker.
wait_boot() { # name timeout_s
    local n=$1 t=$2 start=$SECONDS
    while [ "$(boots "$n")" -lt "${BOOTS[$n]}" ]; do
        if [ $((SECONDS - start)) -ge "$t" ]; then
            say "$n did not reach multi-user.target within $t s; console:"
            tail -n 20 "$RUN/$n.console" | sed "s/^/    $n: /"
            return 1
        fi
        sleep 0.2
    done
    local up ms
    up=$(grep -a '^@@LAB-READY' "$RUN/$n.console" | tail -n 1 | awk '{print $3}' | tr -d '@')
    ms=$(( $(now_ms) - $(cat "$RUN/$n.started") ))
    echo "$(awk "BEGIN{printf \"%.1f\", $ms / 1000}") $up"
}

# Forgets the ssh connection to NAME (its machine went away).
drop_ssh() { # name
    [ -S "$RUN/ssh-$1" ] && ssh -o ControlPath="$RUN/ssh-$1" -O exit x >/dev/null 2>&1
    rm -f "$RUN/ssh-$1"
}

# Hard power-off: qemu quits at once, the guest gets no shutdown.
power_off() { # name
    local n=$1 pid=${QEMU_PID[$1]} q
    kill -TERM "$pid" 2>/dev/null   # the loop that would start it again
    q=$(cat "$RUN/$n.pid" 2>/dev/null)
    [ -n "$q" ] && kill -TERM "$q" 2>/dev/null
    for _ in $(seq 1 50); do
        [ -n "$q" ] && kill -0 "$q" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid" 2>/dev/null
    rm -f "$RUN/$n.pid"
    unset "QEMU_PID[$n]"
}

# Reboot from inside: qemu resets the machine and boots again.
reboot_router() { # name
    BOOTS[$1]=$(( $(boots "$1") + 1 ))
    echo "$(now_ms)" >"$RUN/$1.started"
    rssh "$1" 'systemctl reboot' >/dev/null 2>&1 || true
    drop_ssh "$1"
}

start_world() {
    WORLD_QEMU=$RUN/world.pid
    LVS_VM_NO_BUILD=1 LVS_VM_MEM=256 LVS_VM_SMP=1 LVS_VM_TIMEOUT=${LVS_OS_TIMEOUT:-3600} \
        LVS_VM_APPEND="clocksource=hpet" \
        LVS_VM_EXTRA_BINS="$TRAFFIC_BIN" \
        LVS_VM_QEMU_ARGS="-pidfile $WORLD_QEMU \
 -netdev $(netdev world lan) -device virtio-net-pci,netdev=lan,mac=52:54:00:00:01:${MAC_ID[world]},addr=0x10 \
 -netdev $(netdev world srv) -device virtio-net-pci,netdev=srv,mac=52:54:00:00:02:${MAC_ID[world]},addr=0x11 \
 -netdev user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:$CTL_PORT-:7000,hostfwd=tcp:127.0.0.1:$STOP_PORT-:7001 \
 -device virtio-net-pci,netdev=mgmt,addr=0x12" \
        "$ROOT/tests/vm/run" "$ROOT/tests/vm/scripts/lab-world.sh" "${LAB_RATE:-20}" "${LAB_LONG:-4}" \
        >"$RUN/world.console" 2>&1 &
    WORLD_PID=$!
}

wait_world() { # timeout_s
    local start=$SECONDS
    until grep -aq '^@@WORLD-READY@@' "$RUN/world.console" 2>/dev/null; do
        kill -0 "$WORLD_PID" 2>/dev/null || { tail -n 30 "$RUN/world.console"; return 1; }
        [ $((SECONDS - start)) -ge "$1" ] && { tail -n 30 "$RUN/world.console"; return 1; }
        sleep 0.2
    done
}

stop_world() {
    (exec 3<>"/dev/tcp/127.0.0.1/$STOP_PORT") 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$WORLD_PID" 2>/dev/null || break; sleep 0.2; done
    wait "$WORLD_PID" 2>/dev/null
    WORLD_PID=
}

# One line to the client's control port, its one-line answer on stdout.
client() { # command...
    local reply
    exec 5<>"/dev/tcp/127.0.0.1/$CTL_PORT" || return 1
    printf '%s\n' "$*" >&5
    IFS= read -r -t 10 reply <&5
    exec 5>&-
    printf '%s\n' "$reply"
}

# ------------------------------------------------------------------- ssh
rssh() { # name command (a shell command line run as root on the router)
    local n=$1; shift
    ssh -F none -i "$RUN/key" -p "${SSH_PORT[$n]}" \
        -o UserKnownHostsFile="$RUN/known_hosts" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR \
        -o ControlMaster=auto -o ControlPath="$RUN/ssh-$n" -o ControlPersist=300 \
        -o ServerAliveInterval=5 -o ServerAliveCountMax=3 \
        root@127.0.0.1 "$@"
}

rscp() { # name local-file remote-path
    scp -q -F none -i "$RUN/key" -P "${SSH_PORT[$1]}" \
        -o UserKnownHostsFile="$RUN/known_hosts" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR \
        -o ControlMaster=auto -o ControlPath="$RUN/ssh-$1" -o ControlPersist=300 \
        "$2" "root@127.0.0.1:$3"
}

# Waits until ssh into NAME works (sshd starts with multi-user.target).
wait_ssh() { # name timeout_s
    local start=$SECONDS
    until rssh "$1" true 2>/dev/null; do
        [ $((SECONDS - start)) -ge "$2" ] && return 1
        sleep 0.5
    done
}
