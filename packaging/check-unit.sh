#!/bin/sh
# Check the systemd units: `systemd-analyze verify` must print nothing and
# `systemd-analyze security` must rate chatd.service 2.0 or lower.
#
# Usage: packaging/check-unit.sh [PATH-TO-CHATD-BINARY]
#
# verify insists that ExecStart= names an existing executable, so the units
# are checked as copies in a temporary directory whose ExecStart= points at
# the binary given, else /usr/sbin/chatd if installed, else a built one in
# target/, else /bin/true (the unit text is still fully checked). Works
# without systemd running as PID 1.
set -eu

MAX_EXPOSURE=2.0
here=$(cd "$(dirname "$0")/.." && pwd)
units="$here/systemd"

bin=${1:-}
if [ -z "$bin" ]; then
    for c in /usr/sbin/chatd "${CARGO_TARGET_DIR:-$here/target}/release/chatd" \
             "${CARGO_TARGET_DIR:-$here/target}/debug/chatd"; do
        if [ -x "$c" ]; then bin=$c; break; fi
    done
fi
if [ -z "$bin" ]; then
    echo "check-unit: no chatd binary found, verifying with /bin/true as ExecStart" >&2
    bin=/bin/true
fi
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
sed "s#^ExecStart=/usr/sbin/chatd #ExecStart=$bin #" "$units/chatd.service" >"$tmp/chatd.service"
cp "$units/chatd.socket" "$units/chatd-irc.socket" "$units/chatd-tls.socket" \
    "$units/chatd-irc-tls.socket" "$tmp/"
grep -q "^ExecStart=$bin " "$tmp/chatd.service" || {
    echo "check-unit: ExecStart= line not found in chatd.service" >&2
    exit 1
}

# verify prints problems and may still exit 0: any output is a failure.
out=$(cd "$tmp" && systemd-analyze verify --man=no ./chatd.socket ./chatd-irc.socket \
    ./chatd-tls.socket ./chatd-irc-tls.socket ./chatd.service 2>&1) || {
    printf '%s\n' "$out" >&2
    echo "check-unit: systemd-analyze verify failed" >&2
    exit 1
}
if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    echo "check-unit: systemd-analyze verify reported problems" >&2
    exit 1
fi
echo "check-unit: systemd-analyze verify: clean"

report=$(cd "$tmp" && systemd-analyze security --offline=yes ./chatd.service 2>&1) || true
score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for chatd.service: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
    printf '%s\n' "$report" >&2
    echo "check-unit: could not read the exposure score" >&2
    exit 1
fi
echo "check-unit: systemd-analyze security: exposure $score (limit $MAX_EXPOSURE)"
if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
    printf '%s\n' "$report" | grep -v '^✓' >&2
    echo "check-unit: exposure $score is above $MAX_EXPOSURE" >&2
    exit 1
fi
