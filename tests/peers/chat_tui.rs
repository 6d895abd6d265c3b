//! The chat room's terminal UI (`examples/chat_tui.rs`), used as a person
//! would: it runs in a terminal of its own (a detached tmux session on a
//! private socket, 100 x 30), the test types with `send-keys` and reads the
//! screen with `capture-pane`, while members connected over plain TCP chat
//! with it.
//!
//! The program runs under `sh`, which prints its exit status and whether
//! the terminal is back in its normal mode (canonical input, echo) once it
//! exits; the pane stays open (`remain-on-exit`) so that the test can read
//! that last screen.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{self, PATIENCE};
use crate::{chat_room, Case, Peer};

const TMUX: Peer = Peer { program: "tmux", package: "tmux" };

pub const CASES: &[Case] = &[
    Case {
        name: "chat_tui::joins_chats_keeps_the_member_list_and_quits_on_esc",
        needs: &[TMUX],
        run: joins_chats_keeps_the_member_list_and_quits_on_esc,
    },
    Case {
        name: "chat_tui::ends_and_says_why_when_the_server_closes",
        needs: &[TMUX],
        run: ends_and_says_why_when_the_server_closes,
    },
    Case {
        name: "chat_tui::typing_the_quit_word_leaves_with_the_rooms_goodbye",
        needs: &[TMUX],
        run: typing_the_quit_word_leaves_with_the_rooms_goodbye,
    },
    Case {
        name: "chat_tui::shows_why_a_full_room_turned_it_away",
        needs: &[TMUX],
        run: shows_why_a_full_room_turned_it_away,
    },
    Case {
        name: "chat_tui::ctrl_c_leaves_and_restores_the_terminal",
        needs: &[TMUX],
        run: ctrl_c_leaves_and_restores_the_terminal,
    },
];

fn joins_chats_keeps_the_member_list_and_quits_on_esc() {
    let room = chat_room::start("127.0.0.1:0", 10).unwrap();
    let mut bob = Member::join_as(room.local_addr().tcp().unwrap(), "bob");
    let tui = Terminal::run_chat_tui(room.local_addr().tcp().unwrap());

    let screen = tui.wait_for("the room's question", asks_the_name);
    assert!(screen.members().is_empty(), "members listed before joining:\n{screen}");
    assert!(screen.text.contains("Your name"), "the input line does not ask for a name:\n{screen}");
    tui.type_line("alice");
    let screen = tui.wait_for("the greeting and both members", |s| {
        s.messages().iter().any(|r| r == "Hello alice! here: bob. Type ---quit--- to leave.")
            && s.members() == ["alice (you)", "bob"]
    });
    assert!(screen.messages().contains(&"> alice".to_owned()), "the typed name is not shown:\n{screen}");
    assert_eq!(bob.hear(), "* alice joined the room");

    tui.type_line("hi bob");
    assert_eq!(bob.hear(), "alice: hi bob");
    let screen = tui.wait_for("our own message", |s| s.messages().iter().any(|r| r == "alice: hi bob"));
    assert_eq!(screen.input(), "", "the input line was not cleared after Enter:\n{screen}");

    bob.say("hello alice");
    tui.wait_for("bob's message", |s| s.messages().last().is_some_and(|r| r == "bob: hello alice"));

    let mut carol = Member::join_as(room.local_addr().tcp().unwrap(), "carol");
    tui.wait_for("carol in the list", |s| {
        s.members() == ["alice (you)", "bob", "carol"]
            && s.messages().last().is_some_and(|r| r == "* carol joined the room")
    });
    drop(bob);
    assert_eq!(carol.hear(), "* bob left the room");
    tui.wait_for("bob gone from the list", |s| {
        s.members() == ["alice (you)", "carol"] && s.messages().last().is_some_and(|r| r == "* bob left the room")
    });

    tui.keys(&["Escape"]);
    let screen = tui.wait_exited();
    assert!(screen.text.contains("You left the chat room."), "{screen}");
    assert!(screen.text.contains("exited=0 tty=normal"), "{screen}");
    assert_eq!(tui.format("#{alternate_on}"), "0", "still on the alternate screen");
    assert_eq!(carol.hear(), "* alice left the room");
}

fn ends_and_says_why_when_the_server_closes() {
    let room = chat_room::start("127.0.0.1:0", 10).unwrap();
    let tui = Terminal::run_chat_tui(room.local_addr().tcp().unwrap());
    tui.wait_for("the room's question", asks_the_name);
    tui.type_line("dave");
    tui.wait_for("the greeting", |s| {
        s.messages().iter().any(|r| r.starts_with("Hello dave! nobody else is here yet."))
            && s.members() == ["dave (you)"]
    });
    room.stop().unwrap();
    let screen = tui.wait_exited();
    // The server closing is not what the user asked for: a failure status,
    // and the reason on the screen the user is left with.
    assert!(screen.text.contains("Disconnected: closed by the peer."), "{screen}");
    assert!(screen.text.contains("exited=1 tty=normal"), "{screen}");
}

fn typing_the_quit_word_leaves_with_the_rooms_goodbye() {
    let room = chat_room::start("127.0.0.1:0", 10).unwrap();
    let mut bob = Member::join_as(room.local_addr().tcp().unwrap(), "bob");
    let tui = Terminal::run_chat_tui(room.local_addr().tcp().unwrap());
    tui.wait_for("the room's question", asks_the_name);
    tui.type_line("erin");
    assert_eq!(bob.hear(), "* erin joined the room");
    tui.type_line("---quit---");
    let screen = tui.wait_exited();
    let lines: Vec<&str> = screen.text.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, ["Bye erin!", "Disconnected: closed by the peer.", "exited=0 tty=normal"], "{screen}");
    assert_eq!(bob.hear(), "* erin left the room");
}

fn shows_why_a_full_room_turned_it_away() {
    let room = chat_room::start("127.0.0.1:0", 1).unwrap();
    let _bob = Member::join_as(room.local_addr().tcp().unwrap(), "bob");
    let tui = Terminal::run_chat_tui(room.local_addr().tcp().unwrap());
    let screen = tui.wait_exited();
    assert!(screen.text.contains("Sorry, the room is full (1 members). Try again later."), "{screen}");
    assert!(screen.text.contains("Disconnected: "), "{screen}");
    assert!(screen.text.contains("exited=1 tty=normal"), "{screen}");
}

fn ctrl_c_leaves_and_restores_the_terminal() {
    let room = chat_room::start("127.0.0.1:0", 10).unwrap();
    let mut bob = Member::join_as(room.local_addr().tcp().unwrap(), "bob");
    let tui = Terminal::run_chat_tui(room.local_addr().tcp().unwrap());
    tui.wait_for("the room's question", asks_the_name);
    tui.type_line("frank");
    assert_eq!(bob.hear(), "* frank joined the room");
    // Half a message typed, then Ctrl-C: it leaves without sending it.
    tui.keys(&["-l", "never sent"]);
    tui.wait_for("the typed text", |s| s.input() == "never sent");
    tui.keys(&["C-c"]);
    let screen = tui.wait_exited();
    assert!(screen.text.contains("You left the chat room."), "{screen}");
    assert!(screen.text.contains("exited=0 tty=normal"), "{screen}");
    assert_eq!(bob.hear(), "* frank left the room");
}

/// The room's first line is in the message pane.
fn asks_the_name(screen: &Screen) -> bool {
    screen.messages().iter().any(|r| r == "Welcome to the chat room! What is your name?")
}

/// A member on a plain TCP connection, as `nc` would be.
struct Member {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Member {
    /// Joins under `name`.
    fn join_as(addr: SocketAddr, name: &str) -> Member {
        let stream = common::connect(addr);
        let mut member = Member { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream };
        assert!(member.hear().ends_with("What is your name?"));
        member.say(name);
        let hello = member.hear();
        assert!(hello.starts_with(&format!("Hello {name}!")), "{hello}");
        member
    }

    fn say(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    /// The next line from the room (reads are bounded by the patience).
    fn hear(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("a line from the room in time");
        assert!(n > 0, "the room closed the connection instead of saying something");
        line.trim_end_matches('\n').to_owned()
    }
}

/// What the pane shows, as `capture-pane -p` prints it: one line per row,
/// one character per cell.
struct Screen {
    text: String,
}

impl std::fmt::Display for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Screen {
    fn rows(&self) -> Vec<Vec<char>> {
        self.text.lines().map(|l| l.chars().collect()).collect()
    }

    /// The column of the member list's left border, found by its title on
    /// the top row; `None` when the UI is not on the screen.
    fn members_border(&self) -> Option<usize> {
        let top: String = self.text.lines().next()?.to_owned();
        let at = top.find(" Members")?;
        top[..at].chars().count().checked_sub(1)
    }

    /// The rows between the top and bottom borders of the upper panes.
    fn pane_rows(&self) -> Vec<Vec<char>> {
        let Some(border) = self.members_border() else {
            return Vec::new();
        };
        let rows = self.rows();
        let side = rows.get(1).and_then(|r| r.get(border)).copied();
        rows.into_iter().skip(1).take_while(|r| side.is_some() && r.get(border).copied() == side).collect()
    }

    /// The message pane's rows that are not blank.
    fn messages(&self) -> Vec<String> {
        let Some(border) = self.members_border() else {
            return Vec::new();
        };
        let inside = |r: &Vec<char>| cells(r, 1, border.saturating_sub(1)).trim_end().to_owned();
        self.pane_rows().iter().map(inside).filter(|r| !r.is_empty()).collect()
    }

    /// The member list's rows that are not blank.
    fn members(&self) -> Vec<String> {
        let Some(border) = self.members_border() else {
            return Vec::new();
        };
        let inside = |r: &Vec<char>| cells(r, border + 1, r.len().saturating_sub(1)).trim().to_owned();
        self.pane_rows().iter().map(inside).filter(|r| !r.is_empty()).collect()
    }

    /// What the input line holds (the row under its titled top border).
    fn input(&self) -> String {
        let rows: Vec<&str> = self.text.lines().collect();
        let Some(title) = rows.iter().position(|r| r.contains("Enter sends")) else {
            return String::new();
        };
        let row: Vec<char> = rows.get(title + 1).unwrap_or(&"").chars().collect();
        cells(&row, 1, row.len().saturating_sub(1)).trim().to_owned()
    }
}

/// The cells `from..to` of a row (none where the row is shorter).
fn cells(row: &[char], from: usize, to: usize) -> String {
    row.get(from..to).unwrap_or(&[]).iter().collect()
}

/// A tmux server of our own (its socket in a fresh folder, no user
/// configuration) running one 100 x 30 session. Dropping it kills that
/// server, with whatever runs in it, and removes the folder: a failing
/// case leaves nothing behind.
struct Terminal {
    dir: PathBuf,
    socket: PathBuf,
}

/// Numbers the terminals of this process, for their folders' names.
static TERMINALS: AtomicUsize = AtomicUsize::new(0);

/// Run by `sh` around the program: its status, and the terminal's mode
/// after it (raw mode turns `icanon` and `echo` off), stay on the screen.
const WRAPPER: &str = r#""$0" "$@"; status=$?
if stty -a | tr ' ;' '\n\n' | grep -qx -e -icanon -e -echo; then tty=raw; else tty=normal; fi
echo "exited=$status tty=$tty""#;

impl Terminal {
    /// Starts the chat TUI, joining the room at `addr`.
    fn run_chat_tui(addr: SocketAddr) -> Terminal {
        let program = chat_tui_binary();
        let n = TERMINALS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("frameloop-chat-tui-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir); // left by an earlier process with the same id
        fs::create_dir_all(&dir).unwrap();
        let terminal = Terminal { socket: dir.join("tmux.sock"), dir };
        let config = terminal.dir.join("tmux.conf");
        fs::write(&config, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let addr = addr.to_string();
        let config = config.to_str().unwrap();
        let program = program.to_str().unwrap();
        let session = ["new-session", "-d", "-x", "100", "-y", "30", "-s", "chat"];
        terminal.tmux(&[&["-f", config][..], &session, &["sh", "-c", WRAPPER, program, &addr]].concat());
        terminal
    }

    /// Runs a tmux command against our server; panics if it fails.
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX") // inside someone's tmux, still our own server
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run tmux: {e}"));
        assert!(out.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> Screen {
        Screen { text: self.tmux(&["capture-pane", "-p", "-t", "chat"]) }
    }

    /// A tmux format (`#{...}`) for the pane.
    fn format(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "chat", format]).trim_end().to_owned()
    }

    /// Types `text` and presses Enter.
    fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// `send-keys` with `keys` (tmux key names, or `-l` and literal text).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        if let Some(literal) = args.iter().position(|&a| a == "-l") {
            args.insert(literal + 1, "--"); // text such as ---quit--- is not a flag
        }
        self.tmux(&args);
    }

    /// Reads the screen until `ready` holds, for at most the patience.
    fn wait_for(&self, what: &str, ready: impl Fn(&Screen) -> bool) -> Screen {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "{what}: not on the screen within {PATIENCE:?}; it shows:\n{screen}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the program has exited (the wrapper's last line is on
    /// the screen and the pane's process is gone); returns what the pane
    /// printed up to that line, from the top of its history: tmux's note
    /// that the pane is dead can scroll the first lines off the screen.
    fn wait_exited(&self) -> Screen {
        self.wait_for("the program's exit", |s| s.text.contains("exited="));
        let deadline = Instant::now() + PATIENCE;
        while self.format("#{pane_dead}") != "1" {
            assert!(Instant::now() < deadline, "the pane's shell did not end");
            thread::sleep(Duration::from_millis(20));
        }
        let all = self.tmux(&["capture-pane", "-p", "-t", "chat", "-S", "-"]);
        let mut text = String::new();
        for line in all.lines() {
            text.push_str(line);
            text.push('\n');
            if line.starts_with("exited=") {
                break;
            }
        }
        Screen { text }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The `chat_tui` example, built (or found up to date) once per run:
/// `cargo test` builds examples, but `cargo test --test peers` does not.
fn chat_tui_binary() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let path = build_chat_tui();
    *built = Some(path.clone());
    path
}

/// How long building the example may take: under the runner's limit for
/// the case, with room for the case itself.
const BUILD_LIMIT: Duration = Duration::from_secs(90);

fn build_chat_tui() -> PathBuf {
    // The test runs from <target>/<profile>/deps; examples of the same
    // build land in <target>/<profile>/examples.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("the test binary is in <target>/<profile>/deps");
    let beside = profile_dir.join("examples").join("chat_tui");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    // Cargo's messages go to files: a pipe nobody reads could fill and
    // stall the build.
    let log_dir = std::env::temp_dir().join(format!("frameloop-chat-tui-build-{}", std::process::id()));
    fs::create_dir_all(&log_dir).unwrap();
    let (out_path, err_path) = (log_dir.join("stdout"), log_dir.join("stderr"));
    let mut child = Command::new(&cargo)
        .args(["build", "--example", "chat_tui", "--message-format", "json-render-diagnostics", "--profile", profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {cargo:?} to build the chat_tui example: {e}"));
    let status = common::wait_child_or_kill(&mut child, BUILD_LIMIT);
    let out = fs::read_to_string(&out_path).unwrap_or_default();
    let err = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_dir_all(&log_dir);
    match status {
        None => panic!("building the chat_tui example took over {BUILD_LIMIT:?}: build it first"),
        Some(s) if !s.success() => panic!("`cargo build --example chat_tui` failed:\n{err}"),
        Some(_) => {}
    }
    // The path cargo reports for the executable it made, else the usual one.
    let reported = out.lines().filter(|l| l.contains(r#""name":"chat_tui""#)).find_map(|l| {
        let rest = &l[l.find(r#""executable":""#)? + r#""executable":""#.len()..];
        Some(PathBuf::from(&rest[..rest.find('"')?]))
    });
    let path = reported.unwrap_or(beside);
    assert!(path.is_file(), "the chat_tui example is not at {}", path.display());
    path
}
