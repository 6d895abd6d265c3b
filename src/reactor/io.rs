//! The data path: reading and cutting messages, writing queued output,
//! accepting, completing connects. These are the only functions that touch
//! sockets, and the only ones that call the handler.

use std::io::{self, Read};

use super::conn::State;
use super::core::{slot, Core, Lendable};
use super::stream::Stream;
use super::Ctx;
use crate::addr::Addr;
use crate::buffer::BufPool;
use crate::codec::{Assembler, Codec, DecodeError};
use crate::error::Error;
use crate::handler::{CloseReason, ConnId, HalfClose, Handler};

/// Why the read loop of one connection stopped.
enum ReadEnd {
    /// Nothing more to read now (would block, or a short read).
    Drained,
    /// The read budget ran out; read again next turn.
    Budget,
    /// The connection stopped reading (closed, closing, or backpressured).
    Stopped,
}

/// Why a connection whose read or write failed with `e` ended: a reset
/// for the ways a peer vanishes, the error's kind otherwise.
pub(crate) fn reason_for(e: &io::Error) -> CloseReason {
    #[cfg(feature = "tls")]
    if let Some(failure) = e.get_ref().and_then(|inner| inner.downcast_ref::<crate::reactor::tls::TlsFailure>()) {
        return CloseReason::Tls(failure.to_string());
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            CloseReason::Reset
        }
        kind => CloseReason::Io(kind),
    }
}

/// Reads what `id` has for us, within its budget, and hands every complete
/// message to the handler.
pub(crate) fn read_conn<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId) {
    let key = id.index();
    let Some(conn) = slot(&mut core.conns, core.home, id) else { return };
    if !conn.is_open() {
        return;
    }
    conn.set_read_this_turn(true);
    conn.stream.begin_read_turn(!conn.read_closed());
    // The assembler leaves the connection while the handler runs, so the
    // handler can be handed a message that borrows its buffer.
    let mut input = std::mem::take(&mut conn.input);
    let frames_before = core.stats.frames_in;
    // Messages that backpressure held back go before anything new is read.
    // If that stops the connection reading, the loop's first check sees it.
    // (A TLS session holds its own: the loop's first read hands them out.)
    deliver(core, handler, id, &mut input, &mut ReadBuffer);
    let mut budget = core.config.read_budget;
    let (high, codec, read_size) = (core.config.high_watermark, core.config.codec, core.config.read_buffer_size);
    let end = loop {
        let Some(conn) = slot(&mut core.conns, core.home, id).filter(|c| c.is_open()) else {
            break ReadEnd::Stopped;
        };
        if conn.read_paused {
            break ReadEnd::Stopped;
        }
        if conn.queued() > high {
            if !conn.backpressured {
                conn.backpressured = true;
                core.stats.backpressure_pauses += 1;
            }
            break ReadEnd::Stopped;
        }
        if budget == 0 {
            break ReadEnd::Budget;
        }
        core.stats.reads += 1;
        // An opened TLS session lends its plaintext: messages are cut from
        // it rather than copied out of it first. Until its handshake is
        // reported a TLS connection only reads on: the plaintext that came
        // with the handshake's end waits in the session for the next turn.
        let mut lent = conn.stream.lend_session();
        let from_session = lent.is_some();
        let handshaking = !from_session && conn.stream.awaiting_open();
        let mut asked = usize::MAX;
        let (read, chunk) = match lent.as_mut() {
            Some(session) => match conn.stream.fill_lent(session) {
                Ok(chunk) => (Ok(chunk.len()), chunk),
                Err(e) => (Err(e), &[][..]),
            },
            None if handshaking => (conn.stream.advance_handshake(), &[][..]),
            None => {
                let space = input.space(codec, read_size, &mut core.pools.read);
                asked = space.len();
                (conn.stream.read(space), &[][..])
            }
        };
        // A TLS handshake completes inside a read: the handler hears of the
        // connection before the bytes that same read brought.
        let just_opened = conn.stream.take_opened();
        let stop = match read {
            Ok(0) if conn.stream.awaiting_open() => {
                // Gone before its TLS handshake completed: the handler
                // never heard of it, so it is not asked to answer it.
                core.mark_closed(key, CloseReason::PeerClosed);
                Some(ReadEnd::Stopped)
            }
            Ok(0) => 'end: {
                if just_opened && !opened(core, handler, id) {
                    break 'end Some(ReadEnd::Stopped);
                }
                let Some(conn) = slot(&mut core.conns, core.home, id) else { break 'end Some(ReadEnd::Stopped) };
                conn.set_read_closed();
                let reason = if input.is_empty() {
                    CloseReason::PeerClosed
                } else {
                    CloseReason::PeerClosedMidFrame { buffered: input.buffered() }
                };
                // Replies to what the peer sent before closing are still
                // written: a half-close is not an abort. The handler says
                // whether more are coming.
                input.clear();
                half_closed(core, handler, id, reason);
                Some(ReadEnd::Stopped)
            }
            Ok(n) if handshaking => {
                // (Plaintext comes only once the handshake completed, which
                // this read reports; the budget bounds the loop regardless.)
                budget = budget.saturating_sub(n);
                (just_opened && !opened(core, handler, id)).then_some(ReadEnd::Stopped)
            }
            Ok(_) if from_session => {
                conn.last_active = core.now;
                let mut plaintext = Plaintext { chunk, taken: 0 };
                let reading = deliver(core, handler, id, &mut input, &mut plaintext);
                let taken = plaintext.taken;
                core.stats.bytes_in += taken as u64;
                budget = budget.saturating_sub(taken);
                if let Some(session) = lent.as_mut() {
                    session.consume(taken);
                }
                (!reading).then_some(ReadEnd::Stopped)
            }
            Ok(n) => 'read: {
                input.filled(n);
                core.stats.bytes_in += n as u64;
                conn.last_active = core.now;
                budget = budget.saturating_sub(n);
                let short = n < asked && !conn.read_closed() && conn.stream.short_read_drains();
                if just_opened && !opened(core, handler, id) {
                    break 'read Some(ReadEnd::Stopped);
                }
                if !deliver(core, handler, id, &mut input, &mut ReadBuffer) {
                    break 'read Some(ReadEnd::Stopped);
                }
                // A short read emptied the socket: anything arriving later
                // raises a new edge, so a read that would block is saved.
                // Unless messages are being held back (the output passed
                // the high watermark, or the handler paused reading): then
                // the top of the loop stops, and they are delivered first
                // once reading resumes.
                (short && !holds_back(core, id)).then_some(ReadEnd::Drained)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if just_opened {
                    opened(core, handler, id);
                }
                Some(ReadEnd::Drained)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                (just_opened && !opened(core, handler, id)).then_some(ReadEnd::Stopped)
            }
            Err(e) => {
                // A handshake that completed in this same read is the
                // handler's before the failure that ends it.
                if just_opened {
                    opened(core, handler, id);
                }
                core.mark_closed(key, reason_for(&e));
                Some(ReadEnd::Stopped)
            }
        };
        // The handler is done with the session's plaintext: it goes home
        // (and a close the handler asked for meanwhile is made there).
        if let Some(session) = lent {
            if let Some(conn) = slot(&mut core.conns, core.home, id) {
                conn.stream.give_back(session);
            }
        }
        if let Some(end) = stop {
            break end;
        }
    };
    let now = core.now;
    let completed_any = core.stats.frames_in != frames_before;
    match slot(&mut core.conns, core.home, id) {
        Some(conn) if !matches!(conn.state, State::Closed(_)) => {
            // The message deadline runs from the first byte of the message
            // now partial, not of one that has since completed.
            if completed_any {
                conn.frame_started = None;
            }
            let mut started = false;
            if input.is_empty() {
                conn.frame_started = None;
            } else if conn.frame_started.is_none() && !conn.backpressured && !conn.read_paused {
                // Whole messages held back by backpressure or a pause are
                // not a slow sender's: the clock starts once reading resumes.
                conn.frame_started = Some(now);
                started = true;
            }
            // An idle connection keeps no buffer, and one with a partial
            // message one that fits what arrived of it.
            match input.release() {
                Some(buf) => core.pools.read.give(buf),
                None => input.fit(core.config.codec, &mut core.pools.read),
            }
            conn.input = input;
            if matches!(end, ReadEnd::Budget) && !conn.in_ready() {
                conn.set_in_ready(true);
                core.ready.push(key);
            }
            if started {
                core.arm_conn_timer(key);
            }
        }
        _ => core.pools.discard(&mut input),
    }
    // Its replies leave now rather than at the end of the turn: the same one
    // write (it is read once a turn), while the bytes they were cut from or
    // copied out of are still in the cache. Replies sent to it later in the
    // turn, by another connection's callback, leave at the end of the turn.
    if core.conns.get(key).is_some_and(|c| c.dirty) {
        flush_conn(core, handler, key);
    }
}

/// The TLS handshake of `id` has just completed: the handler hears
/// `on_open`, and what was queued for the connection meanwhile (by the
/// handler, in that callback) leaves. Returns whether it still reads.
fn opened<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId) -> bool {
    // Idle from now on, not from its accept.
    if let Some(conn) = slot(&mut core.conns, core.home, id) {
        conn.last_active = core.now;
    }
    handler.on_open(&mut Ctx::new(core), id);
    let Some(conn) = slot(&mut core.conns, core.home, id) else { return false };
    if conn.queued() > 0 {
        conn.flush_soon(id.index(), &mut core.dirty);
    }
    conn.is_open()
}

/// The peer of `id` shut down its sending side: close once the queued
/// output is written, or hold the connection open for writing if the
/// handler asks (until it closes it, or the half-close timeout).
fn half_closed<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId, reason: CloseReason) {
    let choice = handler.on_half_close(&mut Ctx::new(core), id);
    let until = core.now + core.config.half_close_timeout;
    let key = id.index();
    // The handler may have closed or aborted it from the callback.
    let Some(conn) = slot(&mut core.conns, core.home, id).filter(|c| c.is_open()) else { return };
    match choice {
        HalfClose::Close => core.begin_closing(key, reason),
        HalfClose::Hold => {
            conn.state = State::HalfClosed { reason, until };
            core.arm_conn_timer(key);
        }
    }
}

/// Whether `id`'s messages are held back: its queued output is above the
/// high watermark (backpressure, until it drains), or the handler paused
/// its reading (until it resumes it).
fn holds_back(core: &Core, id: ConnId) -> bool {
    core.get(id).is_some_and(|c| c.holds_back(core.config.high_watermark))
}

/// What reading `id` does after handing the handler a message.
enum After {
    /// Go on with the next message.
    Continue,
    /// The output passed the high watermark, or the handler paused
    /// reading: hold the rest back.
    Hold,
    /// The connection no longer reads (the handler closed it, or it failed).
    Stop,
}

/// Both checks due after each message, with one lookup of the connection:
/// this runs once per message, the lookup is most of its cost.
#[inline]
fn after_message(core: &Core, id: ConnId) -> After {
    match core.get(id) {
        Some(c) if matches!(c.state, State::Open) => {
            if c.holds_back(core.config.high_watermark) {
                After::Hold
            } else {
                After::Continue
            }
        }
        _ => After::Stop,
    }
}

/// Hands the handler the whole messages `source` gives (from `input`, or
/// from a TLS session's plaintext), until it holds them back (the output
/// passed the high watermark, or the handler paused reading) or none is
/// left. Returns `false` once the connection stops reading.
fn deliver<H: Handler>(
    core: &mut Core,
    handler: &mut H,
    id: ConnId,
    input: &mut Assembler,
    source: &mut impl Source,
) -> bool {
    let outcome = hand_to_handler(core, handler, id, input, source);
    // Before anything can change the read buffer: the messages sent back
    // from it need it, or a copy.
    if let Some(to) = core.lent_to.take() {
        hand_over(core, to, input);
    }
    match outcome {
        Ok(reading) => reading,
        Err(e) => {
            // The stream can never decode: drop what was buffered of it,
            // and close once the replies to its earlier, valid messages
            // are written (accepted messages are not lost because a later
            // one was bad).
            input.clear();
            core.begin_closing(id.index(), e.into());
            false
        }
    }
}

/// What a [`Source`] gives: the next whole message, and where in the read
/// buffer it starts if it lies there (so it can be sent back from there).
type Cut<'a> = Result<Option<(&'a [u8], Option<usize>)>, DecodeError>;

/// Where [`deliver`] takes messages from. A type each, so that the plain
/// path's loop is compiled without the other's checks.
trait Source {
    /// Whether a message sent back from the read buffer ends the loop:
    /// the source would put more bytes into that buffer.
    const STOPS_ONCE_LENT: bool;

    /// The next whole message (see [`Cut`]).
    fn next<'a>(&'a mut self, input: &'a mut Assembler, codec: Codec, pool: &mut BufPool) -> Cut<'a>;
}

/// The bytes read into the connection's buffer.
struct ReadBuffer;

impl Source for ReadBuffer {
    const STOPS_ONCE_LENT: bool = false;

    #[inline]
    fn next<'a>(&'a mut self, input: &'a mut Assembler, codec: Codec, _: &mut BufPool) -> Cut<'a> {
        from_buffer(input, codec)
    }
}

/// The next whole message in `input`, and where it starts there.
#[inline]
fn from_buffer(input: &mut Assembler, codec: Codec) -> Cut<'_> {
    let start = input.offset();
    Ok(input.next(codec)?.map(|msg| (msg, Some(start))))
}

/// One record's plaintext, lent by a TLS session, and how much of it was
/// taken. A message begun in an earlier record is finished in the read
/// buffer, and can be sent back from there like any; one this record holds
/// whole is cut from it (rustls owns that buffer).
struct Plaintext<'c> {
    chunk: &'c [u8],
    taken: usize,
}

impl Source for Plaintext<'_> {
    const STOPS_ONCE_LENT: bool = true;

    // Once per message: a call's cost shows (measured).
    #[inline(always)]
    fn next<'a>(&'a mut self, input: &'a mut Assembler, codec: Codec, pool: &mut BufPool) -> Cut<'a> {
        input.complete_from(codec, self.chunk, &mut self.taken, pool)?;
        if !input.is_empty() {
            return from_buffer(input, codec);
        }
        Ok(input.next_from(codec, self.chunk, &mut self.taken, pool)?.map(|msg| (msg, None)))
    }
}

/// [`deliver`]'s loop: each message goes to `on_frame`; one from the read
/// buffer as one the handler may send back as it came ([`Lendable`]).
fn hand_to_handler<H: Handler, S: Source>(
    core: &mut Core,
    handler: &mut H,
    id: ConnId,
    input: &mut Assembler,
    source: &mut S,
) -> Result<bool, DecodeError> {
    let codec = core.config.codec;
    // Frames and raw bytes: the wire bytes of a message are what `next`
    // used, header and all, and sending it back encodes the same.
    let lends = matches!(codec, Codec::Frames { .. } | Codec::Raw { .. });
    loop {
        match after_message(core, id) {
            After::Continue => {}
            After::Hold => return Ok(true),
            After::Stop => return Ok(false),
        }
        let Some((msg, at)) = source.next(input, codec, &mut core.pools.read)? else { return Ok(true) };
        core.stats.frames_in += 1;
        if let Some(start) = at.filter(|_| lends && msg.len() >= LEND_EACH_FROM) {
            let end = start + msg.len() + codec.overhead();
            core.lendable = Some(Lendable { addr: msg.as_ptr() as usize, len: msg.len(), start, end });
        }
        handler.on_frame(&mut Ctx::new(core), id, msg);
        core.lendable = None;
        // It keeps that buffer as it is until `deliver` hands it over; the
        // record's next bytes wait in the session for the read loop's next
        // turn.
        if S::STOPS_ONCE_LENT && core.lent_to.is_some() {
            return Ok(true);
        }
    }
}

/// Fewest bytes sent back from their read buffer rather than copied: below
/// it, a copy costs less than handing the buffer over and the bytes not yet
/// delivered to a new one.
const LEND_FROM: usize = 4 * 1024;

/// Smallest message that may join the bytes sent back from their read
/// buffer: smaller ones are copied as they are sent, which costs less than
/// a lent place in the queue and a copy when the read's replies stay under
/// [`LEND_FROM`] (measured: 64 B echoes 6 % more CPU the other way).
const LEND_EACH_FROM: usize = 256;

/// Messages of this read were sent back to `to` as they came: the read
/// buffer goes along with them, or a copy of them when they are few or
/// when more bytes not yet delivered follow them than they are.
fn hand_over(core: &mut Core, to: usize, input: &mut Assembler) {
    let Some(conn) = core.conns.get_mut(to) else { return };
    let Some((start, end)) = conn.out.waiting_lent() else { return };
    let len = end - start;
    let buf = if len >= LEND_FROM { input.lend(start, len, &mut core.pools.read) } else { None };
    match buf {
        Some(buf) => conn.out.fill_lent(Ok(buf), &mut core.pools.write),
        None => conn.out.fill_lent(Err(input.handed_out(start, len).unwrap_or_default()), &mut core.pools.write),
    }
}

/// Writes what is queued for `key`. Whatever the kernel does not take waits
/// for the next WRITABLE edge.
pub(crate) fn flush_conn<H: Handler>(core: &mut Core, handler: &mut H, key: usize) {
    let Some(conn) = core.conns.get_mut(key) else { return };
    conn.dirty = false;
    if matches!(conn.state, State::Connecting | State::Closed(_)) {
        return;
    }
    let id = conn.id(key, core.home);
    // What a TLS session holds goes before anything new it is offered: a
    // write sends both at once (the session queues the new records behind
    // the old), so it is flushed alone only when there is nothing new.
    match if conn.out.is_empty() { conn.stream.flush_pending() } else { Ok(true) } {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => {
            core.mark_closed(key, reason_for(&e));
            return;
        }
    }
    // Once, unless the write took all it was offered and more waits (a
    // vectored write offers a bounded number of stretches): the socket is
    // not full then, so no WRITABLE edge would come for the rest.
    while !conn.out.is_empty() {
        core.stats.writes += 1;
        match conn.out.write_to(&mut conn.stream) {
            Ok((n, offered)) => {
                core.stats.bytes_out += n as u64;
                conn.last_active = core.now;
                conn.out.consume(n, &mut core.pools);
                if n == 0 || n < offered {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                conn.flush_soon(key, &mut core.dirty);
                return;
            }
            Err(e) => {
                core.mark_closed(key, reason_for(&e));
                return;
            }
        }
    }
    if conn.queued() == 0 {
        if let State::Closing(reason) = &conn.state {
            let reason = reason.clone();
            core.close_flushed(key, reason);
            return;
        }
    }
    if conn.backpressured && conn.queued() <= core.config.low_watermark {
        conn.backpressured = false;
        core.reading_may_resume(key);
        handler.on_drain(&mut Ctx::new(core), id);
    }
}

/// Accepts from listener `lkey`, up to one batch.
pub(crate) fn accept<H: Handler>(core: &mut Core, handler: &mut H, lkey: usize) {
    if !core.accepting() {
        return;
    }
    for _ in 0..core.config.accept_batch {
        // An `on_open` may have paused accepting (or stopped the reactor):
        // the connections still in the backlog must wait there.
        if !core.accepting() {
            return;
        }
        let Some(listener) = core.listeners.get(lkey) else { return };
        core.stats.accepts += 1;
        match listener.socket.accept() {
            Ok((stream, peer)) => {
                core.accept_backoff.reset();
                let stream = match stream.secured(&listener.tls, core.now) {
                    Ok(stream) => stream,
                    // Only a bad configuration fails here: nothing to serve.
                    Err(e) => {
                        crate::log::not_taken(&peer, &Error::Io(e));
                        continue;
                    }
                };
                if let Some(stream) = super::group::hand_on(core, stream) {
                    admit(core, handler, stream, peer);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // The peer gave up before we accepted, or a signal: next.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => {}
            // EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected: the
            // error would repeat at once, so wait on a timer instead.
            Err(e) => {
                let (at, first) = (listener.addr.clone(), core.accept_backoff.current().is_none());
                core.back_off_accepting();
                crate::log::accept_failed(&at, &e, core.accept_backoff.current().unwrap_or_default(), first);
                return;
            }
        }
    }
    // The batch ran out with connections perhaps still waiting: come back
    // next turn, after the other connections have had theirs.
    if !core.accept_more.contains(&lkey) {
        core.accept_more.push(lkey);
    }
}

/// Serves a socket just accepted (here, or by the reactor of the group that
/// accepts for all, which handed it on), or refuses it at the connection
/// limit.
fn admit<H: Handler>(core: &mut Core, handler: &mut H, stream: Stream, peer: Addr) {
    if core.conns.len() >= core.config.max_connections {
        // Closing at once tells the peer "no" (end of stream, after the
        // refusal message if one is set) instead of leaving it hanging in
        // the backlog.
        core.stats.rejected_over_limit += 1;
        let first = core.first_refusal_at_limit();
        crate::log::refused_over_limit(&peer, core.config.max_connections, core.stats.rejected_over_limit, first);
        super::linger::refuse(core, stream);
        return;
    }
    // A TLS connection is the handler's once its handshake completes.
    let awaiting_open = stream.awaiting_open();
    match core.insert(stream, Some(peer.clone()), State::Open) {
        Ok(id) => {
            core.stats.accepted += 1;
            if !awaiting_open {
                handler.on_open(&mut Ctx::new(core), id);
            }
        }
        Err(e) => {
            core.stats.rejected_over_limit += 1;
            crate::log::not_taken(&peer, &e);
        }
    }
}

/// Serves a socket another reactor of the group accepted.
pub(crate) fn admit_handed<H: Handler>(core: &mut Core, handler: &mut H, stream: Stream) {
    // A peer that left meanwhile has no address: nothing to serve.
    let Ok(peer) = stream.peer_addr() else { return };
    admit(core, handler, stream, peer);
}

/// An outgoing connection reported readiness: find out whether the connect
/// succeeded. Returns whether it is open now.
pub(crate) fn finish_connect<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId) -> bool {
    let Some(conn) = slot(&mut core.conns, core.home, id) else { return false };
    let failed = match conn.stream.take_error() {
        Ok(Some(e)) | Err(e) => Some(e.kind()),
        Ok(None) => match conn.stream.peer_addr() {
            Ok(addr) => {
                conn.peer = Some(addr);
                None
            }
            // Not connected yet: a spurious wake-up; wait for the next one.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return false,
            Err(e) => Some(e.kind()),
        },
    };
    if let Some(kind) = failed {
        core.mark_closed(id.index(), CloseReason::ConnectFailed(kind));
        return false;
    }
    conn.state = State::Open;
    conn.last_active = core.now;
    // A TLS client's ClientHello waits in its session: this flush sends it.
    if conn.queued() > 0 {
        conn.flush_soon(id.index(), &mut core.dirty);
    }
    core.stats.connected += 1;
    if conn.stream.awaiting_open() {
        // `on_open` once the handshake completes (see `opened`).
        return true;
    }
    handler.on_open(&mut Ctx::new(core), id);
    true
}
