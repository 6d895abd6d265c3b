//! The ping-pong client: each connection on its own thread with blocking
//! calls (write one frame, read its echo, repeat), so the time measured is
//! the round trip and as little of the client as can be: no poller between
//! the echo's arrival and the thread that waits for it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{Shared, ThreadReport, DRAIN, MEASURE, STAMP};
use super::cpu;
use super::socket::Socket;

/// How long one echo may take before the connection counts as failed.
const PATIENCE: Duration = Duration::from_secs(5);

/// Sends one frame at a time on `stream` until the main thread moves
/// `shared.phase` to [`DRAIN`]; checks and times every echo. `stream` is
/// blocking, as [`Socket::connect`] makes it.
pub fn run<S: Socket>(id: u32, mut stream: S, size: usize, shared: Arc<Shared>) -> ThreadReport {
    let mut report = ThreadReport::default();
    let fail = |report: &mut ThreadReport, what: String| {
        report.errors += 1;
        report.first_errors.push(format!("connection {id}: {what}"));
        shared.errors.fetch_add(1, Ordering::Relaxed);
    };
    if let Err(e) = stream.set_read_timeout(Some(PATIENCE)) {
        fail(&mut report, format!("cannot set up the socket: {e}"));
        return report;
    }
    let mut frame = Vec::with_capacity(4 + size);
    frame.extend_from_slice(&(size as u32).to_be_bytes());
    frame.extend_from_slice(&id.to_le_bytes());
    frame.extend_from_slice(&0u64.to_le_bytes());
    frame.extend((0..size - STAMP).map(|i| (i as u8).wrapping_mul(7).wrapping_add(3)));
    let mut echo = vec![0u8; frame.len()];
    let mut measuring = None;
    let mut cpu_start = None;
    let mut seq = 0u64;
    loop {
        match shared.phase.load(Ordering::Acquire) {
            MEASURE if measuring.is_none() => {
                measuring = Some(shared.start.get().copied().unwrap_or_else(Instant::now));
                report.latency.clear();
                cpu_start = cpu::thread_cpu_ns();
            }
            DRAIN => {
                report.cpu_ns = cpu_start.zip(cpu::thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
                break;
            }
            _ => {}
        }
        // After the 4-byte header and the 4-byte connection id.
        frame[8..16].copy_from_slice(&seq.to_le_bytes());
        let sent = Instant::now();
        if let Err(e) = stream.write_all(&frame).and_then(|()| stream.read_exact(&mut echo)) {
            fail(&mut report, format!("frame #{seq}: {e}"));
            break;
        }
        let received = Instant::now();
        let took = received - sent;
        if echo != frame {
            fail(&mut report, format!("frame #{seq} came back different"));
            break;
        }
        // Only echoes inside the window: it may have ended before this
        // thread sees the phase change.
        let in_window = shared.end.get().is_none_or(|end| received < *end);
        if let Some(start) = measuring.filter(|_| in_window) {
            let ns = took.as_nanos() as u64;
            report.latency.record(ns);
            report.series.echo(received.saturating_duration_since(start), ns);
            report.echoes += 1;
            report.bytes += size as u64;
        }
        shared.received.fetch_add(1, Ordering::Relaxed);
        seq += 1;
    }
    report
}
