//! The chat-room homework as a lines server anyone can join with `nc`.
//!
//! ```text
//! cargo run --example chat_room -- 127.0.0.1:7000 10
//! cargo run --example chat_room -- 127.0.0.1:7000 --threads 2
//! nc 127.0.0.1 7000          # in as many terminals as you like
//! cargo run --example chat_client -- 127.0.0.1:7000
//! ```
//!
//! The first line a member sends is their name (a name already taken is
//! refused and asked again); every other line reaches every other member as
//! `name: text`; `---quit---` leaves. Members are told who joins and who
//! leaves; past the limit, newcomers are told the room is full.
//!
//! The homework ran a thread per client; here one network thread serves the
//! whole room (or `--threads N` of them, each serving its share of the
//! members).
//!
//! The room's state sits behind a mutex, shared by the threads' handlers.
//! With one thread the lock is never contended (the callbacks run one at a
//! time, so a plain `Room` would do); with several, the callbacks of
//! different threads run at once, and the lock is what keeps names unique
//! and every member in the list that each line is sent to. One code path
//! for both: an uncontended lock costs next to nothing. A callback holds it
//! only while it looks and queues its lines, and never waits for anything
//! else while holding it, so the threads never wait on each other for
//! long. Sending to a member served by another thread works as to one of
//! this thread: the server passes the line on (so two lines said at the
//! same moment by members of different threads may reach a third in
//! either order, as in any chat; one member's lines keep their order).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use frameloop::{CloseReason, ConnId, Error, Message, Server, ServerBuilder, ServerCtx, ServerHandler};

/// What a member types to leave.
pub const QUIT: &str = "---quit---";

/// Longest line accepted; a longer one disconnects its sender.
const MAX_LINE: usize = 4096;

/// The room: who is in it, and who is still choosing a name, on every
/// thread.
#[derive(Debug)]
pub struct Room {
    /// Connected clients and their names (`None` while choosing one).
    people: HashMap<ConnId, Option<String>>,
    /// How many may be in. With one thread the server's
    /// `max_connections` refuses the others before the room hears of them;
    /// with several, that limit is each thread's, and the room itself
    /// refuses whoever comes past it.
    max: usize,
}

/// What a newcomer past the limit is told, before being disconnected.
fn room_full(max: usize) -> String {
    format!("Sorry, the room is full ({max} members). Try again later.")
}

impl Room {
    /// An empty room for at most `max`.
    pub fn new(max: usize) -> Self {
        Room { people: HashMap::new(), max }
    }

    fn name_taken(&self, name: &str) -> bool {
        self.people.values().any(|n| n.as_deref() == Some(name))
    }

    /// The names in the room, sorted.
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.people.values().filter_map(|n| n.as_deref()).collect();
        names.sort_unstable();
        names
    }

    /// Sends `line` to every member who has a name, except `except`.
    fn tell_members(&self, server: &mut ServerCtx<'_>, except: ConnId, line: &str) {
        for (&id, name) in &self.people {
            if id != except && name.is_some() {
                // A member who left meanwhile is simply skipped.
                let _ = server.send(id, line);
            }
        }
    }

    fn choose_name(&mut self, server: &mut ServerCtx<'_>, client: ConnId, line: &str) -> Result<(), Error> {
        let name = line.trim();
        if name.is_empty() || name == QUIT {
            return server.send(client, "A name cannot be empty. What is your name?");
        }
        if self.name_taken(name) {
            return server.send(client, format!("The name {name} is taken, choose another one:"));
        }
        let others = self.names().join(", ");
        self.people.insert(client, Some(name.to_owned()));
        let here = if others.is_empty() { "nobody else is here yet".to_owned() } else { format!("here: {others}") };
        server.send(client, format!("Hello {name}! {here}. Type {QUIT} to leave."))?;
        self.tell_members(server, client, &format!("* {name} joined the room"));
        Ok(())
    }
}

/// The callbacks, on whichever thread, with the room locked.
impl Room {
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId) -> Result<(), Error> {
        if self.people.len() >= self.max {
            server.send(client, room_full(self.max))?;
            return server.disconnect(client);
        }
        self.people.insert(client, None);
        server.send(client, "Welcome to the chat room! What is your name?")
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, line: &str) -> Result<(), Error> {
        let Some(person) = self.people.get(&client) else {
            return Ok(()); // refused: past the limit
        };
        let Some(name) = person.clone() else {
            return self.choose_name(server, client, line);
        };
        if line.trim() == QUIT {
            server.send(client, format!("Bye {name}!"))?;
            return server.disconnect(client);
        }
        self.tell_members(server, client, &format!("{name}: {line}"));
        Ok(())
    }

    fn on_disconnect(&mut self, server: &mut ServerCtx<'_>, client: ConnId) {
        if let Some(Some(name)) = self.people.remove(&client) {
            self.tell_members(server, client, &format!("* {name} left the room"));
        }
    }
}

/// One thread's handler: the room all the threads share.
#[derive(Debug, Clone)]
pub struct Members(Arc<Mutex<Room>>);

impl Members {
    /// The room, locked for this callback. A callback that panicked while
    /// holding it left the room as it was between two statements: go on.
    fn room(&self) -> std::sync::MutexGuard<'_, Room> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ServerHandler for Members {
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _addr: frameloop::Addr) -> Result<(), Error> {
        self.room().on_connect(server, client)
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        self.room().on_receive(server, client, &msg.text())
    }

    fn on_disconnect(
        &mut self,
        server: &mut ServerCtx<'_>,
        client: ConnId,
        _addr: frameloop::Addr,
        _reason: &CloseReason,
    ) -> Result<(), Error> {
        self.room().on_disconnect(server, client);
        Ok(())
    }
}

/// Starts a chat room on `addr` for at most `max_members`, on one thread.
///
/// # Errors
///
/// The address is in use or invalid, or the network thread cannot start.
#[allow(dead_code)] // the peer tests start the room this way; `main` does not
pub fn start(addr: &str, max_members: usize) -> Result<Server, Error> {
    start_with(Server::bind(addr)?, max_members)
}

/// Starts a chat room for at most `max_members` on a bound server, on as
/// many threads as `builder` says.
///
/// # Errors
///
/// As [`start`].
pub fn start_with(builder: ServerBuilder, max_members: usize) -> Result<Server, Error> {
    let room = Members(Arc::new(Mutex::new(Room::new(max_members))));
    builder
        .lines()
        .max_frame_len(MAX_LINE)
        // Past the limit the server itself answers newcomers with this
        // line and closes, before the room hears of them (on each thread,
        // with several: the room counts for all of them).
        .max_connections(max_members)
        .refuse_with(room_full(max_members))
        .start_with(|_thread| room.clone())
}

/// The usage line, for a command line the room does not understand.
const USAGE: &str = "usage: chat_room [ADDR] [MAX_MEMBERS] [--threads N]   (MAX_MEMBERS and N are numbers above 0)";

/// `[ADDR] [MAX_MEMBERS] [--threads N]`: the address, the most members and
/// the threads; `None` for anything else.
fn parse_args(mut args: impl Iterator<Item = String>) -> Option<(String, usize, usize)> {
    let positive = |arg: Option<String>| arg?.parse::<usize>().ok().filter(|&n| n > 0);
    let (mut positional, mut threads) = (Vec::new(), 1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = positive(args.next())?,
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let addr = positional.next().unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let max = match positional.next() {
        None => 10,
        max => positive(max)?,
    };
    positional.next().is_none().then_some((addr, max, threads))
}

#[allow(dead_code)] // the tests use the room, not `main`
fn main() {
    let Some((addr, max, threads)) = parse_args(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let builder = Server::bind(addr.as_str()).map(|b| b.threads(threads));
    // Ctrl-C and SIGTERM close the room gracefully: the lines already said
    // reach everyone, then `wait` returns.
    #[cfg(feature = "signals")]
    let builder = builder.map(ServerBuilder::stop_on_signals);
    match builder.and_then(|b| start_with(b, max)) {
        Ok(server) => {
            let on = if threads == 1 { String::new() } else { format!(" on {threads} threads") };
            println!(
                "chat room on {}{on} for up to {max} members; join with: nc {}",
                server.local_addr(),
                shown(&server)
            );
            println!("Ctrl-C or SIGTERM stops it");
            if let Err(e) = server.wait() {
                eprintln!("the room stopped: {e}");
            }
        }
        Err(e) => {
            eprintln!("could not open the room: {e}");
            std::process::exit(1);
        }
    }
}

/// `IP PORT`, as `nc` wants it (`-U PATH` for a Unix socket).
fn shown(server: &Server) -> String {
    match server.local_addr() {
        frameloop::Addr::Tcp(addr) => format!("{} {}", addr.ip(), addr.port()),
        frameloop::Addr::Unix(path) => format!("-U {}", path.display()),
    }
}
