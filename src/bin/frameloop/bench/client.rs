//! The load generator: one `mio` poller per client thread drives its share
//! of the connections, with no allocation and one write per connection per
//! loop turn, so the client costs about what the server does per message.
//!
//! Every frame carries its connection's id and a sequence number, then a
//! fixed filler; every echo is checked for all three, so a lost, reordered,
//! duplicated, truncated or corrupted frame is counted as an error.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::cpu;
use super::histogram::Latency;

/// Bytes of a frame header: a big-endian `u32` payload length.
const HEADER: usize = 4;
/// Bytes at the start of each payload: connection id (`u32`) and sequence
/// number (`u64`), little-endian.
pub const STAMP: usize = 12;
/// How long a thread waits, once told to stop, for the frames still in flight.
const DRAIN_PATIENCE: Duration = Duration::from_secs(3);
/// At most this many error descriptions are kept for the report.
const KEEP_ERRORS: usize = 5;

/// Phases the main thread moves the client threads through: 0 (the
/// default) warms up, then latencies and CPU time count from this one.
pub const MEASURE: u8 = 1;
/// No new frames; wait for the ones in flight, then end.
pub const DRAIN: u8 = 2;

/// What the client threads share with the main thread.
#[derive(Debug, Default)]
pub struct Shared {
    /// The current phase.
    pub phase: AtomicU8,
    /// Echoes received and checked, by all threads (updated once a loop turn).
    pub received: AtomicU64,
    /// Errors seen so far, by all threads.
    pub errors: AtomicU64,
}

/// The load one thread generates.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Frames in flight per connection.
    pub depth: usize,
    /// Payload bytes per frame (at least [`STAMP`]).
    pub size: usize,
}

/// What one client thread measured.
#[derive(Clone, Default)]
pub struct ThreadReport {
    /// Latencies of the echoes received while measuring.
    pub latency: Latency,
    /// The thread's CPU time while measuring, in ns.
    pub cpu_ns: Option<u64>,
    /// Errors counted.
    pub errors: u64,
    /// The first few errors, described.
    pub first_errors: Vec<String>,
}

struct Conn {
    stream: TcpStream,
    id: u32,
    /// Sequence number of the next frame to send.
    next_send: u64,
    /// Sequence number of the next echo expected.
    next_recv: u64,
    /// Send times of the frames in flight, oldest first.
    stamps: VecDeque<Instant>,
    /// Frames queued this turn, stamped when the turn's writes start.
    unstamped: usize,
    out: Vec<u8>,
    out_head: usize,
    inbuf: Vec<u8>,
    in_start: usize,
    in_end: usize,
    dirty: bool,
    failed: bool,
}

impl Conn {
    fn in_flight(&self) -> usize {
        self.stamps.len() + self.unstamped
    }

    fn queue_frame(&mut self, size: usize, filler: &[u8]) {
        self.out.extend_from_slice(&(size as u32).to_be_bytes());
        self.out.extend_from_slice(&self.id.to_le_bytes());
        self.out.extend_from_slice(&self.next_send.to_le_bytes());
        self.out.extend_from_slice(filler);
        self.next_send += 1;
        self.unstamped += 1;
    }
}

/// One client thread's state.
struct Client<'a> {
    conns: Vec<Conn>,
    load: Load,
    filler: Vec<u8>,
    dirty: Vec<usize>,
    shared: &'a Shared,
    report: ThreadReport,
    measuring: bool,
    sending: bool,
    received: u64,
}

/// Drives `streams` (already connected, non-blocking) with `load` until the
/// main thread moves `shared.phase` to [`DRAIN`] and the frames in flight
/// came back (or [`DRAIN_PATIENCE`] ran out; those count as errors).
pub fn run(streams: Vec<(u32, TcpStream)>, load: Load, shared: Arc<Shared>) -> ThreadReport {
    let mut report = ThreadReport::default();
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            report.errors = 1;
            report.first_errors.push(format!("cannot create a poller: {e}"));
            shared.errors.fetch_add(1, Ordering::Relaxed);
            return report;
        }
    };
    let frame_len = HEADER + load.size;
    // Room for several whole frames, so a partial frame can always be
    // moved to the front and completed.
    let inbuf_len = (64 * 1024).max(4 * frame_len);
    let mut conns = Vec::with_capacity(streams.len());
    for (i, (id, mut stream)) in streams.into_iter().enumerate() {
        // Both interests once, edge-triggered: no re-registration per message.
        if let Err(e) = poll.registry().register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE) {
            report.errors += 1;
            report.first_errors.push(format!("cannot register a connection: {e}"));
        }
        conns.push(Conn {
            stream,
            id,
            next_send: 0,
            next_recv: 0,
            stamps: VecDeque::with_capacity(load.depth),
            unstamped: 0,
            out: Vec::with_capacity(load.depth * frame_len),
            out_head: 0,
            inbuf: vec![0; inbuf_len],
            in_start: 0,
            in_end: 0,
            dirty: false,
            failed: false,
        });
    }
    let filler: Vec<u8> = (0..load.size - STAMP).map(|i| (i as u8).wrapping_mul(7).wrapping_add(3)).collect();
    let mut client = Client {
        dirty: Vec::with_capacity(conns.len()),
        conns,
        load,
        filler,
        shared: &shared,
        report,
        measuring: false,
        sending: true,
        received: 0,
    };
    client.drive(&mut poll);
    client.report
}

impl Client<'_> {
    fn drive(&mut self, poll: &mut Poll) {
        let mut events = Events::with_capacity(1024);
        for i in 0..self.conns.len() {
            self.top_up(i);
        }
        let mut drain_deadline = None;
        let mut cpu_start = None;
        loop {
            match self.shared.phase.load(Ordering::Acquire) {
                MEASURE if !self.measuring && drain_deadline.is_none() => {
                    self.measuring = true;
                    self.report.latency.clear();
                    cpu_start = cpu::thread_cpu_ns();
                }
                DRAIN if drain_deadline.is_none() => {
                    self.report.cpu_ns = cpu_start.zip(cpu::thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
                    self.measuring = false;
                    self.sending = false;
                    drain_deadline = Some(Instant::now() + DRAIN_PATIENCE);
                }
                _ => {}
            }
            if let Some(deadline) = drain_deadline {
                let waiting: usize = self.conns.iter().filter(|c| !c.failed).map(Conn::in_flight).sum();
                if waiting == 0 {
                    break;
                }
                if Instant::now() >= deadline {
                    self.error(format!("{waiting} frames still in flight {DRAIN_PATIENCE:?} after the end"));
                    break;
                }
            }
            self.flush_dirty();
            if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(50))) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.error(format!("poll failed: {e}"));
                    break;
                }
            }
            for event in events.iter() {
                let i = event.token().0;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read(i);
                }
                if event.is_writable() {
                    self.mark_dirty(i);
                }
            }
            let n = std::mem::take(&mut self.received);
            if n > 0 {
                self.shared.received.fetch_add(n, Ordering::Relaxed);
            }
        }
        for conn in &mut self.conns {
            let _ = conn.stream.shutdown(std::net::Shutdown::Both);
        }
    }

    fn error(&mut self, what: String) {
        self.report.errors += 1;
        self.shared.errors.fetch_add(1, Ordering::Relaxed);
        if self.report.first_errors.len() < KEEP_ERRORS {
            self.report.first_errors.push(what);
        }
    }

    fn fail(&mut self, i: usize, what: String) {
        if let Some(conn) = self.conns.get_mut(i) {
            if conn.failed {
                return;
            }
            conn.failed = true;
            let id = conn.id;
            self.error(format!("connection {id}: {what}"));
        }
    }

    fn mark_dirty(&mut self, i: usize) {
        if let Some(conn) = self.conns.get_mut(i) {
            if !conn.dirty && !conn.failed {
                conn.dirty = true;
                self.dirty.push(i);
            }
        }
    }

    /// Queues frames until `depth` are in flight on connection `i`.
    fn top_up(&mut self, i: usize) {
        if !self.sending {
            return;
        }
        let Some(conn) = self.conns.get_mut(i) else { return };
        let mut queued = false;
        while !conn.failed && conn.in_flight() < self.load.depth {
            conn.queue_frame(self.load.size, &self.filler);
            queued = true;
        }
        if queued {
            self.mark_dirty(i);
        }
    }

    /// One write per dirty connection; the frames queued since the last
    /// flush are stamped with the time just before it.
    fn flush_dirty(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            let Some(conn) = self.conns.get_mut(i) else { continue };
            conn.dirty = false;
            for _ in 0..conn.unstamped {
                conn.stamps.push_back(now);
            }
            conn.unstamped = 0;
            if conn.failed || conn.out_head == conn.out.len() {
                continue;
            }
            match conn.stream.write(&conn.out[conn.out_head..]) {
                Ok(n) => {
                    conn.out_head += n;
                    if conn.out_head == conn.out.len() {
                        conn.out.clear();
                        conn.out_head = 0;
                    } else if conn.out_head * 2 >= conn.out.len() {
                        // Frames are queued behind a partial write: drop the
                        // written front now and then, or the buffer only
                        // grows (1 x 16 x 1 MiB reached 500 MB).
                        conn.out.drain(..conn.out_head);
                        conn.out_head = 0;
                    }
                    // The rest waits for the next WRITABLE edge.
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    conn.dirty = true;
                    self.dirty.push(i);
                }
                Err(e) => self.fail(i, format!("write failed: {e}")),
            }
        }
        dirty.clear();
        // Keep the allocation of whichever list is longer lived.
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    /// Reads what connection `i` has, checks every echo, and sends a new
    /// frame for each one received.
    fn read(&mut self, i: usize) {
        loop {
            let Some(conn) = self.conns.get_mut(i) else { return };
            if conn.failed {
                return;
            }
            if conn.in_end == conn.inbuf.len() {
                conn.inbuf.copy_within(conn.in_start..conn.in_end, 0);
                conn.in_end -= conn.in_start;
                conn.in_start = 0;
            }
            let space = conn.inbuf.len() - conn.in_end;
            match conn.stream.read(&mut conn.inbuf[conn.in_end..]) {
                Ok(0) => {
                    if self.sending || conn.in_flight() > 0 {
                        self.fail(i, "the server closed the connection".into());
                    }
                    return;
                }
                Ok(n) => {
                    conn.in_end += n;
                    let now = Instant::now();
                    self.take_echoes(i, now);
                    self.top_up(i);
                    // A short read drained the socket; new bytes raise a new edge.
                    if n < space {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(i, format!("read failed: {e}"));
                    return;
                }
            }
        }
    }

    /// Checks and counts the complete echoes buffered for connection `i`.
    fn take_echoes(&mut self, i: usize, now: Instant) {
        let size = self.load.size;
        let mut problem = None;
        {
            let Some(conn) = self.conns.get_mut(i) else { return };
            loop {
                let filled = &conn.inbuf[conn.in_start..conn.in_end];
                let Some(header) = filled.first_chunk::<HEADER>() else { break };
                let len = u32::from_be_bytes(*header) as usize;
                if len != size {
                    problem = Some(format!("echo of {len} bytes, sent {size}"));
                    break;
                }
                let Some(payload) = filled.get(HEADER..HEADER + len) else {
                    break; // incomplete: wait for the rest
                };
                let id = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
                let mut seq_bytes = [0u8; 8];
                seq_bytes.copy_from_slice(&payload[4..STAMP]);
                let seq = u64::from_le_bytes(seq_bytes);
                if id != conn.id {
                    problem = Some(format!("echo of connection {id}'s frame"));
                    break;
                }
                if seq != conn.next_recv {
                    problem = Some(format!("echo of frame #{seq}, expected #{}", conn.next_recv));
                    break;
                }
                if payload[STAMP..] != self.filler[..] {
                    problem = Some(format!("frame #{seq} came back corrupted"));
                    break;
                }
                let Some(sent) = conn.stamps.pop_front() else {
                    problem = Some(format!("echo of frame #{seq}, which was not sent yet"));
                    break;
                };
                if self.measuring {
                    self.report.latency.record(now.saturating_duration_since(sent).as_nanos() as u64);
                }
                conn.next_recv += 1;
                conn.in_start += HEADER + len;
                self.received += 1;
            }
            if conn.in_start == conn.in_end {
                conn.in_start = 0;
                conn.in_end = 0;
            }
        }
        if let Some(what) = problem {
            self.fail(i, what);
        }
    }
}
