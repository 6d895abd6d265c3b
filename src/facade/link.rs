//! A client's link to its server: one state, changed only by the network
//! thread, and the [`Status`] it publishes for the program's threads.

use crate::addr::Addr;
use std::time::Duration;

use super::queue::Ends;
use super::Reconnect;
use crate::handler::{CloseReason, ConnId, TimerId};
use crate::reactor::Backoff;

/// Where the link is. The network thread owns it; the program's threads
/// ask for changes with commands and read the [`Status`] published after
/// each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// Connected on `conn`.
    Up { conn: ConnId },
    /// The program disconnected: `conn` flushes what was sent, then closes.
    Closing { conn: ConnId },
    /// Lost; automatic reconnection waits for `timer` before the next attempt.
    Backoff { timer: TimerId },
    /// An automatic reconnection attempt on `conn`, given up at `timer`.
    Connecting { conn: ConnId, timer: TimerId },
    /// No connection and none coming: lost without automatic
    /// reconnection, given up, or closed by the program.
    Down,
}

impl Link {
    /// The connection whose messages are the program's: the one up, or the
    /// one the program is closing (what it still receives is delivered).
    pub(crate) fn conn(self) -> Option<ConnId> {
        match self {
            Link::Up { conn } | Link::Closing { conn } => Some(conn),
            _ => None,
        }
    }
}

/// What the program's threads see of the link, kept under the event
/// queue's lock so that a waiting `recv` sees each change with the events
/// that tell of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    /// The connection messages are sent on, while up.
    pub(crate) conn: Option<ConnId>,
    /// Down, and automatic reconnection is trying.
    pub(crate) reconnecting: bool,
    /// Why the last connection ended.
    pub(crate) reason: Option<CloseReason>,
    /// The last of the program's connects and disconnects carried out.
    pub(crate) epoch: u64,
    pub(crate) server: Option<Addr>,
    /// The messages go to callbacks: nothing comes through the queue.
    pub(crate) callbacks: bool,
}

impl Ends for Status {
    fn ended(&self) -> bool {
        self.callbacks || (self.conn.is_none() && !self.reconnecting)
    }
}

impl Status {
    /// The reason to give for being down.
    pub(crate) fn down_reason(&self) -> CloseReason {
        self.reason.clone().unwrap_or(CloseReason::ClosedLocally)
    }
}

/// Automatic reconnection: the policy, the attempts made since the last
/// connection, and the reactor's back-off rule for the waits between them.
#[derive(Debug)]
pub(crate) struct Retry {
    pub(crate) policy: Reconnect,
    pub(crate) attempts: u32,
    backoff: Backoff,
}

impl Retry {
    pub(crate) fn new(policy: Reconnect) -> Self {
        Retry { policy, attempts: 0, backoff: Backoff::new(policy.first_delay, policy.max_delay) }
    }

    /// Connected: the next loss starts over.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
        self.backoff.reset();
    }

    /// The wait before the next attempt, or `None` once the policy's
    /// attempts are used up.
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        if self.policy.max_attempts.is_some_and(|max| self.attempts >= max) {
            return None;
        }
        Some(self.backoff.next())
    }
}
