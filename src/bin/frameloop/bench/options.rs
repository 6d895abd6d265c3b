//! The options of `frameloop bench` as clap reads them ([`BenchArgs`]), and
//! the settings they come to once the mode's defaults are filled in
//! ([`Options`]).

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;

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

/// A count of at least one.
fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

/// The options of `frameloop bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Drive this server instead of the in-process one (any echo of
    /// 4-byte-length frames).
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
    /// Connections [default: 100; pingpong: 1; idle: 10000].
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    conns: Option<usize>,
    /// Frames in flight per connection, throughput mode (the others keep one).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = at_least_one())]
    depth: usize,
    /// Payload bytes per frame, at least 12: each frame carries its
    /// connection id and sequence number.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 64,
        value_parser = RangedU64ValueParser::<usize>::new().range(STAMP as u64..=u64::from(u32::MAX)),
    )]
    size: usize,
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
    /// Client threads, throughput mode (pingpong has one per connection).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = at_least_one())]
    threads: usize,
    /// The in-process server busy-polls for up to N microseconds before it
    /// sleeps (0: off); throughput and pingpong modes.
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "addr")]
    busy_poll_us: u64,
}

/// The settings of one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: Option<SocketAddr>,
    pub mode: Mode,
    pub conns: usize,
    pub depth: usize,
    pub size: usize,
    pub secs: f64,
    pub warmup: f64,
    pub threads: usize,
    pub server_pid: Option<u32>,
    /// The in-process server's busy-poll window (see `ReactorBuilder::busy_poll`).
    pub busy_poll: Option<Duration>,
}

impl Options {
    /// Fills in the defaults that depend on the mode; refuses what clap
    /// cannot see alone (an option the mode has no use for).
    pub fn new(args: &BenchArgs) -> Result<Self, String> {
        let default_conns = match args.mode {
            Mode::Throughput => 100,
            Mode::PingPong => 1,
            Mode::Idle => 10_000,
        };
        let busy_poll = (args.busy_poll_us > 0).then(|| Duration::from_micros(args.busy_poll_us));
        if busy_poll.is_some() && args.mode == Mode::Idle {
            return Err("--busy-poll-us sets up the in-process server of the throughput and pingpong modes".into());
        }
        Ok(Options {
            addr: args.addr.as_deref().map(frameloop::resolve).transpose().map_err(|e| e.to_string())?,
            mode: args.mode,
            conns: args.conns.unwrap_or(default_conns),
            depth: if args.mode == Mode::Throughput { args.depth } else { 1 },
            size: args.size,
            secs: args.secs,
            warmup: args.warmup,
            threads: args.threads,
            server_pid: args.server_pid,
            busy_poll,
        })
    }
}
