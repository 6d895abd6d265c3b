//! The options of `frameloop bench` as clap reads them ([`BenchArgs`]), and
//! the settings they come to once the mode's defaults are filled in
//! ([`Options`]): one run, or one per size of a `--sizes` sweep ([`Plan`]).

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
    /// Connections [default: 100; pingpong: 1; idle: 10000; a sweep: by
    /// size, see --sizes].
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    conns: Option<usize>,
    /// Frames in flight per connection, throughput mode (the others keep
    /// one) [default: 16; a sweep: by size, see --sizes].
    // No `default_value_t`: a sweep must tell a --depth given from none.
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    depth: Option<usize>,
    /// Payload bytes per frame, at least 12 (each frame carries its
    /// connection id and sequence number); k and m suffixes count 1024 and
    /// 1024 x 1024: 64k, 1m.
    #[arg(long, value_name = "BYTES", default_value = "64", value_parser = payload_size)]
    size: usize,
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

/// What `frameloop bench` runs.
#[derive(Debug)]
pub enum Plan {
    /// One run of `--size`.
    Single(Options),
    /// One run per size of `--sizes`, in their order.
    Sweep(Vec<Options>),
}

impl Plan {
    /// The runs `args` ask for; refuses what clap cannot see alone (an
    /// option the mode has no use for).
    pub fn new(args: &BenchArgs) -> Result<Self, String> {
        if args.sizes.is_empty() {
            return Options::new(args, args.size, false).map(Plan::Single);
        }
        if args.mode == Mode::Idle {
            return Err("--sizes sweeps the throughput and pingpong modes; --mode idle takes one --size".into());
        }
        args.sizes.iter().map(|&size| Options::new(args, size, true)).collect::<Result<_, _>>().map(Plan::Sweep)
    }
}

impl Options {
    /// The settings of one run of `size`-byte frames, a sweep's if `sweep`:
    /// fills in the defaults that depend on the mode (and, in a sweep, on
    /// the size).
    fn new(args: &BenchArgs, size: usize, sweep: bool) -> Result<Self, String> {
        let (default_conns, default_depth) = match args.mode {
            Mode::Throughput if sweep => {
                let class = size_class(size);
                (class.conns, class.depth)
            }
            Mode::Throughput => (THROUGHPUT_CONNS, THROUGHPUT_DEPTH),
            Mode::PingPong => (1, 1),
            Mode::Idle => (10_000, 1),
        };
        let busy_poll = (args.busy_poll_us > 0).then(|| Duration::from_micros(args.busy_poll_us));
        if busy_poll.is_some() && args.mode == Mode::Idle {
            return Err("--busy-poll-us sets up the in-process server of the throughput and pingpong modes".into());
        }
        Ok(Options {
            addr: args.addr.as_deref().map(frameloop::resolve).transpose().map_err(|e| e.to_string())?,
            mode: args.mode,
            conns: args.conns.unwrap_or(default_conns),
            depth: if args.mode == Mode::Throughput { args.depth.unwrap_or(default_depth) } else { 1 },
            size,
            secs: args.secs,
            warmup: args.warmup,
            threads: args.threads,
            server_pid: args.server_pid,
            busy_poll,
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
