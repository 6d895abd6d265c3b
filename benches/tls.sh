#!/usr/bin/env bash
# frameloop's TLS echo against tokio-rustls's Framed echo with the same
# rustls configuration, in the same run with the same client (see
# docs/performance.md, "TLS", for how to read it):
#
#   64        server CPU per message, 100 connections x 16 frames of 64 B
#   64k       the same, 10 x 4 frames of 64 KiB (four records each)
#   hs-rsa    full handshakes a second, closed loop (`--churn max`, 8
#             connections open at once, 2 client threads, one message
#             each), the server signing with RSA 2048: its signature is
#             most of a handshake, so the server is the bottleneck and the
#             rate is its capacity
#   hs-p256   the same with the P-256 certificate: the server's signature
#             is cheap and the client's checks are not, so on 2 cores the
#             client caps both servers; the CPU per handshake tells them apart
#
#   bash benches/tls.sh                       # every case, 3 rounds of 3 s
#   CASES="hs-rsa" ROUNDS=5 bash benches/tls.sh
#   BASE=path/to/other/target/release SERVERS="fl-tls base-fl-tls" bash benches/tls.sh
#
# Each round runs every case, and in each case every server once, in an
# order rotated by one per round. The table gives medians over rounds and
# the median of the per-round ratios (the first server over the second):
# CPU per message for the message cases, where below 1 is frameloop
# cheaper; handshakes a second for the handshake cases, where above 1 is
# frameloop faster. Raw results go to $OUT (default: a temporary
# directory, kept). benches/lib.sh starts the servers and runs the bench.
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${CASES:-"64 64k hs-rsa hs-p256"}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
SERVERS=${SERVERS:-"fl-tls tokio-tls"}
OUT=${OUT:-$(mktemp -d -t tls-bench.XXXXXX)}
mkdir -p "$OUT"

# One case: sets args (the bench's options) and tls_cert (the certificate
# benches/lib.sh serves).
case_args() {
    case "$1" in
        64) args=(--conns 100 --depth 16 --size 64) tls_cert=server ;;
        64k) args=(--conns 10 --depth 4 --size 64k) tls_cert=server ;;
        hs-rsa | hs-p256)
            args=(--churn max --conns 8 --threads 2 --per-conn 1)
            tls_cert=$([ "$1" = hs-rsa ] && echo server-rsa || echo server)
            ;;
        *)
            echo "unknown case $1: CASES takes 64, 64k, hs-rsa and hs-p256" >&2
            exit 2
            ;;
    esac
}

read -r -a cases <<<"$CASES"
for c in "${cases[@]}"; do case_args "$c"; done # refuses an unknown one before building

cargo build --release --bin frameloop --example tokio_echo
# shellcheck source=benches/lib.sh
source benches/lib.sh

results="$OUT/results.tsv" # round  case  server  ns/msg  connects/s  us/conn  load
one_round() { # ROUND
    local c name
    for c in "${cases[@]}"; do
        case_args "$c"
        for name in "${order[@]}"; do
            measure "$name" "$OUT/bench-$1-$c-$name.txt" "${args[@]}" --secs "$SECS"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$c" "$name" "$ns" "${connects:-0}" "${conn_us:-0}" "$load" \
                >>"$results"
            printf '  %-8s %-12s %8s ns/msg  %6s connects/s  %7s us/conn\n' "$c" "$name" "$ns" "${connects:--}" \
                "${conn_us:--}"
        done
    done
}
run_rounds one_round

awk -F'\t' -v rounds="$ROUNDS" -v servers="$SERVERS" -v cases="$CASES" "$AWK_MEDIAN"'
{ ns[$2, $3, $1] = $4; cps[$2, $3, $1] = $5; us[$2, $3, $1] = $6; load[$1] = $7 }
END {
    n = split(servers, names, " "); k = split(cases, cs, " ")
    printf "\n%d rounds; loads at round start:", rounds
    for (r = 1; r <= rounds; r++) printf " %s", load[r]
    printf "\n\n%-8s %-14s %9s %12s %9s\n", "case", "server", "ns/msg", "connects/s", "us/conn"
    for (j = 1; j <= k; j++) for (s = 1; s <= n; s++) {
        c = cs[j]; name = names[s]
        for (r = 1; r <= rounds; r++) { a[r] = ns[c, name, r]; b[r] = cps[c, name, r]; d[r] = us[c, name, r] }
        printf "%-8s %-14s %9.0f %12.0f %9.1f\n", c, name, median(a, rounds), median(b, rounds), median(d, rounds)
    }
    if (n < 2) exit
    printf "\n%-8s %-28s %8s   %s\n", "case", "ratio", "median", "per round"
    for (j = 1; j <= k; j++) {
        c = cs[j]; hs = (c ~ /^hs-/)
        line = ""
        for (r = 1; r <= rounds; r++) {
            p = hs ? cps[c, names[1], r] : ns[c, names[1], r]
            q = hs ? cps[c, names[2], r] : ns[c, names[2], r]
            x[r] = (q > 0) ? p / q : 0
            line = line sprintf(" %.2f", x[r])
        }
        what = (hs ? "handshakes/s " : "ns/msg ") names[1] "/" names[2]
        printf "%-8s %-28s %7.2fx  %s\n", c, what, median(x, rounds), line
    }
}' "$results"
