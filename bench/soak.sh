#!/usr/bin/env bash
# Soak: N clients paced at RATE messages/s each for MINUTES minutes against a fresh chatd, with
# chatd's RSS sampled every 30 s, to show that its memory does not grow. Loopback only; every
# wait is bounded and the script ends chatd (by its PID) itself.
# Usage: bash bench/soak.sh [MINUTES] [N] [RATE]      (defaults: 10 64 10)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}; n=${2:-64}; rate=${3:-10}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p chatd -p chat-bench
state=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
# As in bench/run.sh: every client comes from 127.0.0.1, so no per-address cap; only the
# native listener, so no other port of this machine is taken.
taskset -c 0 "$target/release/chatd" --listen "127.0.0.1:$port" --irc-listen off --tls-listen off \
  --irc-tls-listen off --mdns off --max-per-address off --state-dir "$state" --flood off \
  2>"$state/chatd.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$state/chatd.err" && break; sleep 0.1; done
messages=$((minutes * 60 * rate))
limit=$((minutes * 60 + 60))
taskset -c 1 timeout $((limit + 30)) "$target/release/chat-bench" --proto chatd --addr "127.0.0.1:$port" \
  -n "$n" -m "$messages" --rate "$rate" --server-pid "$pid" --timeout "$limit" >"$state/bench.out" 2>&1 &
bench=$!
for _ in $(seq $((limit / 30 + 1))); do
  sleep 30
  kill -0 "$bench" 2>/dev/null || break
  echo "$(date +%T) $(grep -E 'VmRSS|RssAnon' "/proc/$pid/status" | tr -s ' \t\n' ' ')"
done
status=0
wait "$bench" || status=$?
grep -E "deliver|latency|server" "$state/bench.out" || true
if [ "$status" -ne 0 ]; then
  echo "soak: chat-bench exited with status $status; its output and chatd's log:" >&2
  tail -n 20 "$state/bench.out" "$state/chatd.err" >&2
  exit 1
fi
