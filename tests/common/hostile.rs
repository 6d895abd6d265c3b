//! Tools for the hostile-input tests: deterministic garbage, resets, readings
//! of this process's resources from `/proc`, and handler wrappers that tell a
//! test which client a close belongs to and what the reactor's counters say.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use frameloop::{CloseReason, ConnId, Ctx, Handler, ReactorBuilder, TimerId};

use super::{read_frame, serve, write_frame, TestServer, PATIENCE};

/// xorshift64: reproducible pseudo-random numbers without a dependency, so a
/// failing run can be replayed from its seed.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Aborts the connection: SO_LINGER 0 makes the close send a RST instead of
/// a FIN, as a crashed or hostile peer would.
pub fn reset(stream: TcpStream) {
    let socket = socket2::Socket::from(stream);
    socket.set_linger(Some(Duration::ZERO)).expect("SO_LINGER 0");
    drop(socket);
}

/// The local port of a client: the server sees it as the peer's port.
pub fn port_of(s: &TcpStream) -> u16 {
    s.local_addr().expect("local addr").port()
}

/// A `kB` field of `/proc/self/status` (for example `VmRSS`), in bytes.
pub fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'));
    let kib: u64 = line
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    kib * 1024
}

/// Resident memory of this process, in bytes.
pub fn rss_bytes() -> u64 {
    proc_status_bytes("VmRSS")
}

/// The soft limit on open files of this process, if the system tells.
pub fn fd_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

/// Whether `needed` descriptors fit under the soft limit; says so on stderr
/// when the test has to be skipped.
///
/// Written to the process's stderr itself, not with `eprintln!`: libtest
/// keeps what a passing test prints with the macros to itself, and a skip
/// must be seen (the test still shows as `ok`).
pub fn enough_fds(needed: u64, test: &str) -> bool {
    match fd_soft_limit() {
        Some(limit) if limit >= needed => true,
        other => {
            let limit = other.map_or_else(|| "unknown".to_owned(), |l| l.to_string());
            super::skipped(
                test,
                &format!("needs {needed} open files, the soft limit is {limit} (raise it with `ulimit -n {needed}`)"),
            );
            false
        }
    }
}

/// Wraps a handler and reports every close keyed by the peer's port, so a
/// test can tell which of its clients a close belongs to.
pub struct ByPort<H> {
    pub inner: H,
    tx: Sender<(u16, CloseReason)>,
}

impl<H: Handler> Handler for ByPort<H> {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.inner.on_open(ctx, conn);
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        self.inner.on_frame(ctx, conn, frame);
    }
    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        let port = ctx.peer_addr(conn).ok().and_then(|a| a.tcp()).map_or(0, |a| a.port());
        let _ = self.tx.send((port, reason.clone()));
        self.inner.on_close(ctx, conn, reason);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        self.inner.on_timer(ctx, timer);
    }
    fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.inner.on_drain(ctx, conn);
    }
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.on_wake(ctx);
    }
}

/// Serves `handler`, with its closes also reported by the peer's port.
pub fn serve_by_port<H: Handler + Send + 'static>(
    builder: ReactorBuilder,
    handler: H,
) -> (TestServer, Receiver<(u16, CloseReason)>) {
    let (tx, rx) = mpsc::channel();
    (serve(builder, ByPort { inner: handler, tx }), rx)
}

/// Waits until every port in `ports` has closed; returns each one's reason.
/// Closes of other ports are ignored.
pub fn closes_of(rx: &Receiver<(u16, CloseReason)>, ports: &HashSet<u16>) -> HashMap<u16, CloseReason> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = HashMap::new();
    while got.len() < ports.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((port, reason)) if ports.contains(&port) => {
                assert!(got.insert(port, reason).is_none(), "port {port} closed twice");
            }
            Ok(_) => {}
            Err(_) => panic!("only {} of {} connections closed in time", got.len(), ports.len()),
        }
    }
    got
}

/// The frame that makes a [`Probed`] handler answer with its counters.
pub const PROBE: &[u8] = b"\xff\x00frameloop-test-probe";

/// The reactor's counters as seen through a probe.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    pub accepted: u64,
    /// Bytes read, not counting the probes.
    pub bytes_in: u64,
    pub closed: u64,
    pub backpressure_pauses: u64,
    pub closed_slow_consumer: u64,
    pub accept_backoffs: u64,
    pub open: u64,
}

/// Wraps a handler: a [`PROBE`] frame is answered with the reactor's
/// counters instead of reaching the inner handler.
pub struct Probed<H>(pub H);

thread_local! {
    /// Probes answered by the reactor running on this thread (each test
    /// server has a thread of its own).
    static PROBES_ANSWERED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl<H: Handler> Handler for Probed<H> {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.0.on_open(ctx, conn);
    }
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame != PROBE {
            return self.0.on_frame(ctx, conn, frame);
        }
        let probes = PROBES_ANSWERED.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let s = ctx.stats();
        let open = ctx.connection_count() as u64;
        // The probes' own bytes are left out, so a test can wait for its
        // other bytes to have been read.
        let bytes_in = s.bytes_in.saturating_sub(probes * (PROBE.len() as u64 + 4));
        let fields = [s.accepted, bytes_in, s.closed, s.backpressure_pauses, s.closed_slow_consumer];
        let reply: Vec<u8> = fields.iter().chain(&[s.accept_backoffs, open]).flat_map(|v| v.to_be_bytes()).collect();
        let _ = ctx.send(conn, &reply);
    }
    fn on_close(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, reason: CloseReason) {
        self.0.on_close(ctx, conn, reason);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId) {
        self.0.on_timer(ctx, timer);
    }
    fn on_drain(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        self.0.on_drain(ctx, conn);
    }
    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        self.0.on_wake(ctx);
    }
}

/// Asks a [`Probed`] server for its counters over `s`.
pub fn probe(s: &mut TcpStream) -> Counters {
    write_frame(s, PROBE);
    let reply = read_frame(s);
    let v: Vec<u64> = reply.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().unwrap())).collect();
    assert_eq!(v.len(), 7, "probe reply of {} bytes", reply.len());
    Counters {
        accepted: v[0],
        bytes_in: v[1],
        closed: v[2],
        backpressure_pauses: v[3],
        closed_slow_consumer: v[4],
        accept_backoffs: v[5],
        open: v[6],
    }
}

/// Probes over `s` until `done` holds for the counters (the reactor has
/// caught up with what the test sent), for at most the patience.
pub fn probe_until(s: &mut TcpStream, what: &str, done: impl Fn(&Counters) -> bool) -> Counters {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let c = probe(s);
        if done(&c) {
            return c;
        }
        assert!(Instant::now() < deadline, "the server did not get to {what} in time: {c:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Connects with retries: under an accept storm the listen backlog may be
/// full, and a dropped SYN is only retried by the kernel after a second.
pub fn connect_patiently(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + PATIENCE * 3;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => {
                s.set_read_timeout(Some(PATIENCE)).unwrap();
                s.set_write_timeout(Some(PATIENCE)).unwrap();
                s.set_nodelay(true).unwrap();
                return s;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("could not connect to {addr} in time: {e}"),
        }
    }
}

/// Writes all of `bytes`, ignoring a failure: the server may already have
/// closed the connection, which is what some tests expect.
pub fn write_quietly(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// Memory use of this process from a starting point: resident pages (with
/// their peak since the start, where the system lets the peak be reset) and
/// writable private mappings (`VmData`), which also count memory reserved
/// but never touched, such as a buffer sized by a length a peer claimed.
pub struct MemWatch {
    rss: u64,
    data: u64,
    peak_reset: bool,
}

impl MemWatch {
    pub fn start() -> Self {
        // "5" resets the peak resident size (VmHWM) to the current one.
        let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        MemWatch { rss: rss_bytes(), data: proc_status_bytes("VmData"), peak_reset }
    }

    /// Growth of the resident size: of its peak since the start when that
    /// can be told, else of its current value.
    pub fn rss_growth(&self) -> u64 {
        let now = if self.peak_reset { proc_status_bytes("VmHWM") } else { rss_bytes() };
        now.saturating_sub(self.rss)
    }

    pub fn data_growth(&self) -> u64 {
        proc_status_bytes("VmData").saturating_sub(self.data)
    }
}

pub const MIB: u64 = 1024 * 1024;
