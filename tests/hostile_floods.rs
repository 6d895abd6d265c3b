//! Many connections at once: a broadcast with one subscriber that stopped
//! reading, and an accept storm. They need thousands of descriptors, so they
//! run one at a time, and are skipped where the limit is too low.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use frameloop::{CloseReason, ConnId, Ctx, Handler, Reactor};
use tokio::io::AsyncReadExt;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sends every frame it receives to every other connection.
struct Fanout;

impl Handler for Fanout {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        ctx.broadcast_except(conn, frame);
    }
}

/// What the subscribers that read have seen: per subscriber, how many
/// messages arrived in order; and how many arrived out of order.
struct Progress {
    counts: Vec<AtomicU32>,
    out_of_order: AtomicUsize,
}

impl Progress {
    fn everyone_has(&self, n: u32) -> bool {
        self.counts.iter().all(|c| c.load(Ordering::SeqCst) >= n)
    }
}

/// Reads broadcast messages on `streams`, all on one thread of their own,
/// until the server closes them, checking that each message carries the next
/// sequence number.
fn subscribe(streams: Vec<TcpStream>, progress: Arc<Progress>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(futures::future::join_all(
            streams.into_iter().enumerate().map(|(i, s)| read_in_order(i, s, Arc::clone(&progress))),
        ));
    })
}

async fn read_in_order(i: usize, s: TcpStream, progress: Arc<Progress>) {
    s.set_nonblocking(true).unwrap();
    let mut s = tokio::io::BufReader::new(tokio::net::TcpStream::from_std(s).unwrap());
    let mut payload = Vec::new();
    loop {
        let Ok(len) = s.read_u32().await else { return };
        payload.resize(len as usize, 0);
        if s.read_exact(&mut payload).await.is_err() {
            return;
        }
        let seq = u32::from_be_bytes(payload[..4].try_into().unwrap());
        if seq != progress.counts[i].load(Ordering::SeqCst) {
            progress.out_of_order.fetch_add(1, Ordering::SeqCst);
            return;
        }
        progress.counts[i].fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_broadcast_drops_the_one_subscriber_that_stopped_reading_and_the_others_get_everything_in_order() {
    const READERS: usize = 999;
    const CAP: usize = 64 * 1024;
    const MSG: usize = 1024;
    const BATCH: u32 = 16; // a batch per subscriber stays well under the cap
    let _alone = alone();
    if !enough_fds(2 * (READERS as u64 + 10) + 200, "the broadcast test") {
        return;
    }
    let (server, closes) = serve_by_port(Reactor::builder().hard_cap(CAP), Probed(Fanout));
    let mut prober = connect(server.addr);
    let readers: Vec<TcpStream> = (0..READERS).map(|_| connect(server.addr)).collect();
    // The one that stops reading. A small receive buffer and segment size
    // keep the kernel's buffers toward it small (the server sizes its send
    // buffer by the peer's segment size), so the backlog builds up in the
    // server, where the cap applies, after a few batches.
    let sleeper = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sleeper.set_recv_buffer_size(4096).unwrap();
    sleeper.set_tcp_mss(536).unwrap();
    sleeper.connect(&server.addr.into()).unwrap();
    let sleeper: TcpStream = sleeper.into();
    let sleeper_port = port_of(&sleeper);
    let mut publisher = connect(server.addr);
    let all = READERS as u64 + 3;
    probe_until(&mut prober, "accept every subscriber", |c| c.open == all);
    // The prober would be a subscriber too: it goes, and comes back later.
    let prober_port = port_of(&prober);
    drop(prober);
    assert_eq!(closes.recv_timeout(PATIENCE).unwrap(), (prober_port, CloseReason::PeerClosed));

    let progress = Arc::new(Progress {
        counts: (0..READERS).map(|_| AtomicU32::new(0)).collect(),
        out_of_order: AtomicUsize::new(0),
    });
    let subscribers = subscribe(readers, Arc::clone(&progress));

    let mut seq = 0u32;
    let mut dropped_at = None;
    let deadline = Instant::now() + PATIENCE * 3;
    // Publish in batches, each once every reader has the one before, until
    // the sleeper has been dropped and a few batches more.
    while dropped_at.is_none_or(|at| seq < at + 4 * BATCH) {
        let never = "the subscriber that stopped reading was never dropped";
        assert!(seq < 100_000 && Instant::now() < deadline, "{never}");
        let mut batch = Vec::new();
        for _ in 0..BATCH {
            let mut payload = vec![0x33; MSG];
            payload[..4].copy_from_slice(&seq.to_be_bytes());
            batch.extend_from_slice(&frame(&payload));
            seq += 1;
        }
        publisher.write_all(&batch).unwrap();
        while !progress.everyone_has(seq) {
            assert_eq!(progress.out_of_order.load(Ordering::SeqCst), 0, "a subscriber saw a gap");
            assert!(Instant::now() < deadline, "the readers did not get message {seq} in time");
            thread::sleep(Duration::from_millis(1));
        }
        if dropped_at.is_none() {
            if let Ok((port, reason)) = closes.try_recv() {
                assert_eq!((port, reason), (sleeper_port, CloseReason::SlowConsumer));
                dropped_at = Some(seq);
            }
        }
    }
    eprintln!("the sleeper was dropped after {} messages", dropped_at.unwrap_or(0));

    // A newcomer is served: it hears the next message, as does everyone.
    let mut prober = connect(server.addr);
    let mut newcomer = connect(server.addr);
    probe_until(&mut prober, "accept the newcomer", |c| c.open == all);
    let mut payload = vec![0x44; MSG];
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    write_frame(&mut publisher, &payload);
    assert_eq!(read_frame(&mut newcomer), payload);
    let deadline = Instant::now() + PATIENCE;
    while !progress.everyone_has(seq + 1) {
        assert!(Instant::now() < deadline, "the last message did not reach everyone");
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(progress.out_of_order.load(Ordering::SeqCst), 0);
    assert!(closes.try_recv().is_err(), "no other connection was closed");
    drop(sleeper);
    assert_eq!(server.stop().closed_slow_consumer, 1);
    // The stop closed the subscribers' connections, which ends their reads.
    subscribers.join().unwrap();
}

#[test]
fn an_accept_storm_of_five_thousand_connects_is_accepted_and_served() {
    const THREADS: usize = 10;
    const PER_THREAD: usize = 500;
    const CONNS: usize = THREADS * PER_THREAD;
    let _alone = alone();
    if !enough_fds(2 * CONNS as u64 + 200, "the accept storm test") {
        return;
    }
    let server = echo_server(Reactor::builder());
    let addr = server.addr;
    let start = Arc::new(Barrier::new(THREADS));
    let connected = Arc::new(Barrier::new(THREADS));
    let storm: Vec<_> = (0..THREADS)
        .map(|t| {
            let (start, connected) = (Arc::clone(&start), Arc::clone(&connected));
            thread::spawn(move || {
                start.wait();
                let mut conns: Vec<TcpStream> = (0..PER_THREAD).map(|_| connect_patiently(addr)).collect();
                // Every connection is open before any is used.
                connected.wait();
                for (i, s) in conns.iter_mut().enumerate() {
                    s.write_all(&frame(format!("{t}/{i}").as_bytes())).unwrap();
                }
                for (i, s) in conns.iter_mut().enumerate() {
                    assert_eq!(read_frame(s), format!("{t}/{i}").as_bytes());
                }
                conns
            })
        })
        .collect();
    let conns: Vec<TcpStream> = storm.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(conns.len(), CONNS);
    assert_serves(addr);
    let ports: HashSet<u16> = conns.iter().map(port_of).collect();
    assert_eq!(ports.len(), CONNS);
    drop(conns);
    let stats = server.stop();
    eprintln!(
        "accept storm: {} accepted with {} accept calls in {} loop turns",
        stats.accepted, stats.accepts, stats.polls
    );
    assert_eq!(stats.accepted, CONNS as u64 + 1);
    assert_eq!(stats.rejected_over_limit, 0);
    assert_eq!(stats.frames_in, CONNS as u64 + 1);
}
