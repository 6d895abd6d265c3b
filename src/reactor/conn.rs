//! One connection's state, and how connections map to poll tokens.

use std::time::Instant;

use mio::Token;

use super::stream::Stream;
use crate::addr::Addr;
use crate::buffer::WriteBuf;
use crate::codec::Assembler;
use crate::handler::{CloseReason, ConnId};

/// Tokens carry the slab index in their low half and the generation in the
/// high half (top bit excluded), so an event that arrives for a connection
/// that has gone, even if its slot was reused, is recognised and dropped.
const HALF: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << HALF) - 1;
/// Generations wrap within this mask; the top bit of a token is left for
/// listeners and the waker.
const GEN_MASK: u32 = ((1u64 << (HALF - 1)) - 1) as u32;
/// Listener tokens have the top bit set.
pub(crate) const LISTENER_BIT: usize = 1 << (usize::BITS - 1);
/// Lingering sockets (see `linger.rs`) have the top two bits set.
pub(crate) const LINGER_BIT: usize = 1 << (usize::BITS - 2);
/// The waker's token.
pub(crate) const WAKER: Token = Token(usize::MAX);
/// The signal pipe's token (feature `signals`). Like the waker's, it has
/// both top bits set, so the loop checks for it before lingering sockets.
#[cfg(feature = "signals")]
pub(crate) const SIGNALS: Token = Token(usize::MAX - 1);
/// Most connections a reactor can index.
pub(crate) const MAX_CONNECTIONS: usize = INDEX_MASK;

pub(crate) fn next_generation(g: u32) -> u32 {
    g.wrapping_add(1) & GEN_MASK
}

pub(crate) fn conn_token(id: ConnId) -> Token {
    Token((id.generation as usize) << HALF | id.index as usize)
}

/// The slab index and generation a token names, if it names a connection
/// (the rest of its id is the reactor's own).
pub(crate) fn token_conn(token: Token) -> Option<(usize, u32)> {
    if token.0 & LISTENER_BIT != 0 {
        return None;
    }
    Some((token.0 & INDEX_MASK, (token.0 >> HALF) as u32))
}

/// Where a connection is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// An outgoing connect that has not completed.
    Connecting,
    /// Reading and writing.
    Open,
    /// Reading stopped; the queued output is flushed, then it closes for
    /// this reason.
    Closing(CloseReason),
    /// The peer shut down its sending side and the handler holds the
    /// connection open to answer ([`HalfClose::Hold`](crate::HalfClose)):
    /// nothing is read, output is taken, and [`Ctx::close`](crate::Ctx::close)
    /// closes it for `reason` (the end of stream's), at the latest at
    /// `until` (the half-close timeout).
    HalfClosed { reason: CloseReason, until: Instant },
    /// Gone as far as the handler is concerned; `on_close` is due and the
    /// socket is dropped after it.
    Closed(CloseReason),
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) generation: u32,
    pub(crate) peer: Option<Addr>,
    pub(crate) state: State,
    /// What was read and not yet handed to the handler: a partial message,
    /// or whole ones held back. Without a buffer when empty.
    pub(crate) input: Assembler,
    pub(crate) out: WriteBuf,
    /// Yes/no facts about it, one bit each (see [`Marks`]).
    marks: Marks,
    /// Reading is paused because the output passed the high watermark.
    pub(crate) backpressured: bool,
    /// Reading is paused because the handler asked
    /// ([`Ctx::pause_reading`](crate::Ctx::pause_reading)).
    pub(crate) read_paused: bool,
    /// Already in the reactor's list of connections to flush.
    pub(crate) dirty: bool,
    /// Last time something was read or written (kept only with an idle
    /// timeout).
    pub(crate) last_active: Instant,
    /// When the first byte of the current partial message arrived.
    pub(crate) frame_started: Option<Instant>,
    /// The deadline of this connection's timer entry, if one is armed.
    pub(crate) timer_at: Option<Instant>,
}

/// A connection's rarely-used yes/no facts, packed in one byte: every byte
/// of an idle connection counts (`idle_memory` holds it to 256).
#[derive(Debug, Default, Clone, Copy)]
struct Marks(u8);

impl Marks {
    /// The peer closed its sending side (EOF read, or the poller said so):
    /// read until end of stream rather than stopping at a short read.
    const READ_CLOSED: u8 = 1;
    /// Already in the list of connections to read again next turn.
    const IN_READY: u8 = 2;
    /// Closed gracefully with the peer still sending: linger once the
    /// handler has seen `on_close` (see `linger.rs`).
    const LINGER: u8 = 4;
    /// Read during this loop turn, so that the list of connections to read
    /// again does not read it twice (meaningful only for the connections of
    /// that list, for which the loop clears it at the start of each turn:
    /// a turn counter here would cost 8 bytes a connection).
    const READ_THIS_TURN: u8 = 8;

    fn has(self, mark: u8) -> bool {
        self.0 & mark != 0
    }

    fn set(&mut self, mark: u8, on: bool) {
        if on {
            self.0 |= mark;
        } else {
            self.0 &= !mark;
        }
    }
}

impl Conn {
    pub(crate) fn new(stream: Stream, generation: u32, peer: Option<Addr>, state: State, now: Instant) -> Self {
        Conn {
            stream,
            generation,
            peer,
            state,
            input: Assembler::new(),
            out: WriteBuf::default(),
            marks: Marks::default(),
            backpressured: false,
            read_paused: false,
            dirty: false,
            last_active: now,
            frame_started: None,
            timer_at: None,
        }
    }

    /// See [`Marks::READ_CLOSED`].
    #[inline]
    pub(crate) fn read_closed(&self) -> bool {
        self.marks.has(Marks::READ_CLOSED)
    }

    pub(crate) fn set_read_closed(&mut self) {
        self.marks.set(Marks::READ_CLOSED, true);
    }

    /// See [`Marks::IN_READY`].
    #[inline]
    pub(crate) fn in_ready(&self) -> bool {
        self.marks.has(Marks::IN_READY)
    }

    #[inline]
    pub(crate) fn set_in_ready(&mut self, on: bool) {
        self.marks.set(Marks::IN_READY, on);
    }

    /// See [`Marks::READ_THIS_TURN`].
    #[inline]
    pub(crate) fn read_this_turn(&self) -> bool {
        self.marks.has(Marks::READ_THIS_TURN)
    }

    #[inline]
    pub(crate) fn set_read_this_turn(&mut self, on: bool) {
        self.marks.set(Marks::READ_THIS_TURN, on);
    }

    /// See [`Marks::LINGER`].
    pub(crate) fn linger(&self) -> bool {
        self.marks.has(Marks::LINGER)
    }

    pub(crate) fn set_linger(&mut self, on: bool) {
        self.marks.set(Marks::LINGER, on);
    }

    /// Puts it in `dirty`, the reactor's list of connections to flush at
    /// the end of the turn, unless it is there already; `key` is its slot.
    #[inline]
    pub(crate) fn flush_soon(&mut self, key: usize, dirty: &mut Vec<usize>) {
        if !self.dirty {
            self.dirty = true;
            dirty.push(key);
        }
    }

    /// Bytes waiting to be written: its queue, and what a TLS session
    /// holds (the write watermarks and the hard cap count both).
    #[inline]
    pub(crate) fn queued(&self) -> usize {
        self.out.len() + self.stream.buffered()
    }

    /// Open for reading and for new messages.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Open, or held open after the peer's half-close: a connection that
    /// `connections`, `connection_count` and `broadcast` count, since a
    /// handler that holds it still answers it.
    #[inline]
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosed { .. }) && !self.stream.awaiting_open()
    }

    /// Messages read from it are held back rather than handed to the
    /// handler: its output is over the high watermark, or the handler
    /// paused its reading.
    #[inline]
    pub(crate) fn holds_back(&self, high_watermark: usize) -> bool {
        self.read_paused || self.queued() > high_watermark
    }

    /// The id of this connection, in slot `key` of the reactor whose home is
    /// `home` (the slot and the home are not stored here: every byte of an
    /// idle connection counts).
    #[inline]
    pub(crate) fn id(&self, key: usize, home: u32) -> ConnId {
        ConnId { index: key as u32, generation: self.generation, home }
    }

    /// Still accepts messages to send (open, connecting, or held open after
    /// the peer's half-close).
    #[inline]
    pub(crate) fn accepts_output(&self) -> bool {
        matches!(self.state, State::Open | State::Connecting | State::HalfClosed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_never_look_like_listeners_or_the_waker() {
        for (index, generation) in [(0, 0), (5, 1), (INDEX_MASK as u32, GEN_MASK), (77, GEN_MASK)] {
            let id = ConnId { index, generation, home: 7 };
            let token = conn_token(id);
            assert_eq!(token_conn(token), Some((index as usize, generation)));
            assert_eq!(token.0 & LISTENER_BIT, 0);
            assert_ne!(token, WAKER);
        }
        assert_eq!(next_generation(GEN_MASK), 0);
    }
}
