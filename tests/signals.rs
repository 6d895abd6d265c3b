//! Graceful stop on SIGTERM and SIGINT (`stop_on_signals`), checked on real
//! processes: a server runs as a child, a client floods it with frames
//! without reading until megabytes of replies wait on the server's side, the
//! test signals the child, and then the client reads. Every reply must
//! arrive, complete and in order, the connection must end cleanly, and the
//! child must exit with status 0.
//!
//! The servers: the `echo` example (the engine's `ReactorBuilder::stop_on_signals`),
//! `frameloop echo`, and this test binary itself, re-run as a child in a
//! mode that starts a facade `Server` (callbacks, or polling) with
//! `ServerBuilder::stop_on_signals`. Plain `cargo test` builds the example;
//! `cargo test --test signals` alone does not (nor rebuilds it), so run
//! `cargo build --example echo` first then.
#![cfg(feature = "signals")]

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use frameloop::{ConnId, Error, Event, Message, Server, ServerCtx, ServerHandler};

/// Payload bytes per frame: big enough to fill buffers fast, small enough
/// that the replies' order is checked often.
const PAYLOAD: usize = 16 * 1024;
/// The engine's default graceful-stop deadline: a stream that ends sooner
/// after the signal was ended by the drain, not cut off by the deadline.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on every wait for a child (to start, to stop).
const CHILD_WAIT: Duration = Duration::from_secs(30);

/// Set in a child run of this binary: which server to be.
const CHILD_MODE: &str = "FRAMELOOP_SIGNALS_TEST_CHILD";
/// The line a child run of this binary prints its address after.
const CHILD_BANNER: &str = "signals test child listening on";

// ---- the child process ---------------------------------------------------------

/// A server in a child process; killed (if still running) when dropped, so
/// that no test leaves one behind whatever happens.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    /// Everything else it prints, read on a thread so that a full pipe can
    /// never block it.
    _stdout: Receiver<String>,
}

impl ServerProcess {
    /// Starts `cmd` and waits for a line that names the address it bound
    /// after `marker`.
    fn start(mut cmd: Command, marker: &str) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let rx = common::lines_of(child.stdout.take().expect("stdout"));
        let deadline = Instant::now() + CHILD_WAIT;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} printed no address");
            };
            let Some((_, after)) = line.split_once(marker) else { continue };
            if let Some(addr) = after.split_whitespace().find_map(|w| w.trim_end_matches([',', ';']).parse().ok()) {
                break addr;
            }
        };
        ServerProcess { child, addr, _stdout: rx }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends `SIG<name>` to the child, with the shell's own `kill` (POSIX
    /// requires it built in), so that the test needs no `kill` program.
    fn signal(&self, name: &str) {
        let status =
            Command::new("sh").args(["-c", r#"kill -s "$0" "$1""#, name, &self.pid()]).status().expect("run sh");
        assert!(status.success(), "kill -s {name} {} failed", self.pid());
    }

    /// Waits for the child to exit, for at most `bound`.
    fn wait_exit(&mut self, bound: Duration) -> ExitStatus {
        common::wait_child(&mut self.child, bound, &format!("the server did not exit within {bound:?}"))
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `echo` example, built next to this test binary.
fn echo_example() -> ServerProcess {
    // target/<profile>/deps/signals-<hash> → target/<profile>/examples/echo
    let exe = std::env::current_exe().expect("current_exe");
    let path: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary's directory")
        .join("examples")
        .join(format!("echo{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --example echo` (plain `cargo test` builds it)",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.arg("127.0.0.1:0");
    ServerProcess::start(cmd, "listening on")
}

/// `frameloop echo`.
fn frameloop_echo() -> ServerProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_frameloop"));
    cmd.args(["echo", "127.0.0.1:0"]);
    ServerProcess::start(cmd, "echo server on")
}

/// This test binary, re-run as a facade server (`mode`: "callbacks" or
/// "polling"); see [`child_process_entry`].
fn facade_child(mode: &str) -> ServerProcess {
    let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args(["child_process_entry", "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    cmd.env(CHILD_MODE, mode);
    ServerProcess::start(cmd, CHILD_BANNER)
}

/// What a child run of this binary does: serve an echo with the facade and
/// `stop_on_signals`, until a signal stops it. Ignored, so that a normal
/// run skips it; the tests run it with `--ignored` in a child.
#[test]
#[ignore = "the child process of the signal tests, not a test of its own"]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_MODE) else { return };
    let builder = Server::bind("127.0.0.1:0").unwrap().stop_on_signals();
    match mode.as_str() {
        "callbacks" => {
            struct Echo;
            impl ServerHandler for Echo {
                fn on_receive(
                    &mut self,
                    server: &mut ServerCtx<'_>,
                    client: ConnId,
                    msg: Message<'_>,
                ) -> Result<(), Error> {
                    server.send(client, msg)
                }
            }
            let server = builder.start(Echo).unwrap();
            println!("{CHILD_BANNER} {}", server.local_addr());
            server.wait().unwrap();
            assert!(!server.is_running());
        }
        "polling" => {
            let server = builder.start_polling().unwrap();
            println!("{CHILD_BANNER} {}", server.local_addr());
            // Ends only if the stop ends the event stream.
            for event in server.events() {
                if let Event::Received { client, data, .. } = event {
                    // Refused once the stop has begun: that request was
                    // read, its reply never queued (like one unread).
                    let _ = server.send(client, &data);
                }
            }
            server.wait().unwrap();
        }
        other => panic!("unknown child mode {other}"),
    }
    println!("signals test child stopped");
}

// ---- the client ---------------------------------------------------------------

/// Frame `i`: a 4-byte big-endian length, then `i` and a pattern of it.
fn frame(i: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(4 + PAYLOAD);
    f.extend_from_slice(&(PAYLOAD as u32).to_be_bytes());
    f.extend_from_slice(&i.to_be_bytes());
    f.resize(4 + PAYLOAD, i as u8);
    f
}

/// Sends frames to `addr` without reading until the server takes no more
/// (its output is above the high watermark, so it stopped reading, and every
/// buffer between is full); returns the socket and the bytes sent.
fn flood(addr: SocketAddr) -> (TcpStream, usize) {
    /// No progress for this long: the pipe is full.
    const STALL: Duration = Duration::from_secs(1);
    /// Far more than the kernel buffers and the write queue can hold.
    const MAX: usize = 256 << 20;
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nonblocking(true).unwrap();
    let (mut next, mut current, mut at) = (0u32, frame(0), 0usize);
    let mut sent = 0usize;
    let mut last_progress = Instant::now();
    let started = Instant::now();
    loop {
        match (&s).write(&current[at..]) {
            Ok(n) => {
                sent += n;
                at += n;
                if at == current.len() {
                    next += 1;
                    current = frame(next);
                    at = 0;
                }
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if last_progress.elapsed() >= STALL {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("sending failed after {sent} bytes: {e}"),
        }
        assert!(sent < MAX, "the server never stopped reading ({sent} bytes sent)");
        assert!(started.elapsed() < CHILD_WAIT, "flooding took too long ({sent} bytes sent)");
    }
    s.set_nonblocking(false).unwrap();
    (s, sent)
}

/// What the client read after the signal.
#[derive(Debug)]
struct Received {
    bytes: usize,
    frames: u32,
    /// The end of stream came this long after the signal.
    eof_after: Duration,
}

/// Reads replies until end of stream, checking each is the echo of the next
/// frame sent, complete, and that the stream ends cleanly between two.
fn read_all_replies(s: TcpStream, signalled: Instant) -> Received {
    s.set_read_timeout(Some(CHILD_WAIT)).unwrap();
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let (mut bytes, mut frames) = (0usize, 0u32);
    let mut reply = vec![0u8; 4 + PAYLOAD];
    loop {
        // The first byte tells end of stream (clean: between two replies)
        // from a reply.
        match r.read(&mut reply[..1]) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("reading failed after {frames} replies ({bytes} bytes): {e}"),
        }
        if let Err(e) = r.read_exact(&mut reply[1..]) {
            panic!("reply {frames} cut short after {bytes} bytes: {e}");
        }
        assert!(reply == frame(frames), "reply {frames} is not the echo of frame {frames}");
        bytes += reply.len();
        frames += 1;
    }
    Received { bytes, frames, eof_after: signalled.elapsed() }
}

/// The whole scenario: flood, signal, read everything, exit 0.
fn flood_signal_drain(mut server: ServerProcess, signal: &str) -> Received {
    let (s, sent) = flood(server.addr);
    let signalled = Instant::now();
    server.signal(signal);
    let got = read_all_replies(s, signalled);
    eprintln!(
        "SIG{signal}: {sent} bytes sent, {} bytes ({} replies) read after the signal, end of stream {:?} after it",
        got.bytes, got.frames, got.eof_after
    );
    // Everything the client read was queued on the server's side when the
    // signal came: it had read nothing before.
    assert!(got.bytes >= 2 << 20, "only {} bytes were queued at the signal", got.bytes);
    assert!(got.bytes <= sent);
    assert!(
        got.eof_after < SHUTDOWN_TIMEOUT,
        "the stream ended {:?} after the signal: the stop deadline cut it, not the drain",
        got.eof_after
    );
    let status = server.wait_exit(CHILD_WAIT);
    assert!(status.success(), "the server exited with {status}");
    got
}

// ---- the tests ----------------------------------------------------------------

#[test]
fn the_echo_example_delivers_every_queued_reply_on_sigterm_and_exits_0() {
    flood_signal_drain(echo_example(), "TERM");
}

#[test]
fn the_echo_example_delivers_every_queued_reply_on_sigint_and_exits_0() {
    flood_signal_drain(echo_example(), "INT");
}

#[test]
fn frameloop_echo_delivers_every_queued_reply_on_sigterm_and_exits_0() {
    flood_signal_drain(frameloop_echo(), "TERM");
}

#[test]
fn a_callback_server_delivers_every_queued_reply_on_sigterm_and_wait_returns_ok() {
    // The child's `server.wait().unwrap()` makes a failing wait a non-zero
    // exit.
    flood_signal_drain(facade_child("callbacks"), "TERM");
}

#[test]
fn a_polling_server_delivers_every_queued_reply_on_sigterm_and_its_events_end() {
    // The child only exits if its event loop ends.
    flood_signal_drain(facade_child("polling"), "INT");
}

#[test]
fn after_the_signal_the_listener_accepts_no_one_while_the_replies_drain() {
    let mut server = echo_example();
    let (s, _) = flood(server.addr);
    let signalled = Instant::now();
    server.signal("TERM");
    // The stop waits for the flooding client to read its replies, so the
    // server is still running while the listener is already closed.
    loop {
        match TcpStream::connect(server.addr) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
            // Connected before the signal was handled (or to the backlog of
            // a listener about to close), or reset because the listener
            // closed during the handshake: try again, until a refusal.
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect failed with {e}, not a refusal"),
        }
        assert!(signalled.elapsed() < CHILD_WAIT, "the listener still accepts");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(server.is_running(), "the server had exited: nothing shows the listener closed first");
    let got = read_all_replies(s, signalled);
    assert!(got.frames > 0);
    assert!(server.wait_exit(CHILD_WAIT).success());
}

#[test]
fn a_second_signal_ends_the_stop_at_once() {
    let mut server = echo_example();
    let (s, _) = flood(server.addr);
    let first = Instant::now();
    server.signal("TERM");
    // The stop waits for the client, which does not read...
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.is_running(), "the first signal did not wait for the replies to drain");
    // ...until a second signal says not to.
    server.signal("TERM");
    let status = server.wait_exit(CHILD_WAIT);
    assert!(first.elapsed() < SHUTDOWN_TIMEOUT, "the stop deadline ended it, not the second signal");
    assert!(status.success(), "the server exited with {status}");
    drop(s);
}

/// With `-v`, `frameloop echo` shows the library's record of each signal:
/// the graceful stop it starts (info), and the second one that ends it at
/// once (warn).
#[cfg(feature = "cli")]
#[test]
fn each_signal_is_logged_the_second_as_a_warning() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_frameloop"));
    cmd.args(["echo", "-v", "127.0.0.1:0"]).env_remove("RUST_LOG").stderr(Stdio::piped());
    let mut server = ServerProcess::start(cmd, "echo server on");
    let (tx, stderr) = mpsc::channel();
    let pipe = BufReader::new(server.child.stderr.take().expect("stderr"));
    std::thread::spawn(move || {
        for line in pipe.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next_with = |needle: &str| loop {
        let line = stderr.recv_timeout(CHILD_WAIT).unwrap_or_else(|_| panic!("no line with {needle:?} on stderr"));
        if line.contains(needle) {
            return line;
        }
    };
    // Replies the client does not read keep the stop waiting (its deadline
    // is seconds away), so that the second signal finds it under way.
    let (client, _) = flood(server.addr);
    server.signal("TERM");
    let first = next_with("SIGTERM received");
    assert!(first.contains("INFO") && first.contains("stopping gracefully"), "{first}");
    server.signal("INT");
    let second = next_with("SIGINT received");
    assert!(second.contains("WARN") && second.contains("stopping now"), "{second}");
    assert!(server.wait_exit(CHILD_WAIT).success());
    drop(client);
}

#[test]
fn a_server_in_this_process_stops_gracefully_when_the_process_gets_sigterm() {
    struct Echo;
    impl ServerHandler for Echo {
        fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
            server.send(client, msg)
        }
    }
    // The handler is installed by `start`, before it returns: raising the
    // signal after it cannot kill this test process (the other tests here
    // install none; they signal children).
    let server = Server::bind("127.0.0.1:0").unwrap().stop_on_signals().start(Echo).unwrap();
    let mut c = TcpStream::connect(server.local_addr()).unwrap();
    c.set_read_timeout(Some(CHILD_WAIT)).unwrap();
    c.write_all(&frame(7)).unwrap();
    let mut reply = vec![0u8; 4 + PAYLOAD];
    c.read_exact(&mut reply).unwrap();
    assert!(reply == frame(7));
    signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
    // Waited for on another thread, so that a stop that never comes fails
    // the test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let waited = server.wait().map_err(|e| e.to_string());
        let _ = tx.send((waited, server.is_running()));
    });
    let (waited, running) = rx.recv_timeout(CHILD_WAIT).expect("wait() did not return after SIGTERM");
    assert_eq!(waited, Ok(()));
    assert!(!running);
    // Its connection was closed by the stop: end of stream, not a reset.
    assert_eq!(c.read(&mut reply).unwrap(), 0);
}
