//! Peers that try to make the server hold memory: by claiming long frames,
//! or by sending and never reading. Memory must follow the bytes that really
//! arrive, and what a peer does not read is bounded by backpressure and the
//! hard cap.
//!
//! These tests measure this process's memory, so they run one at a time.

mod common;

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use frameloop::codec::frame;
use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn report(test: &str, mem: &MemWatch) -> (u64, u64) {
    let (rss, data) = (mem.rss_growth(), mem.data_growth());
    eprintln!("{test}: resident memory grew {} KiB, writable mappings {} KiB", rss / 1024, data / 1024);
    (rss, data)
}

#[test]
fn thousands_of_max_length_headers_cost_memory_for_the_bytes_sent_not_the_length_claimed() {
    const CONNS: usize = 2000;
    let _alone = alone();
    if !enough_fds(2 * CONNS as u64 + 200, "the declared-length amplification test") {
        return;
    }
    let builder = Reactor::builder().max_frame_len(frame::DEFAULT_MAX_LEN);
    let (server, closes) = serve_by_port(builder, Probed(Echo));
    let mut prober = connect(server.addr);
    probe(&mut prober);
    let mem = MemWatch::start();

    let header = (frame::DEFAULT_MAX_LEN as u32).to_be_bytes();
    let clients: Vec<TcpStream> = (0..CONNS)
        .map(|_| {
            let mut s = connect(server.addr);
            s.write_all(&header).unwrap();
            s
        })
        .collect();
    probe_until(&mut prober, "read every header", |c| c.bytes_in >= (CONNS * header.len()) as u64);
    // Then one byte of each body, in a read of its own: a header that has
    // come is not believed until enough of its message follows it.
    let mut clients = clients;
    for s in &mut clients {
        s.write_all(b"x").unwrap();
    }
    probe_until(&mut prober, "read every first body byte", |c| c.bytes_in >= (CONNS * (header.len() + 1)) as u64);

    let (rss, data) = report("2000 headers claiming 8 MiB each, and a byte of each body", &mem);
    let claimed = (CONNS * frame::DEFAULT_MAX_LEN) as u64;
    assert!(rss < 64 * MIB, "resident memory grew {rss} bytes for {claimed} claimed");
    // Reserving the claimed length without touching it would not show in
    // the resident size, but does here; so would a 64 KiB read buffer kept
    // for each connection's 5 bytes.
    assert!(data < 64 * MIB, "writable mappings grew {data} bytes for {claimed} claimed");

    let ports: HashSet<u16> = clients.iter().map(port_of).collect();
    drop(clients);
    for (port, reason) in closes_of(&closes, &ports) {
        assert_eq!(reason, CloseReason::PeerClosedMidFrame { buffered: 5 }, "port {port}");
    }
    assert_serves(server.addr);
}

const FLOOD_FRAME: usize = 16 * 1024;

/// The `i`th frame of a flood: its payload says its number.
fn flood_frame(i: usize) -> Vec<u8> {
    frame(&[i as u8; FLOOD_FRAME])
}

/// Whether `port` has closed, from the closes seen so far.
fn closed_yet(closes: &Receiver<(u16, CloseReason)>, port: u16) -> Option<CloseReason> {
    closes.try_iter().find(|(p, _)| *p == port).map(|(_, reason)| reason)
}

#[test]
fn a_client_that_sends_without_pause_and_never_reads_is_paused_with_bounded_memory_and_loses_nothing() {
    let _alone = alone();
    let (server, closes) = serve_by_port(Reactor::builder(), Probed(Echo));
    let mut prober = connect(server.addr);
    probe(&mut prober);
    let mem = MemWatch::start();

    let mut flooder = connect(server.addr);
    let port = port_of(&flooder);
    flooder.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
    let wire_len = FLOOD_FRAME + 4;
    let mut sent = 0;
    let mut stalled_since: Option<Instant> = None;
    let deadline = Instant::now() + PATIENCE;
    // Send until the writes stall because the server stopped reading.
    loop {
        assert!(sent < 256 * MIB as usize, "the server kept reading from a peer that never reads");
        assert!(Instant::now() < deadline, "the writes never stalled");
        let wire = flood_frame(sent / wire_len);
        match flooder.write(&wire[sent % wire_len..]) {
            Ok(n) => {
                sent += n;
                stalled_since = None;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let since = *stalled_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(1) && probe(&mut prober).backpressure_pauses >= 1 {
                    break;
                }
            }
            Err(e) => panic!("the flooding connection failed after {sent} bytes: {e}"),
        }
    }

    // Others are served meanwhile, and the flooder is paused, not dropped.
    assert_serves(server.addr);
    assert_eq!(closed_yet(&closes, port), None, "the flooder was closed");
    let (rss, data) = report(&format!("a peer that sent {} KiB and read nothing", sent / 1024), &mem);
    assert!(rss < 32 * MIB && data < 64 * MIB, "memory grew {rss} resident, {data} mapped");

    // Once it reads, every reply arrives, in order.
    let mut reader = flooder.try_clone().unwrap();
    let read_thread = thread::spawn(move || {
        let mut frames = 0;
        let mut header = [0u8; 4];
        while reader.read_exact(&mut header).is_ok() {
            let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
            reader.read_exact(&mut payload).unwrap();
            assert_eq!(payload, flood_frame(frames)[4..], "reply {frames}");
            frames += 1;
        }
        frames
    });
    flooder.set_write_timeout(Some(PATIENCE)).unwrap();
    if sent % wire_len != 0 {
        flooder.write_all(&flood_frame(sent / wire_len)[sent % wire_len..]).unwrap();
        sent += wire_len - sent % wire_len;
    }
    flooder.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_thread.join().unwrap(), sent / wire_len);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match closes.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((p, reason)) if p == port => break assert_eq!(reason, CloseReason::PeerClosed),
            Ok(_) => {}
            Err(_) => panic!("the flooder's close was not seen"),
        }
    }
}

/// Answers every request, however small, with 64 KiB.
struct Amplify;

impl Handler for Amplify {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _frame: &[u8]) {
        let _ = ctx.send(conn, &[0xa5; 64 * 1024]);
    }
}

#[test]
fn a_client_whose_small_requests_get_large_replies_it_never_reads_is_paused_not_dropped() {
    // One read of tiny requests asks for far more than the hard cap: the
    // reactor stops handing them to the handler once the output passes the
    // high watermark, and keeps the rest until the peer reads. The pause
    // outlasts the message deadline: requests held back are whole messages,
    // not a slow sender's.
    const REQUESTS: usize = 20_000;
    let _alone = alone();
    let builder = Reactor::builder().hard_cap(4 * 1024 * 1024).frame_timeout(Some(Duration::from_millis(300)));
    let (server, closes) = serve_by_port(builder, Probed(Amplify));
    let mut prober = connect(server.addr);
    probe(&mut prober);
    let mem = MemWatch::start();

    let mut s = connect(server.addr);
    let port = port_of(&s);
    let requests: Vec<u8> = (0..REQUESTS).flat_map(|_| frame(b"x")).collect();
    s.write_all(&requests).unwrap();
    probe_until(&mut prober, "read the requests and pause", |c| c.backpressure_pauses >= 1);
    thread::sleep(Duration::from_secs(1));
    assert_eq!(closed_yet(&closes, port), None, "the paused peer was closed");
    let (rss, data) = report("a peer asking for replies it never reads", &mem);
    assert!(rss < 32 * MIB && data < 64 * MIB, "memory grew {rss} resident, {data} mapped");

    let mut fresh = connect(server.addr);
    write_frame(&mut fresh, b"one");
    assert_eq!(read_frame(&mut fresh).len(), 64 * 1024);
    drop(fresh);

    // Once it reads, every request gets its reply.
    s.shutdown(Shutdown::Write).unwrap();
    let mut replies = 0;
    let mut header = [0u8; 4];
    let mut payload = vec![0u8; 64 * 1024];
    while s.read_exact(&mut header).is_ok() {
        assert_eq!(u32::from_be_bytes(header), 64 * 1024);
        s.read_exact(&mut payload).unwrap();
        replies += 1;
    }
    assert_eq!(replies, REQUESTS);
    let stats = server.stop();
    assert_eq!(stats.closed_slow_consumer, 0);
}
