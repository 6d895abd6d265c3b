//! `frameloop echo`: an echo server to try clients against.

use std::time::Duration;

use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};

use crate::args::Args;

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

pub fn run(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(raw, &["lines"])?;
    let addr = args.positional(0).unwrap_or("127.0.0.1:7000");
    let busy_poll_us: u64 = args.get("busy-poll-us", 0)?;
    let builder = Reactor::builder().busy_poll((busy_poll_us > 0).then(|| Duration::from_micros(busy_poll_us)));
    let builder = if args.flag("lines") { builder.lines() } else { builder };
    let mut reactor = builder.build().map_err(|e| e.to_string())?;
    let bound = reactor.listen(addr).map_err(|e| e.to_string())?;
    let format = if args.flag("lines") {
        format!("lines (try: nc {} {})", bound.ip(), bound.port())
    } else {
        "frames".to_owned()
    };
    println!("echo server on {bound}, speaking {format}; Ctrl-C stops it");
    reactor.run(&mut Echo).map_err(|e| e.to_string())
}
