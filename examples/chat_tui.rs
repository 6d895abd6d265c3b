//! A terminal-UI client for the chat room (`examples/chat_room.rs`): a
//! message pane, a member list and an input line, as the homework's GUI
//! client had.
//!
//! ```text
//! cargo run --example chat_room -- 127.0.0.1:7000
//! cargo run --example chat_tui -- 127.0.0.1:7000
//! ```
//!
//! Answer the room's first question (your name) on the input line, then
//! chat: Enter sends, PageUp/PageDown scroll the messages, Esc or Ctrl-C
//! leaves (so does typing `---quit---`). When the server closes the
//! connection the program ends and says why.
//!
//! Two things wake the screen up: lines from the server, which the client's
//! callbacks hand over from frameloop's network thread, and keys, which a
//! small thread reads from the terminal. Both go into one channel; the main
//! thread owns all the state, sleeps on that channel and redraws after each
//! batch. Nothing spins: the key reader's wait is bounded (a tenth of a
//! second) only so that it notices when the program ends.

use std::collections::VecDeque;
use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use frameloop::{Client, ClientCtx, ClientHandler, CloseReason, Error, Message};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, Paragraph};
use ratatui::{DefaultTerminal, Frame};

/// What the chat room understands as "I leave".
const QUIT: &str = "---quit---";

/// Longest line the input accepts, in bytes: the room disconnects anyone
/// who sends a line over 4096 bytes, so the input stops a little before.
const MAX_INPUT: usize = 4000;

/// Messages kept for scrolling back; older ones are forgotten.
const HISTORY: usize = 1000;

/// Widest the member list gets, borders included; in a narrow terminal it
/// takes a quarter of the width, leaving the rest to the messages.
const MEMBERS_WIDTH: u16 = 24;

/// How long the key reader waits for a key before checking whether it
/// should stop: the longest a quit waits for that thread.
const KEY_POLL: Duration = Duration::from_millis(100);

/// Everything that wakes the main thread.
enum Wake {
    /// A line from the server.
    Line(String),
    /// The connection closed.
    Closed(CloseReason),
    /// A key, a resize...
    Terminal(Event),
    /// The terminal could not be read.
    TerminalFailed(io::Error),
}

/// The client's callbacks: they run on the network thread, so they only
/// pass what happened to the main thread.
struct Forward(Sender<Wake>);

impl ClientHandler for Forward {
    fn on_receive(&mut self, _client: &mut ClientCtx<'_>, msg: Message<'_>) -> Result<(), Error> {
        // Sending fails only once the main thread is gone: nothing to tell.
        let _ = self.0.send(Wake::Line(msg.text().into_owned()));
        Ok(())
    }

    fn on_disconnect(&mut self, _client: &mut ClientCtx<'_>, reason: &CloseReason) -> Result<(), Error> {
        let _ = self.0.send(Wake::Closed(reason.clone()));
        Ok(())
    }
}

/// Reads the terminal until told to stop. The bounded poll is what lets it
/// notice `stop`; a blocking read would keep it (and the terminal) busy
/// after the program wants to give the terminal back.
fn read_terminal(to_main: &Sender<Wake>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let event = match event::poll(KEY_POLL) {
            Ok(false) => continue,
            Ok(true) => event::read(),
            Err(e) => Err(e),
        };
        let wake = match event {
            Ok(event) => Wake::Terminal(event),
            Err(e) => Wake::TerminalFailed(e),
        };
        let failed = matches!(wake, Wake::TerminalFailed(_));
        if to_main.send(wake).is_err() || failed {
            return;
        }
    }
}

/// Where the conversation with the room is.
enum Stage {
    /// Choosing a name. The room sends one line when we connect (the
    /// welcome) and then answers each name with one line, so the answer to
    /// `asked` is the first line after the welcome.
    Naming { welcome_due: bool, asked: Option<String> },
    /// In the room, as `me`.
    Chatting { me: String },
}

/// Who wrote a line in the message pane, for its colour.
#[derive(Clone, Copy)]
enum Source {
    /// The room itself: questions, greetings, goodbyes.
    Room,
    /// Someone joined or left.
    Notice,
    /// Another member's message.
    Member,
    /// What we typed.
    Mine,
    /// This program's own remarks (a line that could not be sent).
    Local,
}

impl Source {
    fn style(self) -> Style {
        match self {
            Source::Room => Style::new().fg(Color::Yellow),
            Source::Notice => Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            Source::Member => Style::new(),
            Source::Mine => Style::new().fg(Color::Cyan),
            Source::Local => Style::new().fg(Color::Red),
        }
    }
}

/// How the program ends, printed once the terminal is given back.
enum Ending {
    /// Esc or Ctrl-C.
    Left,
    /// The server closed the connection.
    Closed { reason: CloseReason, said_goodbye: bool, last_line: Option<String> },
    /// The terminal failed.
    Failed(io::Error),
}

/// The whole state of the screen, owned by the main thread.
struct App {
    /// Shown in the message pane's title.
    server: String,
    stage: Stage,
    messages: VecDeque<(Source, String)>,
    /// The other members, sorted (we are `Stage::Chatting::me`).
    others: Vec<String>,
    input: String,
    /// How many rows the message pane is scrolled back from the newest.
    scroll: usize,
    /// Rows the message pane showed last time: what a page is.
    page: usize,
    /// Columns the message pane had last time, to wrap new messages.
    width: usize,
    /// We typed `---quit---`: the close that follows is the expected one.
    said_goodbye: bool,
    /// The last line from the server, printed on exit (a "room is full"
    /// would otherwise flash by).
    last_line: Option<String>,
}

impl App {
    fn new(server: String) -> Self {
        App {
            server,
            stage: Stage::Naming { welcome_due: true, asked: None },
            messages: VecDeque::new(),
            others: Vec::new(),
            input: String::new(),
            scroll: 0,
            page: 1,
            width: 1,
            said_goodbye: false,
            last_line: None,
        }
    }

    fn show(&mut self, source: Source, text: String) {
        if self.scroll > 0 {
            // Someone reading older messages keeps their place.
            self.scroll += wrap(&text, self.width).len();
        }
        if self.messages.len() == HISTORY {
            self.messages.pop_front();
        }
        self.messages.push_back((source, text));
    }

    /// Handles one wake-up; `Some` when the program should end.
    fn handle(&mut self, wake: Wake, client: &Client) -> Option<Ending> {
        match wake {
            Wake::Line(line) => self.receive(&line),
            Wake::Closed(reason) => {
                return Some(Ending::Closed {
                    reason,
                    said_goodbye: self.said_goodbye,
                    last_line: self.last_line.take(),
                })
            }
            Wake::Terminal(Event::Key(key)) => return self.key(key, client),
            Wake::Terminal(_) => {} // a resize: the redraw that follows is all it needs
            Wake::TerminalFailed(e) => return Some(Ending::Failed(e)),
        }
        None
    }

    fn receive(&mut self, line: &str) {
        let line = printable(line);
        self.last_line = Some(line.clone());
        let source = match &mut self.stage {
            Stage::Naming { welcome_due, asked } => {
                if *welcome_due {
                    *welcome_due = false;
                } else if let Some(name) = asked.take() {
                    // Anything but the greeting refuses the name: ask again.
                    if let Some(mut others) = greeting(&line, &name) {
                        others.sort_unstable();
                        others.dedup();
                        self.others = others;
                        self.stage = Stage::Chatting { me: name };
                    }
                }
                Source::Room
            }
            Stage::Chatting { me } => {
                if let Some(who) = notice(&line, " joined the room").filter(|who| *who != me.as_str()) {
                    if let Err(at) = self.others.binary_search_by(|n| n.as_str().cmp(who)) {
                        self.others.insert(at, who.to_owned());
                    }
                    Source::Notice
                } else if let Some(who) = notice(&line, " left the room") {
                    self.others.retain(|n| n != who);
                    Source::Notice
                } else if line.strip_prefix("Bye ").and_then(|rest| rest.strip_suffix('!')) == Some(me.as_str()) {
                    Source::Room
                } else {
                    Source::Member
                }
            }
        };
        self.show(source, line);
    }

    fn key(&mut self, key: KeyEvent, client: &Client) -> Option<Ending> {
        if key.kind != KeyEventKind::Press {
            return None; // releases and repeats, where the terminal reports them
        }
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Some(self.leave(client)),
            KeyCode::Char('c') if control => return Some(self.leave(client)),
            KeyCode::Enter => self.submit(client),
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::PageUp => self.scroll += self.page.max(1),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(self.page.max(1)),
            // Past the limit, typing is ignored rather than sent to be refused.
            KeyCode::Char(c)
                if !control
                    && !key.modifiers.contains(KeyModifiers::ALT)
                    && self.input.len() + c.len_utf8() <= MAX_INPUT =>
            {
                self.input.push(c);
            }
            _ => {}
        }
        None
    }

    /// Says goodbye the way the room expects, as the homework's client did
    /// when its window closed. The room also notices a plain close.
    fn leave(&mut self, client: &Client) -> Ending {
        if matches!(self.stage, Stage::Chatting { .. }) && !self.said_goodbye {
            let _ = client.send(QUIT);
        }
        Ending::Left
    }

    /// Enter: the input line goes to the room, as a name or as a message.
    fn submit(&mut self, client: &Client) {
        let shown = match &mut self.stage {
            // One name at a time: a second one sent before the answer would
            // reach the room as a message if the first is accepted.
            Stage::Naming { asked: Some(_), .. } => return,
            Stage::Naming { asked, .. } => {
                *asked = Some(self.input.trim().to_owned());
                Some(format!("> {}", self.input))
            }
            Stage::Chatting { me } => {
                if self.input.trim().is_empty() {
                    return;
                }
                if self.input.trim() == QUIT {
                    self.said_goodbye = true;
                    None
                } else {
                    // The room sends a message to everyone but its writer:
                    // show ours as the others see it.
                    Some(format!("{me}: {}", self.input))
                }
            }
        };
        if let Some(shown) = shown {
            self.show(Source::Mine, shown);
        }
        let line = std::mem::take(&mut self.input);
        if let Err(e) = client.send(&line) {
            self.show(Source::Local, format!("(not sent: {e})"));
        }
        self.scroll = 0; // back to the newest, where the answer will be
    }

    fn draw(&mut self, frame: &mut Frame<'_>) {
        let [top, bottom] = Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(frame.area());
        let members_width = MEMBERS_WIDTH.min(top.width / 4);
        let [chat, members] = Layout::horizontal([Constraint::Min(0), Constraint::Length(members_width)]).areas(top);
        self.draw_messages(frame, chat);
        self.draw_members(frame, members);
        self.draw_input(frame, bottom);
    }

    fn draw_messages(&mut self, frame: &mut Frame<'_>, area: Rect) {
        let mut block = titled(Block::bordered().title(format!(" Chat room {} ", self.server)));
        let inner = block.inner(area);
        let height = usize::from(inner.height);
        self.page = height;
        self.width = usize::from(inner.width);
        // Wrap from the newest message back, only as far as the screen (and
        // the scroll) reaches: the history can be long.
        let mut rows: Vec<Line<'_>> = Vec::new();
        for (source, text) in self.messages.iter().rev() {
            if rows.len() >= height + self.scroll {
                break;
            }
            let style = source.style();
            rows.extend(wrap(text, self.width).into_iter().rev().map(|row| Line::styled(row, style)));
        }
        // Scrolled back past the oldest message: stop at it.
        self.scroll = self.scroll.min(rows.len().saturating_sub(height));
        if self.scroll > 0 {
            block = block.title_bottom(Line::from(" PageDown: newer messages ").right_aligned());
        }
        let shown: Vec<Line<'_>> = rows.into_iter().skip(self.scroll).take(height).rev().collect();
        // Fewer rows than the pane: push them down, newest at the bottom.
        let top_gap = u16::try_from(height - shown.len()).unwrap_or(0);
        frame.render_widget(block, area);
        let text_area = Rect { y: inner.y + top_gap, height: inner.height - top_gap, ..inner };
        frame.render_widget(Paragraph::new(shown), text_area);
    }

    fn draw_members(&self, frame: &mut Frame<'_>, area: Rect) {
        let (title, items) = match &self.stage {
            Stage::Naming { .. } => (" Members ".to_owned(), Vec::new()),
            Stage::Chatting { me } => {
                let mut names: Vec<(&str, bool)> = self.others.iter().map(|n| (n.as_str(), false)).collect();
                let at = names.partition_point(|(n, _)| *n < me.as_str());
                names.insert(at, (me, true));
                let items: Vec<ListItem<'_>> = names
                    .into_iter()
                    .map(|(name, mine)| {
                        if mine {
                            ListItem::new(format!("{name} (you)")).style(Source::Mine.style())
                        } else {
                            ListItem::new(name)
                        }
                    })
                    .collect();
                (format!(" Members ({}) ", items.len()), items)
            }
        };
        frame.render_widget(List::new(items).block(titled(Block::bordered().title(title))), area);
    }

    fn draw_input(&self, frame: &mut Frame<'_>, area: Rect) {
        let title = match &self.stage {
            Stage::Naming { asked: Some(_), .. } => " Your name (asking the room...) ",
            Stage::Naming { .. } => " Your name ",
            Stage::Chatting { .. } => " Message ",
        };
        let help = Line::from(" Enter sends, PgUp/PgDn scroll, Esc quits ").right_aligned();
        let block = titled(Block::bordered().title(title).title_top(help));
        let inner = block.inner(area);
        // A line longer than the box shows its end, where the cursor is.
        let room = usize::from(inner.width.saturating_sub(1));
        let mut start = self.input.len();
        let mut used = 0;
        for (at, c) in self.input.char_indices().rev() {
            used += columns(c.encode_utf8(&mut [0; 4]));
            if used > room {
                break;
            }
            start = at;
        }
        let visible = &self.input[start..];
        let cursor_x = u16::try_from(columns(visible)).unwrap_or(u16::MAX);
        frame.render_widget(Paragraph::new(visible).block(block), area);
        frame.set_cursor_position(Position::new(inner.x.saturating_add(cursor_x), inner.y));
    }
}

/// Titles in bold, so that they stand out from the borders.
fn titled(block: Block<'_>) -> Block<'_> {
    block.title_style(Style::new().add_modifier(Modifier::BOLD))
}

/// The room's greeting to `name` ("Hello NAME! here: a, b. Type ---quit---
/// to leave.", or "... nobody else is here yet. ..."): the other members.
fn greeting(line: &str, name: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix("Hello ")?.strip_prefix(name)?.strip_prefix("! ")?;
    let listed = rest.rsplit_once(". Type ").map_or(rest, |(listed, _)| listed);
    Some(match listed.strip_prefix("here: ") {
        // A name containing ", " cannot be told apart from two names here.
        Some(names) => names.split(", ").map(str::to_owned).collect(),
        None => Vec::new(),
    })
}

/// "* NAME joined the room" with `suffix` " joined the room": NAME.
fn notice<'a>(line: &'a str, suffix: &str) -> Option<&'a str> {
    line.strip_prefix("* ")?.strip_suffix(suffix).filter(|who| !who.is_empty())
}

/// `text` without control characters (a server could send escape
/// sequences), so that what is measured is what is drawn.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\t' {
                ' '
            } else if c.is_control() {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// How many terminal columns `text` takes.
fn columns(text: &str) -> usize {
    Span::raw(text).width()
}

/// Splits `text` into rows at most `width` columns wide, between words
/// where it can, inside a word too long for a row.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for word in text.split_inclusive(' ') {
        if used > 0 && used + columns(word.trim_end_matches(' ')) > width {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        for c in word.chars() {
            let w = columns(c.encode_utf8(&mut [0; 4]));
            if used + w > width && used > 0 {
                rows.push(std::mem::take(&mut row));
                used = 0;
                if c == ' ' {
                    continue; // a space that ends a row is not carried to the next one
                }
            }
            row.push(c);
            used += w;
        }
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// Draws, sleeps until something happens, handles it, and again.
fn run(terminal: &mut DefaultTerminal, app: &mut App, client: &Client, wakes: &Receiver<Wake>) -> Ending {
    loop {
        if let Err(e) = terminal.draw(|frame| app.draw(frame)) {
            return Ending::Failed(e);
        }
        // Every sender lives as long as the client and the key reader,
        // which outlive this loop; a closed channel would mean both died.
        let Ok(first) = wakes.recv() else {
            return Ending::Failed(io::Error::other("the client and the terminal reader both stopped"));
        };
        // Take everything already waiting, so that a burst is drawn once.
        for wake in std::iter::once(first).chain(wakes.try_iter()) {
            if let Some(ending) = app.handle(wake, client) {
                return ending;
            }
        }
    }
}

fn main() -> ExitCode {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let (to_main, wakes) = mpsc::channel();
    // Connect before taking the terminal over: a refusal is a plain message.
    let client = match Client::builder().lines().callbacks(Forward(to_main.clone())).connect(addr.as_str()) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("chat_tui: could not join {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Raw mode and the alternate screen; ratatui also restores the terminal
    // if anything panics.
    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(e) => {
            ratatui::restore();
            eprintln!("chat_tui: this needs a terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop_reading = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop_reading);
        thread::spawn(move || read_terminal(&to_main, &stop))
    };

    let mut app = App::new(addr);
    let ending = run(&mut terminal, &mut app, &client, &wakes);

    // The reader stops before the terminal is given back, so that it takes
    // no keystroke meant for the shell.
    stop_reading.store(true, Ordering::SeqCst);
    let _ = reader.join();
    ratatui::restore();
    // Closes the connection once what was sent (a goodbye) is written.
    let _ = client.stop();

    match ending {
        Ending::Left => {
            println!("You left the chat room.");
            ExitCode::SUCCESS
        }
        Ending::Closed { reason, said_goodbye, last_line } => {
            if let Some(line) = last_line {
                println!("{line}");
            }
            println!("Disconnected: {reason}.");
            if said_goodbye {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ending::Failed(e) => {
            eprintln!("chat_tui: the terminal failed: {e}");
            ExitCode::FAILURE
        }
    }
}
