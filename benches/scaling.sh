#!/usr/bin/env bash
# How the echo scales over cores: frameloop's echo with N reactors against
# tokio Framed on a multi-thread runtime with N workers, every message
# costing WORK_US microseconds of CPU (a spin, standing in for a handler's
# work), all in the same run with the same client: 100 connections x 16
# frames of 64 B in flight.
#
#   bash benches/scaling.sh                        # N = 1 and 2, 3 rounds of 3 s
#   REACTORS="1 2 4 8 16" bash benches/scaling.sh  # on a bigger machine
#   WORK_US=0 bash benches/scaling.sh              # the plain echo's CPU per message
#   WORK_US=0 BUSY_POLL_US=0 bash benches/scaling.sh  # ... with reactors that never spin before sleeping
#   CLIENT_THREADS=4 bash benches/scaling.sh       # a client that can keep up
#
# Servers (SERVERS, default "fl tokio-mt"; see benches/lib.sh):
#   fl         frameloop echo --threads N --work-us $WORK_US [--busy-poll-us $BUSY_POLL_US]
#   tokio-mt   examples/tokio_echo.rs framed --workers N --work-us $WORK_US
# For each N in REACTORS (default "1 2"), each round runs every server once,
# in an order rotated by one per round; the client is `frameloop bench
# --threads $CLIENT_THREADS` (default 1). The table gives medians over
# rounds of msgs/s and server CPU ns/msg; the ratios are medians of the
# per-round ratios: msgs/s at N against N = 1 for each server (what more
# cores bought), ns/msg at N against N = 1 (what they cost per message: with
# WORK_US=0, the plain echo's overhead of more reactors, whose target is
# 1.1x at N = 2), and fl against tokio-mt at each N. The client shares the
# machine: on a machine with few cores, servers and client compete for them,
# and msgs/s says more about the machine than the server. The load average is
# noted with each round. Raw results go to $OUT (default: a temporary
# directory, kept).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
CONNS=${CONNS:-100}
DEPTH=${DEPTH:-16}
SIZE=${SIZE:-64}
REACTORS=${REACTORS:-"1 2"} # on a bigger machine: REACTORS="1 2 4 8 16"
WORK_US=${WORK_US:-20}
CLIENT_THREADS=${CLIENT_THREADS:-1}
SERVERS=${SERVERS:-"fl tokio-mt"}
OUT=${OUT:-$(mktemp -d -t scaling-bench.XXXXXX)}
mkdir -p "$OUT"

cargo build --release --bin frameloop --example tokio_echo
# shellcheck source=benches/lib.sh
source benches/lib.sh

read -r -a counts <<<"$REACTORS"
results="$OUT/results.tsv" # round  server  N  ns/msg  user  system  msgs/s  load
one_round() { # ROUND
    local n name
    for n in "${counts[@]}"; do
        # fl takes N reactors, tokio-mt N workers (see benches/lib.sh).
        THREADS=$n
        WORKERS=$n
        for name in "${order[@]}"; do
            measure "$name" "$OUT/bench-$1-$name-$n.txt" \
                --conns "$CONNS" --depth "$DEPTH" --size "$SIZE" --secs "$SECS" --threads "$CLIENT_THREADS"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$name" "$n" "$ns" "${user:-0}" "${system:-0}" "$rate" "$load" >>"$results"
            printf '  %-10s N=%-3s %6s ns/msg (user %s + system %s)  %10s msgs/s\n' "$name" "$n" "$ns" "${user:-?}" "${system:-?}" "$rate"
        done
    done
}
echo "WORK_US=$WORK_US, BUSY_POLL_US=${BUSY_POLL_US:-default}, REACTORS=\"$REACTORS\", client threads $CLIENT_THREADS, $(nproc) CPUs"
run_rounds one_round

# Medians over rounds, and medians of the per-round ratios.
awk -F'\t' -v rounds="$ROUNDS" -v servers="$SERVERS" -v counts="$REACTORS" -v work="$WORK_US" \
    -v conns="$CONNS" -v depth="$DEPTH" -v size="$SIZE" -v client="$CLIENT_THREADS" "$AWK_MEDIAN"'
{ ns[$2, $3, $1] = $4; rate[$2, $3, $1] = $7; load[$1] = $8 }
# The median over rounds of x[a, r] / y[b, r] (0 where y is 0).
function ratio(x, a, y, b,    r, q) {
    for (r = 1; r <= rounds; r++) q[r] = (y[b, r] > 0) ? x[a, r] / y[b, r] : 0
    return median(q, rounds)
}
END {
    ns_servers = split(servers, names, " ")
    nn = split(counts, ns_, " ")
    first = ns_[1]
    printf "\n%d rounds, %s conns x %s x %s B, %s µs of work per message, %s client thread(s); loads at round start:", rounds, conns, depth, size, work, client
    for (r = 1; r <= rounds; r++) printf " %s", load[r]
    printf "\n\n%-10s %4s %12s %8s %16s %16s\n", "server", "N", "msgs/s", "ns/msg", "msgs/s vs N=" first, "ns/msg vs N=" first
    for (s = 1; s <= ns_servers; s++) {
        name = names[s]
        for (i = 1; i <= nn; i++) {
            n = ns_[i]
            for (r = 1; r <= rounds; r++) { a[r] = rate[name, n, r]; b[r] = ns[name, n, r] }
            printf "%-10s %4s %12.0f %8.0f %15.2fx %15.2fx\n", name, n, median(a, rounds), median(b, rounds),
                ratio(rate, name SUBSEP n, rate, name SUBSEP first), ratio(ns, name SUBSEP n, ns, name SUBSEP first)
        }
    }
    if (index(" " servers " ", " fl ") && index(" " servers " ", " tokio-mt ")) {
        printf "\n%4s %22s %22s\n", "N", "fl/tokio-mt msgs/s", "fl/tokio-mt ns/msg"
        for (i = 1; i <= nn; i++) {
            n = ns_[i]
            printf "%4s %21.2fx %21.2fx\n", n, ratio(rate, "fl" SUBSEP n, rate, "tokio-mt" SUBSEP n),
                ratio(ns, "fl" SUBSEP n, ns, "tokio-mt" SUBSEP n)
        }
    }
}' "$results"
