//! Each way a bind can fail has its own `Error` variant and a message that
//! says the fix, through every way of binding: the engine's
//! `Reactor::listen` and `Ctx::listen`, the facade's `Server::bind`, and the
//! `frameloop echo` command.
//!
//! All on real sockets. 192.0.2.1 (TEST-NET-1) is reserved for
//! documentation, so it is no address of this machine; binding to it sends
//! nothing on the network.

mod common;

use std::sync::mpsc;

use common::PATIENCE;
use frameloop::{ConnId, Ctx, Error, Handler, Reactor, Server};

/// Not on this machine.
const FOREIGN: &str = "192.0.2.1:0";
/// Malformed: no port, a port that is no number, a port out of range.
const MALFORMED: [&str; 3] = ["127.0.0.1", "nonsense:port", "127.0.0.1:99999"];

fn assert_not_available(result: Result<impl std::fmt::Debug, Error>) {
    match result {
        Err(e @ Error::AddrNotAvailable { .. }) => {
            let text = e.to_string();
            assert!(text.contains("192.0.2.1:0"), "{text}");
            assert!(text.contains("not an address of this machine"), "{text}");
            // The form was right: the message must not send the user to fix it.
            assert!(!text.contains("use the form"), "{text}");
        }
        other => panic!("expected AddrNotAvailable, got {other:?}"),
    }
}

fn assert_malformed(addr: &str, result: Result<impl std::fmt::Debug, Error>) {
    match result {
        Err(e @ Error::InvalidAddress { .. }) => {
            let text = e.to_string();
            assert!(text.contains(addr), "{text}");
            assert!(text.contains("use the form IP:PORT"), "{text}");
        }
        other => panic!("{addr}: expected InvalidAddress, got {other:?}"),
    }
}

#[test]
fn engine_listen_tells_each_bind_error_apart() {
    let mut reactor = Reactor::new().unwrap();
    assert_not_available(reactor.listen(FOREIGN));
    for addr in MALFORMED {
        assert_malformed(addr, reactor.listen(addr));
    }
    let taken = reactor.listen("127.0.0.1:0").unwrap();
    match Reactor::new().unwrap().listen(&taken) {
        Err(e @ Error::AddrInUse { .. }) => assert!(e.to_string().contains("already in use"), "{e}"),
        other => panic!("expected AddrInUse, got {other:?}"),
    }
    // The failures left nothing behind: the one listener is the good one.
    assert_eq!(reactor.local_addrs(), vec![taken]);
}

#[test]
fn facade_bind_tells_each_bind_error_apart() {
    assert_not_available(Server::bind(FOREIGN));
    for addr in MALFORMED {
        assert_malformed(addr, Server::bind(addr));
    }
    let first = Server::bind("127.0.0.1:0").unwrap();
    assert!(matches!(Server::bind(first.local_addr()), Err(Error::AddrInUse { .. })));
}

/// Binds from inside a callback, then stops.
struct ListenFromCallback {
    taken: frameloop::Addr,
    results: mpsc::Sender<Result<frameloop::Addr, Error>>,
}

impl Handler for ListenFromCallback {
    fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &[u8]) {}

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        for addr in [FOREIGN, "nonsense:port"] {
            let _ = self.results.send(ctx.listen(addr));
        }
        let _ = self.results.send(ctx.listen(&self.taken));
        ctx.stop();
    }
}

#[test]
fn ctx_listen_tells_each_bind_error_apart() {
    let mut reactor = Reactor::new().unwrap();
    let taken = reactor.listen("127.0.0.1:0").unwrap();
    let (tx, results) = mpsc::channel();
    reactor.notifier().notify().unwrap();
    let server = std::thread::spawn(move || reactor.run(&mut ListenFromCallback { taken, results: tx }));
    assert_not_available(results.recv_timeout(PATIENCE).unwrap());
    assert_malformed("nonsense:port", results.recv_timeout(PATIENCE).unwrap());
    assert!(matches!(results.recv_timeout(PATIENCE).unwrap(), Err(Error::AddrInUse { .. })));
    server.join().unwrap().unwrap();
}

/// `frameloop echo` as a process that must fail at once; killed if it runs.
#[cfg(all(feature = "cli", target_os = "linux"))]
mod cli {
    use std::process::{Command, Output, Stdio};

    use super::{common, PATIENCE};

    /// Runs the command, and returns its output once it has exited; fails
    /// the test (killing it) if it is still running after the patience: it
    /// then bound what it should not have.
    fn run_to_failure(mut command: Command) -> Output {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start frameloop echo");
        if common::wait_child_or_kill(&mut child, PATIENCE).is_none() {
            let out = child.wait_with_output().expect("output");
            panic!("frameloop echo is serving, it should have failed: {}", String::from_utf8_lossy(&out.stdout));
        }
        let out = child.wait_with_output().expect("output");
        assert!(!out.status.success(), "frameloop echo succeeded: {out:?}");
        out
    }

    fn echo(addr: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_frameloop"));
        command.arg("echo").arg(addr);
        command
    }

    fn is_root() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        // "Uid:\treal\teffective\tsaved\tfs"
        let uid = status.lines().find_map(|l| l.strip_prefix("Uid:")).expect("Uid line");
        uid.split_whitespace().nth(1) == Some("0")
    }

    #[test]
    fn echo_on_an_address_of_another_machine_says_so() {
        let out = run_to_failure(echo("192.0.2.1:7000"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not an address of this machine"), "{stderr}");
        assert!(!stderr.contains("use the form"), "{stderr}");
    }

    #[test]
    fn echo_on_an_address_without_a_port_says_what_is_wrong_with_its_form() {
        let out = run_to_failure(echo("127.0.0.1"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: invalid address 127.0.0.1: it has no port"), "{stderr}");
        assert!(stderr.contains("use the form IP:PORT"), "{stderr}");
    }

    #[test]
    fn with_v_a_bind_error_is_told_once() {
        let mut command = echo("192.0.2.1:7000");
        command.arg("-v").env_remove("RUST_LOG");
        let out = run_to_failure(command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches("not an address of this machine").count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }

    #[test]
    fn echo_on_a_privileged_port_says_how_to_fix_it() {
        let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1024);
        // The highest privileged port: any port below the start is one
        // (containers often lower it below 80), except 0, which asks the
        // system to choose.
        if start <= 1 {
            super::common::skipped(
                "echo_on_a_privileged_port_says_how_to_fix_it",
                &format!("no port is privileged here (ip_unprivileged_port_start = {start})"),
            );
            return;
        }
        let port = start - 1;
        let addr = format!("127.0.0.1:{port}");
        let command = if is_root() {
            // Root may bind any port: run as nobody, who may not.
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_frameloop")]);
            c.args(["echo", &addr]);
            c
        } else {
            echo(&addr)
        };
        let out = run_to_failure(command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let port = format!("port {port} ");
        for needed in [&port, "privileged", "root", "CAP_NET_BIND_SERVICE", &format!("{start} or above")] {
            assert!(stderr.contains(needed), "{needed:?} missing from {stderr:?}");
        }
    }
}
