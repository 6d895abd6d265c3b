//! Bad bytes on the wire: each costs the peer that sent them its own
//! connection, with the reason that names the fault, and the server goes on
//! serving.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use frameloop::codec::frame;
use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};

#[test]
fn a_header_one_above_the_limit_closes_that_connection_and_no_other() {
    let server = echo_server(Reactor::builder().max_frame_len(1024));
    let mut bystander = connect(server.addr);
    write_frame(&mut bystander, &[1; 1024]);
    assert_eq!(read_frame(&mut bystander), [1; 1024], "a frame of exactly the limit is fine");

    let mut attacker = connect(server.addr);
    attacker.write_all(&1025u32.to_be_bytes()).unwrap();
    assert_eq!(server.next_close().1, CloseReason::FrameTooLarge { len: 1025, max: 1024 });
    assert!(read_to_close(&mut attacker).is_empty());

    write_frame(&mut bystander, b"after");
    assert_eq!(read_frame(&mut bystander), b"after");
    assert_serves(server.addr);
}

#[test]
fn a_u32_max_header_is_rejected_at_once_without_waiting_for_its_body() {
    let server = echo_server(Reactor::builder());
    let mut attacker = connect(server.addr);
    attacker.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let reason = server.next_close().1;
    assert_eq!(reason, CloseReason::FrameTooLarge { len: u64::from(u32::MAX), max: frame::DEFAULT_MAX_LEN });
    assert!(read_to_close(&mut attacker).is_empty());
    assert_serves(server.addr);
}

#[test]
fn a_u32_max_header_under_the_largest_limit_waits_for_bytes_and_ends_as_a_partial_frame() {
    // With the limit at its largest the header is legal: the server must
    // wait for the body, holding only the bytes that came, not 4 GiB.
    let server = echo_server(Reactor::builder().max_frame_len(frame::MAX_REPRESENTABLE_LEN));
    let mut attacker = connect(server.addr);
    attacker.write_all(&u32::MAX.to_be_bytes()).unwrap();
    attacker.write_all(&[7; 100]).unwrap();
    assert_serves(server.addr);
    assert_eq!(server.next_close().1, CloseReason::PeerClosed, "the probe's own close");
    attacker.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.next_close().1, CloseReason::PeerClosedMidFrame { buffered: 104 });
    assert!(read_to_close(&mut attacker).is_empty());
}

#[test]
fn zero_length_frames_are_legal_and_echoed_one_for_one() {
    let server = echo_server(Reactor::builder());
    let mut s = connect(server.addr);
    let mut wire = Vec::new();
    for _ in 0..1000 {
        wire.extend_from_slice(&frame(b""));
    }
    wire.extend_from_slice(&frame(b"tail"));
    s.write_all(&wire).unwrap();
    for i in 0..1000 {
        assert!(read_frame(&mut s).is_empty(), "frame {i}");
    }
    assert_eq!(read_frame(&mut s), b"tail");
    s.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_close(&mut s).is_empty());
    assert_eq!(server.next_close().1, CloseReason::PeerClosed);
    assert_serves(server.addr);
}

/// What an echo server with frames of at most `max` bytes must do with
/// `wire` followed by the end of the stream: the bytes it echoes and why it
/// closes.
fn expected_outcome(mut wire: &[u8], max: usize) -> (Vec<u8>, CloseReason) {
    let mut echo = Vec::new();
    loop {
        match frame::decode(wire, max) {
            Ok(Some((payload, used))) => {
                frame::encode(payload, &mut echo).unwrap();
                wire = &wire[used..];
            }
            Ok(None) if wire.is_empty() => return (echo, CloseReason::PeerClosed),
            Ok(None) => return (echo, CloseReason::PeerClosedMidFrame { buffered: wire.len() }),
            Err(e) => return (echo, e.into()),
        }
    }
}

/// A mix of valid frames and garbage: pure noise, frames then noise, frames
/// then a truncated frame, or frames alone.
fn hostile_stream(rng: &mut XorShift, max: usize) -> Vec<u8> {
    let mode = rng.below(4);
    let mut wire = Vec::new();
    if mode != 0 {
        for _ in 0..rng.below(6) {
            let len = rng.below(300) as usize;
            frame::encode(&rng.bytes(len), &mut wire).unwrap();
        }
    }
    match mode {
        0 | 1 => {
            let len = 1 + rng.below(2048) as usize;
            wire.extend_from_slice(&rng.bytes(len));
        }
        2 => {
            let len = 1 + rng.below(max as u64) as usize;
            let partial = rng.below(len as u64) as usize;
            wire.extend_from_slice(&(len as u32).to_be_bytes());
            wire.extend_from_slice(&rng.bytes(partial));
        }
        _ => {}
    }
    wire
}

#[test]
fn random_garbage_on_many_connections_closes_each_for_its_own_fault_and_echoes_what_was_valid() {
    const CONNS: usize = 200;
    const MAX: usize = 1024;
    let (server, closes) = serve_by_port(Reactor::builder().max_frame_len(MAX), Echo);
    let mut rng = XorShift::new(0x5eed_0005);
    let mut clients: Vec<_> = (0..CONNS).map(|_| (connect(server.addr), hostile_stream(&mut rng, MAX))).collect();

    // Half of each stream, then the rest: the server sees frames straddle
    // reads, on many connections at once.
    for (s, wire) in &mut clients {
        write_quietly(s, &wire[..wire.len() / 2]);
    }
    for (s, wire) in &mut clients {
        write_quietly(s, &wire[wire.len() / 2..]);
        let _ = s.shutdown(Shutdown::Write);
    }

    let ports: HashSet<u16> = clients.iter().map(|(s, _)| port_of(s)).collect();
    let reasons = closes_of(&closes, &ports);
    let mut tally: HashMap<&'static str, usize> = HashMap::new();
    for (i, (s, wire)) in clients.iter_mut().enumerate() {
        let (echo, want) = expected_outcome(wire, MAX);
        let got = read_to_close(s);
        assert_eq!(reasons[&port_of(s)], want, "client {i}");
        if let CloseReason::FrameTooLarge { .. } = want {
            // An abort drops replies not yet written: a prefix may arrive.
            assert!(echo.starts_with(&got), "echo is not a prefix of what was valid");
            *tally.entry("bad input").or_default() += 1;
        } else {
            assert_eq!(got, echo, "a peer that ended cleanly gets every reply");
            *tally.entry("ended").or_default() += 1;
        }
    }
    assert!(tally.len() == 2, "both kinds of ending were exercised: {tally:?}");
    assert_serves(server.addr);
}

#[test]
fn a_partial_frame_then_end_of_stream_closes_as_peer_closed_mid_frame() {
    let (server, closes) = serve_by_port(Reactor::builder(), Echo);
    let mut body_cut = connect(server.addr);
    body_cut.write_all(&[0, 0, 0, 100]).unwrap();
    body_cut.write_all(&[9; 10]).unwrap();
    let mut header_cut = connect(server.addr);
    header_cut.write_all(&[0, 0]).unwrap();
    for s in [&body_cut, &header_cut] {
        s.shutdown(Shutdown::Write).unwrap();
    }
    let ports = HashSet::from([port_of(&body_cut), port_of(&header_cut)]);
    let reasons = closes_of(&closes, &ports);
    assert_eq!(reasons[&port_of(&body_cut)], CloseReason::PeerClosedMidFrame { buffered: 14 });
    assert_eq!(reasons[&port_of(&header_cut)], CloseReason::PeerClosedMidFrame { buffered: 2 });
    assert!(read_to_close(&mut body_cut).is_empty());
    assert!(read_to_close(&mut header_cut).is_empty());
    assert_serves(server.addr);
}

#[test]
fn a_reset_in_the_middle_of_a_frame_closes_as_reset() {
    let server = serve(Reactor::builder(), Probed(Echo));
    let mut s = connect(server.addr);
    s.write_all(&[0, 0, 0, 100]).unwrap();
    s.write_all(&[9; 10]).unwrap();
    // Make sure the partial frame is in the server's hands before the reset.
    let mut prober = connect(server.addr);
    probe_until(&mut prober, "read the partial frame", |c| c.bytes_in >= 14);
    reset(s);
    assert_eq!(server.next_close().1, CloseReason::Reset);
    drop(prober);
    assert_serves(server.addr);
}

/// Answers every request with a large reply, and records how much output
/// was still queued for the peer when the next reply was added: more than
/// zero means the kernel's buffers toward it are full.
struct BigReplies {
    backlog: Arc<AtomicUsize>,
}

impl Handler for BigReplies {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
        let queued = ctx.queued(conn).unwrap_or(0);
        self.backlog.fetch_max(queued, Ordering::SeqCst);
        let _ = ctx.send(conn, &[0x5a; 256 * 1024]);
    }
}

#[test]
fn a_reset_while_the_server_is_writing_closes_as_reset() {
    let backlog = Arc::new(AtomicUsize::new(0));
    // A cap far above what the test queues: the close must be the reset's.
    let builder = Reactor::builder().hard_cap(256 * 1024 * 1024);
    let server = serve(builder, BigReplies { backlog: Arc::clone(&backlog) });
    let mut s = connect(server.addr);
    let deadline = Instant::now() + PATIENCE;
    while backlog.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the server never had output waiting");
        // Small requests, replies never read. Once the server stops reading
        // (backpressure) these wait in the kernel; the loop stays bounded.
        write_frame(&mut s, b"more");
        std::thread::sleep(Duration::from_millis(10));
    }
    reset(s);
    assert_eq!(server.next_close().1, CloseReason::Reset);
    let mut fresh = connect(server.addr);
    write_frame(&mut fresh, b"one");
    assert_eq!(read_frame(&mut fresh).len(), 256 * 1024);
    drop(fresh);
    assert_eq!(server.stop().closed_by_error, 1);
}
