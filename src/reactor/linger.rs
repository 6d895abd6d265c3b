//! Lingering close: the last step of a graceful close.
//!
//! Closing a socket whose peer has sent bytes we never read makes the kernel
//! answer with a reset and discard what it had not yet sent, so a reply
//! flushed just before [`Ctx::close`](super::Ctx::close) could be lost (the
//! peer sees "connection reset" instead of the end of its reply). So a
//! gracefully closed connection, once its output is queued in the kernel,
//! shuts its sending side (the peer gets the data, then end of stream) and
//! lingers: it stays registered under a token of its own, its input is read
//! and discarded until the peer closes too, and it is dropped then, or at the
//! linger deadline, or once the peer has sent more than a read budget.
//!
//! The handler has already seen `on_close`: a lingering socket is no longer
//! a connection, only a descriptor being wound down.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use super::conn::{LINGER_BIT, LISTENER_BIT};
use super::core::Core;
use super::stream::Stream;
use super::timer::TimerKind;

/// Longest a closed connection waits for its peer to close too.
pub(crate) const LINGER_FOR: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct Lingering {
    stream: Stream,
    until: Instant,
    /// Bytes read and discarded so far.
    discarded: usize,
}

fn token(key: usize) -> Token {
    Token(LISTENER_BIT | LINGER_BIT | key)
}

/// Whether `token` names a lingering socket, and which.
pub(crate) fn lingering_key(token: Token) -> Option<usize> {
    let both = LISTENER_BIT | LINGER_BIT;
    (token.0 & both == both && token != super::conn::WAKER).then_some(token.0 & !both)
}

/// Shuts the sending side of `stream` and keeps it until the peer closes.
pub(crate) fn start(core: &mut Core, stream: Stream) {
    linger(core, stream, true);
}

/// Closes a socket refused at `max_connections`: writes the builder's
/// refusal message, if there is one, then closes it as gracefully as a
/// connection, so that input the peer sent first does not make the kernel
/// reset the message away. Without a message it is dropped, as it always
/// was: an immediate end of stream.
pub(crate) fn refuse(core: &mut Core, mut stream: Stream) {
    let Some(message) = &core.config.refusal_message else { return };
    // One non-blocking write, best effort: the message is short enough for
    // a fresh socket's send buffer, and whatever it does not take is lost
    // rather than buffered, so a refused socket costs no memory.
    let _ = stream.write(message);
    // Lingering holds a descriptor for up to the linger deadline; a flood
    // of refused clients must not hold more than the connections would.
    if core.lingering.len() >= core.config.max_connections {
        let _ = stream.shutdown(Shutdown::Write);
        return;
    }
    linger(core, stream, false);
}

/// [`start`], for a socket that is `registered` with the poller already
/// (a connection's) or not (a refused one).
fn linger(core: &mut Core, mut stream: Stream, registered: bool) {
    // The FIN follows the data still in the kernel's send buffer.
    if stream.shutdown(Shutdown::Write).is_err() {
        return; // already gone: dropping it loses nothing
    }
    let entry = core.lingering.vacant_entry();
    let key = entry.key();
    let interest = Interest::READABLE;
    let watched = if registered {
        core.registry.reregister(&mut stream, token(key), interest)
    } else {
        core.registry.register(&mut stream, token(key), interest)
    };
    if watched.is_err() {
        return;
    }
    let until = core.now + LINGER_FOR.min(core.config.shutdown_timeout);
    entry.insert(Lingering { stream, until, discarded: 0 });
    core.timers.insert(until, TimerKind::Linger(key));
    // Bytes may already wait, and their edge was taken by the connection.
    drain(core, key);
}

/// Reads and discards what the peer sent; drops the socket at end of
/// stream, on an error, or once the peer sent more than a read budget.
///
/// During a graceful stop the budget does not apply, only the deadline: a
/// client that pipelined megabytes of requests before the stop (the server
/// stopped reading them above its high watermark) is still reading the
/// replies to the ones before, and dropping the socket with its requests
/// unread would reset away the replies still in the kernel's send buffer.
pub(crate) fn drain(core: &mut Core, key: usize) {
    let budget = if core.stopping { usize::MAX } else { core.config.read_budget };
    let Some(l) = core.lingering.get_mut(key) else { return };
    // It reads to the end of stream: no short read is taken for it.
    l.stream.begin_read_turn(false);
    let mut buf = [0u8; 4096];
    let done = loop {
        match l.stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => {
                l.discarded += n;
                if l.discarded > budget {
                    break true;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break true,
        }
    };
    if done {
        core.lingering.remove(key);
    }
}

/// The linger deadline of `key` passed (if it is still the same socket).
pub(crate) fn expire(core: &mut Core, key: usize) {
    if core.lingering.get(key).is_some_and(|l| l.until <= core.now) {
        core.lingering.remove(key);
    }
}
