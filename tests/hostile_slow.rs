//! Peers that are slow on purpose, and the deadlines that bound them: the
//! whole-message deadline (slowloris) and the graceful stop's drain.

mod common;

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};

const DEADLINE: Duration = Duration::from_millis(500);

/// Sends one byte of a 100-byte frame every 100 ms, until the server closes
/// the connection or the frame is complete. Returns how many bytes it sent
/// and whether the server closed it.
fn drip(mut s: TcpStream) -> (usize, bool) {
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let wire = frame(&[b'd'; 100]);
    let mut buf = [0u8; 256];
    for (sent, byte) in wire.iter().enumerate() {
        if s.write_all(std::slice::from_ref(byte)).is_err() {
            return (sent, true);
        }
        // The read doubles as the pause between bytes.
        match s.read(&mut buf) {
            Ok(0) => return (sent + 1, true),
            Ok(_) => return (sent + 1, false),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (sent + 1, true),
        }
    }
    (wire.len(), false)
}

#[test]
fn slowloris_connections_parked_inside_a_frame_are_closed_by_the_frame_deadline() {
    const PARKED: usize = 300;
    let builder = Reactor::builder().frame_timeout(Some(DEADLINE));
    let (server, closes) = serve_by_port(builder, Echo);

    let mut parked = Vec::new();
    for _ in 0..PARKED {
        let mut s = connect(server.addr);
        // A header promising 100 bytes, then one of them.
        s.write_all(&[0, 0, 0, 100, 1]).unwrap();
        parked.push(s);
    }
    let dripper = connect(server.addr);
    let drip_port = port_of(&dripper);
    let drip_thread = thread::spawn(move || drip(dripper));

    // Served while the attack is under way.
    assert_serves(server.addr);

    let mut ports: HashSet<u16> = parked.iter().map(port_of).collect();
    ports.insert(drip_port);
    let reasons = closes_of(&closes, &ports);
    for (port, reason) in &reasons {
        assert_eq!(reason, &CloseReason::FrameTimeout, "port {port}");
    }
    for s in &mut parked {
        assert!(read_to_close(s).is_empty());
    }
    let (sent, closed) = drip_thread.join().unwrap();
    assert!(closed, "the dripping peer finished its frame: the deadline was evaded");
    assert!(sent < 104, "the dripping peer sent its whole frame ({sent} bytes)");
    assert_serves(server.addr);
}

#[test]
fn a_fast_stream_whose_frames_straddle_every_read_is_not_mistaken_for_slowloris() {
    // Frames follow each other without a pause and each completes at once,
    // but almost every read ends inside one: the deadline must count from
    // the first byte of the frame now pending, not of the first ever left
    // pending.
    const FRAME: usize = 100_000;
    const CHUNK: usize = 7001; // not a divisor of the frame: reads end mid-frame
    let builder = Reactor::builder().frame_timeout(Some(DEADLINE));
    let server = echo_server(builder);
    let mut s = connect(server.addr);
    let mut reader = s.try_clone().unwrap();
    let read_thread = thread::spawn(move || {
        let mut n = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(n),
                Ok(k) => n += k,
                Err(e) => return Err(e.to_string()),
            }
        }
    });

    let started = Instant::now();
    let (mut pending, mut next, mut sent) = (Vec::new(), 0u8, 0);
    // Three deadlines' worth of streaming, in chunks that never end on a
    // frame boundary, paced to spare the machine.
    while started.elapsed() < DEADLINE * 3 {
        while pending.len() < CHUNK {
            pending.extend_from_slice(&frame(&[next; FRAME]));
            next = next.wrapping_add(1);
        }
        s.write_all(&pending[..CHUNK]).expect("the server closed a healthy stream");
        pending.drain(..CHUNK);
        sent += CHUNK;
        thread::sleep(Duration::from_millis(1));
    }
    // Finish the frame in flight, then say goodbye.
    s.write_all(&pending).unwrap();
    sent += pending.len();
    s.shutdown(Shutdown::Write).unwrap();
    let echoed = read_thread.join().unwrap();
    assert_eq!(server.next_close().1, CloseReason::PeerClosed);
    assert_eq!(echoed, Ok(sent), "every frame came back");
}

/// On "go", queues `total` bytes toward the sender in 64 KiB frames and stops
/// the reactor in the same callback.
struct FloodThenStop {
    total: usize,
}

impl Handler for FloodThenStop {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
        for i in 0..self.total / (64 * 1024) {
            ctx.send(conn, &[i as u8; 64 * 1024]).expect("queue below the cap");
        }
        ctx.stop();
    }
}

#[test]
fn a_graceful_stop_delivers_megabytes_queued_toward_a_reading_client_before_closing() {
    const TOTAL: usize = 8 * 1024 * 1024;
    let server = serve(Reactor::builder(), FloodThenStop { total: TOTAL });
    let mut s = connect(server.addr);
    write_frame(&mut s, b"go");
    let mut frames = 0;
    let mut buf = vec![0u8; 64 * 1024 + 4];
    loop {
        let mut header = [0u8; 4];
        match s.read(&mut header[..1]) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("the stream ended with an error after {frames} frames: {e}"),
        }
        s.read_exact(&mut header[1..]).unwrap();
        assert_eq!(u32::from_be_bytes(header), 64 * 1024);
        s.read_exact(&mut buf[..64 * 1024]).unwrap();
        assert!(buf[..64 * 1024].iter().all(|&b| b == frames as u8), "frame {frames} in order");
        frames += 1;
        if frames % 16 == 0 {
            // A reader somewhat slower than the server.
            thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(frames, TOTAL / (64 * 1024), "every queued frame arrived before the close");
    assert_eq!(server.next_close().1, CloseReason::Shutdown);
    let stats = server.stop();
    assert_eq!(stats.bytes_out, (TOTAL + 4 * frames) as u64);
}

#[test]
fn a_graceful_stop_with_a_peer_that_never_reads_ends_after_the_shutdown_timeout() {
    let builder = Reactor::builder().shutdown_timeout(Duration::from_millis(300));
    let server = serve(builder, FloodThenStop { total: 8 * 1024 * 1024 });
    let mut s = connect(server.addr);
    write_frame(&mut s, b"go");
    // Never read: the stop must not wait for this peer for ever.
    assert_eq!(server.next_close().1, CloseReason::Shutdown);
    let stats = server.stop();
    assert!(stats.bytes_out < 8 * 1024 * 1024, "the peer did not read, yet everything was written");
    drop(s);
}

/// Echoes, and sets a timer for the end of time on every connection.
struct TimerForever;

impl Handler for TimerForever {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, _conn: ConnId) {
        ctx.set_timer(Duration::MAX);
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }
}

#[test]
fn timeouts_too_long_for_a_clock_mean_never_rather_than_a_panic() {
    let builder = Reactor::builder()
        .idle_timeout(Some(Duration::MAX))
        .frame_timeout(Some(Duration::MAX))
        .shutdown_timeout(Duration::MAX)
        .accept_backoff_max(Duration::MAX);
    let server = serve(builder, TimerForever);
    let mut s = connect(server.addr);
    s.write_all(&[0, 0, 0, 5, b'h']).unwrap();
    s.write_all(b"ello").unwrap();
    assert_eq!(read_frame(&mut s), b"hello");
    drop(s);
    assert_eq!(server.next_close().1, CloseReason::PeerClosed);
    assert_serves(server.addr);
}
