//! Lines servers driven by real terminal tools: OpenBSD `nc` and `socat`
//! (Debian packages netcat-openbsd and socat), with LF and CRLF endings.
//!
//! Without those tools the tests fail and say what to install, unless
//! `FRAMELOOP_SKIP_NC=1` asks to skip them.

#[path = "../examples/chat_room.rs"]
#[allow(dead_code)]
mod chat_room;

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::PATIENCE;
use frameloop::{ReplyMode, Server};

/// Whether `tool` can run; fails the test with what to install when it
/// cannot, unless FRAMELOOP_SKIP_NC=1.
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if found {
        return true;
    }
    if std::env::var("FRAMELOOP_SKIP_NC").as_deref() == Ok("1") {
        eprintln!("skipping: {tool} is not installed (FRAMELOOP_SKIP_NC=1)");
        return false;
    }
    panic!(
        "`{tool}` is needed by this test but is not installed: run \
         `sudo apt-get install netcat-openbsd socat` (or set FRAMELOOP_SKIP_NC=1 to skip)"
    );
}

/// Runs `tool args`, feeding it `input` and closing its input; returns what
/// it printed. Killed (and the test failed) if it runs past the patience.
fn run(tool: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {tool}: {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tool} {args:?} did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.is_empty(), "{tool} complained: {err}");
    out
}

/// A lines server that answers each line in capitals.
fn shouter() -> Server {
    Server::bind("127.0.0.1:0")
        .unwrap()
        .lines()
        .reply(ReplyMode::Concurrent, |l: &[u8]| l.to_ascii_uppercase())
        .unwrap()
}

#[test]
fn nc_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf() {
    if !have("nc") {
        return;
    }
    let server = shouter();
    let port = server.local_addr().port().to_string();
    // -N: close our sending side once the input ends; the server answers
    // what it got, then closes, and nc exits.
    let out = run("nc", &["-N", "127.0.0.1", &port], "hello\nworld\r\nlast one\n");
    assert_eq!(out, "HELLO\nWORLD\nLAST ONE\n");
}

#[test]
fn socat_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf() {
    if !have("socat") {
        return;
    }
    let server = shouter();
    let target = format!("TCP:127.0.0.1:{}", server.local_addr().port());
    // -t 5: after the input ends, wait up to 5 s for the server's close.
    let out = run("socat", &["-t", "5", "-", &target], "crlf\r\nlf\n");
    assert_eq!(out, "CRLF\nLF\n");
}

#[test]
fn socat_crlf_mode_talks_like_telnet() {
    if !have("socat") {
        return;
    }
    let server = shouter();
    let target = format!("TCP:127.0.0.1:{},crlf", server.local_addr().port());
    // The ",crlf" option turns every \n socat sends into \r\n, as telnet does.
    let out = run("socat", &["-t", "5", "-", &target], "telnet style\n");
    assert_eq!(out, "TELNET STYLE\n");
}

#[test]
fn nc_joins_the_chat_room_and_chats_with_a_member() {
    if !have("nc") {
        return;
    }
    let room = chat_room::start("127.0.0.1:0", 10).unwrap();
    let addr = room.local_addr();
    let member = common::connect(addr);
    let mut hear = BufReader::new(member.try_clone().unwrap());
    let mut speak = member;
    let mut line = String::new();
    hear.read_line(&mut line).unwrap();
    speak.write_all(b"alice\n").unwrap();
    line.clear();
    hear.read_line(&mut line).unwrap();
    assert!(line.starts_with("Hello alice!"), "{line}");

    let out = run("nc", &["-N", "127.0.0.1", &addr.port().to_string()], "zoe\nhi alice\n---quit---\n");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("What is your name?"), "{out}");
    assert!(lines[1].starts_with("Hello zoe! here: alice."), "{out}");
    assert_eq!(lines.last(), Some(&"Bye zoe!"), "{out}");

    let mut heard = Vec::new();
    for _ in 0..3 {
        line.clear();
        hear.read_line(&mut line).unwrap();
        heard.push(line.trim_end().to_owned());
    }
    assert_eq!(heard, ["* zoe joined the room", "zoe: hi alice", "* zoe left the room"]);
}
