#!/usr/bin/env bash
# Server CPU per echoed message by message size, 64 B to 1 MiB: the engine's
# echo against tokio's Framed echo and against the floor, a byte echo on mio
# alone (examples/mio_echo.rs), all in the same run with the same client
# (see docs/performance.md, "Message sizes", for how to read it).
#
#   bash benches/sizes.sh                            # 3 rounds of 3 s per server and size
#   SIZES="64k 1m" ROUNDS=5 bash benches/sizes.sh    # some sizes, more rounds
#   MODE=pingpong bash benches/sizes.sh              # one 64 KiB frame at a time: round trip
#   BASE=path/to/other/target/release SERVERS="engine base-engine floor" bash benches/sizes.sh
#
# Sizes (SIZES, default "64 1k 8k 64k 1m"), at the load `frameloop bench
# --sizes` picks for each: fewer frames in flight as they grow (100 x 16
# below 8 KiB, 50 x 8 from 8 KiB, 10 x 4 from 64 KiB, 4 x 2 from 1 MiB).
# MODE=pingpong runs 1 connection with 1 frame in flight instead (default
# size 64k) and reports the round trip's p50 besides the CPU.
#
# Servers (SERVERS, default "engine framed floor"; also raw, callbacks,
# polling and base-NAME, see benches/lib.sh). Each round runs every size,
# and at each size every server once, in an order rotated by one per round.
# The tables give medians over rounds; the ratios are medians of the
# per-round ratios (engine/floor, engine/framed, engine/base-engine), which
# move less than absolute numbers on a shared machine. Raw results go to
# $OUT (default: a temporary directory, kept).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-throughput}
case "$MODE" in
    throughput) SIZES=${SIZES:-"64 1k 8k 64k 1m"} ;;
    pingpong) SIZES=${SIZES:-"64k"} ;;
    *)
        echo "MODE is throughput or pingpong, not $MODE" >&2
        exit 2
        ;;
esac
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
SERVERS=${SERVERS:-"engine framed floor"}
OUT=${OUT:-$(mktemp -d -t sizes-bench.XXXXXX)}
mkdir -p "$OUT"

# One size: sets bytes. The load at each size (connections x frames in
# flight) is `frameloop bench --sizes`'s own table, read back from its
# report, so the rule lives in one place.
row() {
    case "$1" in
        64) bytes=64 ;;
        1k) bytes=1024 ;;
        8k) bytes=$((8 * 1024)) ;;
        64k) bytes=$((64 * 1024)) ;;
        1m) bytes=$((1024 * 1024)) ;;
        *)
            echo "unknown size $1: SIZES takes 64, 1k, 8k, 64k and 1m" >&2
            exit 2
            ;;
    esac
}

read -r -a sizes <<<"$SIZES"
for size in "${sizes[@]}"; do row "$size"; done # refuse a bad size before building

cargo build --release --bin frameloop --example echo --example tokio_echo --example mio_echo --example facade_echo
# shellcheck source=benches/lib.sh
source benches/lib.sh

results="$OUT/results.tsv" # round  bytes  conns  depth  server  ns/msg  user  system  msgs/s  p50 ns  load
one_round() { # ROUND
    local round=$1 size name report
    for size in "${sizes[@]}"; do
        row "$size"
        for name in "${order[@]}"; do
            report="$OUT/bench-$round-$size-$name.txt"
            measure "$name" "$report" --mode "$MODE" --sizes "$bytes" --secs "$SECS"
            conns=$(sed -nE '1s/^frameloop bench: [a-z-]+, ([0-9]+) connection.*/\1/p' "$report")
            depth=$(sed -nE '1s/.* x ([0-9]+) frame\(s\) in flight.*/\1/p' "$report")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$bytes" "$conns" "$depth" "$name" \
                "$ns" "${user:-0}" "${system:-0}" "$rate" "${p50:-0}" "$load" >>"$results"
            printf '  %-4s %-12s %8s ns/msg (user %s + system %s)  %9s msgs/s  p50 %s us\n' "$size" "$name" "$ns" \
                "${user:-?}" "${system:-?}" "$rate" "$(awk -v ns="${p50:-0}" 'BEGIN { printf "%.1f", ns / 1e3 }')"
        done
    done
}
run_rounds one_round

# Per size: medians over rounds, and medians of the per-round ratios; in
# ping-pong mode the same again for the round trip's p50.
awk -F'\t' -v rounds="$ROUNDS" -v servers="$SERVERS" -v mode="$MODE" -v secs="$SECS" "$AWK_MEDIAN"'
function human(b) {
    if (b % 1048576 == 0) return (b / 1048576) " MiB"
    if (b % 1024 == 0) return (b / 1024) " KiB"
    return b " B"
}
# One table: the metric in column `col` of the results, scaled by `scale`.
function table(title, col, scale,    s, v, p, r, line, x, y) {
    printf "\n%s\n%-8s %13s", title, "size", "conns x depth"
    for (v = 1; v <= nv; v++) printf " %10s", names[v]
    for (p = 1; p <= np; p++) printf " %14s", pairs[p]
    printf "\n"
    for (s = 1; s <= nsizes; s++) {
        printf "%-8s %7d x %-3d", human(sizes[s]), conns[sizes[s]], depth[sizes[s]]
        for (v = 1; v <= nv; v++) {
            for (r = 1; r <= rounds; r++) x[r] = val[col, sizes[s], names[v], r]
            printf((scale == 1) ? " %10.0f" : " %10.1f", median(x, rounds) / scale)
        }
        for (p = 1; p <= np; p++) {
            for (r = 1; r <= rounds; r++) {
                y = val[col, sizes[s], pb[p], r]
                x[r] = (y > 0) ? val[col, sizes[s], pa[p], r] / y : 0
            }
            printf " %13.2fx", median(x, rounds)
        }
        printf "\n"
    }
    if (np == 0 || rounds < 2) return
    print "ratios per round"
    for (s = 1; s <= nsizes; s++) {
        line = sprintf("%-8s", human(sizes[s]))
        for (p = 1; p <= np; p++) {
            line = line sprintf("   %s", pairs[p])
            for (r = 1; r <= rounds; r++) {
                y = val[col, sizes[s], pb[p], r]
                line = line sprintf(" %.2f", (y > 0) ? val[col, sizes[s], pa[p], r] / y : 0)
            }
        }
        print line
    }
}
{
    if (!($2 in conns)) { order[++nsizes] = $2 }
    conns[$2] = $3; depth[$2] = $4; load[$1] = $11
    val[6, $2, $5, $1] = $6; val[10, $2, $5, $1] = $10
}
END {
    for (s = 1; s <= nsizes; s++) sizes[s] = order[s]
    nv = split(servers, names, " ")
    for (v = 1; v <= nv; v++) present[names[v]] = 1
    np = 0
    k = split("engine/floor engine/framed engine/base-engine", all, " ")
    for (p = 1; p <= k; p++) {
        split(all[p], ab, "/")
        if ((ab[1] in present) && (ab[2] in present)) { pairs[++np] = all[p]; pa[np] = ab[1]; pb[np] = ab[2] }
    }
    printf "\n%s, %d rounds of %s s per server and size; loads at round start:", mode, rounds, secs
    for (r = 1; r <= rounds; r++) printf " %s", load[r]
    printf "\n"
    table("server CPU, ns per echoed message (median over rounds)", 6, 1)
    if (mode == "pingpong") table("round trip p50, us (median over rounds)", 10, 1000)
}' "$results"
