//! Steady-state echo allocates nothing: once the reactor's buffers have
//! grown to the traffic, echoing more messages performs no heap allocation
//! on the reactor's thread.
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

use frameloop::{ConnId, Ctx, Handler, Notifier, Reactor};

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
}

impl Handler for ProbedEcho {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
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
    fn start() -> Server {
        let mut reactor = Reactor::builder().build().unwrap();
        let addr = reactor.listen("127.0.0.1:0").unwrap();
        let notifier = reactor.notifier();
        let probe = Arc::new(Probe::default());
        let mut handler = ProbedEcho { probe: Arc::clone(&probe) };
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

impl Clients {
    fn connect(addr: SocketAddr, n: usize) -> Clients {
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
        for i in 0..16u32 {
            let len = [1usize, 64, 700, 3][i as usize % 4];
            batch.extend_from_slice(&(len as u32).to_be_bytes());
            batch.extend((0..len).map(|j| (i as usize + j) as u8));
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

#[test]
fn steady_state_echo_allocates_nothing_on_the_reactor_thread() {
    let server = Server::start();
    let mut clients = Clients::connect(server.addr, 4);
    // Warm-up: buffers are taken from the pool and grow to the traffic.
    for _ in 0..100 {
        clients.round();
    }
    let (allocs_before, frames_before) = server.sample();
    let mut sent = 0;
    for _ in 0..500 {
        sent += clients.round();
    }
    let (allocs_after, frames_after) = server.sample();
    assert_eq!(frames_after - frames_before, sent, "the window must cover exactly the echoed frames");
    assert_eq!(
        allocs_after - allocs_before,
        0,
        "the reactor thread allocated while echoing {sent} frames in steady state"
    );
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
            ProbedEcho { probe: Arc::clone(&self.0) }.on_wake(ctx);
        }
    }
    let mut reactor = Reactor::builder().build().unwrap();
    let addr = reactor.listen("127.0.0.1:0").unwrap();
    let probe = Arc::new(Probe::default());
    let mut handler = AllocatingEcho(Arc::clone(&probe));
    let notifier = reactor.notifier();
    let thread = std::thread::spawn(move || reactor.run(&mut handler).unwrap());
    let server = Server { addr, notifier, probe, thread: Some(thread) };
    let mut clients = Clients::connect(server.addr, 2);
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
