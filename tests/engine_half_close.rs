//! A peer that half-closes (sends, shuts down its sending side, reads to
//! the end) gets every reply: by default the connection closes once the
//! replies queued are written; a handler that answers later holds it open
//! for writing (`Handler::on_half_close`), within the half-close timeout.

mod common;

use std::net::Shutdown;
use std::time::{Duration, Instant};

use common::{connect, echo_server, frame, half_closing_peers, read_to_close, serve, write_frame, PATIENCE};
use frameloop::{CloseReason, ConnId, Ctx, HalfClose, Handler, ReactorBuilder, TimerId};

const PEERS: usize = 200;

fn messages(peer: usize) -> Vec<Vec<u8>> {
    (0..3).map(|i| format!("{peer}: message {i}").into_bytes()).collect()
}

#[test]
fn the_echo_answers_every_half_closed_peer() {
    let server = echo_server(ReactorBuilder::default());
    let lost = half_closing_peers(server.addr, PEERS, messages, messages);
    assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies");
}

/// Holds every half-closed connection and never answers.
struct Silent;

impl Handler for Silent {
    fn on_half_close(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId) -> HalfClose {
        HalfClose::Hold
    }

    fn on_frame(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId, _frame: &[u8]) {}
}

#[test]
fn a_held_connection_closes_by_itself_at_the_half_close_timeout() {
    let timeout = Duration::from_millis(300);
    let server = serve(ReactorBuilder::default().half_close_timeout(timeout), Silent);
    let mut c = connect(server.addr);
    write_frame(&mut c, b"anyone?");
    let start = Instant::now();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&mut c), b"", "nothing was sent");
    let waited = start.elapsed();
    assert!(waited >= timeout, "closed after {waited:?}, before the timeout");
    assert!(waited < PATIENCE, "held for {waited:?}");
    assert_eq!(server.next_close().1, CloseReason::HalfCloseTimeout);
}

/// Replies queued when the timeout strikes still go out.
struct AnswersOnceOnly;

impl Handler for AnswersOnceOnly {
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        ctx.send(conn, b"on my way out").unwrap();
        HalfClose::Hold
    }

    fn on_frame(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId, _frame: &[u8]) {}
}

#[test]
fn replies_queued_before_the_half_close_timeout_still_go_out() {
    let server = serve(ReactorBuilder::default().half_close_timeout(Duration::from_millis(100)), AnswersOnceOnly);
    let mut c = connect(server.addr);
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&mut c), frame(b"on my way out"));
    assert_eq!(server.next_close().1, CloseReason::HalfCloseTimeout);
}

/// Answers each message 20 ms later, from a timer, then closes: as a
/// handler that hands its work to another thread would.
#[derive(Default)]
struct Later {
    waiting: Vec<(TimerId, ConnId, Vec<u8>)>,
}

impl Handler for Later {
    fn on_half_close(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId) -> HalfClose {
        HalfClose::Hold
    }

    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let timer = ctx.set_timer(Duration::from_millis(20));
        self.waiting.push((timer, conn, frame.to_vec()));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        let Some(i) = self.waiting.iter().position(|(t, _, _)| *t == timer) else { return };
        let (_, conn, msg) = self.waiting.remove(i);
        ctx.send(conn, &msg).expect("a half-closed connection held open takes replies");
        if !self.waiting.iter().any(|(_, c, _)| *c == conn) {
            ctx.close(conn).unwrap();
        }
    }
}

#[test]
fn a_handler_that_answers_later_answers_every_half_closed_peer() {
    let server = serve(ReactorBuilder::default(), Later::default());
    let lost = half_closing_peers(server.addr, PEERS, messages, messages);
    assert_eq!(lost, 0, "{lost} of {PEERS} half-closed peers lost their replies");
    // The peer ended each connection: that is the reason, not this side's close.
    for _ in 0..PEERS {
        assert_eq!(server.next_close().1, CloseReason::PeerClosed);
    }
}
