# What benches/facade.sh, benches/sizes.sh and benches/scaling.sh share,
# sourced by each from the repository's root after `set -euo pipefail`:
# starting and stopping the echo servers, one measured run of `frameloop
# bench` against one of them, the rotation of servers between rounds, and
# the median for awk. The callers set OUT (where logs and reports go) before
# measuring.
#
# Servers, each its own process on 127.0.0.1:0, started fresh for every run:
#   engine     examples/echo.rs                        (the engine's echo)
#   callbacks  examples/facade_echo.rs --callbacks     (ServerHandler)
#   polling    examples/facade_echo.rs --polling       (PollingServer loop)
#   framed     examples/tokio_echo.rs framed           (tokio Framed)
#   raw        examples/tokio_echo.rs raw              (tokio byte echo)
#   floor      examples/mio_echo.rs                    (mio byte echo)
#   fl         frameloop echo --work-us $WORK_US       (the command line's echo,
#              [--threads $THREADS]                    THREADS reactors if set)
#   tokio-mt   examples/tokio_echo.rs framed           (tokio Framed, multi-thread
#              --workers $WORKERS --work-us $WORK_US   runtime, WORKERS workers)
#   fl-tls     frameloop echo --tls-cert --tls-key     (the same over TLS, with
#                                                      tests/tls/$TLS_CERT.pem)
#   tokio-tls  examples/tokio_echo.rs framed           (tokio Framed over
#              --tls-cert --tls-key                    tokio-rustls, same config)
#   base-NAME  the same server from another build, to see what a change
#              bought: BASE=path/to/other/target/release
# WORK_US (default 0: none) is the CPU each message costs the fl and
# tokio-mt servers, in microseconds; WORKERS defaults to 1; BUSY_POLL_US
# (unset: the library's default, off on one reactor and 5 µs on each of
# several; 0: off) is how long fl's reactors poll before sleeping. `measure`
# drives the *-tls servers with `frameloop bench --tls`, trusting
# tests/tls/ca.pem; TLS_CERT (default server: P-256; server-rsa: RSA 2048)
# names the certificate and key they serve. The command line's echo runs
# --quiet, printing no line per connection, as none of the others does.

release="${CARGO_TARGET_DIR:-target}/release"
# SERVER_CPUS and CLIENT_CPUS (unset: anywhere), as taskset takes them, pin
# the servers and the load to their own cores.
server_pin=()
client_pin=()
if [ -n "${SERVER_CPUS:-}" ]; then server_pin=(taskset -c "$SERVER_CPUS"); fi
if [ -n "${CLIENT_CPUS:-}" ]; then client_pin=(taskset -c "$CLIENT_CPUS"); fi
tls_dir=tests/tls
tls_cert=${TLS_CERT:-server}

pid=""
addr=""
log=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

start_server() { # name -> sets pid and addr
    local name=$1 dir=$release
    log="$OUT/server-$1.log"
    case "$name" in
        base-*)
            dir=${BASE:?BASE names the other build}
            name=${name#base-}
            ;;
    esac
    case "$name" in
        engine) "${server_pin[@]}" "$dir/examples/echo" 127.0.0.1:0 >"$log" 2>&1 & ;;
        callbacks) "${server_pin[@]}" "$dir/examples/facade_echo" 127.0.0.1:0 --callbacks >"$log" 2>&1 & ;;
        polling) "${server_pin[@]}" "$dir/examples/facade_echo" 127.0.0.1:0 --polling >"$log" 2>&1 & ;;
        framed) "${server_pin[@]}" "$dir/examples/tokio_echo" framed 127.0.0.1:0 >"$log" 2>&1 & ;;
        raw) "${server_pin[@]}" "$dir/examples/tokio_echo" raw 127.0.0.1:0 >"$log" 2>&1 & ;;
        floor) "${server_pin[@]}" "$dir/examples/mio_echo" 127.0.0.1:0 >"$log" 2>&1 & ;;
        fl) "${server_pin[@]}" "$dir/frameloop" echo 127.0.0.1:0 --quiet --work-us "${WORK_US:-0}" ${BUSY_POLL_US:+--busy-poll-us "$BUSY_POLL_US"} \
            ${THREADS:+--threads "$THREADS"} >"$log" 2>&1 & ;;
        fl-tls)
            "${server_pin[@]}" "$dir/frameloop" echo 127.0.0.1:0 --quiet --tls-cert "$tls_dir/$tls_cert.pem" --tls-key "$tls_dir/$tls_cert.key" \
                ${BUSY_POLL_US:+--busy-poll-us "$BUSY_POLL_US"} ${THREADS:+--threads "$THREADS"} >"$log" 2>&1 &
            ;;
        tokio-tls)
            "${server_pin[@]}" "$dir/examples/tokio_echo" framed 127.0.0.1:0 --tls-cert "$tls_dir/$tls_cert.pem" \
                --tls-key "$tls_dir/$tls_cert.key" >"$log" 2>&1 &
            ;;
        tokio-mt)
            "${server_pin[@]}" "$dir/examples/tokio_echo" framed 127.0.0.1:0 --workers "${WORKERS:-1}" --work-us "${WORK_US:-0}" \
                >"$log" 2>&1 &
            ;;
        *)
            echo "unknown server $1" >&2
            exit 2
            ;;
    esac
    pid=$!
    addr=""
    for _ in $(seq 1 100); do
        addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$log" | head -n 1 || true)
        [ -n "$addr" ] && return 0
        sleep 0.1
    done
    echo "server $1 did not report its address:" >&2
    cat "$log" >&2
    exit 1
}

stop_server() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}

# measure NAME REPORT [BENCH OPTIONS...]: starts server NAME, drives it with
# `frameloop bench` (its output to REPORT), checks it survived the load,
# stops it, and sets from the report: ns (server CPU ns/msg), user and
# system (its two parts), rate (msgs/s) and p50 (median latency in ns);
# for a --churn run, connects (connects/s) and conn_us (server CPU us per
# connection).
measure() {
    local name=$1 report=$2 tls=()
    shift 2
    case "$name" in
        *-tls) tls=(--tls --tls-ca "$tls_dir/ca.pem") ;;
    esac
    start_server "$name"
    if ! "${client_pin[@]}" "$release/frameloop" bench --addr "$addr" --server-pid "$pid" "${tls[@]}" "$@" >"$report" 2>&1; then
        echo "bench against $name failed:" >&2
        cat "$report" >&2
        exit 1
    fi
    kill -0 "$pid" # the server must still be up after the load
    stop_server
    ns=$(sed -nE 's/^server CPU +([0-9]+) ns\/msg.*/\1/p' "$report")
    user=$(sed -nE 's/^server CPU .*user ([0-9]+) \+ system ([0-9]+).*/\1/p' "$report")
    system=$(sed -nE 's/^server CPU .*user ([0-9]+) \+ system ([0-9]+).*/\2/p' "$report")
    rate=$(sed -nE 's/^messages .*: ([0-9,]+) msgs\/s.*/\1/p' "$report" | tr -d ,)
    connects=$(sed -nE 's/^connects .*: ([0-9]+) connects\/s.*/\1/p' "$report")
    conn_us=$(sed -nE 's/^ +([0-9.]+) us per connection.*/\1/p' "$report")
    # "p50 65.5 µs": the bench picks the unit (ns, µs or ms).
    p50=$(sed -nE 's/^latency +p50 ([0-9.]+) ([^ ]+) .*/\1 \2/p' "$report" |
        awk '{ printf "%.0f", $1 * ($2 == "ns" ? 1 : $2 == "ms" ? 1e6 : 1e3) }')
}

# rotate ROUND NAME...: sets `order` to the names rotated by one per round,
# so that no server always runs first or right after the same other.
rotate() {
    local round=$1
    shift
    local n=$#
    local names=("$@") i
    order=()
    for i in $(seq 0 $((n - 1))); do
        order+=("${names[$(((i + round - 1) % n))]}")
    done
}

# run_rounds FN: ROUNDS rounds; each notes the load average in `load`, sets
# `order` to SERVERS rotated for the round (see rotate) and calls FN ROUND,
# which appends its lines to "$results" (emptied first).
run_rounds() {
    local each=$1 round names
    read -r -a names <<<"$SERVERS"
    : >"$results"
    echo "raw results in $OUT"
    for round in $(seq 1 "$ROUNDS"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        rotate "$round" "${names[@]}"
        echo "round $round/$ROUNDS (load $load): ${order[*]}"
        "$each" "$round"
    done
    echo "load after the last round: $(cut -d' ' -f1 /proc/loadavg)"
}

# The median of a[1..k] for awk programs (it sorts a in place).
AWK_MEDIAN='
function median(a, k,    i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}'
