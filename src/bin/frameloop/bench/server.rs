//! The echo server `frameloop bench` starts in-process when no `--addr` is
//! given: the engine on its own thread, which reports its own CPU time and
//! counters when asked, so the bench can charge the server exactly for the
//! messages of the measured window.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use frameloop::tls::ServerConfig;
use frameloop::{ConnId, Ctx, Handler, Notifier, Reactor, Stats};

use super::cpu;

/// What the server thread reports about itself at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// The server thread's CPU time so far, in nanoseconds (if readable).
    pub cpu_ns: Option<u64>,
    /// The same, split into user and system time (coarser: 10 ms ticks).
    pub user_system_ns: Option<(u64, u64)>,
    /// The reactor's counters.
    pub stats: Stats,
}

/// Echoes every frame; on a wake-up, reports a [`Sample`] or stops.
struct BenchEcho {
    stop: Arc<AtomicBool>,
    samples: Sender<Sample>,
}

impl Handler for BenchEcho {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        let _ = ctx.send(conn, frame);
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        if self.stop.load(Ordering::Acquire) {
            ctx.stop();
            return;
        }
        // Read on the server thread itself: its own CPU time, not the process's.
        let sample =
            Sample { cpu_ns: cpu::thread_cpu_ns(), user_system_ns: cpu::user_system_ns(None), stats: ctx.stats() };
        let _ = self.samples.send(sample);
    }
}

/// The in-process server.
pub struct InProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    notifier: Notifier,
    stop: Arc<AtomicBool>,
    samples: Receiver<Sample>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl InProcess {
    /// Starts the engine's echo server on an ephemeral loopback port,
    /// busy-polling for up to `busy_poll` before it sleeps; serving TLS
    /// with `tls`.
    pub fn start(busy_poll: Option<Duration>, tls: Option<Arc<ServerConfig>>) -> Result<Self, String> {
        let mut reactor = Reactor::builder().busy_poll(busy_poll).build().map_err(|e| e.to_string())?;
        let bound = match tls {
            Some(config) => reactor.listen_tls("127.0.0.1:0", config),
            None => reactor.listen("127.0.0.1:0"),
        };
        let addr = bound.map_err(|e| e.to_string())?.tcp().ok_or("not a TCP address")?;
        let notifier = reactor.notifier();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, samples) = mpsc::channel();
        let mut handler = BenchEcho { stop: Arc::clone(&stop), samples: tx };
        let thread = std::thread::Builder::new()
            .name("frameloop-server".into())
            .spawn(move || reactor.run(&mut handler).map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        Ok(InProcess { addr, notifier, stop, samples, thread: Some(thread) })
    }

    /// Asks the server thread for a [`Sample`] and waits for it.
    pub fn sample(&self) -> Result<Sample, String> {
        self.notifier.notify().map_err(|e| e.to_string())?;
        self.samples.recv_timeout(Duration::from_secs(5)).map_err(|_| "the server thread did not answer".to_owned())
    }

    /// Stops the server gracefully and waits for its thread.
    pub fn stop(mut self) -> Result<(), String> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), String> {
        let Some(thread) = self.thread.take() else { return Ok(()) };
        self.stop.store(true, Ordering::Release);
        self.notifier.notify().map_err(|e| e.to_string())?;
        thread.join().map_err(|_| "the server thread panicked".to_owned())?
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}
