//! Out of file descriptors: a server in a child process with a small
//! RLIMIT_NOFILE, flooded with connects, must neither spin nor die, and must
//! serve again soon after descriptors free up.
//!
//! The test runs its own test binary again as the child, through a shell
//! that lowers the limit first, so only the child has the low limit.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use frameloop::Reactor;

/// Set in the child's environment; the child test does nothing without it.
const CHILD_ENV: &str = "FRAMELOOP_TEST_CHILD";
const CHILD_LIMIT: usize = 64;

/// The child: an echo server that prints its port, and stops when its
/// standard input closes (or after a minute, should the parent vanish).
#[test]
fn emfile_child_server() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("1") {
        return;
    }
    let server = echo_server(Reactor::builder());
    println!("PORT={}", server.addr.port());
    std::io::stdout().flush().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::from_secs(60));
    println!("BACKOFFS={}", server.stop().accept_backoffs);
}

/// Kills the child if the test fails half-way.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child, its address, and the `KEY=value` lines it prints.
fn spawn_child() -> (ChildGuard, SocketAddr, Receiver<(String, u64)>) {
    let (child, lines) = spawn_self_limited("emfile_child_server", CHILD_LIMIT, CHILD_ENV);
    let guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines {
            if let Some((key, value)) = line.split_once('=') {
                // The test harness may have printed the test's name before it.
                let key = key.rsplit(' ').next().unwrap();
                let _ = tx.send((key.to_owned(), value.parse().unwrap()));
            }
        }
    });
    let port = match rx.recv_timeout(PATIENCE) {
        Ok((key, port)) if key == "PORT" => port as u16,
        other => panic!("the child server did not start: {other:?}"),
    };
    (guard, SocketAddr::from(([127, 0, 0, 1], port)), rx)
}

/// User plus system CPU time of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name may hold spaces: fields are counted after its ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok().and_then(|o| String::from_utf8(o.stdout).ok()).and_then(|s| s.trim().parse().ok()).unwrap_or(100)
}

/// One round trip on a fresh connection, or `None` if it failed.
fn try_echo(addr: SocketAddr, timeout: Duration) -> Option<()> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(&frame(b"anyone?")).ok()?;
    let mut reply = [0u8; 11];
    s.read_exact(&mut reply).ok()?;
    (reply[4..] == *b"anyone?").then_some(())
}

#[test]
fn a_server_out_of_descriptors_stays_idle_stays_up_and_serves_again_once_they_free_up() {
    // Well past the child's descriptors, but within the listen backlog (128
    // for mio's listeners), so that every connect completes.
    const FLOOD: usize = 150;
    if !enough_fds(FLOOD as u64 + 100, "the EMFILE test") {
        return;
    }
    let (mut child, addr, lines) = spawn_child();
    let pid = child.0.id();

    // Far more connections than the child has descriptors: those past its
    // limit wait in the listen backlog, and accept fails with EMFILE.
    let flood: Vec<TcpStream> =
        (0..FLOOD).map(|_| TcpStream::connect_timeout(&addr, PATIENCE).expect("flood connect")).collect();
    assert!(try_echo(addr, Duration::from_millis(500)).is_none(), "the child was not out of descriptors");

    let ticks = ticks_per_second();
    let (t0, wall) = (cpu_ticks(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(1));
    let used = (cpu_ticks(pid) - t0) as f64 / ticks as f64;
    let share = used / wall.elapsed().as_secs_f64();
    eprintln!("EMFILE: the saturated server used {:.1}% of a core", share * 100.0);
    assert!(share < 0.3, "the server spins while out of descriptors: {:.0}% of a core", share * 100.0);
    assert!(child.0.try_wait().unwrap().is_none(), "the server died");

    // Descriptors free up: the first fresh client is served soon after.
    drop(flood);
    let freed = Instant::now();
    while try_echo(addr, Duration::from_millis(500)).is_none() {
        assert!(freed.elapsed() < Duration::from_secs(10), "the server never served again");
    }
    let after = freed.elapsed();
    eprintln!("EMFILE: served again {} ms after the descriptors freed up", after.as_millis());
    // The retry back-off is at most 200 ms: one second is the promise, and
    // the generous margin only absorbs a noisy machine.
    assert!(after < Duration::from_secs(4), "served again only after {after:?}");
    let mut s = connect(addr);
    write_frame(&mut s, b"and again");
    assert_eq!(read_frame(&mut s), b"and again");

    // The child stops when its input closes, and tells how often it backed
    // off: the test is void if accepting never failed.
    drop(child.0.stdin.take());
    let backoffs = match lines.recv_timeout(PATIENCE) {
        Ok((key, n)) if key == "BACKOFFS" => n,
        other => panic!("the child did not report its back-offs: {other:?}"),
    };
    eprintln!("EMFILE: the server backed off {backoffs} times");
    assert!(backoffs >= 1, "accepting never ran out of descriptors");
}
