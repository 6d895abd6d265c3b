//! The data path: reading and cutting messages, writing queued output,
//! accepting, completing connects. These are the only functions that touch
//! sockets, and the only ones that call the handler.

use std::io::{self, Read, Write};

use super::conn::State;
use super::core::{slot, Core};
use super::Ctx;
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
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            CloseReason::Reset
        }
        kind => CloseReason::Io(kind),
    }
}

/// Reads what `id` has for us, within its budget, and hands every complete
/// message to the handler.
pub(crate) fn read_conn<H: Handler>(core: &mut Core, scratch: &mut [u8], handler: &mut H, id: ConnId) {
    let key = id.index();
    let Some(conn) = slot(&mut core.conns, id) else { return };
    if !conn.is_open() {
        return;
    }
    conn.read_turn = core.turn;
    // The carry-over buffer leaves the connection while the handler runs,
    // so the handler can be handed a message that borrows it.
    let mut carry = std::mem::take(&mut conn.carry);
    let frames_before = core.stats.frames_in;
    // Messages that backpressure held back go before anything new is read.
    deliver_held(core, handler, id, &mut carry);
    let mut budget = core.config.read_budget;
    let high = core.config.high_watermark;
    let end = loop {
        let Some(conn) = slot(&mut core.conns, id).filter(|c| c.is_open()) else {
            break ReadEnd::Stopped;
        };
        if conn.read_paused {
            break ReadEnd::Stopped;
        }
        if conn.out.len() > high {
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
        match conn.stream.read(scratch) {
            Ok(0) => {
                conn.read_closed = true;
                let reason = if carry.is_empty() {
                    CloseReason::PeerClosed
                } else {
                    CloseReason::PeerClosedMidFrame { buffered: carry.len() }
                };
                // Replies to what the peer sent before closing are still
                // written: a half-close is not an abort. The handler says
                // whether more are coming.
                carry.clear();
                half_closed(core, handler, id, reason);
                break ReadEnd::Stopped;
            }
            Ok(n) => {
                core.stats.bytes_in += n as u64;
                conn.last_active = core.now;
                budget = budget.saturating_sub(n);
                let short = n < scratch.len() && !conn.read_closed;
                let Some(data) = scratch.get(..n) else { break ReadEnd::Stopped };
                if !cut_messages(core, handler, id, data, &mut carry) {
                    break ReadEnd::Stopped;
                }
                // A short read emptied the socket: anything arriving later
                // raises a new edge, so a read that would block is saved.
                // Unless messages are being held back (the output passed
                // the high watermark, or the handler paused reading): then
                // the top of the loop stops, and they are delivered first
                // once reading resumes.
                if short && !holds_back(core, id) {
                    break ReadEnd::Drained;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break ReadEnd::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                core.mark_closed(key, reason_for(&e));
                break ReadEnd::Stopped;
            }
        }
    };
    let now = core.now;
    let completed_any = core.stats.frames_in != frames_before;
    match slot(&mut core.conns, id) {
        Some(conn) if !matches!(conn.state, State::Closed(_)) => {
            // The message deadline runs from the first byte of the message
            // now partial, not of one that has since completed.
            if completed_any {
                conn.frame_started = None;
            }
            let mut started = false;
            if carry.is_empty() {
                core.pool.give(carry);
                conn.frame_started = None;
            } else {
                conn.carry = carry;
                // Whole messages held back by backpressure or a pause are
                // not a slow sender's: the clock starts once reading resumes.
                if conn.frame_started.is_none() && !conn.backpressured && !conn.read_paused {
                    conn.frame_started = Some(now);
                    started = true;
                }
            }
            if matches!(end, ReadEnd::Budget) && !conn.in_ready {
                conn.in_ready = true;
                core.ready.push(key);
            }
            if started {
                core.arm_conn_timer(key);
            }
        }
        _ => core.pool.give(carry),
    }
}

/// The peer of `id` shut down its sending side: close once the queued
/// output is written, or hold the connection open for writing if the
/// handler asks (until it closes it, or the half-close timeout).
fn half_closed<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId, reason: CloseReason) {
    let choice = handler.on_half_close(&mut Ctx::new(core), id);
    let until = core.now + core.config.half_close_timeout;
    let key = id.index();
    // The handler may have closed or aborted it from the callback.
    let Some(conn) = slot(&mut core.conns, id).filter(|c| c.is_open()) else { return };
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

/// Hands the handler the whole messages at the front of `carry`: the ones
/// held back in the middle of a read (the output passed the high watermark,
/// or the handler paused reading). Stops again if that happens again; what
/// remains stays in `carry`.
fn deliver_held<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId, carry: &mut Vec<u8>) {
    if carry.is_empty() {
        return;
    }
    let codec = core.config.codec;
    let mut start = 0;
    while core.is_open(id) && !holds_back(core, id) {
        let rest = carry.get(start..).unwrap_or_default();
        match codec.decode(rest) {
            Ok(Some((msg, used))) => {
                core.stats.frames_in += 1;
                handler.on_frame(&mut Ctx::new(core), id, msg);
                start += used;
            }
            Ok(None) => break,
            Err(e) => {
                reject_stream(core, id, e.into(), carry);
                break;
            }
        }
    }
    carry.drain(..start.min(carry.len()));
}

/// The stream can never decode: stop reading it, drop what was buffered of
/// it, and close once the replies to its earlier, valid messages are
/// written (accepted messages are not lost because a later one was bad).
fn reject_stream(core: &mut Core, id: ConnId, reason: CloseReason, carry: &mut Vec<u8>) {
    carry.clear();
    core.begin_closing(id.index(), reason);
}

/// Keeps `rest` in `carry`: an incomplete tail, or whole messages held back
/// for [`deliver_held`].
fn hold(core: &mut Core, rest: &[u8], carry: &mut Vec<u8>) {
    if carry.capacity() == 0 && !rest.is_empty() {
        *carry = core.pool.take();
    }
    carry.extend_from_slice(rest);
}

/// Cuts `data` (just read) into messages for the handler: first completing
/// the one partial message in `carry`, then decoding in place, then keeping
/// an incomplete tail in `carry`. Once messages are held back (the output
/// passed the high watermark, or the handler paused reading) the rest is
/// kept in `carry` instead of being delivered. Returns `false`
/// once the connection stops reading.
fn cut_messages<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId, data: &[u8], carry: &mut Vec<u8>) -> bool {
    let codec = core.config.codec;
    let mut rest = data;
    while !carry.is_empty() && !rest.is_empty() {
        let take = codec.bytes_to_complete(carry, rest).min(rest.len());
        let (head, tail) = rest.split_at(take);
        carry.extend_from_slice(head);
        rest = tail;
        match codec.decode(carry) {
            Ok(Some((msg, _))) => {
                core.stats.frames_in += 1;
                handler.on_frame(&mut Ctx::new(core), id, msg);
                carry.clear();
                match after_message(core, id) {
                    After::Continue => {}
                    After::Hold => {
                        hold(core, rest, carry);
                        return true;
                    }
                    After::Stop => return false,
                }
            }
            Ok(None) if take == 0 => break,
            Ok(None) => {}
            Err(e) => {
                reject_stream(core, id, e.into(), carry);
                return false;
            }
        }
    }
    loop {
        match codec.decode(rest) {
            Ok(Some((msg, used))) => {
                core.stats.frames_in += 1;
                handler.on_frame(&mut Ctx::new(core), id, msg);
                rest = rest.get(used..).unwrap_or_default();
                match after_message(core, id) {
                    After::Continue => {}
                    After::Hold => {
                        hold(core, rest, carry);
                        return true;
                    }
                    After::Stop => return false,
                }
            }
            Ok(None) => {
                hold(core, rest, carry);
                return true;
            }
            Err(e) => {
                reject_stream(core, id, e.into(), carry);
                return false;
            }
        }
    }
}

/// Writes what is queued for `key`, once. Whatever the kernel does not take
/// waits for the next WRITABLE edge.
pub(crate) fn flush_conn<H: Handler>(core: &mut Core, handler: &mut H, key: usize) {
    let Some(conn) = core.conns.get_mut(key) else { return };
    conn.dirty = false;
    if matches!(conn.state, State::Connecting | State::Closed(_)) {
        return;
    }
    let id = Core::id_of(key, conn);
    if !conn.out.is_empty() {
        core.stats.writes += 1;
        match conn.stream.write(conn.out.pending()) {
            Ok(n) => {
                core.stats.bytes_out += n as u64;
                conn.last_active = core.now;
                conn.out.consume(n, &mut core.pool);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                conn.dirty = true;
                core.dirty.push(key);
                return;
            }
            Err(e) => {
                core.mark_closed(key, reason_for(&e));
                return;
            }
        }
    }
    if conn.out.is_empty() {
        if let State::Closing(reason) = &conn.state {
            let reason = reason.clone();
            core.close_flushed(key, reason);
            return;
        }
    }
    if conn.backpressured && conn.out.len() <= core.config.low_watermark {
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
                if core.conns.len() >= core.config.max_connections {
                    // Closing at once tells the peer "no" (end of stream,
                    // after the refusal message if one is set) instead of
                    // leaving it hanging in the backlog.
                    core.stats.rejected_over_limit += 1;
                    let first = core.first_refusal_at_limit();
                    crate::log::refused_over_limit(
                        peer,
                        core.config.max_connections,
                        core.stats.rejected_over_limit,
                        first,
                    );
                    super::linger::refuse(core, stream);
                    continue;
                }
                match core.insert(stream, Some(peer), State::Open) {
                    Ok(id) => {
                        core.stats.accepted += 1;
                        handler.on_open(&mut Ctx::new(core), id);
                    }
                    Err(e) => {
                        core.stats.rejected_over_limit += 1;
                        crate::log::not_taken(peer, &e);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // The peer gave up before we accepted, or a signal: next.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => {}
            // EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected: the
            // error would repeat at once, so wait on a timer instead.
            Err(e) => {
                let (at, first) = (listener.addr, core.accept_backoff.current().is_none());
                core.back_off_accepting();
                crate::log::accept_failed(at, &e, core.accept_backoff.current().unwrap_or_default(), first);
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

/// An outgoing connection reported readiness: find out whether the connect
/// succeeded. Returns whether it is open now.
pub(crate) fn finish_connect<H: Handler>(core: &mut Core, handler: &mut H, id: ConnId) -> bool {
    let Some(conn) = slot(&mut core.conns, id) else { return false };
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
    if !conn.out.is_empty() && !conn.dirty {
        conn.dirty = true;
        core.dirty.push(id.index());
    }
    core.stats.connected += 1;
    handler.on_open(&mut Ctx::new(core), id);
    true
}
