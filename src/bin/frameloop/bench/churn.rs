//! `frameloop bench --churn R --per-conn K`: the server's accept path. New
//! connections open at R per second (on a schedule, `--arrival` as for
//! `--rate`), each writes its K messages at once as soon as it is
//! established (pipelined: one write, no waiting between them), checks
//! their echoes, and closes. The report gives the connects per second
//! achieved, the connect latency (from `connect()` to established) and the
//! message latency (from the write to the echo).
//!
//! `--churn max` is the closed loop of the same: each thread keeps its
//! share of `--conns` connections open, opening the next as soon as one
//! closes, so the rate achieved is what the server takes (or the client
//! gives: the report shows both sides' CPU). An open loop asked for more
//! than a server takes only queues connects until they time out; this is
//! how to compare servers' capacity, full TLS handshakes a second above
//! all.
//!
//! A connect that falls due while a thread already has [`MAX_OPEN`]
//! connections open waits for one to close (the server is not keeping up),
//! and is counted as late; one that is still waiting at the end of the
//! window is counted as never started. Closing normally leaves the
//! client's side of each TCP connection in TIME_WAIT for a minute, so a
//! long run at a high rate runs out of local ports: that shows as connect
//! errors. A Unix socket's connect finishes at once, and one that finds
//! the server's backlog full fails at once, as a connect error.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frameloop::Addr;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::client::{
    check_echo, filler, put_frame, Echo, Shared, ThreadReport, DRAIN, DRAIN_PATIENCE, HEADER, MEASURE,
};
use super::cpu;
use super::open_loop::{self, Pace, Schedule, LATE};
use super::options::{Churn, Options};
use super::report::thousands;
use super::rng::Rng;
use super::socket::{with_socket, Socket, WithSocket};
use super::{measure, print_server, serve, size_text, Measured};

/// Connections one thread keeps open at most.
const MAX_OPEN: usize = 4096;
/// How long one connection may take, from `connect()` to its last echo.
const PATIENCE: Duration = Duration::from_secs(5);

/// Runs the churn of `opts` and prints its report.
pub fn run(opts: &Options) -> Result<Measured, String> {
    let churn = opts.churn.ok_or("--churn was not given")?;
    let (server, addr) = serve(opts)?;
    let arrivals = match churn {
        Churn::Rate(rate) => {
            format!("{} new connection(s)/s ({} arrivals)", thousands(rate.round() as u64), opts.arrival.name())
        }
        Churn::Max => format!("closed loop, {} connection(s) open at once, each replaced as it closes", opts.conns),
    };
    println!(
        "frameloop bench: churn, {arrivals} x {} message(s) of {} B each, {} s measured after {} s warm-up",
        opts.per_conn,
        size_text(opts),
        opts.secs,
        opts.warmup
    );
    print_server(opts, &server, &addr);
    println!(
        "client: {} thread(s), mio; each connection writes its {} message(s) at once, checks the echoes, closes",
        opts.threads, opts.per_conn
    );
    let shared = Arc::new(Shared::default());
    let threads = with_socket(&addr, opts.tls.as_ref(), Churners { opts, churn, addr: &addr, shared: &shared })?;
    measure(opts, server, &shared, threads)
}

/// The churn threads of a run, started on sockets of the kind `addr` names.
struct Churners<'a> {
    opts: &'a Options,
    churn: Churn,
    addr: &'a Addr,
    shared: &'a Arc<Shared>,
}

impl WithSocket for Churners<'_> {
    type Output = Vec<std::thread::JoinHandle<ThreadReport>>;

    fn run<S: Socket>(self, to: &S::Addr) -> Result<Self::Output, String> {
        let Churners { opts, churn: kind, addr, shared } = self;
        let epoch = Instant::now();
        // In-process, each connection takes two descriptors of this process.
        let fds = cpu::max_open_files().unwrap_or(1024) as usize;
        let per_thread_fds = fds.saturating_sub(64) / if opts.addr.is_some() { 1 } else { 2 } / opts.threads;
        let work = Work {
            addr: to.clone(),
            shown: addr.clone(),
            size: opts.size,
            size_max: opts.size_max,
            per_conn: opts.per_conn,
            max_open: MAX_OPEN.min(per_thread_fds.max(1)),
            threads: opts.threads,
        };
        let mut threads = Vec::new();
        for t in 0..opts.threads {
            let shared = Arc::clone(shared);
            let opening = match kind {
                // Each thread opens its share on a schedule of its own, staggered.
                Churn::Rate(rate) => {
                    let pace = Pace { rate, conns: opts.threads, arrival: opts.arrival, epoch };
                    Opening::Scheduled(Schedule::new(&pace, t))
                }
                // Its share of the connections, the first threads one more.
                Churn::Max => Opening::Replaced(opts.conns / opts.threads + usize::from(t < opts.conns % opts.threads)),
            };
            let work = work.clone();
            let handle = std::thread::Builder::new()
                .name(format!("bench-churn-{t}"))
                .spawn(move || churn::<S>(t, opening, &work, &shared))
                .map_err(|e| format!("cannot start a client thread: {e}"))?;
            threads.push(handle);
        }
        Ok(threads)
    }
}

/// What every churn thread does, connecting to `addr`.
#[derive(Debug, Clone)]
struct Work<A> {
    addr: A,
    /// `addr` as errors name it.
    shown: Addr,
    size: usize,
    size_max: usize,
    per_conn: usize,
    max_open: usize,
    threads: usize,
}

/// When a churn thread opens its next connection.
#[derive(Debug)]
enum Opening {
    /// When its schedule says (`--churn R`).
    Scheduled(Schedule),
    /// Whenever fewer than this many of its connections are open
    /// (`--churn max`).
    Replaced(usize),
}

impl Opening {
    /// When the next connection is due, with `open` open now: `None` until
    /// one closes. A replacement is due at once, never late.
    fn due(&self, open: usize, now: Instant) -> Option<Instant> {
        match self {
            Opening::Scheduled(s) => Some(s.due()),
            Opening::Replaced(n) => (open < *n).then_some(now),
        }
    }

    /// Moves on past the connection due now.
    fn advance(&mut self) {
        if let Opening::Scheduled(s) = self {
            s.advance();
        }
    }

    /// Connections due before `end` that were not opened: moves past them
    /// and counts them.
    fn skip_until(&mut self, end: Instant) -> u64 {
        let Opening::Scheduled(s) = self else { return 0 };
        let mut skipped = 0;
        while s.due() < end {
            s.advance();
            skipped += 1;
        }
        skipped
    }
}

/// One connection of the churn.
struct Conn<M> {
    stream: M,
    id: u32,
    /// When `connect()` was called.
    called: Instant,
    established: bool,
    /// Payload length, end offset in the bytes queued and write time of
    /// each message not echoed yet, oldest first.
    pending: VecDeque<(usize, u64, Option<Instant>)>,
    next_recv: u64,
    written: u64,
    out: Vec<u8>,
    out_head: usize,
    inbuf: Vec<u8>,
    in_start: usize,
    in_end: usize,
}

/// Thread `t`'s share of the churn.
fn churn<S: Socket>(t: usize, mut opening: Opening, work: &Work<S::Addr>, shared: &Shared) -> ThreadReport {
    let mut report = ThreadReport::default();
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            report.error(shared, format!("cannot create a poller: {e}"));
            return report;
        }
    };
    let filler = filler(work.size_max);
    let inbuf_len = (64 * 1024).max(4 * (HEADER + work.size_max));
    let mut rng = Rng::new(t as u64);
    let mut conns: Slab<Conn<S::Mio>> = Slab::new();
    let mut events = Events::with_capacity(1024);
    let (mut start, mut end) = (None, None);
    let mut cpu_start = None;
    let mut serial = t as u32;
    let mut drain_deadline = None;
    let mut last_sweep = Instant::now();
    loop {
        match shared.phase.load(Ordering::Acquire) {
            MEASURE if start.is_none() && end.is_none() => {
                start = Some(shared.start.get().copied().unwrap_or_else(Instant::now));
                cpu_start = cpu::thread_cpu_ns();
            }
            DRAIN if end.is_none() => {
                report.cpu_ns = cpu_start.zip(cpu::thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
                let at = shared.end.get().copied().unwrap_or_else(Instant::now);
                end = Some(at);
                report.unsent += opening.skip_until(at);
                drain_deadline = Some(Instant::now() + DRAIN_PATIENCE);
            }
            _ => {}
        }
        if let Some(deadline) = drain_deadline {
            if conns.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                let n = conns.len();
                report.error(shared, format!("{n} connection(s) still open {DRAIN_PATIENCE:?} after the end"));
                break;
            }
        }
        // New connections, as many as are due and fit.
        let now = Instant::now();
        while end.is_none() && conns.len() < work.max_open {
            let Some(due) = opening.due(conns.len(), now).filter(|&due| due <= now) else { break };
            opening.advance();
            let in_window = start.is_some_and(|s| due >= s);
            if in_window && now.saturating_duration_since(due) >= LATE {
                report.late += 1;
            }
            let called = Instant::now();
            // A failure ends this turn's connects: a replacement is due
            // again at once (`--churn max`), so going on would retry a
            // failing connect without end, never polling or seeing the
            // window close.
            let mut stream = match S::start_connect(&work.addr) {
                Ok(s) => s,
                Err(e) => {
                    report.error(shared, format!("connect to {}: {e}", work.shown));
                    break;
                }
            };
            let entry = conns.vacant_entry();
            if let Err(e) =
                poll.registry().register(&mut stream, Token(entry.key()), Interest::READABLE | Interest::WRITABLE)
            {
                report.error(shared, format!("cannot register a connection: {e}"));
                break;
            }
            entry.insert(Conn {
                stream,
                id: serial,
                called,
                established: false,
                pending: VecDeque::with_capacity(work.per_conn),
                next_recv: 0,
                written: 0,
                out: Vec::new(),
                out_head: 0,
                inbuf: vec![0; inbuf_len],
                in_start: 0,
                in_end: 0,
            });
            serial = serial.wrapping_add(work.threads as u32);
        }
        // Connections that took too long.
        if now.duration_since(last_sweep) >= Duration::from_millis(100) {
            last_sweep = now;
            let stuck: Vec<usize> =
                conns.iter().filter(|(_, c)| now.duration_since(c.called) > PATIENCE).map(|(k, _)| k).collect();
            for key in stuck {
                let c = conns.remove(key);
                let what = if c.established { "echoes" } else { "connect" };
                report.error(shared, format!("connection {}: no {what} within {PATIENCE:?}", c.id));
            }
        }
        let due = opening.due(conns.len(), now).filter(|_| end.is_none() && conns.len() < work.max_open);
        let timeout = open_loop::poll_timeout(due, Instant::now(), Duration::from_millis(50));
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                report.error(shared, format!("poll failed: {e}"));
                break;
            }
        }
        let mut received = 0;
        for event in events.iter() {
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key) else { continue };
            let now = Instant::now();
            // The window's end as the main thread set it, before this
            // thread may have seen the phase change.
            let window = Window { start, end: shared.end.get().copied(), now };
            let outcome = if conn.established {
                Ok(false)
            } else {
                establish::<S>(conn, work, &filler, &mut rng, &mut report, window)
            };
            let outcome = outcome.and_then(|_| {
                if !conn.established {
                    return Ok(false);
                }
                flush(conn)?;
                read(conn, &filler, &mut report, window, &mut received)
            });
            match outcome {
                Ok(true) => {
                    let mut c = conns.remove(key);
                    let _ = poll.registry().deregister(&mut c.stream);
                }
                Ok(false) => {}
                Err(what) => {
                    let mut c = conns.remove(key);
                    let _ = poll.registry().deregister(&mut c.stream);
                    report.error(shared, format!("connection {}: {what}", c.id));
                }
            }
        }
        if received > 0 {
            shared.received.fetch_add(received, Ordering::Relaxed);
        }
    }
    report
}

/// The measured window as one event sees it.
#[derive(Clone, Copy)]
struct Window {
    start: Option<Instant>,
    end: Option<Instant>,
    now: Instant,
}

impl Window {
    /// How far into the window `now` is, if it is in it.
    fn at(&self) -> Option<Duration> {
        let start = self.start?;
        self.end.is_none_or(|end| self.now < end).then(|| self.now.saturating_duration_since(start))
    }
}

/// Whether `conn`'s connect has finished; once it has, queues its
/// messages. Err: it failed.
fn establish<S: Socket>(
    conn: &mut Conn<S::Mio>,
    work: &Work<S::Addr>,
    filler: &[u8],
    rng: &mut Rng,
    report: &mut ThreadReport,
    window: Window,
) -> Result<bool, String> {
    if !S::connected(&conn.stream).map_err(|e| format!("connect failed: {e}"))? {
        return Ok(false);
    }
    conn.established = true;
    if let Some(at) = window.at() {
        report.connects += 1;
        report.connect.record(window.now.saturating_duration_since(conn.called).as_nanos() as u64);
        report.series.connect(at);
    }
    let mut queued = 0u64;
    for seq in 0..work.per_conn as u64 {
        let len = rng.between(work.size, work.size_max);
        put_frame(&mut conn.out, conn.id, seq, len, filler);
        queued += (HEADER + len) as u64;
        conn.pending.push_back((len, queued, None));
    }
    Ok(false)
}

/// Writes what `conn` has queued, stamping the messages it completes.
fn flush<M: Write>(conn: &mut Conn<M>) -> Result<(), String> {
    while conn.out_head < conn.out.len() {
        let now = Instant::now();
        match conn.stream.write(&conn.out[conn.out_head..]) {
            Ok(n) => {
                conn.out_head += n;
                conn.written += n as u64;
                for p in conn.pending.iter_mut().filter(|p| p.2.is_none() && p.1 <= conn.written) {
                    p.2 = Some(now);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("write failed: {e}")),
        }
    }
    // What a TLS stream still holds (a plain socket holds nothing).
    match conn.stream.flush() {
        Err(e) if e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::Interrupted => {
            Err(format!("write failed: {e}"))
        }
        _ => Ok(()),
    }
}

/// Reads and checks `conn`'s echoes; Ok(true): all of them came back.
fn read<M: Read>(
    conn: &mut Conn<M>,
    filler: &[u8],
    report: &mut ThreadReport,
    window: Window,
    received: &mut u64,
) -> Result<bool, String> {
    loop {
        if conn.in_end == conn.inbuf.len() {
            conn.inbuf.copy_within(conn.in_start..conn.in_end, 0);
            conn.in_end -= conn.in_start;
            conn.in_start = 0;
        }
        match conn.stream.read(&mut conn.inbuf[conn.in_end..]) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => conn.in_end += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read failed: {e}")),
        }
        let now = Instant::now();
        while let Some(&(len, _, sent)) = conn.pending.front() {
            match check_echo(&conn.inbuf[conn.in_start..conn.in_end], conn.id, conn.next_recv, len, filler) {
                Echo::Incomplete => break,
                Echo::Wrong(what) => return Err(what),
                Echo::Intact => {}
            }
            let sent = sent.ok_or("an echo of a message not written yet")?;
            conn.pending.pop_front();
            conn.next_recv += 1;
            conn.in_start += HEADER + len;
            *received += 1;
            if let Some(at) = (Window { now, ..window }).at() {
                let ns = now.saturating_duration_since(sent).as_nanos() as u64;
                report.latency.record(ns);
                report.series.echo(at, ns);
                report.echoes += 1;
                report.bytes += len as u64;
            }
        }
        if conn.pending.is_empty() {
            return if conn.in_start == conn.in_end { Ok(true) } else { Err("more echoes than messages".into()) };
        }
    }
}
