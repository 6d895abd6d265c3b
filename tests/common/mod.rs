//! Helpers shared by the integration tests: a reactor running a handler on
//! its own thread, stopped (gracefully) when dropped, and framed blocking
//! clients over loopback.
#![allow(dead_code)]

/// Garbage, resets, resource readings and probes for the hostile-input tests.
pub mod hostile;
/// The test certificates, for the TLS tests.
#[cfg(feature = "tls")]
pub mod tls_files;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use frameloop::{CloseReason, ConnId, Ctx, HalfClose, Handler, Notifier, ReactorBuilder, Stats, TimerId};

/// How long any single wait in a test may last before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Says that `test` skipped (all or part of) what it checks, and why, as
/// `skipped: <test>: <why>`. Written to stderr directly, not with
/// `eprintln!`, which the test harness captures and shows only for a
/// failure: the line must reach the output of a passing run, where CI looks
/// for it.
pub fn skipped(test: &str, why: &str) {
    let _ = std::io::stderr().write_all(format!("skipped: {test}: {why}\n").as_bytes());
}

/// Wraps a handler: reports every close on a channel and stops the reactor
/// when asked from the test thread.
pub struct Harness<H> {
    pub inner: H,
    stop: Arc<AtomicBool>,
    closes: Sender<(ConnId, CloseReason)>,
}

impl<H: Handler> Handler for Harness<H> {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.inner.on_open(ctx, conn);
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        self.inner.on_frame(ctx, conn, frame);
    }
    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        let _ = self.closes.send((conn, reason.clone()));
        self.inner.on_close(ctx, conn, reason);
    }
    fn on_half_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) -> HalfClose {
        self.inner.on_half_close(ctx, conn)
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        self.inner.on_timer(ctx, timer);
    }
    fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.inner.on_drain(ctx, conn);
    }
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        if self.stop.load(Ordering::SeqCst) {
            ctx.stop();
        }
        self.inner.on_wake(ctx);
    }
}

/// A reactor serving on its own thread.
pub struct TestServer {
    pub addr: SocketAddr,
    pub closes: Receiver<(ConnId, CloseReason)>,
    notifier: Notifier,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Stats>>,
}

impl TestServer {
    /// Stops gracefully and returns the reactor's final counters.
    pub fn stop(mut self) -> Stats {
        self.stop_inner().expect("server thread")
    }

    fn stop_inner(&mut self) -> Option<Stats> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.notifier.notify();
        self.thread.take().map(|t| t.join().expect("server thread panicked"))
    }

    /// Waits for the next close the handler saw.
    pub fn next_close(&self) -> (ConnId, CloseReason) {
        self.closes.recv_timeout(PATIENCE).expect("no connection closed in time")
    }

    /// Waits until a close with a reason matching `pred` is seen; other
    /// closes are skipped.
    pub fn wait_close(&self, pred: impl Fn(&CloseReason) -> bool) -> CloseReason {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (_, reason) = self.closes.recv_timeout(left).expect("expected close not seen in time");
            if pred(&reason) {
                return reason;
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Runs `handler` on a reactor built from `builder`, listening on an
/// ephemeral loopback port.
pub fn serve<H: Handler + Send + 'static>(builder: ReactorBuilder, handler: H) -> TestServer {
    let mut reactor = builder.build().expect("build reactor");
    let addr = reactor.listen("127.0.0.1:0").expect("listen").tcp().expect("a TCP address");
    let notifier = reactor.notifier();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, closes) = mpsc::channel();
    let mut harness = Harness { inner: handler, stop: Arc::clone(&stop), closes: tx };
    let thread = std::thread::spawn(move || {
        reactor.run(&mut harness).expect("reactor run");
        reactor.stats()
    });
    TestServer { addr, closes, notifier, stop, thread: Some(thread) }
}

/// Sends every frame back to its sender.
pub struct Echo;

impl Handler for Echo {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }
}

/// An echo server with the given settings.
pub fn echo_server(builder: ReactorBuilder) -> TestServer {
    serve(builder, Echo)
}

/// A blocking loopback client with timeouts, speaking frames.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

pub fn write_frame(s: &mut TcpStream, payload: &[u8]) {
    s.write_all(&frame(payload)).expect("write frame");
}

pub fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 4];
    s.read_exact(&mut header).expect("read frame header");
    let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
    s.read_exact(&mut payload).expect("read frame payload");
    payload
}

/// Reads until the end of the stream, or a reset if `reset_is_end`;
/// returns what arrived, or the error that ended the reading and what
/// arrived before it.
fn read_until_end(s: &mut TcpStream, reset_is_end: bool) -> Result<Vec<u8>, (std::io::Error, Vec<u8>)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if reset_is_end && e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(got),
            Err(e) => return Err((e, got)),
        }
    }
}

/// Reads until the end of the stream; a reset fails the test, since it
/// may have thrown away what was sent before it.
pub fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    read_until_end(s, false)
        .unwrap_or_else(|(e, got)| panic!("expected the message then the end of the stream, got {e} after {got:?}"))
}

/// Echoes frames; `pause` and `resume` pause and resume accepting, so a
/// test can have a client wait in the accept queue.
pub struct AcceptControl;

impl Handler for AcceptControl {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        match frame {
            b"pause" => ctx.pause_accept(),
            b"resume" => ctx.resume_accept(),
            _ => {}
        }
        let _ = ctx.send(conn, frame);
    }
}

/// Waits for the next client of a polling server to connect, passing over
/// other events.
pub fn next_connected(server: &frameloop::PollingServer) -> frameloop::ConnId {
    loop {
        match server.wait_event(PATIENCE) {
            Some(frameloop::Event::Connected { client, .. }) => return client,
            Some(_) => {}
            None => panic!("no client connected"),
        }
    }
}

/// Reads until end of stream (or reset); returns what arrived. Fails the
/// test if the peer neither closes nor resets within the patience.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    read_until_end(s, true).unwrap_or_else(|(e, _)| panic!("expected the server to close the connection, got {e}"))
}

/// The frame exchange that proves a server still serves: one round trip on
/// a fresh connection.
pub fn assert_serves(addr: SocketAddr) {
    let mut s = connect(addr);
    write_frame(&mut s, b"still there?");
    assert_eq!(read_frame(&mut s), b"still there?");
}

impl TestServer {
    /// Waits until the reactor's `run` returned by itself (a callback called
    /// `ctx.stop()`), without asking it to stop; returns its final counters.
    pub fn wait_stopped(mut self) -> Stats {
        let deadline = Instant::now() + PATIENCE;
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            assert!(Instant::now() < deadline, "the reactor did not return from run() in time");
            std::thread::sleep(Duration::from_millis(10));
        }
        self.stop_inner().expect("server thread")
    }
}

/// Asserts that nothing arrives on `s` (not even end of stream) for `wait`.
pub fn assert_silent(s: &mut TcpStream, wait: Duration) {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match s.read(&mut byte) {
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
        other => panic!("expected silence for {wait:?}, got {other:?}"),
    }
    s.set_read_timeout(Some(PATIENCE)).unwrap();
}

/// Waits until `pred` holds, failing the test after the patience.
pub fn wait_until(what: &str, pred: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A `Write` the test can read back: what an example prints, captured.
#[derive(Clone, Default)]
pub struct SharedOutput(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SharedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOutput {
    /// Everything written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Writes the frames `make(0)`, `make(1)`, ... on a non-blocking socket
/// until the peer stops taking them: a write is refused, and still refused
/// after a pause long enough for a reading peer to make room. Fails the
/// test if `cap` frames went through. Returns how many frames were started
/// and the unsent rest of the last one (the socket is blocking again).
pub fn flood_until_blocked(s: &mut TcpStream, cap: u32, make: impl Fn(u32) -> Vec<u8>) -> (u32, Vec<u8>) {
    s.set_nonblocking(true).unwrap();
    let mut pending = Vec::new();
    let mut sent = 0;
    let mut refused = false;
    loop {
        if pending.is_empty() {
            assert!(sent < cap, "never made to wait: {sent} frames went to a peer that should take nothing");
            pending = make(sent);
            sent += 1;
        }
        match s.write(&pending) {
            Ok(n) => {
                pending.drain(..n);
                refused = false;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && refused => break,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                refused = true;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    s.set_nonblocking(false).unwrap();
    (sent, pending)
}

/// `n` peers at once, each as `echo hi | nc -N` behaves: it sends frames
/// `msgs(peer)`, shuts down its sending side, and reads until the server
/// closes. Returns how many did not get back exactly `replies(peer)`, the
/// frames expected, before the end of stream: the replies lost to a
/// half-close. Every wait is bounded (twice the patience, so that a
/// server holding connections for its 10 s half-close timeout is seen to
/// close them, not taken for lost).
pub fn half_closing_peers(
    addr: SocketAddr,
    n: usize,
    msgs: impl Fn(usize) -> Vec<Vec<u8>> + Sync,
    replies: impl Fn(usize) -> Vec<Vec<u8>> + Sync,
) -> usize {
    let lost = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for peer in 0..n {
            let (msgs, replies, lost) = (&msgs, &replies, &lost);
            s.spawn(move || {
                let mut c = connect(addr);
                c.set_read_timeout(Some(2 * PATIENCE)).unwrap();
                let out: Vec<u8> = msgs(peer).iter().flat_map(|m| frame(m)).collect();
                let sent = c.write_all(&out).and_then(|()| c.shutdown(std::net::Shutdown::Write));
                let expected: Vec<u8> = replies(peer).iter().flat_map(|m| frame(m)).collect();
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                let ended = loop {
                    match c.read(&mut buf) {
                        Ok(0) => break true,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                        Err(_) => break false,
                    }
                };
                if sent.is_err() || !ended || got != expected {
                    lost.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    lost.into_inner()
}

/// Waits up to `within` for `child` to exit and returns how it ended; past
/// that, kills it, reaps it, and returns `None`.
pub fn wait_child_or_kill(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child process") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits up to `within` for `child` to exit and returns how it ended; past
/// that, kills it and fails the test with `what`.
pub fn wait_child(child: &mut Child, within: Duration, what: &str) -> ExitStatus {
    wait_child_or_kill(child, within).unwrap_or_else(|| panic!("{what}"))
}

/// Starts this test binary again, running only `test`, under
/// `ulimit -n fd_limit` (the limit is the child's alone) and with `env` set
/// to `1` in its environment; its input is a pipe, its stderr this
/// process's. Returns the child and the lines of its stdout, read on a
/// thread to the end (so that it never blocks on a full pipe).
pub fn spawn_self_limited(test: &str, fd_limit: usize, env: &str) -> (Child, Receiver<String>) {
    let exe = std::env::current_exe().expect("path of the test binary");
    // `ulimit` in the shell, then `exec`: only the child gets the limit.
    let script = format!("ulimit -n {fd_limit} && exec \"$0\" {test} --exact --nocapture --test-threads=1");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .env(env, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child server");
    let lines = lines_of(child.stdout.take().unwrap());
    (child, lines)
}

/// The lines `out` carries (a child's stdout or stderr), read on a thread
/// so that every wait for one can be bounded. It reads on to the end even
/// once nobody listens, so the child never blocks on a full pipe.
pub fn lines_of(out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    lines
}
