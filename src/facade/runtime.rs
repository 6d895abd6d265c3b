//! What the network threads of [`Server`](super::Server) and
//! [`Client`](super::Client) have in common: each runs its reactor with an
//! [`Engine`] (see `reactor/thread.rs`), takes the program's commands from
//! its [`Commands`](super::commands::Commands), and pushes what arrives to
//! an event [`Queue`](super::queue::Queue). A server over several reactors
//! (`ServerBuilder::threads`) has a thread, a [`Shared`] and an outbox per
//! reactor, and one event queue that they all push to; a
//! [`ConnId`](crate::ConnId) names its reactor, so that a command, a pause
//! or a hold goes to the thread that owns the connection
//! (`ServerShared::net_of`).

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use super::baton::Baton;
use super::commands::{Command, Commands};
use crate::codec::{Codec, Format};
use crate::error::Error;
use crate::handler::{ConnId, Handler};
use crate::reactor::{lock, Ctx, Life, Reactor};

/// What the handle of a server or a client shares with its network thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) commands: Arc<Commands>,
    /// For the program's `errors()`.
    pub(crate) errors: Mutex<Vec<Error>>,
    pub(crate) life: Arc<Life>,
    pub(crate) format: Format,
    /// The reactor's codec, which every message is checked against before
    /// it is queued.
    pub(crate) codec: Codec,
    /// A polling server's reactor, when the program's threads turn it too
    /// (see `baton.rs`).
    pub(crate) baton: OnceLock<Arc<Baton>>,
}

impl Shared {
    pub(crate) fn new(reactor: &Reactor, format: Format) -> Self {
        let commands = Arc::new(Commands::new(reactor.notifier()));
        let (errors, life, baton) = (Mutex::default(), Arc::default(), OnceLock::new());
        Shared { commands, errors, life, format, codec: reactor.codec(), baton }
    }

    /// `data` as the body of a message, once the format and the codec
    /// have checked it: refused here, at once, is whatever the network
    /// thread would refuse to send.
    #[inline]
    pub(crate) fn body<'a>(&self, data: &'a [u8]) -> Result<Cow<'a, [u8]>, Error> {
        self.format.body(self.codec, data)
    }

    /// Queues `data` as the body of `command` (checked as for
    /// [`body`](Self::body)).
    pub(crate) fn send(&self, data: &[u8], command: Command) -> Result<(), Error> {
        self.commands.send_body(&self.body(data)?, command)
    }

    /// Sends `data` to `conn` (checked as for [`body`](Self::body)): with
    /// a baton free, into the reactor at once (see [`Baton::send`]),
    /// otherwise as a command.
    #[inline]
    pub(crate) fn send_to(&self, conn: ConnId, data: &[u8]) -> Result<(), Error> {
        let body = self.body(data)?;
        if self.baton.get().is_some_and(|baton| baton.send(&self.commands, conn, &body)) {
            return Ok(());
        }
        self.commands.send_body(&body, Command::Send(conn))
    }

    /// Takes the errors kept so far.
    pub(crate) fn errors(&self) -> Vec<Error> {
        std::mem::take(&mut *lock(&self.errors))
    }

    /// Ends the network thread once the commands queued are carried out,
    /// and waits for it.
    pub(crate) fn stop(&self) -> Result<(), Error> {
        self.commands.close();
        self.wait()
    }

    /// Waits until the network thread has ended (see [`Life::wait`]).
    pub(crate) fn wait(&self) -> Result<(), Error> {
        self.hurry();
        self.life.wait()
    }

    /// The caller is about to wait for the network side (an answer, the
    /// end): with a baton, the network thread must drive now, since the
    /// program's threads may all be waiting (see `baton.rs`).
    pub(crate) fn hurry(&self) {
        if let Some(baton) = self.baton.get() {
            baton.kick();
        }
    }
}

/// The network side of a facade: a reactor handler that carries out the
/// program's commands (see
/// [`Commands::run`](super::commands::Commands::run)) and cleans up once the
/// reactor has returned.
pub(crate) trait Engine: Handler {
    /// Carries out a command only this kind of facade has.
    fn command(&mut self, ctx: &mut Ctx<'_>, command: Command);

    /// Keeps the error of a command or a callback for the program.
    fn report(&mut self, result: Result<(), Error>);

    /// The reactor returned (`outcome` is `None` after a requested stop):
    /// refuse further commands, report the ones left over, release waiters.
    fn finish(&mut self, outcome: Option<&Error>);
}
