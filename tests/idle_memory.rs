//! An idle connection costs the server a slab entry and nothing more: ten
//! thousand connections that each exchanged one frame grow the server's
//! resident memory by at most 256 bytes apiece.
//!
//! The server runs in this process; the clients run in a child process (this
//! same test binary, started again to run the ignored `idle_clients_child`),
//! so their sockets count neither against this process's descriptors nor
//! its memory.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::skipped;
use frameloop::{ConnId, Ctx, Handler, Reactor};

/// Connections the test would like to hold.
const WANTED: usize = 10_000;
/// Fewer than this and the measurement says little: skip instead.
const AT_LEAST: usize = 2_000;
/// The budget per idle connection, in bytes of resident memory.
const BUDGET: usize = 256;
/// Environment variables that turn the child test into the client side.
const CHILD_ADDR: &str = "FRAMELOOP_IDLE_TEST_ADDR";
const CHILD_CONNS: &str = "FRAMELOOP_IDLE_TEST_CONNS";
const PATIENCE: Duration = Duration::from_secs(60);

struct Echo {
    stop: Arc<AtomicBool>,
}

impl Handler for Echo {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        if self.stop.load(Ordering::SeqCst) {
            ctx.stop();
        }
    }
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024
}

fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Payload bytes of the one frame each connection exchanges: large enough
/// that a buffer kept after the exchange would show in the measurement.
const PAYLOAD: usize = 1000;

/// Opens a connection, exchanges one frame, and keeps it open.
fn exchange(addr: SocketAddr) -> TcpStream {
    let mut frame = (PAYLOAD as u32).to_be_bytes().to_vec();
    frame.extend((0..PAYLOAD).map(|i| i as u8));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&frame).unwrap();
    let mut echo = vec![0u8; frame.len()];
    s.read_exact(&mut echo).unwrap();
    assert_eq!(echo, frame);
    s
}

#[test]
fn ten_thousand_idle_connections_cost_at_most_256_bytes_each() {
    const TEST: &str = "ten_thousand_idle_connections_cost_at_most_256_bytes_each";
    let Some(limit) = open_files_limit() else {
        skipped(TEST, "cannot read this process's open-files limit");
        return;
    };
    // The room the test itself and the harness need.
    let conns = WANTED.min(limit.saturating_sub(200));
    let raise = format!("raise it with `ulimit -n {}`", WANTED + 200);
    if conns < AT_LEAST {
        skipped(TEST, &format!("the open-files limit ({limit}) allows too few connections; {raise}"));
        return;
    }
    if conns < WANTED {
        // A partial measurement is a partial skip: said the same way, so
        // that CI, which must measure all of them, fails on it.
        skipped(
            TEST,
            &format!("the open-files limit is {limit}: measuring {conns} connections instead of {WANTED}; {raise}"),
        );
    }

    let mut reactor = Reactor::builder().max_connections(conns + 16).build().unwrap();
    let addr = reactor.listen("127.0.0.1:0").unwrap().tcp().unwrap();
    let notifier = reactor.notifier();
    let stop = Arc::new(AtomicBool::new(false));
    let mut handler = Echo { stop: Arc::clone(&stop) };
    let server = std::thread::spawn(move || reactor.run(&mut handler).unwrap());

    // One connection first: what the first exchange costs once (the read
    // buffer's pages, the first pooled buffer) is not an idle connection's.
    drop(exchange(addr));
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_bytes();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["idle_clients_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ADDR, addr.to_string())
        .env(CHILD_CONNS, conns.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end, so the child never writes into a closed pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if line.contains("READY") {
                let _ = tx.send(());
            }
        }
    });
    let ready = rx.recv_timeout(PATIENCE);
    // Every connection has been answered: the server holds them all.
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_bytes();

    drop(child.stdin.take()); // the child exits at end of input
    let exited = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
    }
    let _ = child.wait();
    stop.store(true, Ordering::SeqCst);
    notifier.notify().unwrap();
    server.join().unwrap();

    assert!(ready.is_ok(), "the client process did not open its {conns} connections in time");
    let per_conn = after.saturating_sub(before) / conns;
    eprintln!("{conns} idle connections: resident memory {before} -> {after} bytes, {per_conn} bytes each");
    assert!(per_conn <= BUDGET, "an idle connection costs {per_conn} bytes of resident memory, over {BUDGET}");
}

/// The client side of the test above, run in a child process: opens the
/// connections, exchanges a frame on each, says READY, and holds them until
/// its input closes. Ignored unless started by that test.
#[test]
#[ignore = "the child process of ten_thousand_idle_connections_cost_at_most_256_bytes_each"]
fn idle_clients_child() {
    let (Ok(addr), Ok(conns)) = (std::env::var(CHILD_ADDR), std::env::var(CHILD_CONNS)) else {
        return;
    };
    let addr: SocketAddr = addr.parse().unwrap();
    let conns: usize = conns.parse().unwrap();
    let held: Vec<TcpStream> = (0..conns).map(|_| exchange(addr)).collect();
    println!("READY {}", held.len());
    std::io::stdout().flush().unwrap();
    // Hold until the parent closes our input (or it dies): bounded by it.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(held);
}
