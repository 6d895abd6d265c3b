//! How connections end: the peer half-closes, resets or stops mid-frame;
//! this side closes (after flushing) or aborts; the reactor stops
//! gracefully. And ids of connections that are gone stay harmless.

mod common;
mod support;

use std::io::Write;
use std::net::Shutdown;
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

use common::hostile::reset;
use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Error, Handler, Reactor};
use support::*;

#[test]
fn a_peer_that_half_closes_still_gets_every_reply_then_end_of_stream() {
    // 12 MiB of replies, more than the socket buffers hold (the client's
    // receive buffer is small): most are still queued when the server reads
    // the end of stream. The watermarks are set so that it reads on anyway.
    const FRAMES: u32 = 192;
    const LEN: usize = 64 * 1024;
    let builder = Reactor::builder().watermarks(1024 * 1024, 64 * 1024 * 1024).hard_cap(64 * 1024 * 1024);
    let server = echo_server(builder);
    let mut s = connect_small_window(server.addr, 16 * 1024);
    for seq in 0..FRAMES {
        write_frame(&mut s, &tagged(0, seq, LEN));
    }
    s.shutdown(Shutdown::Write).unwrap();
    let mut r = frame_reader(&s);
    for seq in 0..FRAMES {
        check_tagged(&read_buffered_frame(&mut r), 0, seq, LEN);
    }
    assert!(at_eof(&mut r), "more than the replies arrived");
    assert_eq!(server.next_close().1, CloseReason::PeerClosed);
}

/// The first half of a frame announcing 100 bytes.
fn half_a_frame() -> Vec<u8> {
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[1; 10]);
    bytes
}

#[test]
fn a_reset_in_the_middle_of_a_frame_closes_that_connection_only() {
    let server = echo_server(Reactor::builder());
    let mut bystander = connect(server.addr);
    write_frame(&mut bystander, b"before");
    assert_eq!(read_frame(&mut bystander), b"before");
    let mut s = connect(server.addr);
    s.write_all(&half_a_frame()).unwrap();
    reset(s);
    // Which one depends on whether the server read the half frame before
    // the reset arrived.
    let reason = server.next_close().1;
    assert!(
        matches!(reason, CloseReason::Reset | CloseReason::PeerClosedMidFrame { .. }),
        "unexpected close reason {reason:?}"
    );
    write_frame(&mut bystander, b"after");
    assert_eq!(read_frame(&mut bystander), b"after");
    assert_serves(server.addr);
}

#[test]
fn a_peer_that_closes_in_the_middle_of_a_frame_is_closed_with_the_bytes_it_left() {
    let server = echo_server(Reactor::builder());
    for partial in [half_a_frame(), vec![0, 0]] {
        let mut s = connect(server.addr);
        s.write_all(&partial).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_to_close(&mut s), b"");
        assert_eq!(server.next_close().1, CloseReason::PeerClosedMidFrame { buffered: partial.len() });
    }
    assert_serves(server.addr);
}

/// On `flood`, queues `FLOOD_FRAMES` frames of `FLOOD_LEN` bytes for the
/// sender, then stops the reactor.
struct FloodThenStop;

const FLOOD_FRAMES: u32 = 128;
const FLOOD_LEN: usize = 64 * 1024;

impl Handler for FloodThenStop {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame == b"flood" {
            for seq in 0..FLOOD_FRAMES {
                ctx.send(conn, &tagged(0, seq, FLOOD_LEN)).unwrap();
            }
            ctx.stop();
        } else {
            let _ = ctx.send(conn, frame);
        }
    }
}

#[test]
fn a_graceful_stop_delivers_everything_queued_before_closing_and_run_returns() {
    // The deadline of the stop is far beyond what the slow reader needs.
    let server = serve(Reactor::builder().shutdown_timeout(Duration::from_secs(60)), FloodThenStop);
    let mut other = connect(server.addr);
    write_frame(&mut other, b"here");
    assert_eq!(read_frame(&mut other), b"here");
    let mut s = connect(server.addr);
    write_frame(&mut s, b"flood");
    // Slowly but steadily: 8 MiB stay queued for a while.
    let mut r = frame_reader(&s);
    for seq in 0..FLOOD_FRAMES {
        check_tagged(&read_buffered_frame(&mut r), 0, seq, FLOOD_LEN);
        thread::sleep(Duration::from_millis(2));
    }
    assert!(at_eof(&mut r), "more than the queued frames arrived");
    assert_eq!(read_to_close(&mut other), b"");
    let stats = server.wait_stopped();
    assert_eq!(stats.closed_locally, 2, "both connections close for the stop");
}

#[test]
fn a_graceful_stop_gives_up_on_a_peer_that_never_reads_at_the_shutdown_timeout() {
    let server = serve(Reactor::builder().shutdown_timeout(Duration::from_millis(300)), FloodThenStop);
    let mut s = connect_small_window(server.addr, 4096);
    write_frame(&mut s, b"flood");
    // Nothing is read: the 8 MiB cannot drain, the deadline ends the wait.
    assert_eq!(server.next_close().1, CloseReason::Shutdown);
    server.wait_stopped();
}

/// What the handler of the close tests saw: named checks that must hold.
type Checks = Vec<(&'static str, bool)>;

fn assert_checks(checks: Checks) {
    let failed: Vec<_> = checks.iter().filter(|(_, ok)| !ok).map(|(name, _)| name).collect();
    assert!(failed.is_empty(), "failed: {failed:?}");
}

/// `close-me`: queues 4 MiB, closes, then checks what a closing connection
/// refuses. `abort-me`: queues 1 MiB and aborts. `remember`: keeps the
/// sender's id. `poke-old`: acts on the remembered id (gone by then) and
/// reports. Everything else is echoed. `on_close` reports what a closed id
/// allows.
struct Ops {
    old: Option<ConnId>,
    report: Sender<Checks>,
}

fn is_closed_err<T>(r: Result<T, Error>, conn: ConnId) -> bool {
    matches!(r, Err(Error::ConnectionClosed(id)) if id == conn)
}

fn is_unknown_err<T>(r: Result<T, Error>, conn: ConnId) -> bool {
    matches!(r, Err(Error::UnknownConnection(id)) if id == conn)
}

impl Handler for Ops {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        match frame {
            b"close-me" => {
                for seq in 0..64 {
                    ctx.send(conn, &tagged(0, seq, 64 * 1024)).unwrap();
                }
                let closed = ctx.close(conn).is_ok();
                let checks = vec![
                    ("close succeeds", closed),
                    ("send after close is refused", is_closed_err(ctx.send(conn, b"late"), conn)),
                    ("a second close is harmless", ctx.close(conn).is_ok()),
                    ("a closing connection is not open", !ctx.is_open(conn)),
                ];
                let _ = self.report.send(checks);
            }
            b"abort-me" => {
                ctx.send(conn, &[0; 1024 * 1024]).unwrap();
                let aborted = ctx.abort(conn).is_ok();
                let checks = vec![
                    ("abort succeeds", aborted),
                    ("send after abort is refused", is_closed_err(ctx.send(conn, b"late"), conn)),
                    ("abort after abort is refused", is_closed_err(ctx.abort(conn), conn)),
                    ("close after abort is refused", is_closed_err(ctx.close(conn), conn)),
                ];
                let _ = self.report.send(checks);
            }
            b"remember" => {
                self.old = Some(conn);
                let _ = ctx.send(conn, b"remembered");
            }
            b"poke-old" => {
                let old = self.old.expect("remember first");
                let checks = vec![
                    ("the slot was reused", old.index() == conn.index() && old != conn),
                    ("send", is_unknown_err(ctx.send(old, b"ghost"), old)),
                    ("close", is_unknown_err(ctx.close(old), old)),
                    ("abort", is_unknown_err(ctx.abort(old), old)),
                    ("peer_addr", is_unknown_err(ctx.peer_addr(old), old)),
                    ("queued", is_unknown_err(ctx.queued(old), old)),
                    ("is_open", !ctx.is_open(old)),
                    ("the new connection is untouched", ctx.is_open(conn) && ctx.queued(conn).ok() == Some(0)),
                ];
                let _ = self.report.send(checks);
                let _ = ctx.send(conn, b"poked");
            }
            _ => {
                let _ = ctx.send(conn, frame);
            }
        }
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _reason: CloseReason) {
        let checks = vec![
            ("send during on_close is refused", is_closed_err(ctx.send(conn, b"bye"), conn)),
            ("peer_addr works during on_close", ctx.peer_addr(conn).is_ok()),
        ];
        let _ = self.report.send(checks);
    }
}

fn ops_server() -> (TestServer, mpsc::Receiver<Checks>) {
    let (tx, rx) = mpsc::channel();
    (serve(Reactor::builder(), Ops { old: None, report: tx }), rx)
}

fn next_checks(rx: &mpsc::Receiver<Checks>) {
    assert_checks(rx.recv_timeout(PATIENCE).expect("no report from the handler"));
}

#[test]
fn close_writes_everything_queued_then_closes() {
    let (server, checks) = ops_server();
    let mut s = connect(server.addr);
    write_frame(&mut s, b"close-me");
    next_checks(&checks);
    let mut r = frame_reader(&s);
    for seq in 0..64 {
        check_tagged(&read_buffered_frame(&mut r), 0, seq, 64 * 1024);
    }
    assert!(at_eof(&mut r), "more than the queued frames arrived");
    assert_eq!(server.next_close().1, CloseReason::ClosedLocally);
    next_checks(&checks);
}

#[test]
fn abort_drops_everything_queued_and_closes_at_once() {
    let (server, checks) = ops_server();
    let mut s = connect(server.addr);
    write_frame(&mut s, b"abort-me");
    next_checks(&checks);
    assert_eq!(read_to_close(&mut s), b"", "aborted output was written");
    assert_eq!(server.next_close().1, CloseReason::Aborted);
    next_checks(&checks);
}

#[test]
fn the_id_of_a_closed_connection_is_refused_and_never_reaches_the_connection_that_reuses_its_slot() {
    let (server, checks) = ops_server();
    let mut old = connect(server.addr);
    write_frame(&mut old, b"remember");
    assert_eq!(read_frame(&mut old), b"remembered");
    drop(old);
    assert_eq!(server.next_close().1, CloseReason::PeerClosed);
    next_checks(&checks);
    // The only connection now: it gets the slot the old one had.
    let mut new = connect(server.addr);
    write_frame(&mut new, b"poke-old");
    next_checks(&checks);
    assert_eq!(read_frame(&mut new), b"poked");
    write_frame(&mut new, b"hello");
    assert_eq!(read_frame(&mut new), b"hello", "something else reached the new connection");
    assert!(server.closes.try_recv().is_err(), "the new connection was closed");
}
