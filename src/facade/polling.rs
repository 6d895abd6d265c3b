//! [`PollingServer`]: a server without callbacks whose events wait in a
//! queue until the caller takes them (simplesockets' style, without its
//! busy loop: waiting sleeps until an event arrives).

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::events::{Event, Events};
use super::queue::{Inbox, Queue};
use super::queued::Queued;
use super::{ConnId, Message, Server, ServerBuilder, ServerCtx, ServerHandler};
use crate::error::Error;
use crate::reactor::deadline_after;

/// The handler of a polling server: never called, since its engine queues
/// the events itself (see `ServerEngine`).
struct Poller;

impl ServerHandler for Poller {
    fn on_receive(&mut self, _server: &mut ServerCtx<'_>, _client: ConnId, _msg: Message<'_>) -> Result<(), Error> {
        Ok(())
    }
}

impl ServerBuilder {
    /// Starts serving on a new network thread without callbacks: events
    /// queue up until taken with [`PollingServer::events`],
    /// [`wait_event`](PollingServer::wait_event),
    /// [`try_event`](PollingServer::try_event) or
    /// [`drain_events`](PollingServer::drain_events).
    ///
    /// ```
    /// use std::time::Duration;
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// match server.wait_event(Duration::from_secs(5)) {
    ///     Some(Event::Connected { addr, .. }) => println!("a client from {addr}"),
    ///     other => panic!("expected a connection, got {other:?}"),
    /// }
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_polling(self) -> Result<PollingServer, Error> {
        let events: Arc<Queue<Queued>> = Arc::new(Queue::new((), self.settings.queue_limit()));
        let server = self.launch(std::iter::repeat_with(|| Poller), Some(Arc::clone(&events)))?;
        Ok(PollingServer { server, events })
    }
}

/// A running server whose events wait in a queue. It is a [`Server`] too
/// (`send`, `broadcast`, `clients`, `stop`... through `Deref`).
///
/// simplesockets' echo server, which answers and disconnects:
///
/// ```
/// use frameloop::{Client, Event, Server};
///
/// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
/// # let client = Client::connect(server.local_addr())?;
/// # client.send("hi")?;
/// for event in server.events() {
///     if let Event::Received { client, data, .. } = event {
///         server.send(client, &data)?;
///         server.disconnect(client)?;
/// #       break;
///     }
/// }
/// # assert_eq!(client.recv()?, b"hi");
/// # Ok::<(), frameloop::Error>(())
/// ```
///
/// Events are kept until taken, but not without bound: once they weigh
/// more than [`max_queued_bytes`](ServerBuilder::max_queued_bytes) (16 MiB
/// by default), the server stops reading the client whose message went over
/// until the queue is taken down to half. Nothing is dropped: TCP makes
/// that client wait.
///
/// A thread that waits for events (in [`events`](Self::events) or
/// [`wait_event`](Self::wait_event)) runs the network loop itself while it
/// waits, if no other thread does: the replies it sent leave then, and the
/// messages that turn reads are its next events, with no other thread to
/// wake. While no thread of the program waits (it works on something
/// else, polls with [`try_event`](Self::try_event), or waits in
/// [`clients`](Server::clients) or [`stop`](Server::stop)), the server's
/// network thread runs the loop, within about a millisecond, so a reply
/// sent from any thread leaves within two at most. A server on several
/// threads ([`threads`](ServerBuilder::threads)) always runs its loops on
/// its own threads.
#[derive(Debug)]
pub struct PollingServer {
    server: Server,
    events: Arc<Queue<Queued>>,
}

impl PollingServer {
    /// A blocking iterator over the events: each `next` waits for one. It
    /// ends once the server has stopped and every event was taken.
    ///
    /// ```
    /// use frameloop::{Client, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// client.send("hi")?;
    /// server.stop()?; // here at once, so that the loop below ends
    /// for event in server.events() { // takes what is left, then ends
    ///     println!("{event:?}");
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn events(&self) -> Events<'_> {
        Events::new(&*self.events)
    }

    /// Waits for the next event; `None` once the server has stopped and
    /// every event was taken.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use frameloop::{Client, Event, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0")?.start_polling()?;
    /// let client = Client::connect(server.local_addr())?;
    /// # let start = Instant::now();
    /// # while server.client_count() == 0 {
    /// #     assert!(start.elapsed() < Duration::from_secs(5), "not accepted");
    /// #     std::thread::sleep(Duration::from_millis(1));
    /// # }
    /// server.stop()?; // here at once, so that the loop below ends
    /// assert!(matches!(server.next_event(), Some(Event::Connected { .. })));
    /// while let Some(event) = server.next_event() {
    ///     println!("{event:?}");
    /// }
    /// # drop(client);
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn next_event(&self) -> Option<Event> {
        self.events.next_event(None)
    }

    /// Waits at most `timeout` for the next event.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// // Nobody connects: the wait ends empty-handed, without spinning.
    /// assert!(server.wait_event(Duration::from_millis(10)).is_none());
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn wait_event(&self, timeout: Duration) -> Option<Event> {
        self.events.next_event(Some(deadline_after(timeout)))
    }

    /// The next event if one is waiting; never blocks.
    ///
    /// ```
    /// let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// // Once per frame of a game loop: take what came, never wait.
    /// while let Some(event) = server.try_event() {
    ///     println!("{event:?}");
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn try_event(&self) -> Option<Event> {
        self.events.next_event(Some(Instant::now()))
    }

    /// Takes every waiting event at once; never blocks (simplesockets'
    /// `return_recved_data`).
    ///
    /// ```
    /// use frameloop::Event;
    ///
    /// let server = frameloop::Server::bind("127.0.0.1:0")?.start_polling()?;
    /// for event in server.drain_events() {
    ///     if let Event::Received { client, data, .. } = event {
    ///         server.send(client, &data)?;
    ///     }
    /// }
    /// # Ok::<(), frameloop::Error>(())
    /// ```
    pub fn drain_events(&self) -> Vec<Event> {
        self.events.drain()
    }
}

impl Deref for PollingServer {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}
