//! The chat-room example, driven by several raw TCP clients speaking lines
//! (as `nc` would), and by the example's own terminal client; each test on
//! a room served by one thread and on one served by two (whose members
//! are spread over both).

#[path = "../examples/chat_room.rs"]
mod chat_room;

#[path = "../examples/chat_client.rs"]
mod chat_client;

mod common;

use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::TcpStream;
use std::time::Instant;

use common::{SharedOutput, PATIENCE};
use frameloop::Server;

/// A room for `max` members on `threads` threads, on a port of its own.
fn open_room(threads: usize, max: usize) -> Server {
    chat_room::start_with(Server::bind("127.0.0.1:0").unwrap().threads(threads), max).unwrap()
}

/// Runs each check, named by its function, on one thread and on two.
macro_rules! on_one_and_two_threads {
    ($($check:ident),* $(,)?) => {
        mod one_thread {
            $(#[test]
            fn $check() {
                super::$check(1);
            })*
        }
        mod two_threads {
            $(#[test]
            fn $check() {
                super::$check(2);
            })*
        }
    };
}

on_one_and_two_threads!(
    names_are_unique_lines_reach_the_others_and_members_hear_joins_and_leaves,
    someone_still_choosing_a_name_hears_no_chat_and_is_not_announced,
    newcomers_past_the_limit_are_told_the_room_is_full_and_closed,
    the_terminal_client_joins_chats_and_leaves_when_its_input_ends,
);

/// A member seen from the outside: a line-speaking TCP connection.
struct Member {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Member {
    fn join(addr: std::net::SocketAddr) -> Self {
        let s = common::connect(addr);
        Member { reader: BufReader::new(s.try_clone().unwrap()), writer: s }
    }

    fn say(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    fn say_crlf(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    }

    fn hear(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("a line from the room in time");
        assert!(n > 0, "the room closed the connection instead of answering");
        line.trim_end_matches('\n').to_owned()
    }

    /// Reads lines until the room closes the connection.
    fn hear_until_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return lines,
                Ok(_) => lines.push(line.trim_end_matches('\n').to_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return lines,
                Err(e) => panic!("expected the room to close the connection: {e}"),
            }
        }
    }

    /// Joins under `name` and returns the greeting.
    fn join_as(addr: std::net::SocketAddr, name: &str) -> (Self, String) {
        let mut m = Member::join(addr);
        assert!(m.hear().contains("What is your name?"));
        m.say(name);
        let hello = m.hear();
        assert!(hello.starts_with(&format!("Hello {name}!")), "{hello}");
        (m, hello)
    }
}

fn names_are_unique_lines_reach_the_others_and_members_hear_joins_and_leaves(threads: usize) {
    let room = open_room(threads, 10);
    let addr = room.local_addr().tcp().unwrap();
    let (mut alice, hello) = Member::join_as(addr, "alice");
    assert!(hello.contains("nobody else"), "{hello}");

    let mut bob = Member::join(addr);
    assert!(bob.hear().contains("What is your name?"));
    bob.say("alice");
    assert_eq!(bob.hear(), "The name alice is taken, choose another one:");
    bob.say("");
    assert!(bob.hear().contains("cannot be empty"));
    bob.say("bob");
    assert!(bob.hear().contains("here: alice"));
    assert_eq!(alice.hear(), "* bob joined the room");

    alice.say("hi bob");
    assert_eq!(bob.hear(), "alice: hi bob");

    // A CRLF client (telnet) is understood the same.
    let mut carol = Member::join(addr);
    carol.hear();
    carol.say_crlf("carol");
    assert!(carol.hear().contains("here: alice, bob"));
    // The next thing alice hears is carol's arrival, not her own line.
    assert_eq!(alice.hear(), "* carol joined the room");
    assert_eq!(bob.hear(), "* carol joined the room");

    carol.say_crlf("hello all");
    assert_eq!(alice.hear(), "carol: hello all");
    assert_eq!(bob.hear(), "carol: hello all");

    bob.say("---quit---");
    assert_eq!(bob.hear_until_closed(), ["Bye bob!"]);
    assert_eq!(alice.hear(), "* bob left the room");
    assert_eq!(carol.hear(), "* bob left the room");

    // Leaving without a word is announced too.
    drop(carol);
    assert_eq!(alice.hear(), "* carol left the room");
    // And the name is free again.
    let (_bob_again, _) = Member::join_as(addr, "bob");
    assert_eq!(alice.hear(), "* bob joined the room");
}

fn someone_still_choosing_a_name_hears_no_chat_and_is_not_announced(threads: usize) {
    let room = open_room(threads, 10);
    let addr = room.local_addr().tcp().unwrap();
    let (mut alice, _) = Member::join_as(addr, "alice");
    let mut shy = Member::join(addr);
    shy.hear(); // the name prompt
    let (mut bob, _) = Member::join_as(addr, "bob");
    assert_eq!(alice.hear(), "* bob joined the room");
    bob.say("secret");
    assert_eq!(alice.hear(), "bob: secret");
    drop(shy);
    bob.say("after");
    assert_eq!(alice.hear(), "bob: after", "a nameless leaver was announced");
}

fn newcomers_past_the_limit_are_told_the_room_is_full_and_closed(threads: usize) {
    let room = open_room(threads, 2);
    let addr = room.local_addr().tcp().unwrap();
    let (mut alice, _) = Member::join_as(addr, "alice");
    let (_bob, _) = Member::join_as(addr, "bob");
    assert_eq!(alice.hear(), "* bob joined the room");
    let mut late = Member::join(addr);
    let lines = late.hear_until_closed();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("the room is full"), "{lines:?}");
    // Members were not disturbed.
    alice.say("still two of us");
    drop(alice);
}

fn the_terminal_client_joins_chats_and_leaves_when_its_input_ends(threads: usize) {
    let room = open_room(threads, 10);
    let addr = room.local_addr().tcp().unwrap();
    let (mut alice, _) = Member::join_as(addr, "alice");
    let out = SharedOutput::default();
    let typed = Cursor::new("dave\nhello alice\n");
    let start = Instant::now();
    chat_client::run(&addr.to_string(), typed, out.clone()).unwrap();
    assert!(start.elapsed() < PATIENCE);
    assert_eq!(alice.hear(), "* dave joined the room");
    assert_eq!(alice.hear(), "dave: hello alice");
    assert_eq!(alice.hear(), "* dave left the room");
    let printed = String::from_utf8(out.bytes()).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines[0].contains("What is your name?"), "{printed}");
    assert!(lines[1].starts_with("Hello dave!"), "{printed}");
    assert_eq!(lines.last(), Some(&"Bye dave!"), "{printed}");
}
