#!/bin/sh
# Build and run every fuzz target for SECONDS each; exit non-zero if any target finds a crash.
# Usage: fuzz/run.sh SECONDS   (CI: fuzz/run.sh 60)
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Stable Rust is enough: RUSTC_BOOTSTRAP=1 lets
# it pass the nightly-only flags libFuzzer instrumentation needs.
set -eu

secs=${1:?usage: fuzz/run.sh SECONDS}
case $secs in
    '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;;
esac
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "run.sh: cargo-fuzz is missing; install it with: cargo install cargo-fuzz" >&2
    exit 2
fi

if ! command -v c++ >/dev/null 2>&1; then
    echo "run.sh: libfuzzer-sys needs a C++ compiler; install one with: apt-get install g++" >&2
    exit 2
fi

targets="line_decoder server_events server_line_parse irc_parse mdns_packet"
cargo fuzz build
failed=""
for t in $targets; do
    # New inputs go to work-corpus/ (ignored by git); the committed seeds in corpus/ are read only.
    mkdir -p "work-corpus/$t"
    log="work-corpus/$t.log"
    echo "== fuzzing $t for ${secs}s"
    if cargo fuzz run "$t" "work-corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "   $t: ok, ${execs:-?} executions, no crash"
    else
        echo "   $t: FAILED; the end of its log ($log):"
        tail -n 40 "$log"
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzzing found crashes in:$failed (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing: every target ran ${secs}s with no crash"
