//! Lines servers driven by real terminal tools: OpenBSD `nc` and `socat`,
//! with LF and CRLF endings.

use std::io::{BufRead, BufReader, Write};

use frameloop::{ReplyMode, Server};

use crate::common;
use crate::{chat_room, run, Case, Peer};

/// OpenBSD's netcat: `-N` (close the sending side at the end of the input)
/// is its own.
const NC: Peer = Peer { program: "nc", package: "netcat-openbsd" };
const SOCAT: Peer = Peer { program: "socat", package: "socat" };

pub const CASES: &[Case] = &[
    Case {
        name: "lines::nc_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf",
        needs: &[NC],
        run: nc_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf,
    },
    Case {
        name: "lines::socat_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf",
        needs: &[SOCAT],
        run: socat_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf,
    },
    Case { name: "lines::socat_crlf_mode_talks_like_telnet", needs: &[SOCAT], run: socat_crlf_mode_talks_like_telnet },
    Case {
        name: "lines::nc_joins_the_chat_room_and_chats_with_a_member",
        needs: &[NC],
        run: nc_joins_the_chat_room_and_chats_with_a_member,
    },
];

/// A lines server that answers each line in capitals.
fn shouter() -> Server {
    Server::bind("127.0.0.1:0")
        .unwrap()
        .lines()
        .reply(ReplyMode::Concurrent, |l: &[u8]| l.to_ascii_uppercase())
        .unwrap()
}

fn nc_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf() {
    let server = shouter();
    let port = server.local_addr().tcp().unwrap().port().to_string();
    // -N: close our sending side once the input ends; the server answers
    // what it got, then closes, and nc exits.
    let out = run("nc", &["-N", "127.0.0.1", &port], "hello\nworld\r\nlast one\n");
    assert_eq!(out, "HELLO\nWORLD\nLAST ONE\n");
}

fn socat_gets_one_answer_per_line_whether_lines_end_in_lf_or_crlf() {
    let server = shouter();
    let target = format!("TCP:127.0.0.1:{}", server.local_addr().tcp().unwrap().port());
    // -t 5: after the input ends, wait up to 5 s for the server's close.
    let out = run("socat", &["-t", "5", "-", &target], "crlf\r\nlf\n");
    assert_eq!(out, "CRLF\nLF\n");
}

fn socat_crlf_mode_talks_like_telnet() {
    let server = shouter();
    let target = format!("TCP:127.0.0.1:{},crlf", server.local_addr().tcp().unwrap().port());
    // The ",crlf" option turns every \n socat sends into \r\n, as telnet does.
    let out = run("socat", &["-t", "5", "-", &target], "telnet style\n");
    assert_eq!(out, "TELNET STYLE\n");
}

fn nc_joins_the_chat_room_and_chats_with_a_member() {
    let room = chat_room::start("127.0.0.1:0", 10).unwrap();
    let addr = room.local_addr().tcp().unwrap();
    // Reads and writes bounded by the patience.
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
    assert!(lines.first().is_some_and(|l| l.contains("What is your name?")), "{out}");
    assert!(lines.get(1).is_some_and(|l| l.starts_with("Hello zoe! here: alice.")), "{out}");
    assert_eq!(lines.last(), Some(&"Bye zoe!"), "{out}");

    let mut heard = Vec::new();
    for _ in 0..3 {
        line.clear();
        hear.read_line(&mut line).unwrap();
        heard.push(line.trim_end().to_owned());
    }
    assert_eq!(heard, ["* zoe joined the room", "zoe: hi alice", "* zoe left the room"]);
}
