//! Operator logs (feature `log`): each close and its reason, each limit hit,
//! is one record with target `frameloop`, at the documented level, naming
//! the connection and its peer.
//!
//! A capturing logger collects every record of this test process; each test
//! provokes one event over loopback and looks for its record by the peer's
//! address, so tests running at once do not see each other's.
#![cfg(feature = "log")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use frameloop::{ConnId, Ctx, Error, Handler, Reactor};
use log::{Level, LevelFilter, Log, Metadata, Record};

#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    target: String,
    text: String,
}

/// Keeps every record; in the EMFILE child, prints them instead.
struct Capture {
    records: Mutex<Vec<Captured>>,
    print: bool,
}

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let c = Captured { level: record.level(), target: record.target().to_owned(), text: record.args().to_string() };
        if self.print {
            println!("LOG {} {} {}", c.level, c.target, c.text);
        }
        self.records.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture { records: Mutex::new(Vec::new()), print: false };
static PRINT: Capture = Capture { records: Mutex::new(Vec::new()), print: true };

fn install(logger: &'static Capture) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(logger).expect("no other logger in this test binary");
        log::set_max_level(LevelFilter::Debug);
    });
}

/// Waits for a record from frameloop whose text contains every one of
/// `needles`; fails the test after the patience, listing what was logged.
fn wait_record(needles: &[&str]) -> Captured {
    install(&CAPTURE);
    let deadline = Instant::now() + PATIENCE;
    loop {
        // Copied out, so that no assertion fails with the lock held (and
        // poisons it for the other tests).
        let records = CAPTURE.records.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(r) = records.iter().find(|r| needles.iter().all(|n| r.text.contains(n))) {
            assert_eq!(r.target, "frameloop", "{r:?}");
            return r.clone();
        }
        assert!(Instant::now() < deadline, "no record containing {needles:?}; logged: {records:#?}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A connection to `addr`, and the text that names it as a peer.
fn client(addr: SocketAddr) -> (TcpStream, String) {
    let s = connect(addr);
    let me = s.local_addr().unwrap();
    (s, format!("peer {me}"))
}

#[test]
fn a_frame_too_large_is_a_warning_naming_the_peer_and_the_limit() {
    install(&CAPTURE);
    let server = echo_server(Reactor::builder().max_frame_len(16));
    let (mut s, peer) = client(server.addr);
    s.write_all(&100u32.to_be_bytes()).unwrap();
    read_to_close(&mut s);
    let r = wait_record(&[&peer, "closed: frame of 100 bytes is larger than the maximum of 16", "max_frame_len"]);
    assert_eq!(r.level, Level::Warn, "{r:?}");
    assert!(r.text.starts_with("connection #"), "{r:?}");
}

#[test]
fn a_peer_closing_is_a_debug_record() {
    install(&CAPTURE);
    let server = echo_server(Reactor::builder());
    let (mut s, peer) = client(server.addr);
    write_frame(&mut s, b"hi");
    assert_eq!(read_frame(&mut s), b"hi");
    drop(s);
    let r = wait_record(&[&peer, "closed: closed by the peer"]);
    assert_eq!(r.level, Level::Debug, "{r:?}");
}

/// A connection refused at the limit, and the level its record has.
fn refused_level(addr: SocketAddr) -> Level {
    let (mut s, _) = client(addr);
    read_to_close(&mut s);
    let me = s.local_addr().unwrap().to_string();
    wait_record(&["refused the connection from", &me, "max_connections (1)"]).level
}

#[test]
fn a_connection_over_max_connections_is_a_warning_once_per_time_at_the_limit() {
    install(&CAPTURE);
    let server = echo_server(Reactor::builder().max_connections(1));
    let (mut first, _) = client(server.addr);
    write_frame(&mut first, b"in");
    assert_eq!(read_frame(&mut first), b"in");
    assert_eq!(refused_level(server.addr), Level::Warn, "the first refusal");
    // A flood at the limit is one warning, not one per connection.
    assert_eq!(refused_level(server.addr), Level::Debug, "a further refusal");
    assert_eq!(refused_level(server.addr), Level::Debug, "a further refusal");
    // Below the limit again, then back at it: news, a warning again. The
    // close is reported from `on_close`, and the slot is free before the
    // loop accepts again.
    drop(first);
    server.closes.recv_timeout(PATIENCE).expect("the first connection closed");
    let (mut again, _) = client(server.addr);
    write_frame(&mut again, b"in");
    assert_eq!(read_frame(&mut again), b"in");
    assert_eq!(refused_level(server.addr), Level::Warn, "the first refusal after the count fell");
}

/// Answers any message with more than the hard cap, in one callback.
struct Flood;

impl Handler for Flood {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, _: &[u8]) {
        let chunk = [0u8; 16 * 1024];
        for _ in 0..64 {
            if ctx.send(conn, &chunk).is_err() {
                return;
            }
        }
    }
}

#[test]
fn a_slow_consumer_is_a_warning() {
    install(&CAPTURE);
    let server = serve(Reactor::builder().hard_cap(64 * 1024), Flood);
    let (mut s, peer) = client(server.addr);
    write_frame(&mut s, b"flood me");
    let r = wait_record(&[&peer, "closed: peer reads too slowly", "hard_cap"]);
    assert_eq!(r.level, Level::Warn, "{r:?}");
}

#[test]
fn an_idle_timeout_is_a_warning() {
    install(&CAPTURE);
    let server = echo_server(Reactor::builder().idle_timeout(Some(Duration::from_millis(50))));
    let (mut s, peer) = client(server.addr);
    read_to_close(&mut s);
    let r = wait_record(&[&peer, "closed: idle timeout", "idle_timeout"]);
    assert_eq!(r.level, Level::Warn, "{r:?}");
}

#[test]
fn a_message_deadline_is_a_warning() {
    install(&CAPTURE);
    let server = echo_server(Reactor::builder().frame_timeout(Some(Duration::from_millis(50))));
    let (mut s, peer) = client(server.addr);
    s.write_all(b"\0\0\0\x05he").unwrap(); // and never the rest
    read_to_close(&mut s);
    let r = wait_record(&[&peer, "closed: message not finished within the deadline", "frame_timeout"]);
    assert_eq!(r.level, Level::Warn, "{r:?}");
}

#[test]
fn listening_is_info_and_a_failed_bind_is_left_to_the_caller() {
    install(&CAPTURE);
    let mut reactor = Reactor::new().unwrap();
    let addr = reactor.listen("127.0.0.1:0").unwrap().tcp().unwrap();
    let r = wait_record(&[&format!("listening on {addr}")]);
    assert_eq!(r.level, Level::Info, "{r:?}");
    assert!(matches!(Reactor::new().unwrap().listen(addr), Err(Error::AddrInUse { .. })));
    // The caller has the error and reports it: a record too would say it
    // twice (as `frameloop echo -v` did). The bind ran on this thread, so
    // a record of it would be here already.
    let records = CAPTURE.records.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let text = addr.to_string();
    assert!(!records.iter().any(|r| r.text.contains(&text) && r.text.contains("in use")), "{records:#?}");
}

// ---- accept back-off, in a child process with few descriptors -------------------

/// Set in the child's environment: serve and print the log records.
const CHILD_ENV: &str = "FRAMELOOP_LOGS_EMFILE_CHILD";
/// The child's limit on open files.
const CHILD_FD_LIMIT: usize = 64;

/// Not a test of its own: the server of the child process, serving until
/// its standard input closes. Returns at once in an ordinary test run.
#[test]
fn emfile_child_server() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    install(&PRINT);
    let server = echo_server(Reactor::builder().accept_backoff_max(Duration::from_millis(100)));
    println!("PORT {}", server.addr.port());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
}

/// The child server; killed if the test ends without it having exited.
struct ChildServer {
    child: Child,
    lines: Receiver<String>,
}

impl ChildServer {
    /// The first line of the child's output containing every one of `needles`.
    fn line_with(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("the child never printed {needles:?}"));
            if needles.iter().all(|n| line.contains(n)) {
                return line;
            }
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + PATIENCE;
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn running_out_of_descriptors_is_a_warning_with_the_fix() {
    let (child, lines) = spawn_self_limited("emfile_child_server", CHILD_FD_LIMIT, CHILD_ENV);
    let child = ChildServer { child, lines };
    let port: u16 = child.line_with(&["PORT "]).rsplit(' ').next().unwrap().parse().expect("port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // More connections than the child has descriptors.
    let flood: Vec<TcpStream> = (0..CHILD_FD_LIMIT + 40).map(|_| connect(addr)).collect();
    let line = child.line_with(&["LOG WARN frameloop accept on", "out of file descriptors", "ulimit -n", "back-off"]);
    assert!(line.contains(&addr.to_string()), "{line}");
    drop(flood);
}
