//! Running out of file descriptors (EMFILE on accept) must neither spin the
//! loop nor stop the server for good: accepting backs off on a timer and
//! resumes by itself once descriptors are free.
//!
//! The server runs in a child process with a low limit on open files, so
//! this test process keeps its own: the test binary runs itself again, with
//! an environment variable that turns [`emfile_child_server`] into that
//! server.
#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use frameloop::{ConnId, Ctx, Handler, Reactor};

/// Set in the child's environment: run the server instead of returning.
const CHILD_ENV: &str = "FRAMELOOP_EMFILE_CHILD";
/// The child's limit on open files.
const CHILD_FD_LIMIT: usize = 64;
/// The child's longest wait between accept retries.
const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// Echoes, except that `stats` is answered with the reactor's counters:
/// `polls accept_backoffs accepted`.
struct StatsEcho;

impl Handler for StatsEcho {
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, frame: &[u8]) {
        if frame == b"stats" {
            let s = ctx.stats();
            let _ = ctx.send(conn, format!("{} {} {}", s.polls, s.accept_backoffs, s.accepted).as_bytes());
        } else {
            let _ = ctx.send(conn, frame);
        }
    }
}

/// Not a test of its own: the server of the child process, serving until
/// its standard input closes. Returns at once in an ordinary test run.
#[test]
fn emfile_child_server() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let server = serve(Reactor::builder().accept_backoff_max(BACKOFF_MAX), StatsEcho);
    println!("PORT {}", server.addr.port());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let stats = server.stop();
    println!("FINAL {} {}", stats.accept_backoffs, stats.accepted);
}

/// The child server; killed if the test ends without it having exited.
struct ChildServer {
    child: Child,
    lines: Receiver<String>,
    addr: SocketAddr,
}

impl ChildServer {
    fn start() -> Self {
        let (child, lines) = spawn_self_limited("emfile_child_server", CHILD_FD_LIMIT, CHILD_ENV);
        let mut server = ChildServer { child, lines, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        let port = server.line_after("PORT ");
        server.addr.set_port(port.parse().expect("port"));
        server
    }

    /// What follows `prefix` on the child's next output line that has it
    /// (the test harness may have printed the test's name before it).
    fn line_after(&self, prefix: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("the child never printed {prefix:?}"));
            if let Some((_, rest)) = line.split_once(prefix) {
                return rest.to_owned();
            }
        }
    }

    /// User plus system CPU time of the child so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("child's stat");
        // The command name may contain spaces; the fields after it do not.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
        // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Closes the child's input (it stops), waits for it to exit.
    fn finish(mut self) -> String {
        drop(self.child.stdin.take());
        let finals = self.line_after("FINAL ");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the child server failed: {status}");
                return finals;
            }
            assert!(Instant::now() < deadline, "the child server did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The child's counters: loop turns, accept back-offs, accepted connections.
fn child_stats(control: &mut TcpStream) -> [u64; 3] {
    write_frame(control, b"stats");
    let reply = String::from_utf8(read_frame(control)).unwrap();
    let v: Vec<u64> = reply.split(' ').map(|n| n.parse().unwrap()).collect();
    [v[0], v[1], v[2]]
}

#[test]
fn out_of_descriptors_accepting_backs_off_without_spinning_and_resumes_by_itself() {
    let child = ChildServer::start();
    let mut control = connect(child.addr);
    write_frame(&mut control, b"hello");
    assert_eq!(read_frame(&mut control), b"hello");

    // More connections than the child has descriptors: the system completes
    // their handshakes, the child accepts until its table is full.
    let flood: Vec<TcpStream> = (0..CHILD_FD_LIMIT + 40).map(|_| connect(child.addr)).collect();
    let deadline = Instant::now() + PATIENCE;
    while child_stats(&mut control)[1] == 0 {
        assert!(Instant::now() < deadline, "the child never ran out of descriptors");
        thread::sleep(Duration::from_millis(20));
    }

    // Saturated: it serves the connections it has, and waits on a timer
    // rather than retrying the failing accept in a loop.
    let (before, cpu_before, t0) = (child_stats(&mut control), child.cpu_ticks(), Instant::now());
    thread::sleep(Duration::from_secs(1));
    let (after, cpu_after) = (child_stats(&mut control), child.cpu_ticks());
    let window = t0.elapsed();
    assert!(after[1] > before[1], "the child stopped retrying the accept: {before:?} -> {after:?}");
    let turns = after[0] - before[0];
    assert!(turns < 500, "{turns} loop turns in {window:?} while out of descriptors: the loop spins");
    // Clock ticks are 1/100 s on Linux; a spinning loop burns about 100 a second.
    let cpu_share = (cpu_after - cpu_before) as f64 / 100.0 / window.as_secs_f64();
    assert!(cpu_share < 0.3, "the child used {:.0}% of a core while out of descriptors", cpu_share * 100.0);

    // Descriptors free again: a new client is served, without any help.
    drop(flood);
    let mut fresh = connect(child.addr);
    write_frame(&mut fresh, b"served again");
    assert_eq!(read_frame(&mut fresh), b"served again");
    let accepted = child_stats(&mut control)[2];
    assert!(accepted as usize > CHILD_FD_LIMIT, "only {accepted} accepted: the backlog was not drained");
    drop((fresh, control));
    let finals = child.finish();
    let backoffs: u64 = finals.split(' ').next().unwrap().parse().unwrap();
    assert!(backoffs > 0, "{finals}");
}
