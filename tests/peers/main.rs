//! Tests against real programs no one here wrote (`nc`, `socat`, `tmux`, …).
//!
//! This binary has its own small runner (`harness = false`) so that it can
//! say, visibly and once, what it skipped: a case whose program is not on
//! the PATH prints `skipped: nc not installed` in place of `ok`, and the run
//! ends with one summary line naming every missing program. With
//! `FRAMELOOP_REQUIRE_PEERS=1` (as CI sets it) a missing program is a
//! failure instead. Nothing else is ever skipped.
//!
//! Arguments, as with libtest: words filter the cases by substring
//! (`cargo test --test peers nc`), `--exact` makes them match whole names,
//! `--skip WORD` leaves cases out, `--list` lists the cases; the other
//! libtest flags (`--nocapture`, `--test-threads N`, …) are accepted and
//! ignored. Cases run one at a time, each on its own thread named after it;
//! a case that panics fails with its panic message, and one still running
//! after [`CASE_LIMIT`] fails without being waited for any longer.
//!
//! To add cases: a module here with a `pub const CASES: &[Case]`, its `mod`
//! line below, and its slice in [`cases`].

#[path = "../common/mod.rs"]
mod common;

/// The chat room example, loaded once for every case that runs it; its
/// `main`, and what only `main` uses, are dead code here.
#[path = "../../examples/chat_room.rs"]
#[allow(dead_code)]
pub(crate) mod chat_room;

mod chat_tui;
mod half_close;
mod lines;
mod raw_python;
#[cfg(feature = "tls")]
mod tls;
mod unix;

use std::io::{Read, Write};
use std::panic;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::PATIENCE;

/// One test that needs outside programs.
pub struct Case {
    /// Shown in the output and matched by filters.
    pub name: &'static str,
    /// Programs that must be on the PATH, each with the Debian package that
    /// brings it (shown when it is missing).
    pub needs: &'static [Peer],
    /// The test: panics to fail. It should bound its own waits (as [`run`]
    /// does); past [`CASE_LIMIT`] the runner gives up on it.
    pub run: fn(),
}

/// An outside program and where it comes from.
#[derive(Clone, Copy)]
pub struct Peer {
    /// The command's name, looked up on the PATH.
    pub program: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// How long one case may run in all: past it the case fails, and the run
/// goes on without waiting for its thread (which ends with the process).
pub const CASE_LIMIT: Duration = Duration::from_secs(120);

/// The programs [`run`] started and has not waited for yet, by process id:
/// killed when the run ends with a case given up on, so that none outlives
/// it. (A child not yet waited for keeps its id: it cannot name another.)
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Every case of every module, in the order they run.
fn cases() -> Vec<&'static Case> {
    let groups: &[&[Case]] = &[
        lines::CASES,
        chat_tui::CASES,
        raw_python::CASES,
        half_close::CASES,
        unix::CASES,
        #[cfg(feature = "tls")]
        tls::CASES,
    ];
    groups.iter().flat_map(|g| g.iter()).collect()
}

/// Runs `program args`, writes `input` to its standard input and closes it,
/// and returns what it printed on its standard output.
///
/// Panics (failing the case) if it cannot start, does not exit within
/// [`PATIENCE`] (it is killed then), exits with a failure, or prints
/// anything on its standard error.
pub fn run(program: &str, args: &[&str], input: &str) -> String {
    let command = format!("`{program} {}`", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {command}: {e}"));
    running().push(child.id());
    // Writes and reads on threads of their own: a program that prints a lot
    // before reading its input cannot block on a full pipe against us.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());

    let deadline = Instant::now() + PATIENCE;
    let id = child.id();
    // Reaped and forgotten under the lock, so that what ends the run never
    // kills an id already free.
    let status = loop {
        {
            let mut running = running();
            if let Some(status) = child.try_wait().expect("wait for the program") {
                running.retain(|&r| r != id);
                break Some(status);
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let mut running = running();
            let _ = child.wait();
            running.retain(|&r| r != id);
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    // The pipes close when the program ends, unless a child of its own
    // keeps them open: then what arrived so far.
    let collect = |rx: Receiver<Vec<u8>>| {
        String::from_utf8_lossy(&rx.recv_timeout(Duration::from_secs(1)).unwrap_or_default()).into_owned()
    };
    let (out, err) = (collect(out), collect(err));
    let Some(status) = status else {
        panic!("{command} did not finish within {PATIENCE:?} (killed); it printed {out:?}, and on stderr {err:?}");
    };
    assert!(status.success(), "{command} failed ({status}); it printed {out:?}, and on stderr {err:?}");
    assert!(err.is_empty(), "{command} complained: {err}");
    out
}

fn running() -> std::sync::MutexGuard<'static, Vec<u32>> {
    RUNNING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `frameloop echo ARGS` as a child process, killed when dropped (and by
/// the end of the run, if its case is given up on).
pub struct EchoProcess {
    child: std::process::Child,
    /// The line it printed first, which names its address.
    pub banner: String,
}

impl EchoProcess {
    pub fn start(args: &[&str]) -> EchoProcess {
        // Started and registered under the lock, so that the end of the run
        // finds it if this case is given up on.
        let mut running = running();
        let mut child = Command::new(env!("CARGO_BIN_EXE_frameloop"))
            .arg("echo")
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start frameloop echo {}: {e}", args.join(" ")));
        running.push(child.id());
        drop(running);
        let lines = common::lines_of(child.stdout.take().expect("stdout"));
        let mut server = EchoProcess { child, banner: String::new() };
        server.banner = lines.recv_timeout(PATIENCE).expect("frameloop echo printed no banner");
        server
    }

    /// The TCP port of its banner's address.
    pub fn port(&self) -> u16 {
        self.banner
            .split_whitespace()
            .find_map(|w| w.trim_end_matches(',').parse::<std::net::SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no address in {:?}", self.banner))
            .port()
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        let mut running = running();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let id = self.child.id();
        running.retain(|&r| r != id);
    }
}

/// Reads `pipe` to its end on a thread; the bytes arrive on the channel.
fn drain(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

/// Whether `program` is an executable file in one of the PATH's folders.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The command line, read as libtest reads it.
#[derive(Default)]
struct Args {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
    terse: bool,
    ignored_only: bool,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Args {
        let mut parsed = Args::default();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with('-') => (flag.to_owned(), Some(value.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = || inline.clone().or_else(|| args.next()).unwrap_or_default();
            match flag.as_str() {
                "--exact" => parsed.exact = true,
                "--list" => parsed.list = true,
                // No case is ignored: `--ignored` selects none of them.
                "--ignored" => parsed.ignored_only = true,
                "--skip" => parsed.skips.push(value()),
                "--format" => parsed.terse = value() == "terse",
                // libtest options whose value must not be taken for a filter.
                "--test-threads" | "--color" | "--logfile" | "--shuffle-seed" | "-Z" => {
                    value();
                }
                "-h" | "--help" => {
                    println!(
                        "usage: peers [FILTER…] [--exact] [--skip WORD] [--list]\n\
                         Runs the cases whose names contain a FILTER (all without one).\n\
                         FRAMELOOP_REQUIRE_PEERS=1 turns a missing program into a failure."
                    );
                    std::process::exit(0);
                }
                other if other.starts_with('-') => {}
                _ => parsed.filters.push(arg),
            }
        }
        parsed
    }

    fn matches(&self, pattern: &str, name: &str) -> bool {
        if self.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    }

    fn selects(&self, case: &Case) -> bool {
        !self.ignored_only
            && (self.filters.is_empty() || self.filters.iter().any(|f| self.matches(f, case.name)))
            && !self.skips.iter().any(|s| self.matches(s, case.name))
    }
}

/// How one case ended.
enum Outcome {
    Passed,
    /// With the panic message, or what went wrong around the case.
    Failed(String),
}

/// Runs `case` on a thread named after it and waits for it, at most
/// [`CASE_LIMIT`].
fn run_case(case: &'static Case) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new().name(case.name.to_owned()).spawn(move || {
        let result = panic::catch_unwind(case.run);
        let _ = tx.send(result.map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic whose payload is not text)".to_owned())
        }));
    });
    let thread = match spawned {
        Ok(thread) => thread,
        Err(e) => return Outcome::Failed(format!("could not start its thread: {e}")),
    };
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(result) => {
            let _ = thread.join();
            match result {
                Ok(()) => Outcome::Passed,
                Err(message) => Outcome::Failed(message),
            }
        }
        Err(RecvTimeoutError::Timeout) => {
            Outcome::Failed(format!("still running after {} s: given up on", CASE_LIMIT.as_secs()))
        }
        Err(RecvTimeoutError::Disconnected) => Outcome::Failed("its thread ended without a result".to_owned()),
    }
}

/// "1 test", "2 tests".
fn tests(n: usize) -> String {
    format!("{n} test{}", if n == 1 { "" } else { "s" })
}

/// Whether the environment asks for every program to be there.
fn peers_required() -> bool {
    std::env::var("FRAMELOOP_REQUIRE_PEERS").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn main() -> ExitCode {
    let args = Args::parse(std::env::args().skip(1));
    let all = cases();
    let total = all.len();
    let selected: Vec<&'static Case> = all.into_iter().filter(|c| args.selects(c)).collect();
    let filtered_out = total - selected.len();

    if args.list {
        for case in &selected {
            println!("{}: test", case.name);
        }
        if !args.terse {
            println!("\n{}, 0 benchmarks", tests(selected.len()));
        }
        return ExitCode::SUCCESS;
    }

    let required = peers_required();
    println!("\nrunning {}", tests(selected.len()));
    let (mut passed, mut skipped) = (0, 0);
    let mut missing: Vec<Peer> = Vec::new();
    // Each failed case, with what went wrong when it ran.
    let mut failures: Vec<(&str, Option<String>)> = Vec::new();
    for case in selected {
        let absent: Vec<Peer> = case.needs.iter().copied().filter(|p| !on_path(p.program)).collect();
        if !absent.is_empty() {
            let names: Vec<&str> = absent.iter().map(|p| p.program).collect();
            let names = names.join(", ");
            for peer in absent {
                if !missing.iter().any(|m| m.program == peer.program) {
                    missing.push(peer);
                }
            }
            if required {
                println!("test {} ... FAILED: {names} not installed (FRAMELOOP_REQUIRE_PEERS=1)", case.name);
                failures.push((case.name, None));
            } else {
                println!("test {} ... skipped: {names} not installed", case.name);
                skipped += 1;
            }
            continue;
        }
        match run_case(case) {
            Outcome::Passed => {
                println!("test {} ... ok", case.name);
                passed += 1;
            }
            Outcome::Failed(message) => {
                println!("test {} ... FAILED", case.name);
                failures.push((case.name, Some(message)));
            }
        }
    }

    if !missing.is_empty() {
        let programs: Vec<String> =
            missing.iter().map(|p| format!("{} (Debian package {})", p.program, p.package)).collect();
        let mut packages: Vec<&str> = Vec::new();
        for peer in &missing {
            if !packages.contains(&peer.package) {
                packages.push(peer.package);
            }
        }
        if required {
            println!("\nnot installed, and FRAMELOOP_REQUIRE_PEERS=1 requires them: {}", programs.join(", "));
        } else {
            println!(
                "\nskipped {}, their programs are not installed: {}; `apt-get install {}` runs them, \
                 and FRAMELOOP_REQUIRE_PEERS=1 makes a missing program a failure",
                tests(skipped),
                programs.join(", "),
                packages.join(" ")
            );
        }
    }
    if failures.iter().any(|(_, message)| message.is_some()) {
        println!("\nfailures:");
        for (name, message) in &failures {
            if let Some(message) = message {
                println!("\n---- {name} ----\n{message}");
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    // What a case given up on still runs goes with this process: the shell's
    // own `kill`, present wherever `sh` is, under the lock (see RUNNING).
    let left = running();
    if !left.is_empty() {
        let ids: Vec<String> = left.iter().map(u32::to_string).collect();
        let _ = Command::new("sh").arg("-c").arg(format!("kill -KILL {}", ids.join(" "))).status();
    }
    drop(left);
    let failed = failures.len();
    let filtered = if filtered_out > 0 { format!(", {filtered_out} filtered out") } else { String::new() };
    println!("\npeers: {passed} passed, {failed} failed, {skipped} skipped{filtered}\n");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
