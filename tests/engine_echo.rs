//! Echo over loopback, from one connection pipelining frames of every size
//! to a thousand connections at once: every frame comes back to its sender,
//! intact and in order.

mod common;
mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;

use common::hostile::enough_fds;
use common::*;
use frameloop::codec::frame::DEFAULT_MAX_LEN;
use frameloop::Reactor;
use support::*;

/// The lengths of the pipelined frames: the edges (empty, one byte, one past
/// the 64 KiB read buffer, exactly the maximum) among many small frames,
/// several of which share one read and one straddles each read boundary.
fn pipelined_lengths() -> Vec<usize> {
    let mut lens = vec![0, 1, 64 * 1024 + 1, DEFAULT_MAX_LEN, 0];
    lens.extend((0..2000).map(|i| (i * 37) % 300));
    lens.extend([64 * 1024 + 1, 1, 0]);
    lens
}

#[test]
fn pipelined_frames_of_every_size_from_empty_to_the_maximum_come_back_in_order() {
    let server = echo_server(Reactor::builder());
    let s = connect(server.addr);
    let lens = pipelined_lengths();
    // A writer of its own: the echo of a large frame fills the socket
    // buffers while the frames behind it are still being written.
    let writer = {
        let mut w = s.try_clone().unwrap();
        let lens = lens.clone();
        thread::spawn(move || {
            for (seq, &len) in lens.iter().enumerate() {
                write_frame(&mut w, &tagged(0, seq as u32, len));
            }
        })
    };
    let mut r = frame_reader(&s);
    for (seq, &len) in lens.iter().enumerate() {
        check_tagged(&read_buffered_frame(&mut r), 0, seq as u32, len);
    }
    writer.join().unwrap();
    drop((r, s));
    let stats = server.stop();
    assert_eq!(stats.frames_in, lens.len() as u64);
}

/// Connections per client thread, and client threads, of the thousand
/// connections test.
const CONNS_PER_THREAD: u32 = 250;
const CLIENT_THREADS: u32 = 4;

/// One client thread of the thousand connections test: opens its share of
/// the connections, waits until every thread has opened its own, then each
/// round writes a burst of frames on every connection before reading any
/// reply, so that all connections have traffic in flight at once.
fn thousand_client(addr: SocketAddr, first: u32, all_open: &Barrier) {
    const ROUNDS: u32 = 4;
    const BURST: u32 = 5;
    let len = |conn: u32, seq: u32| 8 + ((conn * 7 + seq * 13) % 150) as usize;
    let mut conns: Vec<(u32, TcpStream)> = (first..first + CONNS_PER_THREAD).map(|c| (c, connect(addr))).collect();
    all_open.wait();
    for round in 0..ROUNDS {
        for (conn, s) in &mut conns {
            let burst: Vec<u8> = (round * BURST..(round + 1) * BURST)
                .flat_map(|seq| frame(&tagged(*conn, seq, len(*conn, seq))))
                .collect();
            s.write_all(&burst).expect("write burst");
        }
        for (conn, s) in &mut conns {
            for seq in round * BURST..(round + 1) * BURST {
                check_tagged(&read_frame(s), *conn, seq, len(*conn, seq));
            }
        }
    }
}

#[test]
fn a_thousand_concurrent_connections_each_get_back_exactly_their_own_frames_in_order() {
    let conns = CONNS_PER_THREAD * CLIENT_THREADS;
    // Client and server sockets both live in this process, beside the other
    // tests of this file.
    if !enough_fds(2 * conns as u64 + 500, "a_thousand_concurrent_connections") {
        return;
    }
    let server = echo_server(Reactor::builder());
    let all_open = Arc::new(Barrier::new(CLIENT_THREADS as usize));
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let (addr, all_open) = (server.addr, Arc::clone(&all_open));
            thread::spawn(move || thousand_client(addr, t * CONNS_PER_THREAD, &all_open))
        })
        .collect();
    for c in clients {
        c.join().expect("client thread failed");
    }
    let stats = server.stop();
    assert_eq!(stats.accepted, conns as u64);
    assert_eq!(stats.frames_in, conns as u64 * 20);
}

/// One client thread of the load test: each of its connections keeps
/// `WINDOW` frames in flight (never more) until it has sent `TOTAL`.
fn windowed_client(addr: SocketAddr, first: u32, conns: u32) {
    const TOTAL: u32 = 2_000;
    const WINDOW: u32 = 16;
    const LEN: usize = 64;
    struct Peer {
        conn: u32,
        w: TcpStream,
        r: std::io::BufReader<TcpStream>,
        sent: u32,
        received: u32,
    }
    let mut peers: Vec<Peer> = (first..first + conns)
        .map(|conn| {
            let w = connect(addr);
            let r = frame_reader(&w);
            Peer { conn, w, r, sent: 0, received: 0 }
        })
        .collect();
    for p in &mut peers {
        let window: Vec<u8> = (0..WINDOW).flat_map(|seq| frame(&tagged(p.conn, seq, LEN))).collect();
        p.w.write_all(&window).expect("write window");
        p.sent = WINDOW;
    }
    // Round robin: each reply received lets that connection send one more
    // frame, so every connection has a full window in flight until its end.
    while peers.iter().any(|p| p.received < TOTAL) {
        for p in peers.iter_mut().filter(|p| p.received < TOTAL) {
            check_tagged(&read_buffered_frame(&mut p.r), p.conn, p.received, LEN);
            p.received += 1;
            if p.sent < TOTAL {
                write_frame(&mut p.w, &tagged(p.conn, p.sent, LEN));
                p.sent += 1;
            }
            assert!(p.sent - p.received <= WINDOW);
        }
    }
}

#[test]
fn a_hundred_connections_with_sixteen_frames_in_flight_get_every_frame_back_intact_and_in_order() {
    const THREADS: u32 = 4;
    const PER_THREAD: u32 = 25;
    let server = echo_server(Reactor::builder());
    let clients: Vec<_> = (0..THREADS)
        .map(|t| {
            let addr = server.addr;
            thread::spawn(move || windowed_client(addr, t * PER_THREAD, PER_THREAD))
        })
        .collect();
    for c in clients {
        c.join().expect("client thread failed");
    }
    let stats = server.stop();
    assert_eq!(stats.accepted, u64::from(THREADS * PER_THREAD));
    assert_eq!(stats.frames_in, u64::from(THREADS * PER_THREAD) * 2_000);
}
