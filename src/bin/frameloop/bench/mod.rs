//! `frameloop bench`: the load generator.
//!
//! It drives any server that echoes the frame format (4-byte big-endian
//! length, payload), over TCP or a Unix socket (`--addr unix:/path`; every
//! client is written once, generic over the socket, `socket.rs`), checks
//! every echo, and reports throughput, latency and what the server spent
//! per message. Without `--addr` it starts the
//! engine's echo server in-process, on its own thread, and reads that
//! thread's CPU time and counters; with `--server-pid` it reads a separate
//! server process's CPU time (and memory, in `--mode idle`) from `/proc`.
//!
//! With `--sizes` it sweeps payload sizes: one run per size, each with its
//! own report, then a table with a row per size (`sweep.rs`).
//!
//! With `--rate` the load is an open loop (`open_loop.rs`): messages go out
//! on a schedule and latency counts from when each was due, so a stalled
//! server cannot hide behind a client that waited for it. With `--churn`
//! connections come and go at a rate (`churn.rs`). `--hgrm`, `--json` and
//! `--report` keep a run's numbers in files (`files.rs`, `hgrm.rs`,
//! `json.rs`, `plot.rs`).
//!
//! With `--tls` every mode speaks TLS through rustls (`tls.rs`), the
//! in-process server too (`--tls-server-cert`), and a churn run counts
//! full handshakes.
//!
//! In throughput mode one `mio` client thread (or `--threads N`) drives all
//! the connections; in ping-pong mode each connection has a blocking thread
//! of its own, so a round trip is timed without a poller in the way.
//!
//! Client and server share the machine: on 2 cores, one client thread and
//! one server thread each have a core. The server's CPU time per message is
//! measured on the server alone, but how busy the server is (and so how
//! many messages each of its wake-ups finds, and how often the kernel must
//! wake a sleeping peer) depends on how fast the client feeds it. The client
//! costs about what the server does per message, so with one client thread
//! the two are usually both near a full core; the report shows the client's
//! own CPU time per message so a client-bound run is visible. Compare servers
//! with the same client, in the same run, as ratios.

mod churn;
mod client;
mod cpu;
mod files;
mod hgrm;
mod histogram;
mod idle;
mod json;
mod open_loop;
mod options;
mod pingpong;
mod plot;
mod report;
mod rng;
mod series;
mod server;
mod socket;
mod sweep;
mod tls;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frameloop::{Addr, Stats};

use client::{Load, Shared, ThreadReport};
use histogram::Latency;
use open_loop::{Pace, LATE};
pub use options::BenchArgs;
use options::{Churn, Mode, Options, Plan};
use report::{nanos, thousands, Progress};
use server::{InProcess, Sample};
use socket::{connect_all, with_socket, Socket, WithSocket};

/// Runs `frameloop bench`.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    match Plan::new(args)? {
        Plan::Single(opts) if opts.mode == Mode::Idle => idle::run(&opts),
        Plan::Single(opts) => {
            let measured = if opts.churn.is_some() { churn::run(&opts)? } else { load(&opts)? };
            files::write(&opts, &measured)?;
            intact(measured.errors())
        }
        Plan::Sweep(runs) => sweep::run(&runs),
    }
}

/// Fails the command if `errors` echoes were wrong: the numbers of such a
/// run are printed, but do not describe an echo server.
fn intact(errors: u64) -> Result<(), String> {
    if errors > 0 {
        return Err(format!("{errors} error(s): the echoes did not all come back intact and in order"));
    }
    Ok(())
}

/// Where the numbers about the server come from.
enum Server {
    InProcess(InProcess),
    Remote { pid: Option<u32> },
}

/// The server's side of the measured window.
#[derive(Default)]
struct ServerWindow {
    cpu_ns: Option<u64>,
    user_system_ns: Option<(u64, u64)>,
    stats: Option<Stats>,
}

/// What one run measured: what its report shows, and its row of a sweep.
struct Measured {
    /// Echoes received in the measured window.
    count: u64,
    /// The window's length.
    elapsed: Duration,
    /// What all the client threads measured, merged exactly.
    total: ThreadReport,
    /// Each client thread's latencies: the summary shows how they add up.
    per_thread: Vec<Latency>,
    /// Client threads.
    threads: usize,
    server: ServerWindow,
}

impl Measured {
    /// Echoes per second.
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    /// The latencies: corrected ones in an open loop.
    fn latency(&self) -> &Latency {
        &self.total.latency
    }

    /// Megabytes (10^6) of payload per second each way: what was echoed is
    /// what was sent. `size` is the payload of every frame, or the smallest
    /// of a range, whose mean is then the one the echoes timed had.
    fn mb_per_s(&self, size: usize) -> f64 {
        let mean = match self.total.echoes {
            0 => size as f64,
            n => self.total.bytes as f64 / n as f64,
        };
        self.rate() * mean / 1e6
    }

    /// The messages the server is charged for: its own count when
    /// in-process, else the client's.
    fn server_msgs(&self) -> u64 {
        self.server.stats.map_or(self.count, |s| s.frames_in)
    }

    /// The server's CPU time per message, in ns, when it was measured.
    fn server_ns_per_msg(&self) -> Option<f64> {
        let msgs = self.server_msgs();
        self.server.cpu_ns.filter(|_| msgs > 0).map(|ns| ns as f64 / msgs as f64)
    }

    /// Echoes that came back wrong, or not at all.
    fn errors(&self) -> u64 {
        self.total.errors
    }
}

impl Server {
    fn sample(&self) -> Result<Sample, String> {
        match self {
            Server::InProcess(s) => s.sample(),
            Server::Remote { pid } => Ok(Sample {
                cpu_ns: pid.and_then(cpu::process_cpu_ns),
                user_system_ns: pid.and_then(|p| cpu::user_system_ns(Some(p))),
                stats: Stats::default(),
            }),
        }
    }
}

/// One throughput, ping-pong or open-loop run as `opts` say, against the
/// in-process server (started for this run alone, so runs of a sweep do not
/// share its state) or `opts.addr`; prints its report.
fn load(opts: &Options) -> Result<Measured, String> {
    let (server, addr) = serve(opts)?;
    match opts.rate {
        None => {
            let mode = if opts.mode == Mode::PingPong { "ping-pong" } else { "throughput" };
            println!(
                "frameloop bench: {mode}, {} connection(s) x {} frame(s) in flight x {} B, {} s measured after {} s warm-up",
                opts.conns, opts.depth, size_text(opts), opts.secs, opts.warmup
            );
        }
        Some(rate) => println!(
            "frameloop bench: open loop at {} msgs/s ({} arrivals), {} connection(s), at most {} frame(s) in flight each \
             x {} B, {} s measured after {} s warm-up",
            thousands(rate.round() as u64),
            opts.arrival.name(),
            opts.conns,
            opts.depth,
            size_text(opts),
            opts.secs,
            opts.warmup
        ),
    }
    print_server(opts, &server, &addr);
    if opts.mode == Mode::PingPong {
        println!("client: a blocking thread per connection, one frame at a time");
    } else if opts.rate.is_some() {
        println!(
            "client: {} thread(s), mio, each connection on its own schedule; latency from the intended send time",
            opts.threads
        );
    } else {
        println!("client: {} thread(s), mio, one write per connection per loop turn", opts.threads);
    }

    let shared = Arc::new(Shared::default());
    let threads = with_socket(&addr, opts.tls.as_ref(), Clients { opts, addr: &addr, shared: &shared })?;
    measure(opts, server, &shared, threads)
}

/// The client threads of a throughput, ping-pong or open-loop run, started
/// on sockets of the kind `addr` names.
struct Clients<'a> {
    opts: &'a Options,
    /// As errors name it.
    addr: &'a Addr,
    shared: &'a Arc<Shared>,
}

impl WithSocket for Clients<'_> {
    type Output = Vec<std::thread::JoinHandle<ThreadReport>>;

    fn run<S: Socket>(self, to: &S::Addr) -> Result<Self::Output, String> {
        let Clients { opts, addr, shared } = self;
        let streams = connect_all::<S>(to, addr, opts.conns)?;
        let mut threads = Vec::new();
        if opts.mode == Mode::PingPong {
            // A blocking thread per connection: the round trip, not a poller's.
            let size = opts.size;
            for (i, stream) in streams.into_iter().enumerate() {
                let shared = Arc::clone(shared);
                let handle = std::thread::Builder::new()
                    .name(format!("bench-pingpong-{i}"))
                    .spawn(move || pingpong::run(i as u32, stream, size, shared))
                    .map_err(|e| format!("cannot start a client thread: {e}"))?;
                threads.push(handle);
            }
            return Ok(threads);
        }
        let pace = opts.rate.map(|rate| Pace { rate, conns: opts.conns, arrival: opts.arrival, epoch: Instant::now() });
        let load = Load { depth: opts.depth, size: opts.size, size_max: opts.size_max, pace };
        let mut per_thread: Vec<Vec<(u32, S::Mio)>> = (0..opts.threads).map(|_| Vec::new()).collect();
        for (i, s) in streams.into_iter().enumerate() {
            if let Some(bucket) = per_thread.get_mut(i % opts.threads) {
                bucket.push((i as u32, s.into_mio().map_err(|e| e.to_string())?));
            }
        }
        for (t, streams) in per_thread.into_iter().enumerate() {
            let shared = Arc::clone(shared);
            let handle = std::thread::Builder::new()
                .name(format!("bench-client-{t}"))
                .spawn(move || client::run(streams, load, shared))
                .map_err(|e| format!("cannot start a client thread: {e}"))?;
            threads.push(handle);
        }
        Ok(threads)
    }
}

/// The server of a run: the in-process one, started now, or `opts.addr`.
fn serve(opts: &Options) -> Result<(Server, Addr), String> {
    match &opts.addr {
        Some(a) => Ok((Server::Remote { pid: opts.server_pid }, a.clone())),
        None => {
            let s = InProcess::start(opts.busy_poll, opts.tls.as_ref().and_then(|t| t.server.clone()))?;
            let addr = Addr::Tcp(s.addr);
            Ok((Server::InProcess(s), addr))
        }
    }
}

/// The report's lines about the server (and the TLS spoken to it).
fn print_server(opts: &Options, server: &Server, addr: &Addr) {
    match (server, opts.server_pid) {
        (Server::InProcess(_), _) => match opts.busy_poll {
            None => println!("server: frameloop echo, in-process on its own thread, {addr}"),
            Some(d) => println!(
                "server: frameloop echo, in-process on its own thread, {addr}, busy-polling up to {} us",
                d.as_micros()
            ),
        },
        (Server::Remote { .. }, Some(pid)) => println!("server: {addr} (process {pid})"),
        (Server::Remote { .. }, None) => println!("server: {addr} (give --server-pid PID to measure its CPU time)"),
    }
    if let Some(tls) = &opts.tls {
        println!(
            "tls: rustls (ring), server name {}{}, no session resumption",
            tls.name.to_str(),
            if tls.mutual { ", client certificate shown" } else { "" }
        );
    }
}

/// Runs the warm-up and the measured window of the client `threads`
/// (already started), then merges their reports exactly, reads the
/// server's side of the window, prints the report and stops the
/// in-process server.
fn measure(
    opts: &Options,
    server: Server,
    shared: &Shared,
    threads: Vec<std::thread::JoinHandle<ThreadReport>>,
) -> Result<Measured, String> {
    let mut progress = Progress::new();
    wait_showing(shared, &mut progress, "warm-up", Duration::from_secs_f64(opts.warmup));
    let first = server.sample()?;
    let count0 = shared.received.load(Ordering::Relaxed);
    let t0 = shared.measure();
    wait_showing(shared, &mut progress, "measuring", Duration::from_secs_f64(opts.secs));
    let t1 = shared.drain();
    let count1 = shared.received.load(Ordering::Relaxed);
    let elapsed = t1 - t0;
    let last = server.sample()?;
    progress.finish();

    let mut total = ThreadReport::default();
    let n = threads.len();
    let mut per_thread = Vec::with_capacity(n);
    for t in threads {
        let report = t.join().map_err(|_| "a client thread panicked".to_owned())?;
        total.merge(&report);
        per_thread.push(report.latency);
    }
    let window = ServerWindow {
        cpu_ns: first.cpu_ns.zip(last.cpu_ns).map(|(a, b)| b.saturating_sub(a)),
        user_system_ns: first
            .user_system_ns
            .zip(last.user_system_ns)
            .map(|((u0, s0), (u1, s1))| (u1.saturating_sub(u0), s1.saturating_sub(s0))),
        stats: matches!(server, Server::InProcess(_)).then(|| diff(&last.stats, &first.stats)),
    };
    let measured =
        Measured { count: count1.saturating_sub(count0), elapsed, total, per_thread, threads: n, server: window };
    print_report(opts, &measured);
    if let Server::InProcess(s) = server {
        s.stop()?;
    }
    Ok(measured)
}

/// The payload size of `opts` as the header line shows it: `64`, or a
/// range `64..4096`.
fn size_text(opts: &Options) -> String {
    if opts.size_max == opts.size {
        opts.size.to_string()
    } else {
        format!("{}..{}", opts.size, opts.size_max)
    }
}

/// Sleeps for `length`, from now, showing the phase `label` on the
/// progress line.
fn wait_showing(shared: &Shared, progress: &mut Progress, label: &'static str, length: Duration) {
    let from = Instant::now();
    let end = from + length;
    progress.phase(label, length);
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep(report::TICK.min(end - now));
        let count = shared.received.load(Ordering::Relaxed);
        progress.update(from.elapsed(), count, shared.errors.load(Ordering::Relaxed));
    }
}

/// The counters' growth from `a` to `b`.
fn diff(b: &Stats, a: &Stats) -> Stats {
    let mut d = *b;
    d.frames_in -= a.frames_in;
    d.frames_out -= a.frames_out;
    d.bytes_in -= a.bytes_in;
    d.bytes_out -= a.bytes_out;
    d.reads -= a.reads;
    d.writes -= a.writes;
    d.polls -= a.polls;
    d.accepts -= a.accepts;
    d.accepted -= a.accepted;
    d.closed -= a.closed;
    d
}

/// One line of percentiles: `label` (12 columns), then p50 to p99.999,
/// the max and the number of samples.
fn print_percentiles(label: &str, latency: &Latency, note: &str) {
    println!(
        "{label:<12} p50 {}   p99 {}   p99.9 {}   p99.99 {}   p99.999 {}   max {}   ({} samples{note})",
        nanos(latency.quantile(0.50)),
        nanos(latency.quantile(0.99)),
        nanos(latency.quantile(0.999)),
        nanos(latency.quantile(0.9999)),
        nanos(latency.quantile(0.99999)),
        nanos(latency.max()),
        thousands(latency.len())
    );
}

fn print_report(opts: &Options, m: &Measured) {
    let secs = m.elapsed.as_secs_f64();
    println!();
    if let Some(churn) = opts.churn {
        let asked = match churn.rate() {
            Some(rate) => format!("requested {}/s", thousands(rate.round() as u64)),
            None => format!("closed loop, {} open at once", opts.conns),
        };
        println!(
            "connects     {} in {secs:.2} s: {:.0} connects/s ({asked})",
            thousands(m.total.connects),
            m.total.connects as f64 / secs,
        );
        print_percentiles("connect", &m.total.connect, "; from connect() to established");
        if opts.tls.is_some() {
            // Resumption is off: each connection's echo came after a full handshake.
            println!(
                "handshakes   {:.0} full TLS handshakes/s (one per connect; its time is in the message latency)",
                m.total.connects as f64 / secs
            );
        }
    }
    let achieved = match opts.rate {
        Some(rate) => format!(" (requested {}: {:.1} %)", thousands(rate.round() as u64), m.rate() / rate * 100.0),
        None => String::new(),
    };
    println!(
        "messages     {} echoed in {secs:.2} s: {} msgs/s{achieved}, {:.1} MB/s of payload each way",
        thousands(m.count),
        thousands(m.rate() as u64),
        m.mb_per_s(opts.size)
    );
    match &m.total.uncorrected {
        Some(uncorrected) => {
            print_percentiles("latency", m.latency(), "; corrected: from each intended send time");
            print_percentiles("uncorrected", uncorrected, "; from the actual write");
        }
        None => print_percentiles("latency", m.latency(), ""),
    }
    if let Some(lag) = &m.total.send_lag {
        println!(
            "send lag     p50 {}   p99 {}   max {}: {} message(s) written {} or more after their time, {} due but never \
             written{}",
            nanos(lag.quantile(0.50)),
            nanos(lag.quantile(0.99)),
            nanos(lag.max()),
            thousands(m.total.late),
            nanos(LATE.as_nanos() as u64),
            thousands(m.total.unsent),
            if m.total.late + m.total.unsent > 0 {
                " (a connection was full: more --conns or --depth, or the server is slower than --rate)"
            } else {
                ""
            }
        );
    }
    println!("errors       {}", m.errors());
    for e in &m.total.first_errors {
        println!("             {e}");
    }
    match (m.server_ns_per_msg(), m.server.cpu_ns) {
        (Some(per_msg), Some(ns)) => {
            let per = |ns: u64| ns as f64 / m.server_msgs() as f64;
            let split = match m.server.user_system_ns {
                Some((user, system)) => format!(": user {:.0} + system {:.0}", per(user), per(system)),
                None => String::new(),
            };
            println!("server CPU   {per_msg:.0} ns/msg   ({:.0} % of one core{split})", ns as f64 / 1e9 / secs * 100.0);
            if opts.churn.is_some() && m.total.connects > 0 {
                let what = if opts.tls.is_some() { "connection (a full TLS handshake each)" } else { "connection" };
                println!("             {:.1} us per {what}", ns as f64 / 1e3 / m.total.connects as f64);
            }
        }
        _ => println!("server CPU   not measured (give --server-pid PID for a server of your own)"),
    }
    if let Some(ns) = m.total.cpu_ns.filter(|_| m.count > 0) {
        let busy = ns as f64 / 1e9 / secs / m.threads.max(1) as f64 * 100.0;
        println!(
            "client CPU   {:.0} ns/msg   ({busy:.0} % of each client thread's core{})",
            ns as f64 / m.count as f64,
            match (opts.rate.is_some() || opts.churn.and_then(Churn::rate).is_some(), busy > 90.0) {
                // Spinning before each due time is what keeps it on time.
                (true, _) => "; an open loop polls without sleeping just before each due time",
                (false, true) => "; the client may be the bottleneck",
                (false, false) => "",
            }
        );
    }
    if let Some(s) = m.server.stats {
        let per = |n: u64| if s.frames_in == 0 { 0.0 } else { n as f64 / s.frames_in as f64 };
        println!(
            "server stats frames {}  reads {}  writes {}  polls {}  ->  {:.3} reads + {:.3} writes + {:.3} polls = {:.3} syscalls/msg",
            thousands(s.frames_in),
            thousands(s.reads),
            thousands(s.writes),
            thousands(s.polls),
            per(s.reads),
            per(s.writes),
            per(s.polls),
            s.syscalls_per_frame()
        );
    }
}
