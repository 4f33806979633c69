#!/bin/bash
# Boot Debian 12 with systemd in a container, install the chatd and chatc
# packages in it and use the service the way an administrator would.
#
# Usage: packaging/test-systemd.sh [DEBDIR]     (as root; DEBDIR defaults to
#        target/debian, where packaging/build-debs.sh puts the packages)
#
# 1. A minimal bookworm root with systemd, made by debootstrap from the apt
#    mirror this machine uses (or $DEBOOTSTRAP_MIRROR) and cached in
#    target/systemd-root/KEY/, KEY a hash of the recipe (suite, packages,
#    preparation), so that a rerun skips debootstrap. Each run boots a fresh
#    copy of it, removed afterwards.
# 2. systemd-nspawn --boot with its own network namespace (a loopback of its
#    own: port 5000 clashes with nothing here) and cgroup v2, driven from
#    outside with nsenter. PID 1 of this machine need not be systemd.
# 3. Inside: dpkg -i; systemctl start (Type=notify: READY=1); mDNS starting
#    in the sandbox; the sandbox seen from inside the running service
#    (dynamic user, no capabilities, LimitNOFILE, the only writable places);
#    two clients chatting over IPv4 and IPv6; systemctl stop sends SHUTDOWN
#    and saves the history, replayed after the next start; the password
#    from /etc/chatd/password after a restart, a failed attempt at priority
#    warning in the journal; reload
#    keeps the main PID and re-reads the password; CHATD_LOG=syslog reaches
#    the journal through /dev/log; socket activation; dpkg --purge leaves
#    nothing behind.
#
# Every wait is bounded. The container is stopped by its PID when the script
# ends, however it ends; nothing else is killed. On failure the journal of
# the units is printed. Needs: debootstrap, systemd-container, util-linux.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
debdir=${1:-$here/target/debian}
target=${CARGO_TARGET_DIR:-$here/target}
cache=$target/systemd-root
wait_secs=20

suite=bookworm
# What the container needs beyond debootstrap's minbase: systemd as init,
# nss-systemd (so the dynamic user has a name), nc for a raw client and
# ss for whoever reads a failure.
packages=systemd,systemd-sysv,libnss-systemd,netcat-openbsd,iproute2
# Units that would only add noise or take the dpkg lock during a test.
masked="apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer
        fstrim.timer console-getty.service"
# Bump when the preparation of the cached root below changes.
recipe_version=1

start=$SECONDS
fail() { echo "test-systemd: FAIL: $*" >&2; exit 1; }
note() { echo "test-systemd: $*"; }
step() { echo "test-systemd: == $* ($((SECONDS - start))s)"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (it boots a container)"
for tool in debootstrap systemd-nspawn nsenter sha256sum timeout; do
    command -v "$tool" >/dev/null ||
        fail "$tool is missing (apt-get install debootstrap systemd-container)"
done
chatd_deb=$(ls -t "$debdir"/chatd_*.deb 2>/dev/null | head -n 1) || true
chatc_deb=$(ls -t "$debdir"/chatc_*.deb 2>/dev/null | head -n 1) || true
[ -n "$chatd_deb" ] && [ -n "$chatc_deb" ] ||
    fail "no chatd_*.deb / chatc_*.deb in $debdir (run packaging/build-debs.sh)"

# Wait until "$@" succeeds, for at most $1 seconds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# Whether process $1 (one of ours) still runs: not gone, not a zombie.
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}
dead() { ! alive "$1"; }

### The cached root file system
# The apt mirror this machine uses for Debian itself, if one is found.
host_mirror() {
    local uris
    uris=$({
        sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources
        sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]].*/\2/p' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list
    } 2>/dev/null) || true
    printf '%s\n' $uris | grep -E -m 1 '^https?://.*/debian/?$' || true
}

# Make the root in $1: debootstrap, then what every run needs.
make_root() {
    local root=$1 mirror log=$1.debootstrap.log unit
    mirror=${DEBOOTSTRAP_MIRROR:-$(host_mirror)}
    mirror=${mirror:-http://deb.debian.org/debian}
    note "debootstrap $suite from $mirror (log: $log)"
    if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
        >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        fail "debootstrap failed"
    fi
    for unit in $masked; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    # The package indexes and downloaded .debs are not needed to boot, and
    # copying them for every run would take longer.
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
    mkdir -p "$root/var/lib/apt/lists/partial"
    rm -f "$log"
}

# Remove directory $1 of ours, unless something is mounted under it (an
# interrupted debootstrap can leave its /proc and /sys mounts behind): rm
# must not wander into a mounted file system.
remove_tree() {
    local held
    held=$(awk -v d="$1/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo)
    [ -z "$held" ] || fail "mounted under $1, remove by hand after umount: $held"
    rm -rf --one-file-system "$1"
}

step "root file system"
key=$(printf '%s\n' "$suite" "$packages" "$masked" "$recipe_version" | sha256sum | cut -c1-16)
if [ -d "$cache/$key/root" ]; then
    note "cached in $cache/$key"
else
    # Older recipes' roots are of no further use.
    mkdir -p "$cache"
    for old in "$cache"/*; do
        [ ! -e "$old" ] || remove_tree "$old"
    done
    t0=$SECONDS
    make_root "$cache/$key.new"
    mkdir "$cache/$key"
    mv "$cache/$key.new" "$cache/$key/root"
    note "made $cache/$key in $((SECONDS - t0))s"
fi

### The container
run=$(mktemp -d "$target/systemd-run.XXXXXX")
machine=chatd-test-$$
nspawn_pid=
cpid=
bg_pids=()

# Print what an administrator would look at first.
diagnose() {
    [ -n "$cpid" ] && alive "$cpid" || {
        [ -s "$run/console.log" ] && { echo "--- container console"; tail -n 40 "$run/console.log"; }
        return 0
    }
    echo "--- systemctl status chatd.service chatd.socket"
    nsenter -t "$cpid" -a timeout 10 systemctl --no-pager --lines=0 status chatd.service \
        chatd.socket 2>&1 || true
    echo "--- journalctl -u chatd.service -u chatd.socket"
    nsenter -t "$cpid" -a timeout 10 journalctl --no-pager -n 60 -u chatd.service \
        -u chatd.socket 2>&1 || true
    local f
    for f in "$run"/*.out "$run"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; }
    done
    return 0
}

# Stop the container: ask it to power off (SIGTERM to systemd-nspawn),
# kill its PID 1, and so everything in it, if it does not within 20 s.
stop_container() {
    [ -n "$nspawn_pid" ] || return 0
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    if ! wait_for 20 dead "$nspawn_pid"; then
        note "the container did not power off within 20s: killing its PID 1 ($cpid)"
        [ -z "$cpid" ] || kill -KILL "$cpid" 2>/dev/null || true
        wait_for 10 dead "$nspawn_pid" || kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
}

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    [ "$status" -eq 0 ] || diagnose
    for pid in "${bg_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    stop_container
    # systemd-nspawn leaves this empty directory behind on a /run that is
    # not a tmpfs.
    rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
    if [ -n "$nspawn_pid" ] && alive "$nspawn_pid"; then
        note "systemd-nspawn ($nspawn_pid) still runs: leaving $run in place"
    else
        remove_tree "$run"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Run "$@" in the container, in a clean environment, for at most $1 s.
ct_t() {
    local secs=$1
    shift
    nsenter --target "$cpid" --all \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 timeout "$secs" "$@"
}
ct() { ct_t "$wait_secs" "$@"; }

# Run "$@" in the container in the background, output in $run/$1.out and
# $run/$1.err, for at most 120 s; set $bg to its PID (here).
bg=
ct_bg() {
    local name=$1
    shift
    ct_t 120 "$@" >"$run/$name.out" 2>"$run/$name.err" </dev/null &
    bg=$!
    bg_pids+=("$bg")
}

# Wait for background job $1 to end; it must exit with status 0.
reap_ok() {
    local rc=0
    wait_for "$wait_secs" dead "$1" || fail "$2 did not end within ${wait_secs}s"
    wait "$1" || rc=$?
    [ "$rc" -eq 0 ] || fail "$2 exited with $rc, not 0"
}

# The PID of the container's init: the child of systemd-nspawn that is PID
# 1 of its own PID namespace and has become systemd.
find_init() {
    local d ppid
    for d in /proc/[0-9]*; do
        ppid=$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "$d/stat" 2>/dev/null) || continue
        [ "$ppid" = "$nspawn_pid" ] || continue
        grep -q '^NSpid:.*[[:space:]]1$' "$d/status" 2>/dev/null || continue
        [ "$(cat "$d/comm" 2>/dev/null)" = systemd ] || continue
        cpid=${d#/proc/}
        return 0
    done
    return 1
}

step "boot the container"
t0=$SECONDS
cp -a --reflink=auto "$cache/$key/root" "$run/root"
echo "$machine" >"$run/root/etc/hostname"
mkdir "$run/root/root/debs"
cp "$chatd_deb" "$chatc_deb" "$run/root/root/debs/"
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --boot --register=no --keep-unit \
    --private-network --machine="$machine" --directory="$run/root" --console=read-only \
    --capability=CAP_BPF --system-call-filter="bpf keyctl add_key request_key" \
    >"$run/console.log" 2>&1 </dev/null &
nspawn_pid=$!
wait_for "$wait_secs" find_init || fail "no systemd in the container within ${wait_secs}s"
system_state() {
    state=$(nsenter -t "$cpid" -a timeout 5 systemctl is-system-running 2>/dev/null) || true
    [ "$state" = running ] || [ "$state" = degraded ]
}
state=
wait_for 60 system_state || fail "the container's systemd is '$state' after 60s, not running"
if [ "$state" = degraded ]; then
    note "the container booted degraded (not chatd's doing):"
    ct systemctl --no-pager --failed || true
fi
note "systemd is $state in the container (PID $cpid here) after $((SECONDS - t0))s"

# Journal lines of chatd.service after cursor $1, message text only.
journal_since() {
    ct journalctl --no-pager -o cat -u chatd.service --after-cursor="$1"
}
cursor() {
    ct journalctl --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p'
}
# Whether chatd.service has logged a line matching $2 since cursor $1.
logged() { journal_since "$1" | grep -q -- "$2"; }
# Wait until it has: journald reads chatd's output in its own time, so
# even a line written before READY=1 may not be in the journal yet.
wait_logged() { wait_for "$wait_secs" logged "$@"; }
prop() { ct systemctl show --value -p "$1" "${2:-chatd.service}"; }
# systemctl $1 chatd.service (start or restart), bounded by 30 s. This test
# starts chatd more often than StartLimitBurst= allows in 10 s, which no
# administrator does: reset the start counter first.
systemctl_chatd() {
    ct systemctl reset-failed chatd.service
    ct_t 30 systemctl "$1" chatd.service
}

step "install the packages"
out=$(ct_t 60 sh -c 'dpkg -i /root/debs/*.deb' 2>&1) || {
    printf '%s\n' "$out" >&2
    fail "dpkg -i"
}
[ "$(ct systemctl is-enabled chatd.service)" = enabled ] || fail "chatd.service is not enabled"
[ "$(ct systemctl is-enabled chatd.socket || true)" = disabled ] ||
    fail "chatd.socket is enabled; it should stay optional"
# postinst started the service.
[ "$(ct systemctl is-active chatd.service)" = active ] ||
    fail "chatd.service is not active after the installation"
note "installed: $(ct chatd --version), $(ct chatc --version); chatd.service enabled and active"

step "systemctl start: READY=1"
ct systemctl stop chatd.service
[ "$(prop ActiveState)" = inactive ] || fail "chatd.service is $(prop ActiveState) after stop"
c=$(cursor)
# Type=notify: the start job ends only when chatd has sent READY=1, so
# systemctl start returns then (or fails after TimeoutStartSec=, 90 s:
# longer than this bound).
systemctl_chatd start || fail "systemctl start chatd did not succeed within 30s"
[ "$(prop Type)" = notify ] || fail "chatd.service is not Type=notify"
[ "$(prop ActiveState)/$(prop SubState)" = active/running ] ||
    fail "chatd.service is $(prop ActiveState)/$(prop SubState) after start, not active/running"
main=$(prop MainPID)
[ "$main" -gt 0 ] || fail "chatd.service has no main PID"
wait_logged "$c" 'listening addr=\[::\]:5000' || fail "chatd did not log listening on [::]:5000"
wait_logged "$c" 'listening addr=0\.0\.0\.0:5000' || fail "chatd did not log listening on 0.0.0.0:5000"
# mDNS works in the sandbox: its UDP sockets on port 5353 and the interface list (netlink,
# RestrictAddressFamilies=) are allowed. The container's private network has no interface
# but the loopback, so nothing is announced on it.
wait_logged "$c" 'mdns instance=.* interfaces=none' || fail "chatd did not start mDNS in the sandbox"
if journal_since "$c" | grep -E 'mdns-off|mdns-interfaces-unreadable'; then
    fail "mDNS failed in the sandbox (above)"
fi
note "active/running, main PID $main, StatusText='$(prop StatusText)'"

step "the sandbox, seen from inside the service"
status=$(ct cat "/proc/$main/status")
field() { printf '%s\n' "$status" | sed -n "s/^$1:[[:space:]]*//p"; }
read -r uid euid suid fsuid <<<"$(field Uid)"
[ "$uid" -ne 0 ] && [ "$euid" = "$uid" ] && [ "$suid" = "$uid" ] && [ "$fsuid" = "$uid" ] ||
    fail "chatd runs with UIDs $uid $euid $suid $fsuid"
# systemd allocates dynamic users from 61184-65519.
[ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "UID $uid is not a dynamic user's"
user=$(ct getent passwd "$uid" | cut -d: -f1)
[ "$user" = chatd ] || fail "UID $uid is '$user', not the dynamic user chatd"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
    [ "$(field "$cap")" = 0000000000000000 ] || fail "chatd has $cap $(field "$cap")"
done
[ "$(field NoNewPrivs)" = 1 ] || fail "NoNewPrivs is not set"
[ "$(field Seccomp)" = 2 ] || fail "chatd has no seccomp filter"
nofile=$(ct cat "/proc/$main/limits" | awk '/^Max open files/ { print $4, $5 }')
[ "$nofile" = "4096 4096" ] || fail "chatd's open-file limits are '$nofile', not LimitNOFILE=4096"
note "user $user (UID $uid), no capabilities, NoNewPrivs, seccomp, open files $nofile"

# The mounts in chatd's namespace. /run and every mount under it (/run/lock
# too), /dev/shm and /dev/mqueue must be read-only: root, whom permissions
# do not stop, is refused there (test -w asks access(2), which says EROFS)
# in chatd's mount namespace. A path is tried, not a mountinfo line, as a
# line can be a mount hidden under a later one.
in_mnt() { ct nsenter -t "$main" -m "$@"; }
points=$(ct cat "/proc/$main/mountinfo" |
    awk '$5 == "/run" || $5 ~ "^/run/" || $5 == "/dev/shm" || $5 == "/dev/mqueue" { print $5 }')
[ -n "$points" ] || fail "no mounts on /run, /dev/shm, /dev/mqueue in chatd's namespace"
# shellcheck disable=SC2086 # one word per mount point
rw=$(in_mnt sh -c 'for p; do if [ -w "$p" ]; then echo "$p"; fi; done' sh \
    $(printf '%s\n' /run /run/lock /dev/shm /dev/mqueue $points | sort -u))
[ -z "$rw" ] || fail "mounted read-write in chatd's namespace: $(printf '%s ' $rw)"
# /tmp and /var/tmp are the unit's own: the same directories as the
# container's systemd-private-*-chatd.service-*/tmp.
for d in /tmp /var/tmp; do
    inner=$(in_mnt stat -c %d:%i "$d")
    outer=$(ct sh -c "stat -c %d:%i $d/systemd-private-*-chatd.service-*/tmp") ||
        fail "no private $d of chatd.service in the container"
    [ "$inner" = "$outer" ] || fail "$d in chatd's namespace is not its private tmp"
done
# Every directory and file chatd's user can write, as that user, in chatd's
# own mount and user namespaces (find -writable asks access(2), which says
# no for a read-only mount). /proc and /sys are the kernel's interfaces,
# read-only or owned by root there.
in_chatd() { ct nsenter -t "$main" -m -U -S "$uid" -G "$uid" "$@"; }
whoami=$(in_chatd sh -c 'sed -n "s/^\(Uid\|CapEff\):[[:space:]]*//p" /proc/self/status' | tr '\t\n' '  ')
[ "$whoami" = "$uid $uid $uid $uid 0000000000000000 " ] ||
    fail "the probe in chatd's namespaces runs as '$whoami', not as chatd's user without capabilities"
writable=$(in_chatd find / \( -path /proc -o -path /sys \) -prune -o \
    \( -type d -o -type f \) -writable -print 2>/dev/null) || true
outside=$(printf '%s\n' "$writable" | grep -v -E '^/(tmp|var/tmp|var/lib/private/chatd)(/|$)') || true
[ -z "$outside" ] || fail "chatd can write outside its state directory and private tmp: $(printf "%s " $outside)"
for d in /tmp /var/tmp /var/lib/private/chatd; do
    printf '%s\n' "$writable" | grep -qx "$d" || fail "chatd cannot write $d"
done
note "writable for chatd: $(printf '%s\n' "$writable" | tr '\n' ' ')"
note "read-only for chatd: /run (and under it), /dev/shm, /dev/mqueue"

step "two clients chat over IPv4 and IPv6"
c=$(cursor)
# Listeners on both addresses; a line from a chatc over IPv4 and one from
# nc over IPv6 must reach both.
ct_bg six chatc -H ::1 -n six --listen --no-color
six=$bg
ct_bg four chatc -H 127.0.0.1 -n four --listen --no-color
four=$bg
wait_for "$wait_secs" grep -q '^[^ ]* WELCOME six ' "$run/six.out" || fail "chatc on ::1 did not join"
wait_for "$wait_secs" grep -q '^[^ ]* WELCOME four ' "$run/four.out" ||
    fail "chatc on 127.0.0.1 did not join"
m1="over-ipv4-$$"
m2="over-ipv6-$$"
ct sh -c "echo $m1 | chatc -H 127.0.0.1 -n sendfour" || fail "chatc over IPv4 exited with $?"
ct sh -c "printf 'sendsix\n$m2\n/quit\n' | nc ::1 5000" >"$run/nc.out" || fail "nc over IPv6 exited with $?"
for l in six four; do
    wait_for "$wait_secs" grep -q "^[^ ]* MSG <sendfour> $m1\$" "$run/$l.out" ||
        fail "listener $l did not get the line sent over IPv4"
    wait_for "$wait_secs" grep -q "^[^ ]* MSG <sendsix> $m2\$" "$run/$l.out" ||
        fail "listener $l did not get the line sent over IPv6"
done
wait_logged "$c" 'join peer=\[::1\]:[0-9]* name=six' || fail "no join from [::1] logged"
wait_logged "$c" 'join peer=127\.0\.0\.1:[0-9]* name=four' || fail "no join from 127.0.0.1 logged"
note "both listeners got both lines (IPv4 -> IPv6, IPv6 -> IPv4 and back)"

step "systemctl stop: SHUTDOWN to clients, history saved"
ct systemctl stop chatd.service || fail "systemctl stop chatd"
reap_ok "$six" "chatc --listen on ::1"
reap_ok "$four" "chatc --listen on 127.0.0.1"
for l in six four; do
    grep -q '^[^ ]* SHUTDOWN ' "$run/$l.out" || fail "listener $l got no SHUTDOWN"
done
[ "$(prop Result)" = success ] || fail "chatd.service stopped with result $(prop Result)"
[ "$(prop ExecMainStatus)" = 0 ] || fail "chatd exited with status $(prop ExecMainStatus), not 0"
[ "$(ct readlink /var/lib/chatd)" = private/chatd ] ||
    fail "/var/lib/chatd is not the symlink to private/chatd"
history=$(ct cat /var/lib/private/chatd/history) || fail "no /var/lib/private/chatd/history"
for m in "$m1" "$m2"; do
    printf '%s\n' "$history" | grep -qF "$m" || fail "the saved history lacks $m"
done
note "both listeners got SHUTDOWN and exited 0; chatd exited 0; history in /var/lib/private/chatd"

step "systemctl start: the history is replayed"
systemctl_chatd start || fail "systemctl start chatd"
ct sh -c "printf 'reader\n/quit\n' | nc 127.0.0.1 5000" >"$run/reader.out" ||
    fail "nc exited with $?"
for m in "$m1" "$m2"; do
    grep -q "^HIST MSG [^ ]* [^ ]* $m" "$run/reader.out" ||
        fail "a client joining after the restart was not replayed $m"
done
note "a new client got both lines as HIST"

step "the password from /etc/chatd/password, after a restart"
ct sh -c 'install -d -m 0700 /etc/chatd && umask 077 && printf "sesame\n" >/etc/chatd/password'
c=$(cursor)
systemctl_chatd restart || fail "systemctl restart chatd"
wait_logged "$c" 'password file=/run/credentials/chatd.service/password password=on' ||
    fail "chatd did not log taking the password from its credential"
rc=0
ct sh -c 'echo in | CHATC_PASSWORD=wrong chatc -H 127.0.0.1 -n wrong' 2>"$run/wrong.err" || rc=$?
[ "$rc" -eq 1 ] || fail "chatc with a wrong password exited with $rc, not 1"
ct sh -c 'echo in | CHATC_PASSWORD=sesame chatc -H 127.0.0.1 -n right' 2>"$run/right.err" ||
    fail "chatc with the right password exited with $?"
wait_logged "$c" 'auth-failure peer=127\.0\.0\.1:[0-9]*' ||
    fail "chatd did not log the failed password"
note "the right password gets in, a wrong one is refused and logged"
# An administrator (and fail2ban) looks for it among the warnings. (Not
# with --after-cursor: journalctl 252 shows nothing for -p with it.)
failed=$(journal_since "$c" | grep -m 1 'auth-failure peer=127\.0\.0\.1:')
ct journalctl --no-pager -o cat -u chatd.service -p warning | grep -qxF "$failed" ||
    fail "journalctl -u chatd -p warning does not show '$failed' (logged at a lower priority)"
note "journalctl -u chatd -p warning shows: $failed"

step "systemctl reload: same main PID, the password read again"
main=$(prop MainPID)
c=$(cursor)
ct systemctl reload chatd.service || fail "systemctl reload chatd"
wait_logged "$c" 'password-reloaded file=/run/credentials/chatd.service/password password=on' ||
    fail "chatd did not log reading the password again"
[ "$(prop MainPID)" = "$main" ] || fail "the main PID changed from $main to $(prop MainPID) on reload"
[ "$(prop ActiveState)" = active ] || fail "chatd.service is $(prop ActiveState) after reload"
note "reloaded by the same process ($main)"

# With a password file chatd reads itself (CHATD_PASSWORD_FILE, readable by
# its dynamic user), a reload puts a changed password in force.
ct sh -c 'install -d -m 0755 /etc/chatd-test && printf "first\n" >/etc/chatd-test/password &&
    chmod 0644 /etc/chatd-test/password &&
    cp /etc/default/chatd /etc/chatd-test/default &&
    echo CHATD_PASSWORD_FILE=/etc/chatd-test/password >>/etc/default/chatd'
systemctl_chatd restart || fail "systemctl restart chatd"
main=$(prop MainPID)
ct sh -c 'echo in | CHATC_PASSWORD=first chatc -H 127.0.0.1 -n first' 2>"$run/first.err" ||
    fail "chatc with the password in CHATD_PASSWORD_FILE exited with $?"
c=$(cursor)
ct sh -c 'printf "second\n" >/etc/chatd-test/password'
ct systemctl reload chatd.service || fail "systemctl reload chatd"
wait_logged "$c" 'password-reloaded file=/etc/chatd-test/password password=on' ||
    fail "chatd did not log reading CHATD_PASSWORD_FILE again"
rc=0
ct sh -c 'echo in | CHATC_PASSWORD=first chatc -H 127.0.0.1 -n first' 2>"$run/first.err" || rc=$?
[ "$rc" -eq 1 ] || fail "the old password still works after the reload (chatc exited with $rc)"
ct sh -c 'echo in | CHATC_PASSWORD=second chatc -H 127.0.0.1 -n second' 2>"$run/second.err" ||
    fail "the new password does not work after the reload (chatc exited with $?)"
[ "$(prop MainPID)" = "$main" ] || fail "the main PID changed on reload"
ct sh -c 'mv /etc/chatd-test/default /etc/default/chatd && rm -r /etc/chatd-test'
note "a changed CHATD_PASSWORD_FILE is in force after a reload, same PID $main"

step "CHATD_LOG=syslog: /dev/log works in the sandbox"
ct sh -c 'cp /etc/default/chatd /root/default && echo CHATD_LOG=syslog >>/etc/default/chatd'
c=$(cursor)
systemctl_chatd restart || fail "systemctl restart chatd with CHATD_LOG=syslog"
wait_for "$wait_secs" sh -c "nsenter -t $cpid -a timeout 5 journalctl --no-pager -o cat \
    -u chatd.service --after-cursor='$c' _TRANSPORT=syslog | grep -q 'listening addr='" ||
    fail "no line from chatd arrived through /dev/log"
ct mv /root/default /etc/default/chatd
systemctl_chatd restart || fail "systemctl restart chatd"
note "chatd's lines reach the journal through /dev/log"

step "socket activation"
ct systemctl disable --now chatd.service 2>/dev/null || fail "systemctl disable --now chatd.service"
ct systemctl enable --now chatd.socket 2>/dev/null || fail "systemctl enable --now chatd.socket"
[ "$(prop ActiveState)" = inactive ] || fail "chatd.service is $(prop ActiveState), not inactive"
[ "$(prop ActiveState chatd.socket)" = active ] || fail "chatd.socket is not active"
c=$(cursor)
ct_bg sock env CHATC_PASSWORD=sesame chatc -H ::1 -n sock --listen --no-color
sock=$bg
wait_for "$wait_secs" grep -q '^[^ ]* WELCOME sock ' "$run/sock.out" ||
    fail "a client of chatd.socket did not join"
# The client can be served before systemd has read READY=1.
active() { [ "$(prop ActiveState)" = active ]; }
wait_for "$wait_secs" active || fail "chatd.service is $(prop ActiveState) after a connection"
main=$(prop MainPID)
ct sh -c "tr '\\0' '\\n' </proc/$main/environ" | grep -qx 'LISTEN_FDNAMES=chatd.socket' ||
    fail "chatd was not given chatd.socket's socket"
wait_logged "$c" 'listening addr=\[::\]:5000' || fail "chatd did not log serving [::]:5000"
m3="socket-activated-$$"
ct sh -c "echo $m3 | CHATC_PASSWORD=sesame chatc -H 127.0.0.1 -n sender" ||
    fail "chatc over IPv4 to the activated chatd exited with $?"
wait_for "$wait_secs" grep -q "^[^ ]* MSG <sender> $m3\$" "$run/sock.out" ||
    fail "the listener did not get the line through the activated chatd"
ct systemctl stop chatd.socket chatd.service
reap_ok "$sock" "chatc --listen on the activated chatd"
grep -q '^[^ ]* SHUTDOWN ' "$run/sock.out" || fail "the listener got no SHUTDOWN"
note "chatd started on the first connection with the socket's descriptor; chat works"

step "purge"
out=$(ct_t 60 dpkg --purge chatc chatd 2>&1) || {
    printf '%s\n' "$out" >&2
    fail "dpkg --purge"
}
[ "$(prop LoadState)" = not-found ] || fail "chatd.service is still $(prop LoadState)"
[ "$(prop LoadState chatd.socket)" = not-found ] || fail "chatd.socket is still loaded"
procs=$(ct sh -c 'grep -lx chatd /proc/[0-9]*/comm' 2>/dev/null) || true
[ -z "$procs" ] || fail "chatd still runs after purge: $procs"
left=$(ct sh -c 'for f in /usr/sbin/chatd /usr/bin/chatc /etc/default/chatd \
        /etc/fail2ban/filter.d/chatd.conf /lib/systemd/system/chatd.service \
        /lib/systemd/system/chatd.socket /usr/lib/systemd/system/chatd.service \
        /usr/lib/systemd/system/chatd.socket /usr/lib/systemd/system/chatd-irc.socket \
        /etc/systemd/system/chatd.service.d \
        /etc/systemd/system/multi-user.target.wants/chatd.service \
        /etc/systemd/system/sockets.target.wants/chatd.socket \
        /var/lib/chatd /var/lib/private/chatd /usr/share/doc/chatd /usr/share/doc/chatc \
        /usr/share/man/man8/chatd.8.gz /usr/share/man/man1/chatc.1.gz; do
        if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
    done
    find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
        -name "*chatd*" 2>/dev/null; true')
[ -z "$left" ] || fail "left behind after purge: $(printf '%s ' $left)"
# The password is the administrator's file, kept as README says.
ct test -f /etc/chatd/password || fail "purge removed the administrator's /etc/chatd/password"
note "nothing left but the administrator's /etc/chatd/password"

note "PASS in $((SECONDS - start))s"
