#!/usr/bin/env bash
# The benchmark matrix of docs/BENCHMARKS.md: chatd and ngircd side by side, same machine, same run.
#
#   bash bench/run.sh            # whole matrix, ~8-12 minutes, stops by itself
#   SIZES="64" REPS=3 bash bench/run.sh   # just the N=64 points
#   SIZES= MODES= bash bench/run.sh       # just the crowd row (1,000 clients) and the extras
#
# For N = 2, 16, 64, 256, paced (10 msg/s per client), fast (window of 16 unseen messages per
# sender) and fast1 (window of 1: every sender waits until everybody saw its last message):
# a fresh server per run, pinned to one core, the generator to the other, three runs per
# point; at N = 64 (TLS_SIZES) also tlsfast, the fast mode over TLS, against chatd's TLS port and
# ngircd's (a certificate made for the run); at the points of IRC_POINTS (MODE:N pairs, default
# fast:64) chatd's IRC listener runs too, as server chatd_irc: chat-bench speaks IRC to it as to
# ngircd (IRC_POINTS="" skips it); then the crowd row: CROWD (1,000) clients paced at CROWD_RATE
# (1 msg/s) each, with
# each server's private memory (RssAnon) while they are all connected; then chatd's idle RSS
# and private memory (and ngircd's), start-up time to listening and stripped binary sizes
# (chatc as packaged, with the client profile).
# Raw results (one key=value file per run) and summary.md land in $OUT (default
# target/bench-results/DATE). Needs: ngircd (Debian package), taskset (util-linux), a Rust
# toolchain, and a hard open-file limit of at least CROWD + 64 (the soft limit is raised to it
# for the servers and the generator). Loopback only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
: "${CARGO_TARGET_DIR:=$root/target}"
export CARGO_TARGET_DIR
SIZES=${SIZES-"2 16 64 256"}
MODES=${MODES-"paced fast fast1"}
TLS_SIZES=${TLS_SIZES-64}       # the sizes that also get a tlsfast run ("" for none)
CROWD=${CROWD-1000}       # clients in the crowd row; empty: no crowd row
CROWD_RATE=${CROWD_RATE:-1}
CROWD_M=${CROWD_M:-10}    # messages per client: 10 s of traffic at 1 msg/s
SERVERS=${SERVERS:-"chatd ngircd"}
IRC_POINTS=${IRC_POINTS-"fast:64"}
REPS=${REPS:-3}
RATE=${RATE:-10}
PACED_M=${PACED_M:-100}
WINDOW=${WINDOW:-16}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
BASE_PORT=${BASE_PORT:-24000}
TOTAL_LIMIT=${TOTAL_LIMIT:-1080} # seconds for the whole script; runs past it are skipped
RUN_TIMEOUT=${RUN_TIMEOUT:-60}   # seconds for one chat-bench run (it stops by itself)
OUT=${OUT:-$root/target/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}

# Messages per client in fast modes: up to ~2 million deliveries per point, a few seconds each
# (window 1 is slow on ngircd, whose replies wait for delayed ACKs: fewer messages there).
fast_m() {
  case $1:$2 in
    fast:2) echo 20000 ;;
    fast:16) echo 1000 ;;
    fast:64) echo 300 ;;
    fast:256) echo 30 ;;
    fast1:2) echo 5000 ;;
    fast1:16) echo 300 ;;
    fast1:64) echo 200 ;;
    fast1:256) echo 30 ;;
    *) echo 100 ;;
  esac
}

deadline=$((SECONDS + TOTAL_LIMIT))
# One descriptor per client, in the servers and in chat-bench: raise the soft limit to the hard
# one for everything started from here (chatd and chat-bench raise their own too; ngircd does
# not).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -n "$CROWD" ] && [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CROWD + 64)) ]; then
  echo "open-file limit $(ulimit -n) is too low for $CROWD clients (raise the hard limit): no crowd row" >&2
  CROWD=""
fi
work=$(mktemp -d)
server_pid=""
mkdir -p "$OUT/raw"

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.01
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Set `port` to the next port nobody answers on (a fresh one per server, never reused).
port_counter=0
next_port() {
  while :; do
    port=$((BASE_PORT + port_counter))
    port_counter=$((port_counter + 1))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return
    fi
  done
}

# Wait until FILE exists (or contains PATTERN), at most SECS seconds.
wait_for() {
  local file=$1 secs=$2 pattern=${3:-}
  local i
  for i in $(seq 1 $((secs * 200))); do
    if [ -n "$pattern" ]; then
      grep -q "$pattern" "$file" 2>/dev/null && return 0
    else
      [ -s "$file" ] && return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.005
  done
  return 1
}

# Wait as wait_for does (ARGS); if the server does not get there, say WHAT with its LOG, stop
# it, and fail.
ready_or_stop() {
  local what=$1 logfile=$2
  shift 2
  wait_for "$@" && return 0
  log "$what; its log:"
  cat "$logfile" >&2 || true
  stop_server
  return 1
}

# Copy a server's log to FILE and write the time (ns) the `listening` line came into READY.
log_reader() {
  local file=$1 ready=$2 line
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$file"
    case $line in
      *listening*) [ -e "$ready" ] || date +%s%N >"$ready" ;;
    esac
  done
}

# Start chatd on PORT (and TLS on TLS_PORT, if given: else TLS off); sets server_pid, and
# startup_us to its time from exec to `listening`.
start_chatd() {
  local port=$1 tls=${2:-off} state="$work/state-$1" t0
  [ "$tls" = off ] || tls=127.0.0.1:$tls
  mkdir -p "$state"
  rm -f "$work/ready-$port"
  t0=$(date +%s%N)
  taskset -c "$SERVER_CPU" "$CARGO_TARGET_DIR/release/chatd" --listen "127.0.0.1:$port" \
    --irc-listen off --irc-tls-listen off --tls-listen "$tls" --state-dir "$state" --flood off \
    --max-clients 1024 --max-per-address off \
    2> >(log_reader "$work/chatd-$port.log" "$work/ready-$port") &
  server_pid=$!
  ready_or_stop "chatd did not start listening on $port" "$work/chatd-$port.log" \
    "$work/ready-$port" 5 || return 1
  startup_us=$((($(cat "$work/ready-$port") - t0) / 1000))
}

# Start chatd with its IRC listener on PORT (its native one on a port the kernel picks), the
# channel named as chat-bench's default; sets server_pid once the IRC listener is up.
start_chatd_irc() {
  local port=$1 state="$work/state-$1"
  mkdir -p "$state"
  rm -f "$work/ready-$port"
  taskset -c "$SERVER_CPU" "$CARGO_TARGET_DIR/release/chatd" --listen 127.0.0.1:0 \
    --irc-listen "127.0.0.1:$port" --tls-listen off --irc-tls-listen off \
    --irc-channel '#bench' --state-dir "$state" --flood off \
    --max-clients 1024 --max-per-address off \
    2> >(log_reader "$work/chatd_irc-$port.log" "$work/ready-$port") &
  server_pid=$!
  ready_or_stop "chatd did not start listening for IRC on $port" "$work/chatd_irc-$port.log" \
    "$work/chatd_irc-$port.log" 5 'protocol=irc'
}

# Print the servers to run at point MODE N: SERVERS, and chatd_irc after chatd at the points
# of IRC_POINTS.
point_servers() {
  local s
  for s in $SERVERS; do
    echo "$s"
    if [ "$s" = chatd ] && [[ " $IRC_POINTS " == *" $1:$2 "* ]]; then
      echo chatd_irc
    fi
  done
}

# Start ngircd on PORT (and its SSL port TLS_PORT, if given) from a config of ours; flood
# protection off; sets server_pid.
start_ngircd() {
  local port=$1 tls=${2:-} conf="$work/ngircd-$1.conf"
  rm -f "$work/ngircd-$port.log"
  cat >"$conf" <<EOF
[Global]
Name = bench.local
Info = chat-bench peer
Listen = 127.0.0.1
Ports = $port
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 16
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
EOF
  if [ -n "$tls" ]; then
    printf '[SSL]\nCertFile = %s\nKeyFile = %s\nPorts = %s\n' \
      "$work/tls-cert.pem" "$work/tls-key.pem" "$tls" >>"$conf"
  fi
  taskset -c "$SERVER_CPU" ngircd -n -f "$conf" >"$work/ngircd-$port.log" 2>&1 &
  server_pid=$!
  ready_or_stop "ngircd did not become ready on $port" "$work/ngircd-$port.log" \
    "$work/ngircd-$port.log" 5 'Server .* ready'
}

log "building (release) into $CARGO_TARGET_DIR"
(cd "$root" && cargo build --release -q -p chat-bench)
if [[ " $SERVERS " == *" chatd "* ]] && ! (cd "$root" && cargo build --release -q -p chatd &&
    cargo build --profile client -q -p chatc); then
  log "chatd/chatc do not build: benchmarking ngircd only"
  SERVERS=${SERVERS//chatd/}
fi
if ! command -v ngircd >/dev/null; then
  log "ngircd is not installed (apt-get install ngircd): benchmarking chatd only"
  SERVERS=${SERVERS//ngircd/}
fi
if [ -n "$TLS_SIZES" ]; then
  # ngircd's certificate for the TLS runs (chatd makes its own in its state directory).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench.local -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" 2>/dev/null
fi
bench="$CARGO_TARGET_DIR/release/chat-bench"

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kernel=$(uname -r)"
  echo "cpus=$(nproc) model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/ /_/g')"
  echo "ngircd=$(ngircd --version 2>/dev/null | head -1 | tr ' ' '_')"
  echo "rustc=$(rustc --version | tr ' ' '_')"
  echo "commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
} >"$OUT/environment.txt"

# The points: the matrix, then the crowd row (mode "crowd", N = CROWD).
points=()
for n in $SIZES; do
  for mode in $MODES; do
    points+=("$mode:$n")
  done
  if [[ " $TLS_SIZES " == *" $n "* ]]; then points+=("tlsfast:$n"); fi
done
[ -z "$CROWD" ] || points+=("crowd:$CROWD")

# One point, REPS times per server.
for point in "${points[@]}"; do
  mode=${point%%:*} n=${point#*:}
  tls_args=()
  if [ "$mode" = tlsfast ]; then
    m=$(fast_m fast "$n")
    mode_args=(--window "$WINDOW")
    tls_args=(--tls)
  elif [ "$mode" = paced ]; then
    m=$PACED_M
    mode_args=(--rate "$RATE")
  elif [ "$mode" = crowd ]; then
    m=$CROWD_M
    mode_args=(--rate "$CROWD_RATE")
  elif [ "$mode" = fast1 ]; then
    m=$(fast_m "$mode" "$n")
    mode_args=(--window 1)
  else
    m=$(fast_m "$mode" "$n")
    mode_args=(--window "$WINDOW")
  fi
  for rep in $(seq 1 "$REPS"); do
    for server in $(point_servers "$mode" "$n"); do
      out="$OUT/raw/$server-$mode-n$n-r$rep.kv"
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "time limit reached: skipping $server $mode N=$n run $rep"
        continue
      fi
      next_port
      plain_port=$port target=$port tls_port=
      if [ "${#tls_args[@]}" -gt 0 ]; then
        next_port
        tls_port=$port target=$port
      fi
      case $server in
        chatd) start_chatd "$plain_port" "${tls_port:-off}" || continue; proto=chatd ;;
        chatd_irc) start_chatd_irc "$plain_port" || continue; proto=irc ;;
        ngircd) start_ngircd "$plain_port" "$tls_port" || continue; proto=irc ;;
      esac
      port=$plain_port
      left=$((deadline - SECONDS))
      limit=$((left < RUN_TIMEOUT ? (left > 5 ? left : 5) : RUN_TIMEOUT))
      rc=0
      taskset -c "$GEN_CPU" "$bench" --proto "$proto" --addr "127.0.0.1:$target" -n "$n" -m "$m" \
        "${mode_args[@]}" "${tls_args[@]}" --server-pid "$server_pid" --timeout "$limit" --format kv \
        --label "$server" >"$out" 2>"$work/bench.err" || rc=$?
      echo "exit=$rc" >>"$out"
      sed 's/^/note=/' "$work/bench.err" >>"$out"
      if [ "$rc" != 0 ]; then
        mkdir -p "$OUT/logs"
        cp "$work/$server-$port.log" "$OUT/logs/$(basename "$out" .kv).log" 2>/dev/null || true
      fi
      echo "loadavg_after=$(cut -d' ' -f1 /proc/loadavg)" >>"$out"
      stop_server
      log "$server $mode N=$n run $rep: $(grep -E '^(end|deliveries_per_s|latency_p99_ms|server_ns_per_delivery|server_rss_anon_kib|lost)=' "$out" | tr '\n' ' ')"
    done
  done
done

# chatd alone: idle RSS, start-up time, binary sizes.
if [[ " $SERVERS " == *" chatd "* ]]; then
  : >"$OUT/chatd-extra.kv"
  for i in 1 2 3 4 5; do
    next_port
    start_chatd "$port" || continue
    echo "startup_us=$startup_us" >>"$OUT/chatd-extra.kv"
    if [ "$i" = 1 ]; then
      sleep 0.3
      echo "idle_rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")" >>"$OUT/chatd-extra.kv"
      echo "idle_peak_rss_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")" >>"$OUT/chatd-extra.kv"
      echo "idle_rss_anon_kib=$(awk '/^RssAnon/ {print $2}' "/proc/$server_pid/status")" >>"$OUT/chatd-extra.kv"
    fi
    stop_server
  done
  echo "size_chatd_bytes=$(stat -c %s "$CARGO_TARGET_DIR/release/chatd")" >>"$OUT/chatd-extra.kv"
  echo "size_chatc_bytes=$(stat -c %s "$CARGO_TARGET_DIR/client/chatc")" >>"$OUT/chatd-extra.kv"
fi
if [[ " $SERVERS " == *" ngircd "* ]]; then
  next_port
  if start_ngircd "$port"; then
    sleep 0.3
    echo "ngircd_idle_rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")" >>"$OUT/chatd-extra.kv"
    echo "ngircd_idle_rss_anon_kib=$(awk '/^RssAnon/ {print $2}' "/proc/$server_pid/status")" >>"$OUT/chatd-extra.kv"
    stop_server
  fi
fi

bash "$here/summarize.sh" "$OUT" >"$OUT/summary.md"
cat "$OUT/summary.md"
log "results in $OUT (total ${SECONDS}s)"
