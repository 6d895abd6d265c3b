//! `frameloop bench`: the load generator.
//!
//! It drives any server that echoes the frame format (4-byte big-endian
//! length, payload), checks every echo, and reports throughput, latency and
//! what the server spent per message. Without `--addr` it starts the
//! engine's echo server in-process, on its own thread, and reads that
//! thread's CPU time and counters; with `--server-pid` it reads a separate
//! server process's CPU time (and memory, in `--mode idle`) from `/proc`.
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

mod client;
mod cpu;
mod histogram;
mod idle;
mod options;
mod pingpong;
mod report;
mod server;

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frameloop::Stats;

use client::{Load, Shared, ThreadReport, DRAIN, MEASURE};
use histogram::Latency;
pub use options::BenchArgs;
use options::{Mode, Options};
use report::{nanos, thousands, Progress};
use server::{InProcess, Sample};

/// Runs `frameloop bench`.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let opts = Options::new(args)?;
    match opts.mode {
        Mode::Idle => idle::run(opts.addr, opts.server_pid, opts.conns, opts.size),
        Mode::Throughput | Mode::PingPong => load(&opts),
    }
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

fn load(opts: &Options) -> Result<(), String> {
    let server = match opts.addr {
        Some(_) => Server::Remote { pid: opts.server_pid },
        None => Server::InProcess(InProcess::start(opts.busy_poll)?),
    };
    let addr = match (&server, opts.addr) {
        (Server::InProcess(s), _) => s.addr,
        (_, Some(a)) => a,
        (_, None) => return Err("no address to connect to".into()),
    };
    let mode = if opts.mode == Mode::PingPong { "ping-pong" } else { "throughput" };
    println!(
        "frameloop bench: {mode}, {} connection(s) x {} frame(s) in flight x {} B, {} s measured after {} s warm-up",
        opts.conns, opts.depth, opts.size, opts.secs, opts.warmup
    );
    match (&server, opts.server_pid) {
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
    if opts.mode == Mode::PingPong {
        println!("client: a blocking thread per connection, one frame at a time");
    } else {
        println!("client: {} thread(s), mio, one write per connection per loop turn", opts.threads);
    }

    let streams = connect_all(addr, opts.conns)?;
    let shared = Arc::new(Shared::default());
    let mut threads = Vec::new();
    if opts.mode == Mode::PingPong {
        // A blocking thread per connection: the round trip, not a poller's.
        let size = opts.size;
        for (i, stream) in streams.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("bench-pingpong-{i}"))
                .spawn(move || pingpong::run(i as u32, stream, size, shared))
                .map_err(|e| format!("cannot start a client thread: {e}"))?;
            threads.push(handle);
        }
    } else {
        let load = Load { depth: opts.depth, size: opts.size };
        let mut per_thread: Vec<Vec<(u32, mio::net::TcpStream)>> = (0..opts.threads).map(|_| Vec::new()).collect();
        for (i, s) in streams.into_iter().enumerate() {
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            if let Some(bucket) = per_thread.get_mut(i % opts.threads) {
                bucket.push((i as u32, mio::net::TcpStream::from_std(s)));
            }
        }
        for (t, streams) in per_thread.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("bench-client-{t}"))
                .spawn(move || client::run(streams, load, shared))
                .map_err(|e| format!("cannot start a client thread: {e}"))?;
            threads.push(handle);
        }
    }

    let mut progress = Progress::new();
    wait_showing(&shared, &mut progress, "warm-up", Duration::from_secs_f64(opts.warmup));
    let first = server.sample()?;
    let count0 = shared.received.load(Ordering::Relaxed);
    let t0 = Instant::now();
    shared.phase.store(MEASURE, Ordering::Release);
    wait_showing(&shared, &mut progress, "measuring", Duration::from_secs_f64(opts.secs));
    shared.phase.store(DRAIN, Ordering::Release);
    let count1 = shared.received.load(Ordering::Relaxed);
    let elapsed = t0.elapsed();
    let last = server.sample()?;
    progress.finish();

    let mut reports: Vec<ThreadReport> = Vec::new();
    for t in threads {
        reports.push(t.join().map_err(|_| "a client thread panicked".to_owned())?);
    }
    let window = ServerWindow {
        cpu_ns: first.cpu_ns.zip(last.cpu_ns).map(|(a, b)| b.saturating_sub(a)),
        user_system_ns: first
            .user_system_ns
            .zip(last.user_system_ns)
            .map(|((u0, s0), (u1, s1))| (u1.saturating_sub(u0), s1.saturating_sub(s0))),
        stats: matches!(server, Server::InProcess(_)).then(|| diff(&last.stats, &first.stats)),
    };
    print_report(opts, count1.saturating_sub(count0), elapsed, &reports, &window);
    if let Server::InProcess(s) = server {
        s.stop()?;
    }
    let errors: u64 = reports.iter().map(|r| r.errors).sum();
    if errors > 0 {
        return Err(format!("{errors} error(s): the echoes did not all come back intact and in order"));
    }
    Ok(())
}

/// Connects `n` connections one after another, so the load starts with all
/// of them established.
fn connect_all(addr: SocketAddr, n: usize) -> Result<Vec<TcpStream>, String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connection {i} to {addr}: {e}"))?;
        // Latency, not bandwidth: frames leave as soon as they are written.
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        out.push(s);
    }
    Ok(out)
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

fn print_report(opts: &Options, count: u64, elapsed: Duration, reports: &[ThreadReport], server: &ServerWindow) {
    let secs = elapsed.as_secs_f64();
    let rate = count as f64 / secs;
    let mut latency = Latency::default();
    for r in reports {
        latency.merge(&r.latency);
    }
    let errors: u64 = reports.iter().map(|r| r.errors).sum();
    println!();
    println!(
        "messages     {} echoed in {secs:.2} s: {} msgs/s, {:.1} MB/s of payload each way",
        thousands(count),
        thousands(rate as u64),
        rate * opts.size as f64 / 1e6
    );
    println!(
        "latency      p50 {}   p99 {}   p99.9 {}   p99.99 {}   p99.999 {}   max {}   ({} samples)",
        nanos(latency.quantile(0.50)),
        nanos(latency.quantile(0.99)),
        nanos(latency.quantile(0.999)),
        nanos(latency.quantile(0.9999)),
        nanos(latency.quantile(0.99999)),
        nanos(latency.max()),
        thousands(latency.len())
    );
    println!("errors       {errors}");
    for r in reports {
        for e in &r.first_errors {
            println!("             {e}");
        }
    }
    // Charge the server for the messages it handled in the window: its own
    // count when in-process, else the client's.
    let server_msgs = server.stats.map_or(count, |s| s.frames_in);
    match server.cpu_ns {
        Some(ns) if server_msgs > 0 => {
            let per = |ns: u64| ns as f64 / server_msgs as f64;
            let split = match server.user_system_ns {
                Some((user, system)) => format!(": user {:.0} + system {:.0}", per(user), per(system)),
                None => String::new(),
            };
            println!(
                "server CPU   {:.0} ns/msg   ({:.0} % of one core{split})",
                per(ns),
                ns as f64 / 1e9 / secs * 100.0
            );
        }
        _ => println!("server CPU   not measured (give --server-pid PID for a server of your own)"),
    }
    let client_ns: Option<u64> = reports.iter().map(|r| r.cpu_ns).sum();
    if let Some(ns) = client_ns.filter(|_| count > 0) {
        let busy = ns as f64 / 1e9 / secs / reports.len().max(1) as f64 * 100.0;
        println!(
            "client CPU   {:.0} ns/msg   ({busy:.0} % of each client thread's core{})",
            ns as f64 / count as f64,
            if busy > 90.0 { "; the client may be the bottleneck" } else { "" }
        );
    }
    if let Some(s) = server.stats {
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
