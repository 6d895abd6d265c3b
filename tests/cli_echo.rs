//! `frameloop echo`, the command line's echo server, run as a real process:
//! it reports the address it bound, echoes frames (or lines with `--lines`,
//! raw bytes with `--raw`; after some CPU work each with `--work-us`), and
//! reports each connection's close; with `-v` the library's operator logs
//! show on stderr, and without it nothing does.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::lines_of;

/// How long the server may take to print a line it owes.
const PATIENCE: Duration = Duration::from_secs(20);

/// The echo server as a child process, killed when dropped.
struct EchoProcess {
    child: Child,
    addr: SocketAddr,
    /// The first line it printed.
    banner: String,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl EchoProcess {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_frameloop"))
            .arg("echo")
            .arg("127.0.0.1:0")
            .args(extra)
            // Only -v asks for a logger here, whatever the test's environment says.
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start frameloop echo");
        let stdout = lines_of(child.stdout.take().expect("stdout"));
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        let first = stdout.recv_timeout(PATIENCE).expect("frameloop echo printed no banner");
        let addr = first
            .split_whitespace()
            .find_map(|w| w.trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        EchoProcess { child, addr, banner: first, stdout, stderr }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// The next line the server printed.
    fn next_line(&self) -> String {
        self.stdout.recv_timeout(PATIENCE).expect("the server printed nothing more")
    }

    /// The lines written to stderr within `wait`, or up to the first that
    /// contains `until`.
    fn stderr_lines(&self, wait: Duration, until: &str) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            let done = line.contains(until);
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn frameloop_echo_returns_frames_and_reports_connections() {
    let server = EchoProcess::start(&[]);
    let mut s = server.connect();
    s.write_all(b"\0\0\0\x05hello\0\0\0\0").unwrap();
    let mut reply = [0u8; 13];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"\0\0\0\x05hello\0\0\0\0");
    assert!(server.next_line().contains("opened from 127.0.0.1"));
    drop(s);
    assert!(server.next_line().contains("closed: closed by the peer"));
}

#[test]
fn frameloop_echo_lines_returns_lines_and_tells_how_to_try_it() {
    let server = EchoProcess::start(&["--lines"]);
    let hint = format!("try: nc 127.0.0.1 {}", server.addr.port());
    assert!(server.banner.contains(&hint), "{:?}", server.banner);
    let mut s = server.connect();
    s.write_all(b"hello\r\nworld\n").unwrap();
    let mut reply = [0u8; 12];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"hello\nworld\n");
    assert!(server.next_line().contains("opened from"));
}

#[test]
fn frameloop_echo_raw_returns_the_bytes_unframed_and_tells_how_to_try_it() {
    let server = EchoProcess::start(&["--raw"]);
    let hint = format!("raw bytes (try: nc 127.0.0.1 {})", server.addr.port());
    assert!(server.banner.contains(&hint), "{:?}", server.banner);
    let mut s = server.connect();
    // Bytes that would be a frame header or a line ending elsewhere are
    // plain content here.
    s.write_all(b"\0\0\0\x05 no\nframing\r").unwrap();
    let mut reply = [0u8; 16];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"\0\0\0\x05 no\nframing\r");
    assert!(server.next_line().contains("opened from"));
}

#[test]
fn frameloop_echo_work_us_spends_that_long_on_every_message_and_says_so() {
    let server = EchoProcess::start(&["--work-us", "2000"]);
    assert_eq!(server.next_line(), "spending 2000 µs of CPU on every message");
    let mut s = server.connect();
    // Five frames in one write: one reactor works through them one by one.
    let frames = b"\0\0\0\x01a".repeat(5);
    let start = Instant::now();
    s.write_all(&frames).unwrap();
    let mut reply = vec![0u8; frames.len()];
    s.read_exact(&mut reply).unwrap();
    let took = start.elapsed();
    assert_eq!(reply, frames);
    assert!(took >= Duration::from_millis(10), "5 frames of 2 ms of work each echoed in {took:?}");
}

#[test]
fn frameloop_echo_threads_serves_on_several_reactors_and_tells_the_spread_at_the_stop() {
    for distribution in ["acceptor", "reuse-port"] {
        let mut server = EchoProcess::start(&["--threads", "2", "--distribution", distribution]);
        assert_eq!(server.next_line(), "2 reactors, one per thread");
        let mut peers: Vec<TcpStream> = (0..8).map(|_| server.connect()).collect();
        for (i, s) in peers.iter_mut().enumerate() {
            let frame = [&[0, 0, 0, 1][..], &[i as u8]].concat();
            s.write_all(&frame).unwrap();
            let mut reply = [0u8; 5];
            s.read_exact(&mut reply).unwrap();
            assert_eq!(reply[..], frame[..]);
        }
        // A graceful stop (SIGINT) ends with a line per reactor.
        let pid = server.child.id().to_string();
        let status = Command::new("sh").args(["-c", r#"kill -s INT "$0""#, &pid]).status().expect("run sh");
        assert!(status.success());
        let lines: Vec<String> = std::iter::from_fn(|| server.stdout.recv_timeout(PATIENCE).ok()).collect();
        let per_reactor: Vec<(u64, u64)> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("reactor "))
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                (words[1].parse().unwrap(), words[3].parse().unwrap())
            })
            .collect();
        assert_eq!(per_reactor.len(), 2, "{distribution}: {lines:?}");
        assert_eq!(per_reactor.iter().map(|r| r.0).sum::<u64>(), 8, "{distribution}: {lines:?}");
        assert_eq!(per_reactor.iter().map(|r| r.1).sum::<u64>(), 8, "{distribution}: {lines:?}");
        if distribution == "acceptor" {
            assert_eq!(per_reactor, [(4, 4), (4, 4)], "the acceptor takes turns: {lines:?}");
        }
        assert!(server.child.wait().unwrap().success());
    }
}

#[test]
fn frameloop_echo_refuses_a_busy_address_with_a_clear_message() {
    let server = EchoProcess::start(&[]);
    let mut second = Command::new(env!("CARGO_BIN_EXE_frameloop"))
        .arg("echo")
        .arg(server.addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run frameloop echo");
    let err = lines_of(second.stderr.take().expect("stderr"));
    let status =
        common::wait_child(&mut second, PATIENCE, &format!("a second echo server on {} is still running", server.addr));
    assert!(!status.success());
    let err: Vec<String> = err.iter().collect();
    assert!(err.iter().any(|l| l.contains("already in use")), "{err:?}");
}

/// A frame header announcing more than any server accepts: a limit hit,
/// which the library logs as it closes the connection.
const HUGE_HEADER: &[u8] = b"\xff\xff\xff\xff";

#[test]
fn frameloop_echo_v_shows_the_library_logs_on_stderr() {
    let server = EchoProcess::start(&["-v"]);
    let mut s = server.connect();
    s.write_all(HUGE_HEADER).unwrap();
    assert!(server.next_line().contains("opened from"));
    assert!(server.next_line().contains("closed:"), "the oversized frame did not close the connection");
    // A close by a limit is logged at warn, so -v (info) shows it.
    let logged = server.stderr_lines(Duration::from_secs(20), "closed");
    let close = logged.iter().find(|l| l.contains("closed")).unwrap_or_else(|| panic!("no close logged: {logged:?}"));
    assert!(close.contains("WARN") && close.contains("frameloop"), "{close}");
}

#[test]
fn frameloop_echo_vv_shows_ordinary_closes_too() {
    let server = EchoProcess::start(&["-vv"]);
    drop(server.connect());
    assert!(server.next_line().contains("opened from"));
    assert!(server.next_line().contains("closed:"));
    // An ordinary close is logged at debug: only -vv shows it.
    let logged = server.stderr_lines(Duration::from_secs(20), "closed");
    let close = logged.iter().find(|l| l.contains("closed")).unwrap_or_else(|| panic!("no close logged: {logged:?}"));
    assert!(close.contains("DEBUG"), "{close}");
}

#[test]
fn frameloop_echo_without_v_writes_nothing_to_stderr() {
    let server = EchoProcess::start(&[]);
    let mut s = server.connect();
    s.write_all(HUGE_HEADER).unwrap();
    assert!(server.next_line().contains("opened from"));
    assert!(server.next_line().contains("closed:"));
    let logged = server.stderr_lines(Duration::from_secs(1), "");
    assert!(logged.is_empty(), "stderr without -v: {logged:?}");
}
