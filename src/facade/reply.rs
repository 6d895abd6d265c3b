//! Request / reply servers (tcp-client-serv's `Server`, `IterativeServer`
//! and `MultithreadedServer`): a closure turns each request into its reply.

use crate::addr::Addr;

use super::{ConnId, Message, Server, ServerBuilder, ServerCtx, ServerHandler};
use crate::error::Error;
use crate::handler::CloseReason;

/// How a request / reply server takes its clients.
///
/// ```
/// use std::time::Duration;
/// use frameloop::{request_timeout, ReplyMode, Server};
///
/// // One client at a time, one reply per connection.
/// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::OneAtATime, |req: &[u8]| req.len().to_string())?;
/// let wait = Duration::from_secs(5);
/// assert_eq!(request_timeout(server.local_addr(), "four", wait)?, b"4");
/// assert_eq!(request_timeout(server.local_addr(), "three", wait)?, b"5");
/// # Ok::<(), frameloop::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Answer one request, then stop (tcp-client-serv's `Server`).
    Once,
    /// One client at a time: the others wait in the system's backlog until
    /// the current one has its reply; each connection gets one reply and is
    /// then closed (`IterativeServer`).
    OneAtATime,
    /// Every client at once, each answered as its requests arrive; a
    /// connection may send any number of requests
    /// (`MultithreadedServer`, without a thread per client).
    Concurrent,
}

/// Calls the closure for each request and sends its reply.
struct Replier<F> {
    reply: F,
    mode: ReplyMode,
    answered: bool,
}

impl<F, R> ServerHandler for Replier<F>
where
    F: FnMut(&[u8]) -> R,
    R: AsRef<[u8]>,
{
    fn on_connect(&mut self, server: &mut ServerCtx<'_>, _client: ConnId, _addr: Addr) -> Result<(), Error> {
        if self.mode != ReplyMode::Concurrent {
            server.pause_accepting();
        }
        Ok(())
    }

    fn on_receive(&mut self, server: &mut ServerCtx<'_>, client: ConnId, msg: Message<'_>) -> Result<(), Error> {
        if self.answered {
            return Ok(());
        }
        let reply = (self.reply)(msg.bytes());
        let sent = server.send(client, reply);
        match self.mode {
            ReplyMode::Once => {
                self.answered = true;
                let _ = server.disconnect(client);
                server.stop();
            }
            ReplyMode::OneAtATime => {
                let _ = server.disconnect(client);
            }
            ReplyMode::Concurrent => {}
        }
        sent
    }

    fn on_disconnect(
        &mut self,
        server: &mut ServerCtx<'_>,
        _client: ConnId,
        _addr: Addr,
        _reason: &CloseReason,
    ) -> Result<(), Error> {
        // The next waiting client's turn (for `Once`, a client that left
        // without asking does not count).
        if self.mode != ReplyMode::Concurrent && !self.answered {
            server.resume_accepting();
        }
        Ok(())
    }
}

impl ServerBuilder {
    /// Starts a request / reply server: `reply` turns each request into
    /// the bytes sent back. It runs on the network thread: while it runs,
    /// no other client is served. Use [`Server::wait`] to serve until the
    /// server stops (for [`ReplyMode::Once`], after its one reply).
    ///
    /// ```
    /// use frameloop::{ReplyMode, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.reply(ReplyMode::Once, |request: &[u8]| {
    ///     format!("Hello Client! You sent {} bytes", request.len())
    /// })?;
    /// let reply = frameloop::request(server.local_addr(), "Hello Server!")?;
    /// assert_eq!(reply, b"Hello Client! You sent 13 bytes");
    /// server.wait()?; // returns: the one request was answered
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start); [`Error::Config`] with
    /// [`threads`](Self::threads) above 1: one closure answers, on one
    /// thread.
    pub fn reply<F, R>(self, mode: ReplyMode, reply: F) -> Result<Server, Error>
    where
        F: FnMut(&[u8]) -> R + Send + 'static,
        R: AsRef<[u8]>,
    {
        if self.thread_count() > 1 {
            return Err(Error::Config("a request / reply server runs on one thread: leave threads at 1".into()));
        }
        self.start(Replier { reply, mode, answered: false })
    }
}
