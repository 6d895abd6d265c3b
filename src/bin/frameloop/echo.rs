//! `frameloop echo`: an echo server to try clients against.

use std::time::{Duration, Instant};

use frameloop::{CloseReason, ConnId, Ctx, Distribution, Handler, Reactor};

use crate::logging;

/// The options of `frameloop echo`.
#[derive(Debug, clap::Args)]
pub struct EchoArgs {
    /// Where to listen (port 0: the system picks one, and the banner says which).
    // A string: the library resolves it when it binds, so a malformed
    // address gets the same message as any other bind error.
    #[arg(value_name = "ADDR", default_value = "127.0.0.1:7000")]
    addr: String,
    /// Speak text lines ending in \n (nc and telnet can talk to it) instead of
    /// 4-byte-length frames.
    #[arg(long)]
    lines: bool,
    /// Speak raw bytes: echo whatever arrives, as it arrives, with no framing
    /// (a plain socket's sendall and recv, or nc, can talk to it).
    #[arg(long, conflicts_with = "lines")]
    raw: bool,
    /// Busy-poll for up to N microseconds before sleeping (0: off; without
    /// it: off on one reactor, 5 µs on each of several, see --threads).
    #[arg(long, value_name = "N")]
    busy_poll_us: Option<u64>,
    /// Log closes with their reason and limits hit to stderr: -v info, -vv
    /// debug.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print no line per connection opened and closed: for a benchmark's
    /// server, where that is a write to the terminal (or a log file) per
    /// connection that the peer compared with does not make.
    #[arg(short, long)]
    quiet: bool,
    /// Stall for the first MS milliseconds of every second: the whole server
    /// stops, reading and answering nothing, as in a long pause. To see what
    /// a benchmark makes of a stalled server (`frameloop bench --rate`).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..1000))]
    stall_ms: u64,
    /// Spend US microseconds of CPU on every message before echoing it (0:
    /// off), as a handler with real work to do would: to see what a server
    /// whose messages cost something makes of more cores.
    #[arg(long, value_name = "US", default_value_t = 0)]
    work_us: u64,
    /// Serve with N reactors, one per thread (a reactor per core); on stop,
    /// how the connections and messages spread over them.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// How the reactors of --threads share the connections: the first
    /// accepts and hands each to the least loaded (acceptor), or each has a
    /// listener of its own and the kernel picks (reuse-port, Linux).
    #[arg(long, value_name = "HOW", default_value = "acceptor")]
    distribution: DistributionArg,
    /// Serve TLS with this certificate chain (PEM; the server's own first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Mutual TLS: refuse clients without a certificate this CA (PEM) signed.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<std::path::PathBuf>,
}

/// The TLS configuration the `--tls-*` flags ask for, if they ask.
fn tls_config(args: &EchoArgs) -> Result<Option<std::sync::Arc<frameloop::tls::ServerConfig>>, String> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else { return Ok(None) };
    let mut files = frameloop::tls::TlsServerFiles::new(cert, key);
    if let Some(ca) = &args.tls_client_ca {
        files = files.client_ca(ca);
    }
    files.load().map(Some).map_err(|e| e.to_string())
}

/// `--distribution`'s values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DistributionArg {
    Acceptor,
    ReusePort,
}

struct Echo {
    /// `--stall-ms`: since when, and for how long each second.
    stall: Option<(Instant, Duration)>,
    /// `--work-us`: the CPU time each message costs.
    work: Option<Duration>,
    /// `--quiet`.
    quiet: bool,
}

impl Echo {
    /// In a stall, sleeps to its end: the reactor's thread does nothing
    /// else meanwhile, so every connection waits, as in a real pause.
    fn stall(&self) {
        let Some((since, length)) = self.stall else { return };
        let into_second = Duration::from_nanos((since.elapsed().as_nanos() % 1_000_000_000) as u64);
        if into_second < length {
            std::thread::sleep(length - into_second);
        }
    }
}

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        if self.quiet {
            return;
        }
        if let Ok(peer) = ctx.peer_addr(conn) {
            println!("{conn} opened from {peer}");
        }
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        self.stall();
        if let Some(work) = self.work {
            spin(work);
        }
        let _ = ctx.send(conn, frame);
    }

    fn on_close(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        if !self.quiet {
            println!("{conn} closed: {reason}");
        }
    }
}

/// Keeps the CPU busy for `work` (`--work-us`). It spins on the monotonic
/// clock instead of sleeping: a sleep would give the core away, costing the
/// server no CPU and letting one reactor overlap the work of many messages,
/// where a real handler's work holds its thread and its core.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

/// Serves until SIGINT or SIGTERM, then stops gracefully: no new
/// connections, what is queued is written, every connection closes.
pub fn run(args: &EchoArgs) -> Result<(), String> {
    logging::init(args.verbose);
    let busy_poll = args.busy_poll_us.map(Duration::from_micros);
    let distribution = match args.distribution {
        DistributionArg::Acceptor => Distribution::Acceptor,
        DistributionArg::ReusePort => Distribution::ReusePort,
    };
    let builder = Reactor::builder().busy_poll(busy_poll).distribution(distribution).stop_on_signals();
    let builder = if args.lines {
        builder.lines()
    } else if args.raw {
        builder.raw()
    } else {
        builder
    };
    let mut group = builder.build_group(usize::from(args.threads)).map_err(|e| e.to_string())?;
    let tls = tls_config(args)?;
    let secure = tls.is_some();
    let bound = match tls {
        Some(config) => group.listen_tls(args.addr.as_str(), config),
        None => group.listen(args.addr.as_str()),
    }
    .map_err(|e| e.to_string())?;
    let format = if args.lines {
        format!("lines (try: {})", try_with(&bound, secure))
    } else if args.raw {
        format!("raw bytes (try: {})", try_with(&bound, secure))
    } else {
        "frames".to_owned()
    };
    let over = match (secure, &args.tls_client_ca) {
        (false, _) => "",
        (true, None) => " over TLS",
        (true, Some(_)) => " over mutual TLS",
    };
    println!("echo server on {bound}{over}, speaking {format}; Ctrl-C stops it");
    let stall = (args.stall_ms > 0).then(|| (Instant::now(), Duration::from_millis(args.stall_ms)));
    if let Some((_, length)) = stall {
        println!("stalling for the first {} ms of every second", length.as_millis());
    }
    let work = (args.work_us > 0).then(|| Duration::from_micros(args.work_us));
    if let Some(work) = work {
        println!("spending {} µs of CPU on every message", work.as_micros());
    }
    if args.threads > 1 {
        println!("{} reactors, one per thread", args.threads);
    }
    group.run(|_| Echo { stall, work, quiet: args.quiet }).map_err(|e| e.to_string())?;
    println!("echo server stopped");
    for (i, stats) in group.stats().iter().enumerate() {
        let (accepted, messages, syscalls) = (stats.accepted, stats.frames_in, stats.syscalls_per_frame());
        println!("reactor {i}: {accepted} connections, {messages} messages, {syscalls:.3} syscalls per message");
    }
    Ok(())
}

/// The command that talks to `bound` by hand: `nc`, or `openssl s_client`
/// for TLS.
fn try_with(bound: &frameloop::Addr, tls: bool) -> String {
    match (bound, tls) {
        (frameloop::Addr::Tcp(a), false) => format!("nc {} {}", a.ip(), a.port()),
        (frameloop::Addr::Tcp(a), true) => format!("openssl s_client -quiet -connect {a}"),
        (frameloop::Addr::Unix(path), false) => format!("nc -U {}", path.display()),
        (frameloop::Addr::Unix(path), true) => format!("openssl s_client -quiet -unix {}", path.display()),
    }
}
