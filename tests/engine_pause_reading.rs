//! `Ctx::pause_reading` / `resume_reading`: a paused connection hands over
//! nothing, held messages come first and in order once it resumes, TCP
//! flow control reaches the peer, and its deadlines stand still meanwhile.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Error, Handler, Reactor, TimerId};

/// How often a paused handler looks at whether the test lets it resume.
const CHECK: Duration = Duration::from_millis(5);

/// Pauses after every message and resumes on a short timer: each resume
/// lets exactly one message through. Reports each message, and whether it
/// arrived while its connection was paused (it never should).
struct OnePerResume {
    paused: Vec<(TimerId, ConnId)>,
    seen: Sender<(Vec<u8>, bool)>,
}

impl Handler for OnePerResume {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = self.seen.send((frame.to_vec(), ctx.is_reading_paused(conn)));
        let _ = ctx.send(conn, frame);
        ctx.pause_reading(conn).expect("pause an open connection");
        assert!(ctx.is_reading_paused(conn));
        self.paused.push((ctx.set_timer(Duration::from_millis(1)), conn));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        if let Some(i) = self.paused.iter().position(|&(t, _)| t == timer) {
            let (_, conn) = self.paused.swap_remove(i);
            ctx.resume_reading(conn).expect("resume an open connection");
        }
    }
}

#[test]
fn each_resume_hands_over_the_held_messages_one_at_a_time_in_order() {
    const N: u32 = 40;
    let (tx, seen) = mpsc::channel();
    let server = serve(Reactor::builder(), OnePerResume { paused: Vec::new(), seen: tx });
    let mut s = connect(server.addr);
    // All of them in one write: they arrive in one read, and every message
    // after the first is held back inside that read.
    let batch: Vec<u8> = (0..N).flat_map(|i| frame(&i.to_be_bytes())).collect();
    s.write_all(&batch).unwrap();
    for i in 0..N {
        assert_eq!(read_frame(&mut s), i.to_be_bytes(), "echo {i} out of order");
        let (msg, while_paused) = seen.recv_timeout(PATIENCE).expect("message handed over");
        assert_eq!(msg, i.to_be_bytes());
        assert!(!while_paused, "message {i} was handed over while its connection was paused");
    }
    assert!(seen.try_recv().is_err());
    let stats = server.stop();
    assert_eq!(stats.frames_in, u64::from(N));
}

/// Pauses a connection at its first message and keeps it paused until the
/// test says so; then checks every message's sequence number and answers
/// once `expected` have arrived in order.
struct Gate {
    open: Arc<AtomicBool>,
    expected: Arc<AtomicU32>,
    next: u32,
    conn: Option<ConnId>,
    timer: Option<TimerId>,
}

impl Handler for Gate {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let seq = u32::from_be_bytes(frame[..4].try_into().unwrap());
        if seq != self.next {
            let _ = ctx.send(conn, format!("out of order: {seq} after {}", self.next).as_bytes());
            let _ = ctx.close(conn);
            return;
        }
        self.next += 1;
        if seq == 0 && !self.open.load(Ordering::SeqCst) {
            ctx.pause_reading(conn).unwrap();
            self.conn = Some(conn);
            self.timer = Some(ctx.set_timer(CHECK));
        }
        if self.next == self.expected.load(Ordering::SeqCst) {
            let _ = ctx.send(conn, format!("{} in order", self.next).as_bytes());
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        if self.timer != Some(timer) {
            return;
        }
        match self.conn {
            Some(conn) if self.open.load(Ordering::SeqCst) => {
                ctx.resume_reading(conn).unwrap();
                self.timer = None;
            }
            _ => self.timer = Some(ctx.set_timer(CHECK)),
        }
    }
}

fn gate(builder: frameloop::ReactorBuilder) -> (TestServer, Arc<AtomicBool>, Arc<AtomicU32>) {
    let open = Arc::new(AtomicBool::new(false));
    let expected = Arc::new(AtomicU32::new(u32::MAX));
    let handler = Gate { open: Arc::clone(&open), expected: Arc::clone(&expected), next: 0, conn: None, timer: None };
    (serve(builder, handler), open, expected)
}

#[test]
fn a_paused_connection_makes_its_peer_wait_and_loses_nothing() {
    let (server, open, expected) = gate(Reactor::builder());
    let mut s = connect(server.addr);
    // 1 KiB messages until the peer is made to wait: with reading paused,
    // the server's receive buffer and then ours fill up.
    let (sent, pending) = flood_until_blocked(&mut s, 256 * 1024, |seq| {
        let mut payload = seq.to_be_bytes().to_vec();
        payload.resize(1024, 0xAB);
        frame(&payload)
    });
    expected.store(sent, Ordering::SeqCst);
    open.store(true, Ordering::SeqCst);
    s.write_all(&pending).unwrap();
    assert_eq!(read_frame(&mut s), format!("{sent} in order").as_bytes());
    let stats = server.stop();
    assert_eq!(stats.frames_in, u64::from(sent));
}

#[test]
fn deadlines_stand_still_while_paused_and_start_afresh_on_resume() {
    let timeout = Duration::from_millis(60);
    let builder = Reactor::builder().idle_timeout(Some(timeout)).frame_timeout(Some(timeout));
    let (server, open, expected) = gate(builder);
    let mut s = connect(server.addr);
    // Message 0 (which pauses reading), message 1 whole, and half of 2.
    let two = frame(&[2u32.to_be_bytes(), [7; 4]].concat());
    let mut first = [frame(&0u32.to_be_bytes()), frame(&1u32.to_be_bytes())].concat();
    first.extend_from_slice(&two[..5]);
    s.write_all(&first).unwrap();
    // Many times both timeouts: a connection that was not paused would be
    // closed as idle and as a slow sender long before this.
    assert!(
        server.closes.recv_timeout(timeout * 8).is_err(),
        "a paused connection was closed by a deadline meant for its peer"
    );
    expected.store(3, Ordering::SeqCst);
    open.store(true, Ordering::SeqCst);
    s.write_all(&two[5..]).unwrap();
    assert_eq!(read_frame(&mut s), b"3 in order");
    // Reading again, the deadlines run again: silence now is the peer's.
    let reason = server.wait_close(|_| true);
    assert_eq!(reason, CloseReason::IdleTimeout);
}

/// Reports what pausing and resuming return for a connection it has just
/// closed, and, on a later connection, for that one once it is gone.
struct PauseClosed {
    report: Sender<String>,
    earlier: Option<ConnId>,
}

impl Handler for PauseClosed {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
        match self.earlier {
            None => {
                ctx.close(conn).unwrap();
                let _ = self.report.send(format!("{:?}", ctx.pause_reading(conn)));
                let _ = self.report.send(format!("{:?}", ctx.resume_reading(conn)));
                self.earlier = Some(conn);
            }
            Some(gone) => {
                let what = match ctx.pause_reading(gone) {
                    Err(Error::UnknownConnection(id)) if id == gone => "unknown".to_owned(),
                    other => format!("{other:?}"),
                };
                let _ = self.report.send(what);
                assert!(!ctx.is_reading_paused(gone));
            }
        }
    }
}

#[test]
fn pausing_a_closing_or_gone_connection_is_an_error() {
    let (tx, rx) = mpsc::channel();
    let server = serve(Reactor::builder(), PauseClosed { report: tx, earlier: None });
    let mut first = connect(server.addr);
    write_frame(&mut first, b"x");
    let next = || rx.recv_timeout(PATIENCE).unwrap();
    assert!(next().contains("ConnectionClosed"));
    assert!(next().contains("ConnectionClosed"));
    assert!(read_to_close(&mut first).is_empty());
    server.next_close();
    let mut second = connect(server.addr);
    write_frame(&mut second, b"y");
    assert_eq!(next(), "unknown");
}
