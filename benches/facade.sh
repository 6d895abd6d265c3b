#!/usr/bin/env bash
# Server CPU per echoed message of the beginner's API against the engine and
# tokio, all in the same run with the same client: 100 connections x 16
# frames of 64 B in flight (see docs/performance.md for how to read it).
#
#   bash benches/facade.sh                  # 5 rounds of 3 s per server
#   ROUNDS=7 SECS=5 bash benches/facade.sh  # more, longer rounds
#
# Servers, each its own process on 127.0.0.1:0, started fresh for every run:
#   engine     examples/echo.rs                        (the engine's echo)
#   callbacks  examples/facade_echo.rs --callbacks     (ServerHandler)
#   polling    examples/facade_echo.rs --polling       (PollingServer loop)
#   framed     examples/tokio_echo.rs framed           (tokio Framed)
#   raw        examples/tokio_echo.rs raw              (tokio byte echo)
#   floor      examples/mio_echo.rs                    (mio byte echo; not by default)
#   base-NAME  one of these from another build, to see what a change bought:
#              BASE=path/to/other/target/release SERVERS="polling base-polling"
# SERVER_CPUS=0 CLIENT_CPUS=1 pins every server to core 0 and the load to
# core 1 (taskset's lists; unset: the scheduler places them).
# Each round runs every server once, in an order rotated by one per round.
# The table gives medians over rounds; the ratios are medians of the
# per-round ratios (polling/framed, callbacks/engine), which move less than
# absolute numbers on a shared machine. The load average is noted with each
# round. Raw results go to $OUT (default: a temporary directory, kept).
# benches/lib.sh starts the servers and runs the bench; benches/sizes.sh
# uses it for the same comparison at other message sizes.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
CONNS=${CONNS:-100}
DEPTH=${DEPTH:-16}
SIZE=${SIZE:-64}
SERVERS=${SERVERS:-"engine callbacks polling framed raw"}
OUT=${OUT:-$(mktemp -d -t facade-bench.XXXXXX)}
mkdir -p "$OUT"

cargo build --release --bin frameloop --example echo --example facade_echo --example tokio_echo --example mio_echo
# shellcheck source=benches/lib.sh
source benches/lib.sh

results="$OUT/results.tsv" # round  server  ns/msg  user  system  msgs/s  load
one_round() { # ROUND
    local name
    for name in "${order[@]}"; do
        measure "$name" "$OUT/bench-$1-$name.txt" \
            --conns "$CONNS" --depth "$DEPTH" --size "$SIZE" --secs "$SECS"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$name" "$ns" "${user:-0}" "${system:-0}" "$rate" "$load" >>"$results"
        printf '  %-10s %6s ns/msg (user %s + system %s)  %10s msgs/s\n' "$name" "$ns" "${user:-?}" "${system:-?}" "$rate"
    done
}
run_rounds one_round

# Medians over rounds, and medians of the per-round ratios.
awk -F'\t' -v rounds="$ROUNDS" -v servers="$SERVERS" -v conns="$CONNS" -v depth="$DEPTH" -v size="$SIZE" "$AWK_MEDIAN"'
{ ns[$2, $1] = $3; us[$2, $1] = $4; sy[$2, $1] = $5; rate[$2, $1] = $6; load[$1] = $7 }
END {
    n = split(servers, names, " ")
    printf "\n%d rounds, %s conns x %s x %s B; loads at round start:", rounds, conns, depth, size
    for (r = 1; r <= rounds; r++) printf " %s", load[r]
    printf "\n\n%-15s %7s %8s %8s %12s %22s\n", "server", "ns/msg", "user", "system", "msgs/s", "ns/msg min..max"
    for (s = 1; s <= n; s++) {
        name = names[s]; lo = ""; hi = ""
        for (r = 1; r <= rounds; r++) {
            a[r] = ns[name, r]; b[r] = us[name, r]; c[r] = sy[name, r]; d[r] = rate[name, r]
            if (lo == "" || a[r] < lo) lo = a[r]
            if (hi == "" || a[r] > hi) hi = a[r]
        }
        mn = median(a, rounds); mu = median(b, rounds); ms = median(c, rounds); mr = median(d, rounds)
        printf "%-15s %7.0f %8.0f %8.0f %12.0f %15s..%s\n", name, mn, mu, ms, mr, lo, hi
    }
    np = split("polling/framed callbacks/engine polling/engine callbacks/framed engine/framed polling/base-polling callbacks/base-callbacks", pairs, " ")
    printf "\n%-25s %8s   %s\n", "ratio (ns/msg)", "median", "per round"
    for (p = 1; p <= np; p++) {
        split(pairs[p], ab, "/")
        if (!((ab[1], 1) in ns) || !((ab[2], 1) in ns)) continue
        line = ""
        for (r = 1; r <= rounds; r++) {
            x[r] = (ns[ab[2], r] > 0) ? ns[ab[1], r] / ns[ab[2], r] : 0
            line = line sprintf(" %.2f", x[r])
        }
        printf "%-25s %7.2fx  %s\n", pairs[p], median(x, rounds), line
    }
}' "$results"
