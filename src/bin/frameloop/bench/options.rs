//! The options of `frameloop bench` as clap reads them ([`BenchArgs`]), and
//! the settings they come to once the mode's defaults are filled in
//! ([`Options`]): one run, or one per size of a `--sizes` sweep ([`Plan`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use frameloop::tls::{ClientConfig, ServerConfig, TlsClientFiles, TlsServerFiles};
use frameloop::{Addr, ToAddrs};
use rustls::pki_types::ServerName;

use super::client::STAMP;
use crate::args;

/// What the bench measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Every connection keeps --depth frames in flight.
    Throughput,
    /// One frame in flight per connection: round-trip latency.
    #[value(name = "pingpong", alias = "ping-pong")]
    PingPong,
    /// Connections that exchange one frame and then stay idle: the server's
    /// memory per connection.
    Idle,
}

/// How the messages of a `--rate` run (or the connections of a `--churn`
/// run) are spaced in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arrival {
    /// Evenly: one every 1/rate seconds.
    Constant,
    /// A Poisson process: exponential gaps with a mean of 1/rate seconds.
    Poisson,
}

impl Arrival {
    /// The name `--arrival` takes.
    pub fn name(self) -> &'static str {
        match self {
            Arrival::Constant => "constant",
            Arrival::Poisson => "poisson",
        }
    }
}

/// How a `--churn` run opens its connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Churn {
    /// R new connections per second in all, on a schedule whatever the
    /// server does (open loop): `--churn R`.
    Rate(f64),
    /// A new connection as soon as one closes, `--conns` of them open at
    /// once (closed loop): as many a second as the server takes, the
    /// figure to compare servers' capacity by. `--churn max`.
    Max,
}

impl Churn {
    /// The requested connections per second, if there is a schedule.
    pub fn rate(self) -> Option<f64> {
        match self {
            Churn::Rate(r) => Some(r),
            Churn::Max => None,
        }
    }
}

/// `--churn`: `max`, or a number per second.
fn churn(s: &str) -> Result<Churn, String> {
    if s == "max" {
        return Ok(Churn::Max);
    }
    per_second(s).map(Churn::Rate).map_err(|e| format!("{e}, or max"))
}

/// A count of at least one.
fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

/// Payload bytes of a frame, the one rule of `--size` and of each size of
/// `--sizes`: written as [`args::bytes`] reads them (`64`, `8k`, `1m`), at
/// least [`STAMP`] (each frame carries its connection id and sequence
/// number) and at most what the frame's 4-byte length can say.
fn payload_size(s: &str) -> Result<usize, String> {
    let n = args::bytes(s)?;
    if n < STAMP as u64 {
        return Err(format!(
            "{n} bytes is too small: a payload starts with the frame's connection id and number, {STAMP} bytes"
        ));
    }
    if n > u64::from(u32::MAX) {
        return Err(format!("{n} bytes is too large: a frame's 4-byte length says at most {}", u32::MAX));
    }
    usize::try_from(n).map_err(|_| format!("{n} bytes is more than this machine can address"))
}

/// `--size`: one payload size, or a range `MIN..MAX` (both as
/// [`payload_size`] reads them, MIN at most MAX) from which each frame's
/// size is drawn uniformly.
fn size_range(s: &str) -> Result<(usize, usize), String> {
    let Some((min, max)) = s.split_once("..") else {
        return payload_size(s).map(|n| (n, n));
    };
    let (min, max) = (payload_size(min)?, payload_size(max)?);
    if min > max {
        return Err(format!("the range {s} is empty: its first size is above its last"));
    }
    Ok((min, max))
}

/// A rate in events per second: at least one per thousand seconds,
/// fractions allowed. Below that, a schedule's times would leave what a
/// `Duration` holds.
fn per_second(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.001 => Ok(r),
        _ => Err("expected a number per second of at least 0.001, e.g. 5000 or 0.5".to_owned()),
    }
}

/// The server `--addr` names: the first address the library's resolving
/// gives (`unix:/path`, or TCP), with its message when there is none.
fn address(s: &str) -> Result<Addr, String> {
    let first = s.to_addrs().map_err(|e| e.to_string())?.into_iter().next();
    // `to_addrs` is never empty when it succeeds.
    first.ok_or_else(|| format!("{s} names no address"))
}

/// Connections open at once in a `--churn max` run when --conns does not
/// say: enough that a server's accept queue is never empty, few enough
/// that the connects finish long before the client's patience ends.
const CHURN_MAX_CONNS: usize = 8;
/// Connections of a throughput run when --conns does not say.
const THROUGHPUT_CONNS: usize = 100;
/// Frames in flight per connection of a throughput run when --depth does
/// not say.
const THROUGHPUT_DEPTH: usize = 16;

/// The load a sweep gives the sizes from `from` bytes up to the next class.
struct SizeClass {
    from: usize,
    conns: usize,
    depth: usize,
}

/// A sweep's throughput load by size, where --conns and --depth do not say:
/// 100 x 16 frames of 1 MiB would be 1.6 GiB in flight, so larger frames get
/// fewer connections and fewer frames each. Ascending; the first class
/// starts at 0 so that every size has one.
const SIZE_CLASSES: [SizeClass; 4] = [
    SizeClass { from: 0, conns: THROUGHPUT_CONNS, depth: THROUGHPUT_DEPTH },
    SizeClass { from: 8 << 10, conns: 50, depth: 8 },
    SizeClass { from: 64 << 10, conns: 10, depth: 4 },
    SizeClass { from: 1 << 20, conns: 4, depth: 2 },
];

/// The class of a sweep's `size`: the last one that starts at or below it.
fn size_class(size: usize) -> &'static SizeClass {
    // The first class starts at 0: there is always one.
    SIZE_CLASSES.iter().rev().find(|c| c.from <= size).unwrap_or(&SIZE_CLASSES[0])
}

/// The help of `--sizes`, written from [`SIZE_CLASSES`] so that it says
/// what the sweep does.
fn sizes_help() -> String {
    let text = |bytes: usize| args::bytes_text(bytes as u64);
    let classes: Vec<String> = SIZE_CLASSES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sizes = match SIZE_CLASSES.get(i + 1) {
                _ if c.from > 0 => format!("from {}", text(c.from)),
                Some(next) => format!("below {}", text(next.from)),
                None => "any size".to_owned(),
            };
            format!("{sizes}: {} x {}", c.conns, c.depth)
        })
        .collect();
    format!(
        "Sweep these payload sizes (comma-separated, as --size takes them), one run each, then a table with a \
         row per size. In throughput mode, without --conns and --depth, each size gets its own load, \
         connections x frames in flight: {} (pingpong keeps its one connection). --conns and --depth, when \
         given, hold for every size.",
        classes.join(", ")
    )
}

/// The options of `frameloop bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Drive this server instead of the in-process one (any echo of
    /// 4-byte-length frames): IP:PORT, HOST:PORT, or unix:/path for a Unix
    /// socket, which every mode drives as it does TCP.
    // A string, resolved by the library in `Options::new`: its message, not
    // a second copy of its rule.
    #[arg(long, value_name = "ADDR")]
    addr: Option<String>,
    /// Read that server's CPU time (and memory, in idle mode) from /proc.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Mode::Throughput)]
    mode: Mode,
    /// Connections [default: 100; pingpong: 1; idle: 10000; a sweep: by
    /// size, see --sizes].
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    conns: Option<usize>,
    /// Frames in flight per connection, throughput mode (the others keep
    /// one); with --rate, the most in flight [default: 16; --rate: 1; a
    /// sweep: by size, see --sizes].
    // No `default_value_t`: a sweep must tell a --depth given from none.
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    depth: Option<usize>,
    /// Payload bytes per frame, at least 12 (each frame carries its
    /// connection id and sequence number); k and m suffixes count 1024 and
    /// 1024 x 1024: 64k, 1m. A range MIN..MAX (64..4k) draws each frame's
    /// size uniformly from it (throughput, --rate and --churn runs).
    #[arg(long, value_name = "BYTES", default_value = "64", value_parser = size_range)]
    size: (usize, usize),
    // The help is written from the table it describes, `SIZE_CLASSES`.
    #[arg(
        long,
        value_name = "BYTES,...",
        value_delimiter = ',',
        value_parser = payload_size,
        conflicts_with = "size",
        help = sizes_help(),
    )]
    sizes: Vec<usize>,
    /// Measured seconds.
    // Negative numbers are taken as values, to be refused by name, not as
    // unknown options.
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = args::positive_seconds)]
    #[arg(allow_negative_numbers = true)]
    secs: f64,
    /// Seconds of warm-up before the measured ones.
    #[arg(long, value_name = "S", default_value_t = 1.0, value_parser = args::seconds)]
    #[arg(allow_negative_numbers = true)]
    warmup: f64,
    /// Client threads, throughput, --rate and --churn runs (pingpong has
    /// one per connection); their histograms are added, not averaged.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = at_least_one())]
    threads: usize,
    /// The in-process server busy-polls for up to N microseconds before it
    /// sleeps (0: off); throughput and pingpong modes.
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "addr")]
    busy_poll_us: u64,
    /// Open loop: send N messages per second in all, spread evenly over the
    /// connections, each on its own schedule whatever the replies do.
    /// Latency then counts from each message's intended send time
    /// (corrected for coordinated omission, as wrk2 does), and the report
    /// adds the uncorrected latency, from the actual write. --depth caps
    /// the frames in flight per connection [default: 1]: a message due
    /// while its connection is full waits, and its wait counts.
    #[arg(long, value_name = "N", value_parser = per_second, conflicts_with = "churn")]
    rate: Option<f64>,
    /// How --rate (or --churn) spaces its events: evenly, or as a Poisson
    /// process (exponential gaps).
    #[arg(long, value_enum, default_value_t = Arrival::Constant)]
    arrival: Arrival,
    /// Open R new connections per second, each sending --per-conn
    /// messages (written together, pipelined), checking their echoes, then
    /// closing: the server's accept path. Reports connects/s, connect
    /// latency and message latency. `max`: a closed loop instead, a new
    /// connection as soon as one closes, --conns open at once [default:
    /// 8], as many a second as the server takes.
    #[arg(long, value_name = "R|max", value_parser = churn)]
    churn: Option<Churn>,
    /// Messages each --churn connection exchanges before it closes.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = at_least_one(), requires = "churn")]
    per_conn: usize,
    /// Write the latency's percentile distribution to FILE in
    /// HdrHistogram's text format (.hgrm; values in milliseconds), the
    /// corrected one with --rate.
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,
    /// Write a summary to FILE as JSON: rates, errors, latency percentiles
    /// in microseconds (corrected and uncorrected with --rate), the server's
    /// CPU per message, a series per second, and the configuration.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a report to DIR (created if missing): summary.json,
    /// latency.hgrm, latency.svg (latency by percentile), throughput.svg
    /// (messages per second over time) and index.html, which shows both.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Speak TLS (rustls, ring) to the server, every mode; needs --tls-ca.
    /// Without --addr, the in-process server serves TLS with
    /// --tls-server-cert and --tls-server-key. Session resumption is off:
    /// with --churn, every connection is a full handshake.
    #[arg(long)]
    tls: bool,
    /// The CA (PEM) the server's certificate must chain to; the system's
    /// roots are not read. With --tls-cert and the in-process server, also
    /// the CA that server checks the client's certificate against.
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_ca: Option<PathBuf>,
    /// Mutual TLS: the client's certificate chain (PEM), shown to a server
    /// that asks for one.
    #[arg(long, value_name = "FILE", requires_all = ["tls", "tls_key"])]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The name the server's certificate must carry, and the SNI sent
    /// [default: localhost].
    #[arg(long, value_name = "NAME", requires = "tls")]
    tls_name: Option<String>,
    /// The in-process server's certificate chain (PEM), with --tls and no
    /// --addr; it asks for a client certificate when --tls-cert is given.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["tls", "tls_server_key"],
        conflicts_with = "addr"
    )]
    tls_server_cert: Option<PathBuf>,
    /// The private key of --tls-server-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_server_cert")]
    tls_server_key: Option<PathBuf>,
}

/// The TLS of a `--tls` run.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The clients' configuration, resumption off.
    pub client: Arc<ClientConfig>,
    /// The name the server's certificate must carry.
    pub name: ServerName<'static>,
    /// Whether the client shows a certificate.
    pub mutual: bool,
    /// The in-process server's configuration (none with --addr).
    pub server: Option<Arc<ServerConfig>>,
}

impl TlsOptions {
    /// What the `--tls*` options ask for, the files read; `None` without --tls.
    fn new(args: &BenchArgs) -> Result<Option<Self>, String> {
        if !args.tls {
            return Ok(None);
        }
        // No default CA: the system's roots are not read (as the library's
        // client does), and a bench's server has a CA of its operator's.
        let ca = args.tls_ca.as_ref().ok_or(
            "--tls needs --tls-ca FILE: the CA (PEM) the server's certificate chains to (the system's roots are \
             not read)",
        )?;
        let mut files = TlsClientFiles::new(ca);
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            files = files.client_cert(cert, key);
        }
        let client = super::tls::no_resumption(&*files.load().map_err(|e| e.to_string())?);
        let name = args.tls_name.as_deref().unwrap_or("localhost");
        let name = ServerName::try_from(name.to_owned()).map_err(|e| format!("--tls-name {name}: {e}"))?;
        let mutual = args.tls_cert.is_some();
        let server = match (&args.addr, &args.tls_server_cert, &args.tls_server_key) {
            (Some(_), _, _) => None,
            (None, Some(cert), Some(key)) => {
                let files = TlsServerFiles::new(cert, key);
                let files = if mutual { files.client_ca(ca) } else { files };
                Some(files.load().map_err(|e| e.to_string())?)
            }
            // Nothing to make a certificate with: none is generated.
            (None, _, _) => {
                return Err("--tls without --addr serves TLS in-process: give it --tls-server-cert FILE and \
                            --tls-server-key FILE (or drive a server of your own with --addr)"
                    .into())
            }
        };
        Ok(Some(TlsOptions { client, name, mutual, server }))
    }
}

/// The settings of one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: Option<Addr>,
    pub mode: Mode,
    pub conns: usize,
    pub depth: usize,
    /// Payload bytes per frame, or the smallest of a range.
    pub size: usize,
    /// The largest payload of a range (`size` when there is none).
    pub size_max: usize,
    pub secs: f64,
    pub warmup: f64,
    pub threads: usize,
    pub server_pid: Option<u32>,
    /// The in-process server's busy-poll window (see `ReactorBuilder::busy_poll`).
    pub busy_poll: Option<Duration>,
    /// Messages per second in all: open loop.
    pub rate: Option<f64>,
    pub arrival: Arrival,
    /// The churn run's connections.
    pub churn: Option<Churn>,
    pub per_conn: usize,
    pub hgrm: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub report: Option<PathBuf>,
    /// `--tls`: speak TLS.
    pub tls: Option<TlsOptions>,
}

/// What `frameloop bench` runs.
#[derive(Debug)]
pub enum Plan {
    /// One run of `--size` (boxed: a sweep's list is much smaller).
    Single(Box<Options>),
    /// One run per size of `--sizes`, in their order.
    Sweep(Vec<Options>),
}

impl Plan {
    /// The runs `args` ask for; refuses what clap cannot see alone (an
    /// option the mode has no use for).
    pub fn new(args: &BenchArgs) -> Result<Self, String> {
        if args.sizes.is_empty() {
            return Options::new(args, args.size, false).map(|o| Plan::Single(Box::new(o)));
        }
        if args.mode == Mode::Idle {
            return Err("--sizes sweeps the throughput and pingpong modes; --mode idle takes one --size".into());
        }
        if args.hgrm.is_some() || args.json.is_some() || args.report.is_some() {
            return Err("--hgrm, --json and --report describe one run; a --sizes sweep prints its table".into());
        }
        args.sizes.iter().map(|&size| Options::new(args, (size, size), true)).collect::<Result<_, _>>().map(Plan::Sweep)
    }
}

impl Options {
    /// The settings of one run of `size`-byte frames, a sweep's if `sweep`:
    /// fills in the defaults that depend on the mode (and, in a sweep, on
    /// the size).
    fn new(args: &BenchArgs, (size, size_max): (usize, usize), sweep: bool) -> Result<Self, String> {
        let closed_churn = args.churn == Some(Churn::Max);
        let (default_conns, default_depth) = match args.mode {
            Mode::Throughput if sweep => {
                let class = size_class(size);
                (class.conns, class.depth)
            }
            Mode::Throughput if closed_churn => (CHURN_MAX_CONNS, THROUGHPUT_DEPTH),
            Mode::Throughput => (THROUGHPUT_CONNS, THROUGHPUT_DEPTH),
            Mode::PingPong => (1, 1),
            Mode::Idle => (10_000, 1),
        };
        let busy_poll = (args.busy_poll_us > 0).then(|| Duration::from_micros(args.busy_poll_us));
        if busy_poll.is_some() && args.mode == Mode::Idle {
            return Err("--busy-poll-us sets up the in-process server of the throughput and pingpong modes".into());
        }
        let open = args.rate.is_some() || args.churn.is_some();
        if open && args.mode != Mode::Throughput {
            return Err("--rate and --churn run the mio client: they take no --mode (or --mode throughput)".into());
        }
        if size_max != size && args.mode != Mode::Throughput {
            return Err("a --size range is for throughput, --rate and --churn runs; this mode takes one size".into());
        }
        if args.mode == Mode::Idle && (args.hgrm.is_some() || args.json.is_some() || args.report.is_some()) {
            return Err("--mode idle measures memory: it writes no --hgrm, --json or --report".into());
        }
        if args.arrival != Arrival::Constant && (!open || closed_churn) {
            return Err("--arrival spaces the messages of --rate or the connections of --churn R".into());
        }
        if closed_churn && args.conns.is_some_and(|n| n < args.threads) {
            return Err("--churn max keeps --conns connections open over --threads threads: give each one".into());
        }
        // An open-loop connection keeps one frame in flight unless told,
        // as wrk2 does: what is due while it waits is sent late, and counted.
        let default_depth = if args.rate.is_some() { 1 } else { default_depth };
        Ok(Options {
            addr: args.addr.as_deref().map(address).transpose()?,
            mode: args.mode,
            conns: args.conns.unwrap_or(default_conns),
            depth: if args.mode == Mode::Throughput { args.depth.unwrap_or(default_depth) } else { 1 },
            size,
            size_max,
            secs: args.secs,
            warmup: args.warmup,
            threads: args.threads,
            server_pid: args.server_pid,
            busy_poll,
            rate: args.rate,
            arrival: args.arrival,
            churn: args.churn,
            per_conn: args.per_conn,
            hgrm: args.hgrm.clone(),
            json: args.json.clone(),
            report: args.report.clone(),
            tls: TlsOptions::new(args)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_sizes_are_bytes_from_the_stamp_to_u32_max() {
        assert_eq!(payload_size("64"), Ok(64));
        assert_eq!(payload_size("1k"), Ok(1024));
        assert_eq!(payload_size("1K"), Ok(1024));
        assert_eq!(payload_size("64k"), Ok(64 << 10));
        assert_eq!(payload_size("1m"), Ok(1 << 20));
        assert_eq!(payload_size("12"), Ok(STAMP));
        assert!(payload_size("11").unwrap_err().contains("too small"));
        assert!(payload_size("0k").unwrap_err().contains("too small"));
        assert!(payload_size("1x").unwrap_err().contains("e.g. 64, 8k or 1m"));
        assert!(payload_size("4096m").unwrap_err().contains("too large"));
        assert_eq!(payload_size("4294967295").ok(), usize::try_from(u32::MAX).ok());
    }

    #[test]
    fn size_ranges_are_two_sizes_in_order() {
        assert_eq!(size_range("64"), Ok((64, 64)));
        assert_eq!(size_range("64..4k"), Ok((64, 4096)));
        assert_eq!(size_range("1k..1k"), Ok((1024, 1024)));
        assert!(size_range("4k..64").unwrap_err().contains("is empty"));
        assert!(size_range("8..64").unwrap_err().contains("too small"));
        assert!(size_range("64..").unwrap_err().contains("e.g. 64, 8k or 1m"));
        assert!(size_range("..64").is_err());
    }

    #[test]
    fn rates_are_positive_numbers() {
        assert_eq!(per_second("5000"), Ok(5000.0));
        assert_eq!(per_second("0.5"), Ok(0.5));
        for bad in ["0", "-1", "inf", "NaN", "fast", ""] {
            assert!(per_second(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sweep_loads_each_size_by_its_class() {
        let load = |size| {
            let c = size_class(size);
            (c.conns, c.depth)
        };
        assert_eq!(load(12), (100, 16));
        assert_eq!(load(64), (100, 16));
        assert_eq!(load(1 << 10), (100, 16));
        assert_eq!(load((8 << 10) - 1), (100, 16));
        assert_eq!(load(8 << 10), (50, 8));
        assert_eq!(load(32 << 10), (50, 8));
        assert_eq!(load(64 << 10), (10, 4));
        assert_eq!(load(1 << 20), (4, 2));
        assert_eq!(load(16 << 20), (4, 2));
        assert!(SIZE_CLASSES.windows(2).all(|w| w[0].from < w[1].from), "classes out of order");
    }

    #[test]
    fn the_sweep_help_lists_every_class() {
        let help = sizes_help();
        for class in ["below 8k: 100 x 16", "from 8k: 50 x 8", "from 64k: 10 x 4", "from 1m: 4 x 2"] {
            assert!(help.contains(class), "{class}: {help}");
        }
    }
}
