//! Steady-state echo allocates nothing: once the reactor's buffers have
//! grown to the traffic, echoing more messages performs no heap allocation
//! on the reactor's thread, for small frames, 64 KiB and 1 MiB ones, whether
//! the echo hands the frame back (its buffer goes along) or copies it.
//!
//! A counting global allocator counts allocations per thread; the server's
//! handler reads its own thread's count when woken, at the start and at the
//! end of a window of steady traffic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use frameloop::{ConnId, Ctx, Handler, Notifier, Reactor, ReactorBuilder};

thread_local! {
    /// Allocations (and reallocations) made by this thread. A `const`
    /// thread-local without a destructor: reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: during thread teardown the slot may be gone; skip then.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

/// The system allocator, counting.
struct Counting;

// SAFETY: every method forwards to `System` with the arguments it was given,
// so `Counting` keeps exactly `System`'s guarantees; counting touches only a
// thread-local integer and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PATIENCE: Duration = Duration::from_secs(10);

/// What the server thread records about itself when woken.
#[derive(Default)]
struct Probe {
    stop: AtomicBool,
    samples: AtomicU64,
    allocations: AtomicU64,
    frames: AtomicU64,
}

/// Echoes; on a wake-up records this thread's allocation count and the
/// frames handled so far (into atomics: recording must not allocate).
struct ProbedEcho {
    probe: Arc<Probe>,
    /// Echo by sending the frame in two parts, which copies it into the
    /// write buffer, instead of handing back the frame itself, which a
    /// large frame's buffer goes along with.
    copy: bool,
}

impl Handler for ProbedEcho {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if self.copy {
            let (a, b) = frame.split_at(frame.len() / 2);
            let _ = ctx.send_parts(conn, &[a, b]);
        } else {
            let _ = ctx.send(conn, frame);
        }
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        if self.probe.stop.load(Ordering::SeqCst) {
            ctx.stop();
            return;
        }
        let allocations = ALLOCATIONS.with(Cell::get);
        self.probe.allocations.store(allocations, Ordering::SeqCst);
        self.probe.frames.store(ctx.stats().frames_in, Ordering::SeqCst);
        self.probe.samples.fetch_add(1, Ordering::SeqCst);
    }
}

struct Server {
    addr: SocketAddr,
    notifier: Notifier,
    probe: Arc<Probe>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(copy: bool, builder: ReactorBuilder) -> Server {
        let mut reactor = builder.build().unwrap();
        let addr = reactor.listen("127.0.0.1:0").unwrap().tcp().unwrap();
        let notifier = reactor.notifier();
        let probe = Arc::new(Probe::default());
        let mut handler = ProbedEcho { probe: Arc::clone(&probe), copy };
        let thread = std::thread::spawn(move || reactor.run(&mut handler).unwrap());
        Server { addr, notifier, probe, thread: Some(thread) }
    }

    /// The server thread's (allocations, frames handled) right now.
    fn sample(&self) -> (u64, u64) {
        let before = self.probe.samples.load(Ordering::SeqCst);
        self.notifier.notify().unwrap();
        let deadline = Instant::now() + PATIENCE;
        while self.probe.samples.load(Ordering::SeqCst) == before {
            assert!(Instant::now() < deadline, "the server did not answer the probe");
            std::thread::sleep(Duration::from_millis(1));
        }
        (self.probe.allocations.load(Ordering::SeqCst), self.probe.frames.load(Ordering::SeqCst))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.probe.stop.store(true, Ordering::SeqCst);
        let _ = self.notifier.notify();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Pipelining clients: each round, every connection in turn writes a batch
/// of frames of mixed sizes and reads all their echoes back. Serving one
/// connection at a time keeps the number of buffers the server needs at once
/// the same in every round, so the warm-up reaches it for sure.
struct Clients {
    conns: Vec<TcpStream>,
    batch: Vec<u8>,
    echo: Vec<u8>,
    frames_per_batch: u64,
}

/// The mixed small frames of one batch.
const SMALL: [usize; 16] = [1, 64, 700, 3, 1, 64, 700, 3, 1, 64, 700, 3, 1, 64, 700, 3];

impl Clients {
    /// `n` connections, each sending batches of frames of `lens` bytes.
    fn connect(addr: SocketAddr, n: usize, lens: &[usize]) -> Clients {
        let conns = (0..n)
            .map(|_| {
                let s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(PATIENCE)).unwrap();
                s.set_write_timeout(Some(PATIENCE)).unwrap();
                s.set_nodelay(true).unwrap();
                s
            })
            .collect();
        let mut batch = Vec::new();
        let mut frames_per_batch = 0;
        for (i, &len) in lens.iter().enumerate() {
            batch.extend_from_slice(&(len as u32).to_be_bytes());
            batch.extend((0..len).map(|j| (i + j) as u8));
            frames_per_batch += 1;
        }
        let echo = vec![0; batch.len()];
        Clients { conns, batch, echo, frames_per_batch }
    }

    /// One round. The last connection writes its batch in two pieces, cut
    /// inside a frame and a moment apart, so the server also carries a
    /// partial frame over from one read to the next in every round.
    fn round(&mut self) -> u64 {
        let cut = 4 + 1 + 4 + 30;
        let last = self.conns.len() - 1;
        for (i, s) in self.conns.iter_mut().enumerate() {
            if i == last {
                s.write_all(&self.batch[..cut]).unwrap();
                std::thread::sleep(Duration::from_millis(1));
                s.write_all(&self.batch[cut..]).unwrap();
            } else {
                s.write_all(&self.batch).unwrap();
            }
            s.read_exact(&mut self.echo).unwrap();
            assert_eq!(self.echo, self.batch, "the echo differs from what was sent");
        }
        self.frames_per_batch * self.conns.len() as u64
    }
}

/// Echoes `rounds` batches of `lens` on each of `conns` connections after a
/// warm-up of `warm_up` rounds, and checks the reactor thread allocated
/// nothing in that window.
fn allocates_nothing_in_steady_state(copy: bool, lens: &[usize], conns: usize, warm_up: usize, rounds: usize) {
    // Output of up to four batches does not pause reading. A pause (past
    // the default 1 MiB) is lifted by a read that may find nothing yet;
    // whether that read comes while another connection holds a partial
    // message is a matter of timing, so the pools' peak, and the warm-up
    // that reaches it, would be too.
    let batch: usize = lens.iter().map(|l| l + 4).sum();
    let builder = Reactor::builder().watermarks(1 << 20, (4 * batch).max(2 << 20));
    let server = Server::start(copy, builder);
    let mut clients = Clients::connect(server.addr, conns, lens);
    // Warm-up: buffers are taken from the pools and grow to the traffic,
    // until a stretch of `warm_up` rounds allocates nothing. How many
    // buffers the pools need at their peak depends on how reads happen to
    // interleave; steady state is once the peak has been seen. A reactor
    // that allocates per message never gets there, and fails below.
    for _ in 0..10 {
        let (before, _) = server.sample();
        for _ in 0..warm_up {
            clients.round();
        }
        if server.sample().0 == before {
            break;
        }
    }
    let (allocs_before, frames_before) = server.sample();
    let mut sent = 0;
    for _ in 0..rounds {
        sent += clients.round();
    }
    let (allocs_after, frames_after) = server.sample();
    assert_eq!(frames_after - frames_before, sent, "the window must cover exactly the echoed frames");
    assert_eq!(
        allocs_after - allocs_before,
        0,
        "the reactor thread allocated while echoing {sent} frames of {lens:?} bytes in steady state (copy: {copy})"
    );
}

#[test]
fn steady_state_echo_allocates_nothing_on_the_reactor_thread() {
    allocates_nothing_in_steady_state(false, &SMALL, 4, 100, 500);
}

#[test]
fn steady_state_echo_of_64_kib_frames_allocates_nothing_handed_back_or_copied() {
    for copy in [false, true] {
        allocates_nothing_in_steady_state(copy, &[64 * 1024], 3, 20, 200);
    }
}

#[test]
fn steady_state_echo_of_1_mib_frames_allocates_nothing_handed_back_or_copied() {
    for copy in [false, true] {
        allocates_nothing_in_steady_state(copy, &[1 << 20], 2, 10, 40);
    }
}

#[test]
fn the_counting_allocator_sees_allocations_of_the_reactor_thread() {
    // The probe itself must be able to fail: a handler that allocates per
    // message is caught.
    struct AllocatingEcho(Arc<Probe>);
    impl Handler for AllocatingEcho {
        fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
            let copy = frame.to_vec();
            let _ = ctx.send(conn, &copy);
        }
        fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
            ProbedEcho { probe: Arc::clone(&self.0), copy: false }.on_wake(ctx);
        }
    }
    let mut reactor = Reactor::builder().build().unwrap();
    let addr = reactor.listen("127.0.0.1:0").unwrap().tcp().unwrap();
    let probe = Arc::new(Probe::default());
    let mut handler = AllocatingEcho(Arc::clone(&probe));
    let notifier = reactor.notifier();
    let thread = std::thread::spawn(move || reactor.run(&mut handler).unwrap());
    let server = Server { addr, notifier, probe, thread: Some(thread) };
    let mut clients = Clients::connect(server.addr, 2, &SMALL);
    for _ in 0..10 {
        clients.round();
    }
    let (before, _) = server.sample();
    let mut sent = 0;
    for _ in 0..10 {
        sent += clients.round();
    }
    let (after, _) = server.sample();
    assert!(after - before >= sent, "{} allocations counted for {sent} copied frames", after - before);
}
