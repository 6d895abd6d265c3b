//! The load generator: one `mio` poller per client thread drives its share
//! of the connections, with no allocation and one write per connection per
//! loop turn, so the client costs about what the server does per message.
//!
//! Closed loop (the default), each connection keeps `--depth` frames in
//! flight, sending one for each echo. Open loop (`--rate`), each connection
//! sends on its own schedule (`open_loop.rs`), up to `--depth` in flight,
//! and every echo is timed twice: from the intended send time (corrected)
//! and from the actual write (uncorrected).
//!
//! Every frame carries its connection's id and a sequence number, then a
//! fixed filler; every echo is checked for its length and all three, so a
//! lost, reordered, duplicated, truncated or corrupted frame is counted as
//! an error.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};

use super::cpu;
use super::histogram::Latency;
use super::open_loop::{self, Pace, Schedule, LATE};
use super::rng::Rng;
use super::series::Series;

/// Bytes of a frame header: a big-endian `u32` payload length.
pub const HEADER: usize = 4;
/// Bytes at the start of each payload: connection id (`u32`) and sequence
/// number (`u64`), little-endian.
pub const STAMP: usize = 12;
/// How long a thread waits, once told to stop, for the frames still in flight.
pub const DRAIN_PATIENCE: Duration = Duration::from_secs(3);
/// At most this many error descriptions are kept for the report.
const KEEP_ERRORS: usize = 5;
/// The longest a thread sleeps before looking at the phase again.
const LONGEST_WAIT: Duration = Duration::from_millis(50);

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
    /// When the measured window started: set before the phase moves to
    /// [`MEASURE`], so that every thread counts its seconds from it.
    pub start: OnceLock<Instant>,
    /// When it ended: set before the phase moves to [`DRAIN`].
    pub end: OnceLock<Instant>,
}

impl Shared {
    /// Starts the measured window now.
    pub fn measure(&self) -> Instant {
        let now = *self.start.get_or_init(Instant::now);
        self.phase.store(MEASURE, Ordering::Release);
        now
    }

    /// Ends the measured window now.
    pub fn drain(&self) -> Instant {
        let now = *self.end.get_or_init(Instant::now);
        self.phase.store(DRAIN, Ordering::Release);
        now
    }
}

/// The load one thread generates.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Frames in flight per connection (at most, with a `pace`).
    pub depth: usize,
    /// Payload bytes per frame (at least [`STAMP`]), or the smallest of a range.
    pub size: usize,
    /// The largest payload: each frame's is drawn uniformly from `size..=size_max`.
    pub size_max: usize,
    /// Open loop: the rate and the schedules' start.
    pub pace: Option<Pace>,
}

/// What one client thread measured (or all of them, merged).
#[derive(Clone, Default)]
pub struct ThreadReport {
    /// Latencies of the echoes received while measuring: from the
    /// intended send time in an open loop, else from the write.
    pub latency: Latency,
    /// Open loop: the same echoes timed from their actual write.
    pub uncorrected: Option<Latency>,
    /// Open loop: how long after its intended time each message was written.
    pub send_lag: Option<Latency>,
    /// Open loop: messages written [`LATE`] or later.
    pub late: u64,
    /// Open loop: messages due in the window that were never written.
    pub unsent: u64,
    /// Echoes timed while measuring, and their payload bytes.
    pub echoes: u64,
    pub bytes: u64,
    /// The window second by second.
    pub series: Series,
    /// `--churn`: connections established while measuring, and how long
    /// each connect took.
    pub connects: u64,
    pub connect: Latency,
    /// The thread's CPU time while measuring, in ns.
    pub cpu_ns: Option<u64>,
    /// Errors counted.
    pub errors: u64,
    /// The first few errors, described.
    pub first_errors: Vec<String>,
}

impl ThreadReport {
    /// Adds `other` to this one exactly: histograms added value by value,
    /// counts summed, series merged second by second.
    pub fn merge(&mut self, other: &ThreadReport) {
        self.latency.merge(&other.latency);
        for (mine, theirs) in [(&mut self.uncorrected, &other.uncorrected), (&mut self.send_lag, &other.send_lag)] {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(Latency::default).merge(theirs);
            }
        }
        self.late += other.late;
        self.unsent += other.unsent;
        self.echoes += other.echoes;
        self.bytes += other.bytes;
        self.series.merge(&other.series);
        self.connects += other.connects;
        self.connect.merge(&other.connect);
        self.cpu_ns = match (self.cpu_ns, other.cpu_ns) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.errors += other.errors;
        for e in &other.first_errors {
            if self.first_errors.len() < KEEP_ERRORS {
                self.first_errors.push(e.clone());
            }
        }
    }

    /// Counts an error, keeping its description if it is among the first.
    pub fn error(&mut self, shared: &Shared, what: String) {
        self.errors += 1;
        shared.errors.fetch_add(1, Ordering::Relaxed);
        if self.first_errors.len() < KEEP_ERRORS {
            self.first_errors.push(what);
        }
    }
}

/// The filler after each payload's stamp: the first `len - STAMP` bytes of
/// this pattern, the same on both sides.
pub fn filler(len: usize) -> Vec<u8> {
    (0..len.saturating_sub(STAMP)).map(|i| (i as u8).wrapping_mul(7).wrapping_add(3)).collect()
}

/// Appends frame `seq` of connection `id`, `len` payload bytes, to `out`.
pub fn put_frame(out: &mut Vec<u8>, id: u32, seq: u64, len: usize, filler: &[u8]) {
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&filler[..len - STAMP]);
}

/// What the front of `filled` holds when frame `seq` of connection `id`,
/// of `len` payload bytes, is expected there.
pub enum Echo {
    /// Not all of it yet.
    Incomplete,
    /// The frame, intact: `HEADER + len` bytes.
    Intact,
    /// Something else, described.
    Wrong(String),
}

/// Checks the echo expected at the front of `filled` (see [`Echo`]).
pub fn check_echo(filled: &[u8], id: u32, seq: u64, len: usize, filler: &[u8]) -> Echo {
    let Some(header) = filled.first_chunk::<HEADER>() else { return Echo::Incomplete };
    let got = u32::from_be_bytes(*header) as usize;
    if got != len {
        return Echo::Wrong(format!("echo of {got} bytes for frame #{seq}, sent {len}"));
    }
    let Some(payload) = filled.get(HEADER..HEADER + len) else { return Echo::Incomplete };
    let their_id = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let mut seq_bytes = [0u8; 8];
    seq_bytes.copy_from_slice(&payload[4..STAMP]);
    let their_seq = u64::from_le_bytes(seq_bytes);
    if their_id != id {
        return Echo::Wrong(format!("echo of connection {their_id}'s frame"));
    }
    if their_seq != seq {
        return Echo::Wrong(format!("echo of frame #{their_seq}, expected #{seq}"));
    }
    if payload[STAMP..] != filler[..len - STAMP] {
        return Echo::Wrong(format!("frame #{seq} came back corrupted"));
    }
    Echo::Intact
}

/// A frame queued and not echoed yet.
struct Pending {
    /// Open loop: when it was due.
    intended: Option<Instant>,
    /// When the write that took its last byte started.
    sent: Option<Instant>,
    /// Payload bytes.
    len: usize,
    /// Bytes queued on the connection up to its end.
    end: u64,
}

struct Conn<S> {
    stream: S,
    id: u32,
    /// Sequence number of the next frame to send.
    next_send: u64,
    /// Sequence number of the next echo expected.
    next_recv: u64,
    /// The frames in flight, oldest first; the first `stamped` were written.
    pending: VecDeque<Pending>,
    stamped: usize,
    /// Bytes queued and bytes written, since the start.
    queued: u64,
    written: u64,
    out: Vec<u8>,
    out_head: usize,
    inbuf: Vec<u8>,
    in_start: usize,
    in_end: usize,
    dirty: bool,
    failed: bool,
    /// Draws the sizes of a range.
    rng: Rng,
    /// Open loop: the schedule, and the due time this connection waits in
    /// the timer heap for (if it does).
    schedule: Option<Schedule>,
    in_heap: Option<Instant>,
}

impl<S> Conn<S> {
    fn queue_frame(&mut self, load: &Load, filler: &[u8], intended: Option<Instant>) {
        let len = self.rng.between(load.size, load.size_max);
        put_frame(&mut self.out, self.id, self.next_send, len, filler);
        self.next_send += 1;
        self.queued += (HEADER + len) as u64;
        self.pending.push_back(Pending { intended, sent: None, len, end: self.queued });
    }
}

/// One client thread's state.
struct Client<'a, S> {
    conns: Vec<Conn<S>>,
    load: Load,
    filler: Vec<u8>,
    dirty: Vec<usize>,
    shared: &'a Shared,
    report: ThreadReport,
    /// The window, once it started (and ended).
    start: Option<Instant>,
    end: Option<Instant>,
    sending: bool,
    received: u64,
    /// Open loop: connections waiting for their next due time, earliest first.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
}

/// Drives `streams` (already connected, non-blocking; TCP or Unix) with
/// `load` until the main thread moves `shared.phase` to [`DRAIN`] and the
/// frames in flight came back (or [`DRAIN_PATIENCE`] ran out; those count
/// as errors). `streams` are numbered across all threads, which open-loop
/// schedules are staggered by. They close when this returns.
pub fn run<S: Read + Write + Source>(streams: Vec<(u32, S)>, load: Load, shared: Arc<Shared>) -> ThreadReport {
    let mut report = ThreadReport::default();
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            report.error(&shared, format!("cannot create a poller: {e}"));
            return report;
        }
    };
    if load.pace.is_some() {
        report.uncorrected = Some(Latency::default());
        report.send_lag = Some(Latency::default());
    }
    let frame_len = HEADER + load.size_max;
    // Room for several whole frames, so a partial frame can always be
    // moved to the front and completed.
    let inbuf_len = (64 * 1024).max(4 * frame_len);
    let mut conns = Vec::with_capacity(streams.len());
    for (i, (id, mut stream)) in streams.into_iter().enumerate() {
        // Both interests once, edge-triggered: no re-registration per message.
        if let Err(e) = poll.registry().register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE) {
            report.error(&shared, format!("cannot register a connection: {e}"));
        }
        conns.push(Conn {
            stream,
            id,
            next_send: 0,
            next_recv: 0,
            pending: VecDeque::with_capacity(load.depth.min(4096)),
            stamped: 0,
            queued: 0,
            written: 0,
            out: Vec::with_capacity(load.depth.min(4096) * frame_len),
            out_head: 0,
            inbuf: vec![0; inbuf_len],
            in_start: 0,
            in_end: 0,
            dirty: false,
            failed: false,
            rng: Rng::new(u64::from(id)),
            schedule: load.pace.as_ref().map(|p| Schedule::new(p, id as usize)),
            in_heap: None,
        });
    }
    let mut client = Client {
        dirty: Vec::with_capacity(conns.len()),
        timers: BinaryHeap::with_capacity(conns.len()),
        conns,
        load,
        filler: filler(load.size_max),
        shared: &shared,
        report,
        start: None,
        end: None,
        sending: true,
        received: 0,
    };
    client.drive(&mut poll);
    client.report
}

impl<S: Read + Write> Client<'_, S> {
    fn drive(&mut self, poll: &mut Poll) {
        let mut events = Events::with_capacity(1024);
        let now = Instant::now();
        for i in 0..self.conns.len() {
            self.top_up(i, now);
        }
        let mut drain_deadline = None;
        let mut cpu_start = None;
        loop {
            match self.shared.phase.load(Ordering::Acquire) {
                MEASURE if self.start.is_none() && drain_deadline.is_none() => {
                    self.start = self.shared.start.get().copied().or_else(|| Some(Instant::now()));
                    self.report.latency.clear();
                    cpu_start = cpu::thread_cpu_ns();
                }
                DRAIN if drain_deadline.is_none() => {
                    self.report.cpu_ns = cpu_start.zip(cpu::thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
                    let end = self.end.or_else(|| self.shared.end.get().copied()).unwrap_or_else(Instant::now);
                    self.end = Some(end);
                    self.sending = false;
                    for i in 0..self.conns.len() {
                        self.top_up(i, Instant::now());
                    }
                    drain_deadline = Some(Instant::now() + DRAIN_PATIENCE);
                }
                _ => {}
            }
            // The window's end as the main thread set it, before this thread
            // may have seen the phase change: echoes after it are not its.
            if self.end.is_none() {
                self.end = self.shared.end.get().copied();
            }
            if let Some(deadline) = drain_deadline {
                let waiting: usize = self.conns.iter().filter(|c| !c.failed).map(|c| c.pending.len()).sum();
                if waiting == 0 {
                    break;
                }
                if Instant::now() >= deadline {
                    self.error(format!("{waiting} frames still in flight {DRAIN_PATIENCE:?} after the end"));
                    break;
                }
            }
            self.send_due(Instant::now());
            self.flush_dirty();
            let next_due = if self.sending { self.timers.peek().map(|Reverse((due, _))| *due) } else { None };
            let timeout = open_loop::poll_timeout(next_due, Instant::now(), LONGEST_WAIT);
            if let Err(e) = poll.poll(&mut events, Some(timeout)) {
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
        if let Some(end) = self.end {
            self.count_unsent(end);
        }
    }

    fn error(&mut self, what: String) {
        self.report.error(self.shared, what);
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

    /// Queues what connection `i` may send now: closed loop, frames until
    /// `depth` are in flight; open loop, the messages due by `now`, as far
    /// as `depth` allows, each stamped with its intended time. A connection
    /// that waits for a later due time goes into the timer heap; one that is
    /// full waits for an echo, which calls this again.
    fn top_up(&mut self, i: usize, now: Instant) {
        // Once the window has ended, an open loop still sends what fell due
        // in it (late, and charged the wait), a closed loop nothing more.
        let until = match (self.sending, self.end) {
            (true, _) => None,
            (false, Some(end)) => Some(end),
            (false, None) => return,
        };
        let Some(conn) = self.conns.get_mut(i) else { return };
        let depth = self.load.depth;
        let mut queued = false;
        if conn.schedule.is_none() && until.is_none() {
            while !conn.failed && conn.pending.len() < depth {
                conn.queue_frame(&self.load, &self.filler, None);
                queued = true;
            }
        }
        while let Some(due) = conn.schedule.as_ref().map(Schedule::due) {
            if conn.failed || conn.pending.len() >= depth || until.is_some_and(|end| due >= end) {
                break;
            }
            if due > now {
                // Waiting for time (not for room): into the heap, once.
                if conn.in_heap != Some(due) {
                    conn.in_heap = Some(due);
                    self.timers.push(Reverse((due, i)));
                }
                break;
            }
            if let Some(s) = conn.schedule.as_mut() {
                s.advance();
            }
            conn.queue_frame(&self.load, &self.filler, Some(due));
            queued = true;
        }
        if queued {
            self.mark_dirty(i);
        }
    }

    /// Queues the messages of every connection whose due time has come.
    fn send_due(&mut self, now: Instant) {
        while let Some(&Reverse((due, i))) = self.timers.peek() {
            if due > now {
                break;
            }
            self.timers.pop();
            // A later entry replaced this one: skip it.
            let Some(conn) = self.conns.get_mut(i) else { continue };
            if conn.in_heap != Some(due) {
                continue;
            }
            conn.in_heap = None;
            self.top_up(i, now);
        }
    }

    /// After the drain: the messages due in the window that were never
    /// queued, because their connection stayed full (or failed).
    fn count_unsent(&mut self, end: Instant) {
        for conn in &mut self.conns {
            let Some(schedule) = conn.schedule.as_mut() else { continue };
            while schedule.due() < end {
                schedule.advance();
                self.report.unsent += 1;
            }
        }
    }

    /// One write per dirty connection; the frames it completes are
    /// stamped with the time just before it.
    fn flush_dirty(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            let Some(conn) = self.conns.get_mut(i) else { continue };
            conn.dirty = false;
            if conn.failed {
                continue;
            }
            if conn.out_head == conn.out.len() {
                // Nothing of its own to send, but a TLS stream may still
                // hold ciphertext for this WRITABLE edge (`tls.rs`); a
                // plain socket's flush does nothing.
                match conn.stream.flush() {
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::Interrupted => {
                        self.fail(i, format!("write failed: {e}"));
                    }
                    _ => {}
                }
                continue;
            }
            match conn.stream.write(&conn.out[conn.out_head..]) {
                Ok(n) => {
                    conn.out_head += n;
                    conn.written += n as u64;
                    while let Some(p) = conn.pending.get_mut(conn.stamped) {
                        if p.end > conn.written {
                            break;
                        }
                        p.sent = Some(now);
                        conn.stamped += 1;
                    }
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

    /// Reads what connection `i` has, checks every echo, and queues what
    /// may be sent next.
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
                    if self.sending || !conn.pending.is_empty() {
                        self.fail(i, "the server closed the connection".into());
                    }
                    return;
                }
                Ok(n) => {
                    conn.in_end += n;
                    let now = Instant::now();
                    self.take_echoes(i, now);
                    self.top_up(i, now);
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

    /// Checks, times and counts the complete echoes buffered for connection `i`.
    fn take_echoes(&mut self, i: usize, now: Instant) {
        let mut problem = None;
        {
            let Some(conn) = self.conns.get_mut(i) else { return };
            loop {
                let Some(front) = conn.pending.front() else {
                    if conn.in_end > conn.in_start {
                        problem = Some(format!("echo of frame #{}, which was not sent yet", conn.next_recv));
                    }
                    break;
                };
                let filled = &conn.inbuf[conn.in_start..conn.in_end];
                match check_echo(filled, conn.id, conn.next_recv, front.len, &self.filler) {
                    Echo::Incomplete => break,
                    Echo::Wrong(what) => {
                        problem = Some(what);
                        break;
                    }
                    Echo::Intact => {}
                }
                let Some(sent) = front.sent else {
                    problem = Some(format!("echo of frame #{}, which was not written yet", conn.next_recv));
                    break;
                };
                let (intended, len) = (front.intended, front.len);
                conn.pending.pop_front();
                conn.stamped -= 1;
                conn.next_recv += 1;
                conn.in_start += HEADER + len;
                self.received += 1;
                record(&mut self.report, self.start, self.end, now, intended, sent, len);
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

/// Records the echo, received at `now`, of a frame written at `sent` (and
/// due at `intended`, open loop), if it belongs to the window from `start`
/// (to `end`, once ended). Closed loop, that is an echo received in the
/// window; open loop, a message due in it, so that a stall at the end of
/// the window still counts when its echoes come during the drain.
fn record(
    report: &mut ThreadReport,
    start: Option<Instant>,
    end: Option<Instant>,
    now: Instant,
    intended: Option<Instant>,
    sent: Instant,
    len: usize,
) {
    let Some(start) = start else { return };
    let from = intended.unwrap_or(sent);
    let counts = match intended {
        Some(due) => due >= start && end.is_none_or(|end| due < end),
        None => end.is_none_or(|end| now < end),
    };
    if !counts {
        return;
    }
    let ns = |d: Duration| d.as_nanos() as u64;
    let latency = ns(now.saturating_duration_since(from));
    report.latency.record(latency);
    if let Some(h) = report.uncorrected.as_mut() {
        h.record(ns(now.saturating_duration_since(sent)));
    }
    if let Some(lag) = intended.map(|due| sent.saturating_duration_since(due)) {
        if let Some(h) = report.send_lag.as_mut() {
            h.record(ns(lag));
        }
        if lag >= LATE {
            report.late += 1;
        }
    }
    report.echoes += 1;
    report.bytes += len as u64;
    // The per-second series is the window's own: echoes of the drain
    // count in the totals above, not in a second after the end.
    if end.is_none_or(|end| now < end) {
        report.series.echo(now.saturating_duration_since(start), latency);
    }
}
