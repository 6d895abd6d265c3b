//! `frameloop echo`: an echo server to try clients against.

use std::time::Duration;

use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};

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
    /// Busy-poll for up to N microseconds before sleeping (0: off).
    #[arg(long, value_name = "N", default_value_t = 0)]
    busy_poll_us: u64,
    /// Log closes with their reason and limits hit to stderr: -v info, -vv
    /// debug.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

struct Echo;

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        if let Ok(peer) = ctx.peer_addr(conn) {
            println!("{conn} opened from {peer}");
        }
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }

    fn on_close(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        println!("{conn} closed: {reason}");
    }
}

/// Serves until SIGINT or SIGTERM, then stops gracefully: no new
/// connections, what is queued is written, every connection closes.
pub fn run(args: &EchoArgs) -> Result<(), String> {
    logging::init(args.verbose);
    let busy_poll = (args.busy_poll_us > 0).then(|| Duration::from_micros(args.busy_poll_us));
    let builder = Reactor::builder().busy_poll(busy_poll).stop_on_signals();
    let builder = if args.lines {
        builder.lines()
    } else if args.raw {
        builder.raw()
    } else {
        builder
    };
    let mut reactor = builder.build().map_err(|e| e.to_string())?;
    let bound = reactor.listen(args.addr.as_str()).map_err(|e| e.to_string())?;
    let format = if args.lines {
        format!("lines (try: nc {} {})", bound.ip(), bound.port())
    } else if args.raw {
        format!("raw bytes (try: nc {} {})", bound.ip(), bound.port())
    } else {
        "frames".to_owned()
    };
    println!("echo server on {bound}, speaking {format}; Ctrl-C stops it");
    reactor.run(&mut Echo).map_err(|e| e.to_string())?;
    println!("echo server stopped");
    Ok(())
}
