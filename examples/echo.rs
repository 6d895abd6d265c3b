//! A framed echo server on the engine: every frame goes back to its sender.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000
//! ```
//!
//! Frames are a 4-byte big-endian length and the payload (tokio-util's
//! `LengthDelimitedCodec` default), so `frameloop bench --addr 127.0.0.1:7000`
//! or any tokio client can drive it. Ctrl-C or SIGTERM stops it gracefully:
//! it stops accepting, writes every reply already queued, closes the
//! connections and exits with status 0.

use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};

struct Echo;

impl Handler for Echo {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        // An error means the connection is already gone: nothing to answer.
        let _ = ctx.send(conn, frame);
    }

    fn on_close(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        if reason.is_peer_fault() {
            eprintln!("{conn} dropped: {reason}");
        }
    }
}

fn main() -> Result<(), frameloop::Error> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let mut reactor = Reactor::builder().stop_on_signals().build()?;
    let bound = reactor.listen(addr.as_str())?;
    println!("echo server listening on {bound}");
    reactor.run(&mut Echo)
}
