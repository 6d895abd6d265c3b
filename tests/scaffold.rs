//! `frameloop new DIR` (pyspeak's project scaffold): the generated project
//! builds, and its server and client talk.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The `frameloop` command line of this build.
const FRAMELOOP: &str = env!("CARGO_BIN_EXE_frameloop");

/// A fresh directory under the system's temporary directory, removed when
/// dropped (whatever the test's outcome).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        TempDir(std::env::temp_dir().join(format!("frameloop-{tag}-{}-{nanos}", std::process::id())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed when dropped, so a failing test leaves none behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a child prints, read on a thread so waits can be bounded.
fn lines_of(out: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for a printed line matching `pred`; returns it.
fn expect_line(rx: &Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return line,
            Ok(_) => {}
            Err(_) => panic!("never printed {what}"),
        }
    }
}

fn new_project(dir: &Path) -> std::process::Output {
    Command::new(FRAMELOOP).arg("new").arg(dir).output().expect("run frameloop new")
}

#[test]
fn new_refuses_a_directory_that_is_not_empty() {
    let tmp = TempDir::new("scaffold-refuse");
    std::fs::create_dir_all(&tmp.0).unwrap();
    std::fs::write(tmp.0.join("keep.txt"), "mine").unwrap();
    let out = new_project(&tmp.0);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(std::fs::read_dir(&tmp.0).unwrap().count(), 1, "something was written");
    assert_eq!(std::fs::read_to_string(tmp.0.join("keep.txt")).unwrap(), "mine");
}

#[test]
fn new_writes_a_project_that_builds_and_whose_server_and_client_talk() {
    let tmp = TempDir::new("scaffold");
    let dir = tmp.0.join("chat_box");
    let out = new_project(&dir);
    assert!(out.status.success(), "frameloop new failed: {}", String::from_utf8_lossy(&out.stderr));
    for file in ["Cargo.toml", "src/bin/server_main.rs", "src/bin/client_main.rs", "README.md"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let server_src = std::fs::read_to_string(dir.join("src/bin/server_main.rs")).unwrap();
    assert!(server_src.contains("Write your code below"));
    assert!(server_src.contains("fn on_receive"));

    // The versions this crate was tested with, so the build needs no network.
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    // Under this build's target directory: compiled dependencies are kept
    // between runs, and nothing is left in the temporary directory.
    let target = Path::new(FRAMELOOP).parent().and_then(Path::parent).unwrap().join("scaffold-test");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--bins"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cargo build");
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = build.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = build.kill();
            panic!("building the generated project took more than 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut build.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(status.success(), "the generated project does not build:\n{errors}");

    let bin = target.join("debug");
    let mut server = Running(
        Command::new(bin.join("server_main"))
            .arg("127.0.0.1:0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let server_out = lines_of(server.0.stdout.take().unwrap());
    let listening = expect_line(&server_out, "the listening address", |l| l.starts_with("listening on "));
    let addr = listening.trim_start_matches("listening on ").to_owned();

    let mut client = Running(
        Command::new(bin.join("client_main")).arg(&addr).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap(),
    );
    let client_out = lines_of(client.0.stdout.take().unwrap());
    expect_line(&client_out, "the connect", |l| l.starts_with("connected to "));
    let mut typed = client.0.stdin.take().unwrap();
    typed.write_all(b"hello\n").unwrap();
    expect_line(&client_out, "the echoed hello", |l| l == "server says: hello");
    expect_line(&server_out, "the server's view of hello", |l| l.ends_with("says: hello"));

    // The server's own code (below the mark) broadcasts what is typed to it.
    let mut server_typed = server.0.stdin.take().unwrap();
    server_typed.write_all(b"hi all\n").unwrap();
    expect_line(&client_out, "the broadcast", |l| l == "server says: [server] hi all");

    typed.write_all(b"/stop\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the client did not quit on /stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    expect_line(&server_out, "the client's disconnect", |l| l.contains("disconnected"));
    drop(server_typed); // end of input stops the server
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(Instant::now() < deadline, "the server did not stop at the end of its input");
        std::thread::sleep(Duration::from_millis(10));
    }
}
