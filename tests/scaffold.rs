//! `frameloop new DIR` (pyspeak's project scaffold): the generated project
//! depends on the published library (or on a checkout with `--path`), builds
//! in each message format, and its server and client talk.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::lines_of;

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

/// Runs `frameloop new DIR extra...`.
fn new_project(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(FRAMELOOP).arg("new").arg(dir).args(extra).output().expect("run frameloop new")
}

/// Every file under `dir`, with its text.
fn files_of(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_of(&path));
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    out
}

#[test]
fn new_refuses_a_directory_that_is_not_empty() {
    let tmp = TempDir::new("scaffold-refuse");
    std::fs::create_dir_all(&tmp.0).unwrap();
    std::fs::write(tmp.0.join("keep.txt"), "mine").unwrap();
    let out = new_project(&tmp.0, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not empty") && err.contains("nothing was written"), "{err}");
    assert_eq!(std::fs::read_dir(&tmp.0).unwrap().count(), 1, "something was written");
    assert_eq!(std::fs::read_to_string(tmp.0.join("keep.txt")).unwrap(), "mine");
}

#[test]
fn new_refuses_a_path_that_is_no_checkout_and_writes_nothing() {
    let tmp = TempDir::new("scaffold-bad-path");
    let dir = tmp.0.join("app");
    let out = new_project(&dir, &["--path", &tmp.0.join("missing").to_string_lossy()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--path"));
    assert!(!dir.exists(), "something was written");
}

#[test]
fn new_depends_on_the_published_library_and_names_no_folder_of_this_machine() {
    let tmp = TempDir::new("scaffold-published");
    let dir = tmp.0.join("chat_box");
    let out = new_project(&dir, &[]);
    assert!(out.status.success(), "frameloop new failed: {}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        manifest.contains(&format!("frameloop = {{ version = \"{version}\", default-features = false }}")),
        "{manifest}"
    );
    assert!(!manifest.contains("path ="), "{manifest}");
    for (path, text) in files_of(&dir) {
        for folder in [env!("CARGO_MANIFEST_DIR"), &tmp.0.to_string_lossy()] {
            assert!(!text.contains(folder), "{} names {folder}", path.display());
        }
    }
    // The default format is pyspeak's packets, on both sides.
    let server = std::fs::read_to_string(dir.join("src/bin/server_main.rs")).unwrap();
    let client = std::fs::read_to_string(dir.join("src/bin/client_main.rs")).unwrap();
    assert!(server.contains("server.packets().start(MyServer)") && server.contains("send_packet"), "{server}");
    assert!(client.contains("Client::builder().packets()"), "{client}");
}

/// Builds the project in `dir` offline into `target`, within 10 minutes.
fn build(dir: &Path, target: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--bins"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cargo build");
    // Read on a thread: warnings could fill the pipe and stall the build.
    let mut stderr = build.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let status = common::wait_child(
        &mut build,
        Duration::from_secs(600),
        "building the generated project took more than 10 minutes",
    );
    let errors = errors.join().unwrap();
    assert!(status.success(), "the generated project in {} does not build:\n{errors}", dir.display());
}

/// Runs the server and a client built from the generated project: what one
/// types reaches the other, `/stop` ends the client, the end of its input
/// ends the server.
fn server_and_client_talk(bin: &Path, lines_format: bool) {
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

    if lines_format {
        // What the lines format is for: any line-based tool can talk to it.
        let mut nc = TcpStream::connect(&addr).unwrap();
        nc.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        nc.write_all(b"from nc\n").unwrap();
        let mut echo = String::new();
        BufReader::new(&nc).read_line(&mut echo).unwrap();
        assert_eq!(echo, "from nc\n");
    }

    typed.write_all(b"/stop\n").unwrap();
    common::wait_child(&mut client.0, Duration::from_secs(20), "the client did not quit on /stop");
    expect_line(&server_out, "the client's disconnect", |l| l.contains("disconnected"));
    drop(server_typed); // end of input stops the server
    let status =
        common::wait_child(&mut server.0, Duration::from_secs(20), "the server did not stop at the end of its input");
    assert!(status.success());
}

/// One project per format, built one after another into one target
/// directory (frameloop is compiled once, each project then only adds its
/// two small programs), and each run before the next build replaces them.
#[test]
fn new_writes_projects_that_build_and_whose_server_and_client_talk_in_every_format() {
    let tmp = TempDir::new("scaffold");
    // Under this build's target directory: compiled dependencies are kept
    // between runs, and nothing is left in the temporary directory.
    let target = Path::new(FRAMELOOP).parent().and_then(Path::parent).unwrap().join("scaffold-test");
    for format in ["--packets", "--frames", "--lines"] {
        let dir = tmp.0.join(format!("chat_{}", format.trim_start_matches('-')));
        let out = new_project(&dir, &[format, "--path", env!("CARGO_MANIFEST_DIR")]);
        assert!(out.status.success(), "frameloop new {format} failed: {}", String::from_utf8_lossy(&out.stderr));
        for file in ["Cargo.toml", "src/bin/server_main.rs", "src/bin/client_main.rs", "README.md", ".gitignore"] {
            assert!(dir.join(file).is_file(), "{file} missing");
        }
        let server_src = std::fs::read_to_string(dir.join("src/bin/server_main.rs")).unwrap();
        assert!(server_src.contains("Write your code below"));
        assert!(server_src.contains("fn on_receive"));
        assert!(server_src.contains(&format!("server.{}().start", format.trim_start_matches('-'))), "{server_src}");

        // The versions this crate was tested with, so the build needs no network.
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        build(&dir, &target);
        server_and_client_talk(&target.join("debug"), format == "--lines");
    }
}
