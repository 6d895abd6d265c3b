//! The limits that keep one peer from costing more than its own connection:
//! frame length, the write buffer's hard cap and watermarks, the number of
//! connections, the idle timeout, and pausing the accepting of new peers.

mod common;
mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::hostile::{probe_until, Probed};
use common::*;
use frameloop::codec::frame::DEFAULT_MAX_LEN;
use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
use support::*;

fn round_trip(s: &mut TcpStream, payload: &[u8]) {
    write_frame(s, payload);
    assert_eq!(read_frame(s), payload);
}

#[test]
fn an_oversized_header_closes_only_that_connection_with_frame_too_large() {
    const MAX: usize = 1024;
    let server = echo_server(Reactor::builder().max_frame_len(MAX));
    let mut bystander = connect(server.addr);
    round_trip(&mut bystander, b"before");
    for len in [MAX as u64 + 1, u64::from(u32::MAX)] {
        let mut bad = connect(server.addr);
        // The header alone is refused: the body is never waited for.
        bad.write_all(&(len as u32).to_be_bytes()).unwrap();
        assert_eq!(read_to_close(&mut bad), b"", "the server answered an oversized frame");
        assert_eq!(server.next_close().1, CloseReason::FrameTooLarge { len, max: MAX });
        round_trip(&mut bystander, b"after");
    }
    // Exactly the maximum is still a frame.
    round_trip(&mut bystander, &[7; MAX]);
    drop(bystander);
    let stats = server.stop();
    assert_eq!(stats.closed_bad_input, 2);
}

#[test]
fn a_header_one_past_the_default_maximum_is_refused_with_the_default_in_the_reason() {
    let server = echo_server(Reactor::builder());
    let mut bad = connect(server.addr);
    let len = DEFAULT_MAX_LEN as u64 + 1;
    bad.write_all(&(len as u32).to_be_bytes()).unwrap();
    assert_eq!(read_to_close(&mut bad), b"");
    assert_eq!(server.next_close().1, CloseReason::FrameTooLarge { len, max: DEFAULT_MAX_LEN });
    assert_serves(server.addr);
}

/// `sub` subscribes a connection; `pump` sends a 32 KiB blob to every
/// subscriber and answers `pumped`; anything else is echoed.
struct Pump {
    subscribers: Vec<ConnId>,
    blob: Vec<u8>,
}

impl Handler for Pump {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        match frame {
            b"sub" => {
                self.subscribers.push(conn);
                let _ = ctx.send(conn, b"subscribed");
            }
            b"pump" => {
                for &s in &self.subscribers {
                    let _ = ctx.send(s, &self.blob);
                }
                let _ = ctx.send(conn, b"pumped");
            }
            _ => {
                let _ = ctx.send(conn, frame);
            }
        }
    }

    fn on_close(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId, _reason: CloseReason) {
        self.subscribers.retain(|&s| s != conn);
    }
}

#[test]
fn a_reader_that_stops_reading_is_closed_at_the_hard_cap_while_the_others_are_served() {
    let handler = Pump { subscribers: Vec::new(), blob: vec![0xAB; 32 * 1024] };
    let server = serve(Reactor::builder().hard_cap(256 * 1024), handler);
    let mut stalled = connect_small_window(server.addr, 4096);
    round_trip(&mut stalled, b"hello");
    write_frame(&mut stalled, b"sub");
    assert_eq!(read_frame(&mut stalled), b"subscribed");
    // From here on `stalled` reads nothing until the server gives up on it.
    let mut pumper = connect(server.addr);
    let mut bystander = connect(server.addr);
    // 2000 pumps queue 64 MiB: far more than the cap and the socket
    // buffers together.
    let deadline = Instant::now() + PATIENCE;
    let mut served_during_stall = 0;
    let reason = loop {
        if let Ok((_, reason)) = server.closes.try_recv() {
            break reason;
        }
        assert!(served_during_stall < 2000 && Instant::now() < deadline, "the stalled reader was not closed");
        // Both other connections are answered while the stalled one's
        // output piles up.
        write_frame(&mut pumper, b"pump");
        assert_eq!(read_frame(&mut pumper), b"pumped");
        round_trip(&mut bystander, &tagged(1, served_during_stall, 100));
        served_during_stall += 1;
    };
    assert_eq!(reason, CloseReason::SlowConsumer);
    assert!(served_during_stall > 0);
    // The stalled reader finds its connection closed once it reads again.
    stalled.set_read_timeout(Some(PATIENCE)).unwrap();
    let _ = read_to_close(&mut stalled);
    round_trip(&mut bystander, b"after");
    write_frame(&mut pumper, b"pump");
    assert_eq!(read_frame(&mut pumper), b"pumped");
    drop((pumper, bystander));
    let stats = server.stop();
    assert_eq!(stats.closed_slow_consumer, 1);
}

const REQUEST_LEN: usize = 1024;
const REPLY_LEN: usize = 8 * 1024;
const LOW: usize = 64 * 1024;
const HIGH: usize = 256 * 1024;

/// Answers each request (its first 4 bytes a sequence number) with an 8 KiB
/// reply; counts `on_drain` calls.
struct Amplify {
    drains: Arc<AtomicUsize>,
}

impl Handler for Amplify {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let seq = u32::from_be_bytes(frame[4..8].try_into().unwrap());
        let _ = ctx.send(conn, &tagged(0, seq, REPLY_LEN));
    }

    fn on_drain(&mut self, _ctx: &mut Ctx<'_>, _conn: ConnId) {
        self.drains.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_peer_that_reads_slowly_is_paused_at_the_high_watermark_and_loses_nothing() {
    // 16 MiB of replies: more than the socket buffers hold, far less than
    // the default hard cap (the watermarks keep it well below).
    const REQUESTS: u32 = 2000;
    let drains = Arc::new(AtomicUsize::new(0));
    let handler = Probed(Amplify { drains: Arc::clone(&drains) });
    let server = serve(Reactor::builder().watermarks(LOW, HIGH), handler);
    let client = connect_small_window(server.addr, 16 * 1024);
    let writer = {
        let mut w = client.try_clone().unwrap();
        thread::spawn(move || {
            for seq in 0..REQUESTS {
                write_frame(&mut w, &tagged(0, seq, REQUEST_LEN));
            }
        })
    };
    // Read nothing until the server has stopped reading this peer.
    let mut observer = connect(server.addr);
    probe_until(&mut observer, "pause the slow reader", |c| c.backpressure_pauses > 0);
    let mut r = frame_reader(&client);
    for seq in 0..REQUESTS {
        check_tagged(&read_buffered_frame(&mut r), 0, seq, REPLY_LEN);
    }
    writer.join().unwrap();
    drop((r, client, observer));
    let stats = server.stop();
    assert!(stats.backpressure_pauses > 0);
    assert_eq!(stats.closed_slow_consumer, 0);
    assert!(drains.load(Ordering::SeqCst) > 0, "on_drain was never called");
}

/// Answers every request, whatever it is, with 1 KiB.
struct KiloReply;

impl Handler for KiloReply {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
        let _ = ctx.send(conn, &[5; 1024]);
    }
}

#[test]
fn a_burst_of_tiny_requests_with_large_replies_is_paused_at_the_high_watermark_not_closed() {
    // 20,000 empty frames: 80 KB that one read can take whole, asking for
    // 20 MiB of replies, past the default hard cap of 16 MiB. Delivery must
    // pause at the high watermark within a read, not only between reads.
    const REQUESTS: usize = 20_000;
    let server = serve(Reactor::builder(), KiloReply);
    let s = connect(server.addr);
    let burst: Vec<u8> = (0..REQUESTS).flat_map(|_| frame(b"")).collect();
    let writer = {
        let mut w = s.try_clone().unwrap();
        thread::spawn(move || w.write_all(&burst).expect("write burst"))
    };
    let mut r = frame_reader(&s);
    for i in 0..REQUESTS {
        assert_eq!(read_buffered_frame(&mut r), [5; 1024], "reply {i}");
    }
    writer.join().unwrap();
    drop((r, s));
    let stats = server.stop();
    assert_eq!(stats.closed_slow_consumer, 0);
    assert!(stats.backpressure_pauses > 0);
}

#[test]
fn past_max_connections_a_client_is_accepted_and_closed_at_once_and_served_once_a_slot_frees() {
    let server = echo_server(Reactor::builder().max_connections(2));
    let mut first = connect(server.addr);
    let mut second = connect(server.addr);
    round_trip(&mut first, b"one");
    round_trip(&mut second, b"two");
    let mut third = connect(server.addr);
    assert_eq!(read_to_close(&mut third), b"", "the third client was not closed at once");
    round_trip(&mut second, b"two, still");
    drop(first);
    assert_eq!(server.next_close().1, CloseReason::PeerClosed);
    assert_serves(server.addr);
    drop(second);
    let stats = server.stop();
    assert_eq!(stats.rejected_over_limit, 1);
    assert_eq!(stats.accepted, 3);
}

#[test]
fn while_accepting_is_paused_a_new_client_is_not_answered_until_it_resumes() {
    let server = serve(Reactor::builder(), AcceptControl);
    let mut control = connect(server.addr);
    round_trip(&mut control, b"pause");
    // The system completes the handshake; the reactor leaves it waiting.
    let mut newcomer = connect(server.addr);
    write_frame(&mut newcomer, b"anyone?");
    assert_silent(&mut newcomer, Duration::from_millis(300));
    round_trip(&mut control, b"resume");
    assert_eq!(read_frame(&mut newcomer), b"anyone?");
    assert_serves(server.addr);
}

/// Echoes everything but `ping`, which it takes in silence: a connection
/// that only sends is active too.
struct QuietPing;

impl Handler for QuietPing {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame != b"ping" {
            let _ = ctx.send(conn, frame);
        }
    }
}

#[test]
fn the_idle_timeout_closes_an_idle_connection_while_an_active_one_survives_it() {
    const IDLE: Duration = Duration::from_millis(500);
    let server = serve(Reactor::builder().idle_timeout(Some(IDLE)), QuietPing);
    let mut idle = connect(server.addr);
    let mut active = connect(server.addr);
    round_trip(&mut idle, b"then nothing");
    round_trip(&mut active, b"then pings");
    // A ping every 50 ms, for four idle timeouts.
    let start = Instant::now();
    while start.elapsed() < IDLE * 4 {
        write_frame(&mut active, b"ping");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(read_to_close(&mut idle), b"");
    assert_eq!(server.next_close().1, CloseReason::IdleTimeout);
    assert!(server.closes.try_recv().is_err(), "the active connection was closed too");
    round_trip(&mut active, b"still here");
}

#[test]
fn replies_to_valid_frames_before_a_bad_header_are_delivered_before_the_close() {
    let server = echo_server(Reactor::builder().max_frame_len(1024));
    let mut s = connect(server.addr);
    // Three good frames and an oversized header, in one write: one read.
    let mut burst = Vec::new();
    for payload in [&b"one"[..], b"two", b"three"] {
        burst.extend_from_slice(&frame(payload));
    }
    burst.extend_from_slice(&2000u32.to_be_bytes());
    s.write_all(&burst).unwrap();
    for payload in [&b"one"[..], b"two", b"three"] {
        assert_eq!(read_frame(&mut s), payload);
    }
    assert!(read_to_close(&mut s).is_empty(), "nothing after the replies but the close");
    server.wait_close(|r| matches!(r, CloseReason::FrameTooLarge { len: 2000, max: 1024 }));
    assert_serves(server.addr);
}
