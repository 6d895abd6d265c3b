//! `frameloop echo`, the command line's echo server, run as a real process:
//! it reports the address it bound, echoes frames (or lines with `--lines`),
//! and reports each connection's close.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The echo server as a child process, killed when dropped.
struct EchoProcess {
    child: Child,
    addr: SocketAddr,
    /// The first line it printed.
    banner: String,
    stdout: BufReader<std::process::ChildStdout>,
}

impl EchoProcess {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_frameloop"))
            .arg("echo")
            .arg("127.0.0.1:0")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start frameloop echo");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        let addr = first
            .split_whitespace()
            .find_map(|w| w.trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        EchoProcess { child, addr, banner: first, stdout }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// The next line the server printed.
    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("server output");
        line
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
    let mut server = EchoProcess::start(&[]);
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
    let mut server = EchoProcess::start(&["--lines"]);
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
fn frameloop_echo_refuses_a_busy_address_with_a_clear_message() {
    let server = EchoProcess::start(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_frameloop"))
        .arg("echo")
        .arg(server.addr.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run frameloop echo");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
}
