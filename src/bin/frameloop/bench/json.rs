//! The summary of a run as JSON (`--json FILE`, and `summary.json` of
//! `--report`): what the report prints, in numbers a script can read,
//! latencies in microseconds, plus a series per second and the whole
//! configuration. A figure that was not measured is `null`, never 0.

use serde_json::{json, Value};

use super::histogram::Latency;
use super::options::{Churn, Mode, Options};
use super::series;
use super::Measured;

/// The run's kind as the summary names it.
pub fn mode(opts: &Options) -> &'static str {
    match (opts.churn, opts.rate, opts.mode) {
        (Some(_), _, _) => "churn",
        (_, Some(_), _) => "open_loop",
        (_, _, Mode::PingPong) => "pingpong",
        (_, _, Mode::Idle) => "idle",
        (_, _, Mode::Throughput) => "throughput",
    }
}

/// Nanoseconds as microseconds.
fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// The percentiles of `h` in microseconds; `null` without a sample.
pub fn percentiles(h: &Latency) -> Value {
    if h.len() == 0 {
        return Value::Null;
    }
    json!({
        "p50": us(h.quantile(0.50)),
        "p90": us(h.quantile(0.90)),
        "p99": us(h.quantile(0.99)),
        "p99_9": us(h.quantile(0.999)),
        "p99_99": us(h.quantile(0.9999)),
        "p99_999": us(h.quantile(0.99999)),
        "max": us(h.max()),
        "mean": h.histogram().mean() / 1e3,
        "samples": h.len(),
    })
}

/// Each second of the window: `t` (its start, in seconds from the
/// window's), the echoes received in it, their rate (the last second may
/// be a part of one) and their p99 (corrected with `--rate`), and with
/// `--churn` the connections established in it. A second with nothing in
/// it is there with zeros: a stalled server shows.
pub fn per_second(m: &Measured, churn: bool) -> Vec<Value> {
    let seconds = m.total.series.seconds();
    // Echoes count in the second they arrived in, and only in the window.
    series::spans(m.elapsed.as_secs_f64())
        .map(|(i, span)| {
            let (msgs, connects, p99) = match seconds.get(i) {
                Some(s) => (s.msgs, s.connects, (s.msgs > 0).then(|| us(s.latency.quantile(0.99)))),
                None => (0, 0, None),
            };
            let mut entry = json!({
                "t": i,
                "msgs": msgs,
                "msgs_per_s": series::per_second(msgs, span),
                "p99_us": p99,
            });
            if churn {
                entry["connects"] = json!(connects);
            }
            entry
        })
        .collect()
}

/// The configuration of the run, every option as it was in force.
fn config(opts: &Options) -> Value {
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    json!({
        "mode": mode(opts),
        "addr": opts.addr.as_ref().map(ToString::to_string),
        "in_process_server": opts.addr.is_none(),
        "tls": opts.tls.is_some(),
        "conns": opts.conns,
        "depth": opts.depth,
        "size_min": opts.size,
        "size_max": opts.size_max,
        "secs": opts.secs,
        "warmup": opts.warmup,
        "threads": opts.threads,
        "rate": opts.rate,
        "arrival": opts.arrival.name(),
        "churn": opts.churn.map(|c| c.rate().map_or_else(|| json!("max"), |r| json!(r))),
        "per_conn": opts.churn.map(|_| opts.per_conn),
        "server_pid": opts.server_pid,
        "busy_poll_us": opts.busy_poll.map(|d| d.as_micros() as u64),
        "hgrm": path(&opts.hgrm),
        "json": path(&opts.json),
        "report": path(&opts.report),
    })
}

/// The summary of the run `opts` that measured `m`.
pub fn summary(opts: &Options, m: &Measured) -> Value {
    let t = &m.total;
    let secs = m.elapsed.as_secs_f64();
    let churn = opts.churn.is_some();
    json!({
        "frameloop_version": env!("CARGO_PKG_VERSION"),
        "mode": mode(opts),
        "secs": secs,
        "msgs": m.count,
        "msgs_per_s": m.rate(),
        "requested_msgs_per_s": opts.rate,
        "mb_per_s": m.mb_per_s(opts.size),
        "errors": m.errors(),
        "first_errors": t.first_errors,
        "latency_us": percentiles(&t.latency),
        "latency_corrected": opts.rate.is_some(),
        "uncorrected_latency_us": t.uncorrected.as_ref().map(percentiles),
        "send_lag_us": t.send_lag.as_ref().map(percentiles),
        "late_sends": opts.rate.map(|_| t.late),
        "unsent": opts.rate.map(|_| t.unsent),
        "connects": churn.then_some(t.connects),
        "connects_per_s": churn.then(|| t.connects as f64 / secs),
        // Resumption is off: with --tls, each connect is a full handshake.
        "handshakes_per_s": (churn && opts.tls.is_some()).then(|| t.connects as f64 / secs),
        "requested_connects_per_s": opts.churn.and_then(Churn::rate),
        "late_connects": churn.then_some(t.late),
        "unstarted_connects": churn.then_some(t.unsent),
        "connect_latency_us": churn.then(|| percentiles(&t.connect)),
        "server_cpu_ns_per_msg": m.server_ns_per_msg(),
        "client_cpu_ns_per_msg": t.cpu_ns.filter(|_| m.count > 0).map(|ns| ns as f64 / m.count as f64),
        "per_second": per_second(m, churn),
        // The merged latency is these added, value by value.
        "client_threads": m.per_thread.iter().map(percentiles).collect::<Vec<_>>(),
        "config": config(opts),
    })
}
