//! The chat-room homework as a lines server anyone can join with `nc`.
//!
//! ```text
//! cargo run --example chat_room -- 127.0.0.1:7000 10
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
//! whole room, and the room's state needs no lock because only the
//! callbacks, one at a time, touch it.

use std::collections::HashMap;
use std::net::SocketAddr;

use frameloop::{CloseReason, ConnId, Error, Message, Server, ServerBuilder, ServerCtx, ServerHandler};

/// What a member types to leave.
pub const QUIT: &str = "---quit---";

/// Longest line accepted; a longer one disconnects its sender.
const MAX_LINE: usize = 4096;

/// The room: who is in it, and who is still choosing a name. How many may
/// come in is the server's `max_connections`: the room never sees the
/// others.
#[derive(Debug, Default)]
pub struct Room {
    /// Connected clients and their names (`None` while choosing one).
    people: HashMap<ConnId, Option<String>>,
}

impl Room {
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

impl ServerHandler for Room {
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, client: ConnId, _addr: SocketAddr) -> Result<(), Error> {
        self.people.insert(client, None);
        server.send(client, "Welcome to the chat room! What is your name?")
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        let line = msg.text();
        let Some(person) = self.people.get(&client) else {
            return Ok(()); // every client connected is in the room
        };
        let Some(name) = person.clone() else {
            return self.choose_name(server, client, &line);
        };
        if line.trim() == QUIT {
            server.send(client, format!("Bye {name}!"))?;
            return server.disconnect(client);
        }
        self.tell_members(server, client, &format!("{name}: {line}"));
        Ok(())
    }

    fn on_disconnect(
        &mut self,
        server: &mut ServerCtx<'_>,
        client: ConnId,
        _addr: SocketAddr,
        _reason: &CloseReason,
    ) -> Result<(), Error> {
        if let Some(Some(name)) = self.people.remove(&client) {
            self.tell_members(server, client, &format!("* {name} left the room"));
        }
        Ok(())
    }
}

/// Starts a chat room on `addr` for at most `max_members`.
///
/// # Errors
///
/// The address is in use or invalid, or the network thread cannot start.
pub fn start(addr: &str, max_members: usize) -> Result<Server, Error> {
    start_with(Server::bind(addr)?, max_members)
}

/// Starts a chat room for at most `max_members` on a bound server.
fn start_with(builder: ServerBuilder, max_members: usize) -> Result<Server, Error> {
    builder
        .lines()
        .max_frame_len(MAX_LINE)
        // Past the limit the server itself answers newcomers with this
        // line and closes, before the room hears of them.
        .max_connections(max_members)
        .refuse_with(format!("Sorry, the room is full ({max_members} members). Try again later."))
        .start(Room::default())
}

#[allow(dead_code)] // the tests use the room, not `main`
fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let max = match args.next().map(|m| m.parse::<usize>()) {
        None => 10,
        Some(Ok(m)) if m > 0 => m,
        Some(_) => {
            eprintln!("usage: chat_room [ADDR] [MAX_MEMBERS]   (MAX_MEMBERS is a number above 0)");
            std::process::exit(2);
        }
    };
    let builder = Server::bind(addr.as_str());
    // Ctrl-C and SIGTERM close the room gracefully: the lines already said
    // reach everyone, then `wait` returns.
    #[cfg(feature = "signals")]
    let builder = builder.map(ServerBuilder::stop_on_signals);
    match builder.and_then(|b| start_with(b, max)) {
        Ok(server) => {
            println!("chat room on {} for up to {max} members; join with: nc {}", server.local_addr(), shown(&server));
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

/// `IP PORT`, as `nc` wants it.
fn shown(server: &Server) -> String {
    let addr = server.local_addr();
    format!("{} {}", addr.ip(), addr.port())
}
