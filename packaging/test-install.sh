#!/bin/bash
# Install the chatd and chatc packages on this machine, use them, purge them.
#
# Usage: packaging/test-install.sh [DEBDIR]     (as root; DEBDIR defaults to
#        target/debian, where packaging/build-debs.sh puts the packages)
#
# 1. dpkg -i both packages (man pages and docs forced in, in case the image
#    excludes them, as Debian's slim docker images do in /etc/dpkg/dpkg.cfg.d/);
# 2. check chatd --version, chatc --version, man -w for the three pages, the
#    conffiles and the enabled-unit symlink that postinst made;
# 3. run the installed /usr/sbin/chatd on 127.0.0.1 (not through systemd:
#    PID 1 may not be systemd) with a credentials directory as the service
#    gets it, and wait for its READY=1 notification each time: check that a
#    password credential is enforced, then that the unit's fallback
#    credential means no password, send a line with `chatc` in script mode
#    and see it arrive at a `chatc --listen`, check the log, stop chatd with
#    SIGTERM and check the saved history; then chat over TLS through the
#    installed chatc (first contact shows the fingerprint chatd --fingerprint
#    prints; a second contact checks it; plain text to that host is refused);
# 4. dpkg --purge both and check that nothing is left behind.
#
# Every wait is bounded; only processes this script started are killed, by
# PID. Needs: dpkg, man-db, socat, timeout (coreutils).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
debdir=${1:-$here/target/debian}
wait_secs=15

fail() { echo "test-install: FAIL: $*" >&2; exit 1; }
note() { echo "test-install: $*"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (it installs packages)"
for tool in dpkg man socat timeout; do
    command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install man-db socat)"
done
chatd_deb=$(ls -t "$debdir"/chatd_*.deb 2>/dev/null | head -n 1) || true
chatc_deb=$(ls -t "$debdir"/chatc_*.deb 2>/dev/null | head -n 1) || true
[ -n "$chatd_deb" ] && [ -n "$chatc_deb" ] ||
    fail "no chatd_*.deb / chatc_*.deb in $debdir (run packaging/build-debs.sh)"
version=$(dpkg-deb -f "$chatd_deb" Version)
upstream=${version%-*}

# Do not trample on a real installation.
for p in chatd chatc; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
        fail "$p is already installed; this test installs and purges it"
    fi
done
for d in /var/lib/chatd /var/lib/private/chatd /etc/chatd; do
    [ ! -e "$d" ] || fail "$d exists; this test would remove it on purge"
done

tmp=$(mktemp -d)
pids=()
made_private=no
installed=no
cleanup() {
    status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for f in "$tmp"/chatd.log "$tmp"/listen.out "$tmp"/listen.err "$tmp"/send.err \
            "$tmp"/listen-tls.out "$tmp"/listen-tls.err; do
            [ -s "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
        done
        if [ "$installed" = yes ]; then
            dpkg --purge chatc chatd >/dev/null 2>&1 || true
        fi
    fi
    [ "$made_private" = no ] || rmdir /var/lib/private 2>/dev/null || true
    rm -rf "$tmp"
    exit "$status"
}
# chatc remembers the servers it spoke TLS to in $XDG_DATA_HOME: a file of
# the test's own, so that the machine's (root's) is neither read nor written.
export XDG_DATA_HOME=$tmp/chatc-data
trap cleanup EXIT
trap 'exit 1' INT TERM

# Wait until "$@" succeeds, for at most $wait_secs seconds.
wait_for() {
    local deadline=$((SECONDS + wait_secs))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# Whether our child $1 is still running (an exited child that has not been
# waited for is a zombie, which kill -0 would still find).
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}
dead() { ! alive "$1"; }

# Whether chatd has said READY=1, or has exited.
ready_or_dead() { grep -q READY=1 "$tmp/notified" || dead "$1"; }

# Wait for our child $1 to end, at most $wait_secs seconds; set $reaped
# to its exit status.
reaped=
reap() {
    wait_for dead "$1" || return 1
    reaped=0
    wait "$1" || reaped=$?
}

### 1. install
if grep -qs '^path-exclude.*/usr/share/\(man\|doc\)' /etc/dpkg/dpkg.cfg.d/*; then
    note "dpkg excludes /usr/share/man or /usr/share/doc here; including ours"
fi
note "installing $(basename "$chatd_deb") $(basename "$chatc_deb")"
installed=yes
dpkg --path-include='/usr/share/man/man*/chat*' --path-include='/usr/share/doc/chat[cd]/*' \
    -i "$chatd_deb" "$chatc_deb" >"$tmp/dpkg.out" 2>&1 || {
    cat "$tmp/dpkg.out" >&2
    fail "dpkg -i"
}

### 2. what the packages put in place
out=$(/usr/sbin/chatd --version) || fail "chatd --version exits with $?"
case $out in *"$upstream"*) ;; *) fail "chatd --version says '$out', not $upstream" ;; esac
note "chatd --version: $out"
[ "$(command -v chatc)" = /usr/bin/chatc ] || fail "chatc is not /usr/bin/chatc on PATH"
out=$(chatc --version) || fail "chatc --version exits with $?"
case $out in *"$upstream"*) ;; *) fail "chatc --version says '$out', not $upstream" ;; esac
note "chatc --version: $out"
for page in chatd chatc chatd-protocol; do
    path=$(man -w "$page") || fail "man -w $page finds nothing"
    note "man -w $page: $path"
done
for conffile in /etc/default/chatd /etc/fail2ban/filter.d/chatd.conf; do
    dpkg-query -W -f='${Conffiles}\n' chatd | grep -q "^ $conffile " ||
        fail "$conffile is not a conffile"
done
[ -f /usr/lib/systemd/system/chatd.service ] || fail "no chatd.service"
[ -f /usr/lib/systemd/system/chatd-tls.socket ] || fail "no chatd-tls.socket"
[ -L /etc/systemd/system/multi-user.target.wants/chatd.service ] ||
    fail "postinst did not enable chatd.service"
[ ! -e /etc/systemd/system/sockets.target.wants/chatd.socket ] ||
    fail "postinst enabled chatd.socket, which should stay optional"
[ -f /usr/lib/systemd/system/chatd-irc.socket ] || fail "no chatd-irc.socket"
[ ! -e /etc/systemd/system/sockets.target.wants/chatd-irc.socket ] ||
    fail "postinst enabled chatd-irc.socket, which should stay optional"
[ -f /usr/lib/systemd/system/chatd-irc-tls.socket ] || fail "no chatd-irc-tls.socket"
[ ! -e /etc/systemd/system/sockets.target.wants/chatd-tls.socket ] ||
    fail "postinst enabled chatd-tls.socket, which should stay optional"
[ ! -e /etc/systemd/system/sockets.target.wants/chatd-irc-tls.socket ] ||
    fail "postinst enabled chatd-irc-tls.socket, which should stay optional"

### 3. chat through the installed binaries
# chatd runs the way the service runs it: with a credentials directory
# ($CREDENTIALS_DIRECTORY, as LoadCredential=/SetCredential= make it) and a
# notification socket ($NOTIFY_SOCKET) that must receive READY=1.
socat -u "UNIX-RECV:$tmp/notify" "OPEN:$tmp/notified,creat,append" &
pids+=($!)
wait_for test -S "$tmp/notify" || fail "socat did not create the notify socket"

# Start the installed chatd on a free loopback port (and the next one for
# TLS) with credentials from directory $1 and state in $2; set $port,
# $tls_port and $chatd_pid. The port is picked at random and another is
# tried when chatd cannot bind it.
start_chatd() {
    local creds=$1 state=$2 attempt try
    port=
    for attempt in 1 2 3 4 5; do
        try=$((20000 + (RANDOM % 20000)))
        : >"$tmp/notified"
        CREDENTIALS_DIRECTORY=$creds NOTIFY_SOCKET=$tmp/notify \
            /usr/sbin/chatd --foreground --listen "127.0.0.1:$try" --irc-listen off \
            --irc-tls-listen off --tls-listen "127.0.0.1:$((try + 1))" \
            --state-dir "$state" --log stderr --log-level info 2>"$tmp/chatd.log" &
        chatd_pid=$!
        pids+=("$chatd_pid")
        if wait_for ready_or_dead "$chatd_pid" && alive "$chatd_pid"; then
            port=$try
            tls_port=$((try + 1))
            note "chatd is ready on 127.0.0.1:$port (pid $chatd_pid)"
            return 0
        fi
        alive "$chatd_pid" && fail "chatd runs but sent no READY=1 within ${wait_secs}s"
        reap "$chatd_pid" || true
        note "chatd could not start on port $try (attempt $attempt), trying another"
    done
    fail "chatd did not start on any of 5 ports"
}

# Stop chatd with SIGTERM; it must exit 0 and log its shutdown.
stop_chatd() {
    kill -TERM "$chatd_pid"
    reap "$chatd_pid" || fail "chatd did not exit within ${wait_secs}s of SIGTERM"
    [ "$reaped" -eq 0 ] || fail "chatd exited with $reaped after SIGTERM, not 0"
    grep -q 'shutdown connections=' "$tmp/chatd.log" || fail "chatd did not log its shutdown"
}

# With a real password credential, the right password gets in, a wrong
# one is refused (exit status 1) and logged.
mkdir -m 0700 "$tmp/creds-pw" "$tmp/state-pw"
printf 'sesame\n' >"$tmp/creds-pw/password"
start_chatd "$tmp/creds-pw" "$tmp/state-pw"
echo "with the password" | CHATC_PASSWORD=sesame timeout "$wait_secs" \
    chatc -H 127.0.0.1 -p "$port" -n right 2>"$tmp/send.err" ||
    fail "chatc with the right password exits with $?"
rc=0
echo "without it" | CHATC_PASSWORD=wrong timeout "$wait_secs" \
    chatc -H 127.0.0.1 -p "$port" -n wrong 2>"$tmp/send.err" || rc=$?
[ "$rc" -eq 1 ] || fail "chatc with a wrong password exits with $rc, not 1"
wait_for grep -q 'auth-failure peer=127\.0\.0\.1:[0-9]* failures=1' "$tmp/chatd.log" ||
    fail "chatd did not log the wrong password"
stop_chatd
note "the password credential is enforced"

# The service's fallback credential (SetCredential=password:\n, when there
# is no /etc/chatd/password) must mean an open server: the chat below joins
# without a password.
mkdir -m 0700 "$tmp/creds" "$tmp/state"
printf '\n' >"$tmp/creds/password"
state=$tmp/state
start_chatd "$tmp/creds" "$state"

timeout "$wait_secs" chatc -H 127.0.0.1 -p "$port" -n listener --listen --no-color \
    >"$tmp/listen.out" 2>"$tmp/listen.err" </dev/null &
listen_pid=$!
pids+=("$listen_pid")

# Send only once the listener has joined, so that the line reaches it live
# (as MSG), not as history replayed on joining.
wait_for grep -q '^[^ ]* WELCOME listener ' "$tmp/listen.out" ||
    fail "chatc --listen did not join (no WELCOME line)"
marker="hello-from-test-install-$$"
echo "$marker" | timeout "$wait_secs" chatc -H 127.0.0.1 -p "$port" -n sender \
    2>"$tmp/send.err" || fail "chatc in script mode exits with $?"
wait_for grep -q "^[^ ]* MSG <sender> $marker\$" "$tmp/listen.out" ||
    fail "chatc --listen did not print the line sent by the other chatc"
note "chatc --listen saw: $(grep -F "$marker" "$tmp/listen.out")"

wait_for grep -q 'join peer=127\.0\.0\.1:[0-9]* name=sender' "$tmp/chatd.log" ||
    fail "chatd did not log the join of sender"
if grep -qF "$marker" "$tmp/chatd.log"; then
    fail "chatd logged a message's text"
fi

# Over TLS, through the installed chatc: the first contact shows the
# fingerprint that chatd --fingerprint prints and remembers it; a listener
# over TLS sees a line sent over TLS; plain text to this host is then
# refused (no silent downgrade).
[ "$(stat -c %a "$state/tls.pem")" = 600 ] || fail "the TLS key in the state directory is not 0600"
fingerprint=$(/usr/sbin/chatd --fingerprint --state-dir "$state") ||
    fail "chatd --fingerprint exits with $?"
case $fingerprint in SHA256:??:*) ;; *) fail "chatd --fingerprint printed '$fingerprint'" ;; esac
grep -qF "tls-certificate fingerprint=$fingerprint" "$tmp/chatd.log" ||
    fail "chatd did not log the fingerprint chatd --fingerprint prints"
tmarker="over-tls-from-test-install-$$"
echo "first $tmarker" | timeout "$wait_secs" chatc --tls -H 127.0.0.1 -p "$tls_port" -n tlsfirst \
    2>"$tmp/send.err" || fail "chatc --tls (first contact) exits with $?"
grep -qF "first TLS contact with 127.0.0.1:$tls_port: its certificate is $fingerprint" \
    "$tmp/send.err" || fail "chatc --tls did not show the fingerprint at the first contact"
grep -qF "127.0.0.1:$tls_port $fingerprint" "$XDG_DATA_HOME/chatc/known_hosts" ||
    fail "chatc did not remember the fingerprint"
timeout "$wait_secs" chatc --tls -H 127.0.0.1 -p "$tls_port" -n tlslistener --listen --no-color \
    >"$tmp/listen-tls.out" 2>"$tmp/listen-tls.err" </dev/null &
tls_listen_pid=$!
pids+=("$tls_listen_pid")
wait_for grep -q '^[^ ]* WELCOME tlslistener ' "$tmp/listen-tls.out" ||
    fail "chatc --tls --listen did not join"
echo "$tmarker" | timeout "$wait_secs" chatc --tls -H 127.0.0.1 -p "$tls_port" -n tlssender \
    2>"$tmp/send.err" || fail "chatc --tls exits with $?"
grep -q "first TLS contact" "$tmp/send.err" && fail "chatc --tls took a known server for a new one"
wait_for grep -q "^[^ ]* MSG <tlssender> $tmarker\$" "$tmp/listen-tls.out" ||
    fail "chatc --tls --listen did not print the line sent over TLS"
note "chatc --tls --listen saw: $(grep -F "MSG <tlssender>" "$tmp/listen-tls.out")"
rc=0
echo "in clear" | timeout "$wait_secs" chatc -H 127.0.0.1 -p "$port" -n plain 2>"$tmp/send.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "will not send plain text" "$tmp/send.err" ||
    fail "chatc sent plain text to a host it spoke TLS to (exit $rc)"
note "chatted over TLS; the fingerprint matches chatd --fingerprint; no downgrade"

stop_chatd
reap "$listen_pid" || fail "chatc --listen did not end when chatd shut down"
reap "$tls_listen_pid" || fail "chatc --tls --listen did not end when chatd shut down"
[ "$reaped" -eq 0 ] || fail "chatc --listen exited with $reaped when the server closed, not 0"
[ -f "$state/history" ] || fail "chatd saved no history in its --state-dir"
grep -qF "$marker" "$state/history" || fail "the saved history lacks the message"
note "chatd shut down cleanly and saved its history"

### 4. purge
# Pretend systemd ran the service: StateDirectory= with DynamicUser=yes
# leaves /var/lib/private/chatd and the symlink /var/lib/chatd.
[ -d /var/lib/private ] || { mkdir -m 0700 /var/lib/private; made_private=yes; }
mkdir /var/lib/private/chatd
cp "$state/history" "$state/tls.pem" /var/lib/private/chatd/
ln -s private/chatd /var/lib/chatd
mkdir -m 0700 /etc/chatd

dpkg --purge chatc chatd >"$tmp/dpkg.out" 2>&1 || {
    cat "$tmp/dpkg.out" >&2
    fail "dpkg --purge"
}
installed=no
for p in chatd chatc; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
        fail "$p is still installed after purge"
    fi
done
left=()
for f in /usr/sbin/chatd /usr/bin/chatc /etc/default/chatd /etc/fail2ban/filter.d/chatd.conf \
    /usr/lib/systemd/system/chatd.service /usr/lib/systemd/system/chatd.socket \
    /usr/lib/systemd/system/chatd-irc.socket /usr/lib/systemd/system/chatd-tls.socket \
    /usr/lib/systemd/system/chatd-irc-tls.socket \
    /etc/systemd/system/multi-user.target.wants/chatd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/chatd.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/chatd.service \
    /var/lib/chatd /var/lib/private/chatd /etc/chatd \
    /usr/share/doc/chatd /usr/share/doc/chatc \
    /usr/share/man/man8/chatd.8.gz /usr/share/man/man1/chatc.1.gz \
    /usr/share/man/man7/chatd-protocol.7.gz /usr/share/lintian/overrides/chatd; do
    if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
done
[ "${#left[@]}" -eq 0 ] || fail "left behind after purge: ${left[*]}"
note "purged; nothing left behind"
note "PASS"
