//! The queue events wait in between the network thread and the caller: a
//! mutex-guarded deque and a condition variable, so a waiting caller sleeps
//! (no busy polling) and wakes the moment an event arrives. Only a caller
//! that sleeps is woken (the wake-up is a system call even when nobody
//! waits), and the network thread hands over a whole loop turn's events at
//! once ([`Batch`]): one lock and at most one wake-up per turn, not per
//! message. The batch is a [`Chunk`] and joins the queue whole, with no
//! event moved; the program takes the front chunk whole, under one lock, to
//! a side of its own, and is handed its events one at a time from there
//! under a lock no network thread takes; an [`Events`](super::Events)
//! iterator, when it is the only one taking, takes the chunk into itself and
//! hands its events out with no lock at all ([`Held`]: two uncontended lock
//! and unlock pairs per message were 4 % of a polling echo's CPU, the lock
//! here one of them). A small message's bytes travel in
//! the chunk's byte buffer and become the event's own `Vec` only when the
//! program is handed it (see `chunk.rs` and `queued.rs`).
//!
//! It is bounded by flow control rather than by dropping: once the events
//! waiting weigh more than the limit, the network thread pauses reading the
//! connection whose message crossed it (TCP then makes that peer wait);
//! once the caller has taken enough that they weigh half the limit or less,
//! the network thread is woken to resume every connection it paused. The
//! chunk on the program's side still counts, until the program comes back
//! with it emptied: the limit bounds what waits wherever it waits.
//!
//! It also tells the network thread when the caller is done with what it
//! took, for connections whose peer half-closed: those stay open for the
//! caller's replies until the caller has come back for more (its next take)
//! after taking the last event queued before their end of stream. An
//! iterator's chunk counts as handled only once the iterator comes back
//! (or ends), whatever it has handed out: the marker is never past the
//! first event of a chunk an iterator holds. Coming
//! back then sends a marker through the command queue, behind the
//! replies the caller sent; the network thread closes them on it. Only
//! while such connections wait: otherwise a take costs nothing more.
//!
//! A server with several threads has one network thread per reactor, all
//! pushing to one queue, so the program sees one stream (each client's
//! events in order: a client lives on one reactor). The counts are the
//! queue's, over every thread, so the marker goes to every thread's
//! commands and each compares its own held connections with it; a pause
//! is resumed by the thread that owns the connection, each woken for its
//! own; and the queue closes when the last thread ends.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use super::baton::{Baton, Hold};
use super::commands::{Command, Commands};
use super::events::Event;
use super::queued::Queued;
use crate::handler::ConnId;
use crate::reactor::{lock, Chunk, HandOut, Weigh};

/// The default bound on the bytes of events waiting in a queue.
pub(crate) const DEFAULT_MAX_QUEUED: usize = 16 * 1024 * 1024;

/// Events of type `T`, plus some state `S` that waiting callers look at
/// under the same lock (the client's connection status).
#[derive(Debug)]
pub(crate) struct Queue<T, S = ()> {
    inner: Mutex<Inner<T, S>>,
    /// The program's side: the front chunk, taken whole under one lock of
    /// the shared side, and handed out from here an event at a time under a
    /// lock only the program's threads take, so that the network threads'
    /// hand-overs and the program's takes meet once a chunk, not once an
    /// event. Locked after `inner` or alone, never the other way round.
    taken: Mutex<Held<T>>,
    /// The [`Events`](super::Events) iterators alive: one alone takes a
    /// chunk whole into itself (see [`next_held`](Self::next_held)).
    iterators: AtomicUsize,
    cv: Condvar,
    /// Above this many bytes of events, connections are paused.
    limit: usize,
    /// The network threads' commands, in the order of their reactors:
    /// woken through them to resume paused connections, and sent "every
    /// event up to this count was handled"; set before the threads start.
    networks: OnceLock<Vec<Arc<Commands>>>,
    /// What every batch ever handed over weighed, written under the lock
    /// but read without it: how a network thread learns, while it stages,
    /// what the other threads added since its own last hand-over.
    weight_in: AtomicU64,
    /// A polling server's reactor, which a caller that would sleep turns
    /// instead if no other thread does (see `baton.rs`).
    baton: OnceLock<Arc<Baton>>,
}

/// What a waiting caller sees.
#[derive(Debug)]
pub(crate) struct Inner<T, S> {
    /// The batches handed over, in order, none of them empty.
    chunks: VecDeque<Chunk<T>>,
    /// Emptied chunks, kept for the network thread's next batches.
    spare: Vec<Chunk<T>>,
    /// What the items of `chunks` weigh, and each chunk on the program's
    /// side as it was taken (see [`Held`]): counted until the program comes
    /// back with it emptied, so that what waits for the program stays
    /// within the limit wherever it waits.
    bytes: usize,
    /// The count of the first event of each chunk an iterator holds: none
    /// of its events is handled before the iterator comes back for more.
    out: Vec<u64>,
    /// Connections paused because the queue was over its limit.
    paused: Vec<ConnId>,
    /// By reactor: its network thread was woken to resume its paused
    /// connections and has not yet.
    resume_asked: Vec<bool>,
    /// Events ever queued, and ever taken.
    pushed: u64,
    popped: u64,
    /// `popped` when the caller last came back for more: every event up to
    /// it was handled, and the replies to them are in the command queue.
    came_back: u64,
    /// The last count sent as a marker.
    marked: u64,
    /// Half-closed connections waiting for a marker.
    held: usize,
    /// Callers asleep on the condition variable.
    waiting: usize,
    /// Network threads attached and not yet ended.
    running: usize,
    /// Every network thread has ended: nothing more will arrive.
    pub(crate) closed: bool,
    pub(crate) state: S,
}

impl<T: Weigh, S> Inner<T, S> {
    /// Keeps an emptied chunk for the network thread's next batch.
    fn spare(&mut self, chunk: Chunk<T>) {
        if chunk.worth_keeping() && self.spare.len() < KEEP_SPARE {
            self.spare.push(chunk);
        }
    }

    /// How many items wait.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Chunk::len).sum()
    }

    /// A side of the program's came back with everything it held handed
    /// out: what it weighed leaves the queue's weight, and its events count
    /// as handled.
    fn release(&mut self, side: &mut Held<T>) {
        self.bytes = self.bytes.saturating_sub(std::mem::take(&mut side.weight));
        if let Some(first) = side.first.take() {
            if let Some(i) = self.out.iter().position(|&f| f == first) {
                self.out.swap_remove(i);
            }
        }
    }

    /// The program's `side` is empty: it is released, and the front chunk,
    /// if one waits, goes there (the emptied one's buffers go back for the
    /// network threads' next batches). False if none waits.
    fn take_front(&mut self, side: &mut Held<T>) -> bool {
        self.release(side);
        let Some(front) = self.chunks.pop_front() else { return false };
        side.weight = front.weight();
        side.next = self.popped;
        self.popped += front.len() as u64;
        let emptied = std::mem::replace(&mut side.chunk, front);
        self.spare(emptied);
        true
    }

    /// The caller came back for more: the marker to send, if half-closed
    /// connections wait and it took something since the last one.
    /// `shared_next`: the count of the first event on the program's shared
    /// side not handed out yet, if any is there.
    fn come_back(&mut self, shared_next: Option<u64>) -> Option<u64> {
        // Handled: every event before the first one still on a side of the
        // program's, not handed out (the shared side's) or not yet come
        // back for (an iterator's).
        let handed = self.out.iter().copied().chain(shared_next).fold(self.popped, u64::min);
        self.came_back = handed;
        let due = self.held > 0 && handed > self.marked;
        if due {
            self.marked = handed;
        }
        due.then_some(handed)
    }

    /// The caller has drained the queue enough: marks each reactor with a
    /// connection paused, and not yet asked, as asked; returns them, to be
    /// woken. Each is asked on its own, so that a reactor that resumed its
    /// connections (which went over again) is asked again, whatever the
    /// others have done meanwhile.
    fn ask_resume(&mut self) -> Vec<usize> {
        let mut wake = Vec::new();
        for reactor in self.paused.iter().map(|conn| conn.reactor()) {
            if self.resume_asked.len() <= reactor {
                self.resume_asked.resize(reactor + 1, false);
            }
            if !std::mem::replace(&mut self.resume_asked[reactor], true) {
                wake.push(reactor);
            }
        }
        wake
    }
}

#[cfg(test)]
impl<T: HandOut, S: Default> Default for Queue<T, S> {
    fn default() -> Self {
        Queue::new(S::default(), DEFAULT_MAX_QUEUED)
    }
}

impl<T: HandOut, S> Queue<T, S> {
    /// An empty queue whose waiters look at `state`, pausing connections
    /// above `limit` bytes of events.
    pub(crate) fn new(state: S, limit: usize) -> Self {
        let inner = Inner {
            chunks: VecDeque::new(),
            spare: Vec::new(),
            bytes: 0,
            out: Vec::new(),
            paused: Vec::new(),
            resume_asked: Vec::new(),
            pushed: 0,
            popped: 0,
            came_back: 0,
            marked: 0,
            held: 0,
            waiting: 0,
            running: 0,
            closed: false,
            state,
        };
        let (networks, weight_in, taken) = (OnceLock::new(), AtomicU64::new(0), Mutex::default());
        let iterators = AtomicUsize::new(0);
        let (cv, baton) = (Condvar::new(), OnceLock::new());
        Queue { inner: Mutex::new(inner), taken, iterators, cv, limit, networks, weight_in, baton }
    }

    /// Tells the queue the commands of its network threads, one per
    /// reactor in the order of the reactors (see the module's docs); it
    /// closes once each of them has [`close`](Self::close)d it.
    pub(crate) fn attach(&self, networks: Vec<Arc<Commands>>) {
        let count = networks.len();
        if self.networks.set(networks).is_ok() {
            lock(&self.inner).running = count;
        }
    }

    /// The caller came back: send the marker if one is due, outside the lock.
    /// Returns the guard, and whether a marker was sent (the lock was let go
    /// meanwhile).
    fn came_back<'a>(&'a self, mut inner: MutexGuard<'a, Inner<T, S>>) -> (MutexGuard<'a, Inner<T, S>>, bool) {
        let shared_next = lock(&self.taken).next_count();
        let Some(count) = inner.come_back(shared_next) else { return (inner, false) };
        drop(inner);
        // To every thread: the count is the queue's, and whichever holds a
        // connection finds out from it whether that one was answered.
        for commands in self.networks.get().into_iter().flatten() {
            // Refused only once stopping: the stop closes every connection.
            let _ = commands.send(Command::Handled(count));
        }
        (lock(&self.inner), true)
    }

    /// The network thread holds a connection whose peer half-closed until
    /// the caller has handled every event queued so far. Returns the count
    /// to wait for, and a marker the network thread must send itself (the
    /// caller already came back past it, and may be asleep now: its replies
    /// are in the command queue ahead of that marker).
    pub(crate) fn hold(&self) -> (u64, Option<u64>) {
        let mut inner = lock(&self.inner);
        inner.held += 1;
        let mark = inner.pushed;
        (mark, (inner.came_back >= mark).then_some(inner.came_back))
    }

    /// `n` connections held by [`hold`](Self::hold) no longer wait.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            let held = &mut lock(&self.inner).held;
            *held = held.saturating_sub(n);
        }
    }

    /// Callers that would sleep turn `baton`'s reactor instead, when it is
    /// free; set before the network thread starts.
    pub(crate) fn drive_with(&self, baton: Arc<Baton>) {
        let _ = self.baton.set(baton);
    }

    /// Wakes the callers asleep, if any: the baton is free for one of them.
    pub(crate) fn wake_sleepers(&self) {
        self.wake(lock(&self.inner));
    }

    /// Lets go of the lock, then wakes the callers asleep, if any. Checked
    /// under the lock: a caller counts itself in `waiting` under it too,
    /// before it sleeps.
    fn wake(&self, inner: MutexGuard<'_, Inner<T, S>>) {
        let asleep = inner.waiting > 0;
        drop(inner);
        if asleep {
            self.cv.notify_all();
        }
    }

    /// Appends the batch's events in order and wakes the waiters once.
    /// Yields the connection to pause, if the batch's last message took the
    /// queue over its limit (resumed once the queue has drained to half the
    /// limit). The limit is checked here against what the queue weighs now,
    /// so that a batch another thread's hand-over took over it pauses its
    /// sender too.
    ///
    /// With `publish`, the waiters' state becomes it under the same lock: a
    /// waiter sees the state change and the events that tell of it
    /// together (the client's "disconnected" and its event).
    pub(crate) fn push_batch(&self, batch: &mut Batch<T>, publish: Option<S>) -> Option<ConnId> {
        if batch.chunk.is_empty() && publish.is_none() {
            return None;
        }
        let mut inner = lock(&self.inner);
        if let Some(state) = publish {
            inner.state = state;
        }
        if !batch.chunk.is_empty() {
            let weight = batch.chunk.weight();
            inner.bytes += weight;
            inner.pushed += batch.chunk.len() as u64;
            self.weight_in.fetch_add(weight as u64, Ordering::Relaxed);
            let spare = inner.spare.pop().unwrap_or_default();
            inner.chunks.push_back(std::mem::replace(&mut batch.chunk, spare));
        }
        let over = batch.sender.take().filter(|_| inner.bytes > self.limit);
        inner.paused.extend(over);
        batch.base = inner.bytes;
        batch.seen = self.weight_in.load(Ordering::Relaxed);
        self.wake(inner);
        over
    }

    /// Adds an event that `from` sent (if any) to the batch, with `bytes`
    /// that it gets when taken (see [`HandOut`]). Returns whether to
    /// hand the batch over now: with it the queue may be over its limit, and
    /// the connection must then be paused at once. Below the limit that
    /// costs nothing.
    #[must_use = "near the limit, the batch must be handed over"]
    #[inline]
    pub(crate) fn stage(&self, batch: &mut Batch<T>, from: Option<ConnId>, item: T, bytes: &[u8]) -> bool {
        batch.chunk.push(item, bytes);
        batch.sender = from.or(batch.sender);
        // What other threads handed over since this one's last hand-over
        // (nothing with one thread); with the base, at least what the queue
        // weighs, since the caller only takes.
        let others = self.weight_in.load(Ordering::Relaxed).wrapping_sub(batch.seen) as usize;
        from.is_some() && batch.base + others + batch.chunk.weight() > self.limit
    }

    /// The connections of `reactor` to resume, if the caller has drained
    /// the queue since they were paused (called by that reactor's network
    /// thread when woken); the other reactors' wait for their own threads.
    pub(crate) fn take_resumable(&self, reactor: usize) -> Vec<ConnId> {
        let mut inner = lock(&self.inner);
        match inner.resume_asked.get_mut(reactor).map(std::mem::take) {
            Some(true) => {
                let (mine, others) =
                    std::mem::take(&mut inner.paused).into_iter().partition(|c| c.reactor() == reactor);
                inner.paused = others;
                mine
            }
            _ => Vec::new(),
        }
    }

    /// A network thread has ended; once the last one has (or at once, with
    /// none attached), the queue is closed: waiters return once it is
    /// empty.
    pub(crate) fn close(&self) {
        let mut inner = lock(&self.inner);
        inner.running = inner.running.saturating_sub(1);
        if inner.running == 0 {
            inner.closed = true;
            self.wake(inner);
        }
    }

    /// Calls `f` until it returns `Some`, sleeping between calls until the
    /// queue changes; gives up (returns `None`) at `deadline`. A deadline
    /// in the past makes one attempt without waiting.
    pub(crate) fn wait_for<R>(
        &self,
        deadline: Option<Instant>,
        f: impl FnMut(&mut Inner<T, S>) -> Option<R>,
    ) -> Option<R> {
        self.wait_from(lock(&self.inner), deadline, f)
    }

    /// [`wait_for`](Self::wait_for), from the lock already taken.
    fn wait_from<'a, R>(
        &'a self,
        inner: MutexGuard<'a, Inner<T, S>>,
        deadline: Option<Instant>,
        mut f: impl FnMut(&mut Inner<T, S>) -> Option<R>,
    ) -> Option<R> {
        let (mut inner, _) = self.came_back(inner);
        loop {
            let found = f(&mut inner);
            // What `f` took (or let go of: the program's emptied side) may
            // have drained the queue enough to resume paused connections,
            // even if it found nothing.
            let resume = self.resumable(&mut inner);
            if found.is_some() || !resume.is_empty() {
                drop(inner);
                self.resume(resume);
                if found.is_some() {
                    return found;
                }
                inner = lock(&self.inner);
                continue; // the lock was let go: look again
            }
            // What `f` took without handing it out (`recv` skips connection
            // events) is handled too: the caller is about to wait.
            let (guard, sent) = self.came_back(inner);
            inner = guard;
            if sent {
                continue; // the lock was let go: look again before sleeping
            }
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                return None;
            }
            if let Some(baton) = self.baton.get() {
                if let Hold::Turn(held) = baton.hold() {
                    drop(inner);
                    baton.turn(held, deadline);
                    inner = lock(&self.inner);
                    continue; // the turn may have queued events: look again
                }
            }
            inner.waiting += 1;
            inner = match left {
                None => self.cv.wait(inner).unwrap_or_else(PoisonError::into_inner),
                Some(left) => self.cv.wait_timeout(inner, left).unwrap_or_else(PoisonError::into_inner).0,
            };
            inner.waiting -= 1;
        }
    }

    /// Takes every queued item without waiting, the program's side first.
    pub(crate) fn drain(&self) -> Vec<T::Out> {
        let (mut inner, _) = self.came_back(lock(&self.inner));
        let mut items = Vec::new();
        let mut taken = lock(&self.taken);
        items.extend(std::iter::from_fn(|| taken.pop()));
        while inner.take_front(&mut taken) {
            items.extend(std::iter::from_fn(|| taken.pop()));
        }
        drop(taken);
        let resume = self.resumable(&mut inner);
        drop(inner);
        self.resume(resume);
        items
    }

    /// The next item on the program's side, if one is there.
    fn pop_taken(&self) -> Option<T::Out> {
        lock(&self.taken).pop()
    }

    /// The next item, from the program's side or else the queue's front
    /// chunk, taken whole; waits until `deadline` for one, and returns
    /// `None` once none can come (see [`Ends`]).
    fn next(&self, deadline: Option<Instant>) -> Option<T::Out>
    where
        S: Ends,
    {
        if let Some(item) = self.pop_taken() {
            return Some(item);
        }
        self.wait_for(deadline, |inner| match self.shared_side(inner) {
            Ok(mut taken) => Some(taken.pop()),
            Err(wait) => wait,
        })
        .flatten()
    }

    /// The program's shared side with an event to hand out: another of the
    /// program's threads may have taken a chunk there meanwhile, otherwise
    /// the front chunk goes there. If none waits, what the caller of
    /// [`wait_from`](Self::wait_from) returns: `Some(None)` once none can
    /// come, `None` to wait.
    fn shared_side(&self, inner: &mut Inner<T, S>) -> Result<MutexGuard<'_, Held<T>>, Option<Option<T::Out>>>
    where
        S: Ends,
    {
        let mut taken = lock(&self.taken);
        if taken.chunk.is_empty() && !inner.take_front(&mut taken) {
            return Err(inner.ended().then_some(None));
        }
        Ok(taken)
    }

    /// The next item for an [`Events`](super::Events) iterator, from
    /// `held`, its own side, with no lock. Once that is empty, it comes back:
    /// what it held counts as handled and no longer weighs, and it takes
    /// the next chunk whole (the shared side's first: those are older),
    /// unless other iterators or callers take too, who then share it an
    /// event at a time as [`next`](Self::next) does. Waits for an item;
    /// `None` once none can come.
    pub(crate) fn next_held(&self, held: &mut Held<T>) -> Option<T::Out>
    where
        S: Ends,
    {
        if let Some(item) = held.pop() {
            return Some(item);
        }
        if held.first.is_none() {
            // Sharing (or not started): as `next`, lock-light first.
            if let Some(item) = self.pop_taken() {
                return Some(item);
            }
        }
        let mut inner = lock(&self.inner);
        inner.release(held);
        self.wait_from(inner, None, |inner| {
            let mut taken = match self.shared_side(inner) {
                Ok(taken) => taken,
                Err(wait) => return wait,
            };
            if inner.waiting > 0 || self.iterators.load(Ordering::Relaxed) > 1 {
                return Some(taken.pop());
            }
            std::mem::swap(held, &mut *taken);
            inner.out.push(held.next);
            held.first = Some(held.next);
            Some(held.pop())
        })
        .flatten()
    }

    /// An iterator begins: see [`next_held`](Self::next_held).
    pub(crate) fn iterator_started(&self) {
        self.iterators.fetch_add(1, Ordering::Relaxed);
    }

    /// An iterator ends: it comes back (a marker may be due), and what it
    /// held and did not hand out goes to the front of the shared side, in
    /// the order of the events, before anything taken later; nothing
    /// taken is lost.
    pub(crate) fn iterator_ended(&self, held: &mut Held<T>) {
        self.iterators.fetch_sub(1, Ordering::Relaxed);
        if held.first.is_none() {
            return; // It held nothing of its own: a chunk comes with a count.
        }
        let mut inner = lock(&self.inner);
        let (first, left) = (held.next, std::mem::take(&mut held.chunk));
        inner.release(held);
        if !left.is_empty() {
            inner.bytes += left.weight();
            lock(&self.taken).give_back(first, left);
        }
        let (mut inner, _) = self.came_back(inner);
        let resume = self.resumable(&mut inner);
        self.wake(inner);
        self.resume(resume);
    }

    /// After the caller took events: if that brought the queue down to half
    /// its limit and connections are paused, the reactors to wake (once
    /// each) to resume them, marked as asked.
    fn resumable(&self, inner: &mut Inner<T, S>) -> Vec<usize> {
        let resume = !inner.paused.is_empty() && inner.bytes <= self.limit / 2 && !inner.closed;
        if resume {
            inner.ask_resume()
        } else {
            Vec::new()
        }
    }

    /// Wakes the network threads of `reactors` (see
    /// [`resumable`](Self::resumable)), outside the lock.
    fn resume(&self, reactors: Vec<usize>) {
        for reactor in reactors {
            let network = self.networks.get().and_then(|n| n.get(reactor));
            if network.is_none_or(|c| c.notifier.notify().is_err()) {
                // Not woken: let the next take ask again.
                lock(&self.inner).resume_asked[reactor] = false;
            }
        }
    }

    /// Reads the state.
    pub(crate) fn state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        self.view(|inner| f(&inner.state))
    }

    /// Reads the shared side.
    pub(crate) fn view<R>(&self, f: impl FnOnce(&Inner<T, S>) -> R) -> R {
        f(&lock(&self.inner))
    }

    /// Bytes of events waiting, and how many connections are paused.
    #[cfg(test)]
    pub(crate) fn load(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        (inner.bytes, inner.paused.len())
    }
}

/// Events collected on the network thread during one loop turn, for
/// [`Queue::push_batch`] at its end.
#[derive(Debug)]
pub(crate) struct Batch<T> {
    chunk: Chunk<T>,
    /// The sender of the batch's last message: paused by `push_batch` if
    /// the queue is over its limit with the batch.
    sender: Option<ConnId>,
    /// What the queue weighed at this thread's last hand-over, and the
    /// queue's `weight_in` then: together an upper bound on what it weighs
    /// now, since the caller only takes from it, and other threads' hand-
    /// overs show in `weight_in`.
    base: usize,
    seen: u64,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch { chunk: Chunk::default(), sender: None, base: 0, seen: 0 }
    }
}

/// A chunk on the program's side: the shared one behind the queue's
/// `taken` lock, or one an [`Events`](super::Events) iterator took whole
/// and hands out with no lock.
#[derive(Debug)]
pub(crate) struct Held<T> {
    chunk: Chunk<T>,
    /// The count (in the order the events were queued) of the chunk's
    /// front event.
    next: u64,
    /// What the chunk weighed when taken: counted against the limit until
    /// the side comes back with it emptied.
    weight: usize,
    /// An iterator's: the count of its first event, in the queue's `out`
    /// until it comes back.
    first: Option<u64>,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held { chunk: Chunk::default(), next: 0, weight: 0, first: None }
    }
}

impl<T: HandOut> Held<T> {
    /// Hands out the front item.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T::Out> {
        let (item, _) = self.chunk.pop()?;
        self.next += 1;
        Some(item)
    }

    /// The count of the front event, if one is here.
    fn next_count(&self) -> Option<u64> {
        (!self.chunk.is_empty()).then_some(self.next)
    }

    /// Takes `left`, an iterator's events not handed out, the first of them
    /// counted `first`, in the order of the counts with its own. The front
    /// count becomes the lower one: each later event's count is at least
    /// the front's plus the events before it, so the marker never passes
    /// one not handed out.
    fn give_back(&mut self, first: u64, mut left: Chunk<T>) {
        self.weight += left.weight();
        if self.chunk.is_empty() {
            (self.chunk, self.next) = (left, first);
            return;
        }
        let (older, newer) =
            if first < self.next { (&mut left, &mut self.chunk) } else { (&mut self.chunk, &mut left) };
        while let Some((item, bytes)) = newer.pop_borrowed() {
            older.push(item, bytes);
        }
        if first < self.next {
            (self.chunk, self.next) = (left, first);
        }
    }
}

/// What a queue's readers know beyond its items: whether more can come.
pub(crate) trait Ends {
    /// No more items will come, though the queue is still open (a client
    /// disconnected for good).
    fn ended(&self) -> bool;
}

impl Ends for () {
    fn ended(&self) -> bool {
        false
    }
}

impl<T, S: Ends> Inner<T, S> {
    /// Nothing more can arrive: the network thread ended, or the state
    /// says so.
    pub(crate) fn ended(&self) -> bool {
        self.closed || self.state.ended()
    }
}

/// The program's side of an event queue, whatever its state: what
/// [`Events`](super::Events) iterates over.
pub(crate) trait Inbox: Sync + std::fmt::Debug {
    /// The next event, waiting until `deadline` (forever without one);
    /// `None` if none came by then, or once no more can come.
    fn next_event(&self, deadline: Option<Instant>) -> Option<Event>;

    /// See [`Queue::next_held`].
    fn next_held(&self, held: &mut Held<Queued>) -> Option<Event>;

    /// See [`Queue::iterator_started`].
    fn iterator_started(&self);

    /// See [`Queue::iterator_ended`].
    fn iterator_ended(&self, held: &mut Held<Queued>);
}

/// How many emptied chunks a queue keeps for reuse: one in the network
/// thread's batch, one at the queue's front, one on its way back.
const KEEP_SPARE: usize = 4;

impl<S: Ends + Send + std::fmt::Debug> Inbox for Queue<Queued, S> {
    fn next_event(&self, deadline: Option<Instant>) -> Option<Event> {
        self.next(deadline)
    }

    fn next_held(&self, held: &mut Held<Queued>) -> Option<Event> {
        Queue::next_held(self, held)
    }

    fn iterator_started(&self) {
        Queue::iterator_started(self);
    }

    fn iterator_ended(&self, held: &mut Held<Queued>) {
        Queue::iterator_ended(self, held);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::handler::ConnId;
    use crate::Reactor;

    /// One event that `conn` sent (or nobody), handed over at once; whether
    /// `conn` must now be paused.
    fn push_from<S>(q: &Queue<u32, S>, conn: Option<ConnId>, item: u32) -> bool {
        // As the network thread's batch would know the queue's weight.
        let (base, seen) = (lock(&q.inner).bytes, q.weight_in.load(Ordering::Relaxed));
        let mut batch = Batch { base, seen, ..Batch::default() };
        let _ = q.stage(&mut batch, conn, item, &[]);
        q.push_batch(&mut batch, None).is_some()
    }

    impl Weigh for u32 {
        fn weight(&self) -> usize {
            *self as usize
        }
    }

    impl HandOut for u32 {
        type Out = u32;

        fn hand_out(self, _bytes: &[u8]) -> u32 {
            self
        }
    }

    #[test]
    fn over_the_limit_the_sender_is_paused_and_resumed_once_half_is_taken() {
        let q: Queue<u32> = Queue::new((), 100);
        let reactor = Reactor::new().unwrap();
        q.attach(vec![Arc::new(Commands::new(reactor.notifier()))]);
        let (a, b) = (ConnId { index: 1, generation: 0, home: 0 }, ConnId { index: 2, generation: 0, home: 0 });
        assert!(!push_from(&q, Some(a), 60));
        assert!(!push_from(&q, Some(b), 40), "at the limit is not over it");
        assert!(push_from(&q, Some(b), 30));
        assert!(push_from(&q, Some(a), 10));
        assert_eq!(q.load(), (140, 2));
        assert!(q.take_resumable(0).is_empty(), "nothing taken yet");
        assert_eq!(q.next(None), Some(60));
        assert!(q.take_resumable(0).is_empty(), "taken, not handled: it still counts");
        assert_eq!(q.next(None), Some(40));
        assert!(q.take_resumable(0).is_empty(), "80 bytes is more than half the limit");
        assert_eq!(q.next(None), Some(30));
        assert_eq!(q.take_resumable(0), [b, a]);
        assert!(q.take_resumable(0).is_empty(), "resumed once");
        assert_eq!(q.load(), (40, 0));
        push_from(&q, None, 1000); // not from a connection: never pauses anyone
        assert_eq!(q.drain(), [10, 1000]);
        assert_eq!(q.load(), (0, 0));
    }

    #[test]
    fn a_waiter_wakes_when_an_item_arrives_and_sees_the_close_after_the_items() {
        let q: Arc<Queue<u32>> = Arc::default();
        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            push_from(&q2, None, 1);
            push_from(&q2, None, 2);
            q2.close();
        });
        let mut got = Vec::new();
        while let Some(item) = q.next(None) {
            got.push(item);
        }
        t.join().unwrap();
        assert_eq!(got, [1, 2]);
    }

    #[test]
    fn a_batch_reaches_a_sleeping_waiter_at_once_and_counts_against_the_limit() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new((), 100));
        let q2 = Arc::clone(&q);
        let waiter = std::thread::spawn(move || {
            q2.wait_for(None, |inner| (inner.len() == 3).then_some(())).map(|()| q2.drain())
        });
        while lock(&q.inner).waiting == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (a, b) = (ConnId { index: 1, generation: 0, home: 0 }, ConnId { index: 2, generation: 0, home: 0 });
        let mut batch = Batch::default();
        assert!(!q.stage(&mut batch, Some(a), 60, &[]));
        assert!(!q.stage(&mut batch, None, 50, &[]), "over the limit, but not from a connection");
        assert!(q.stage(&mut batch, Some(b), 10, &[]), "over the limit: hand over now");
        assert_eq!(q.load(), (0, 0), "nothing is visible before the hand-over");
        assert_eq!(q.push_batch(&mut batch, None), Some(b));
        assert!(q.push_batch(&mut batch, None).is_none(), "the batch is empty again");
        assert_eq!(waiter.join().unwrap(), Some(vec![60, 50, 10]), "in order, with one wake-up");
        assert_eq!(q.load(), (0, 1), "taken, and b is still paused until resumed");
    }

    #[test]
    fn a_deadline_ends_the_wait_with_none() {
        let q: Queue<u32> = Queue::default();
        let start = Instant::now();
        assert!(q.next(Some(start + Duration::from_millis(30))).is_none());
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn the_program_takes_a_chunk_whole_and_only_what_it_was_handed_is_handled() {
        let q: Queue<u32> = Queue::new((), 1000);
        let mut batch = Batch::default();
        for item in [1, 2, 3] {
            let _ = q.stage(&mut batch, None, item, &[]);
        }
        assert_eq!(q.push_batch(&mut batch, None), None);
        // A half-closed connection waits for the three to be handled.
        assert_eq!(q.hold(), (3, None));
        assert_eq!(q.next(Some(Instant::now())), Some(1));
        assert_eq!(lock(&q.inner).chunks.len(), 0, "the chunk left the queue whole");
        assert_eq!(q.load(), (6, 0), "and counts until the program comes back with it emptied");
        let shared_next = lock(&q.taken).next_count();
        assert_eq!(shared_next, Some(1), "two were taken but not handed out");
        assert_eq!(lock(&q.inner).come_back(shared_next), Some(1));
        assert_eq!(q.next(Some(Instant::now())), Some(2));
        let _ = q.stage(&mut batch, None, 4, &[]);
        assert_eq!(q.push_batch(&mut batch, None), None);
        // The program's side first, then the queue; drain takes both.
        assert_eq!(q.next(Some(Instant::now())), Some(3));
        assert_eq!(q.drain(), [4]);
        assert_eq!(q.load(), (0, 0), "every item handed out");
        assert_eq!(lock(&q.inner).come_back(None), Some(4));
        assert_eq!(q.next(Some(Instant::now())), None, "nothing waits");
    }

    #[test]
    fn a_paused_sender_resumes_once_the_program_empties_its_side() {
        let q: Queue<u32> = Queue::new((), 100);
        let reactor = Reactor::new().unwrap();
        q.attach(vec![Arc::new(Commands::new(reactor.notifier()))]);
        let a = ConnId { index: 1, generation: 0, home: 0 };
        assert!(push_from(&q, Some(a), 150), "over the limit: paused");
        assert_eq!(q.next(Some(Instant::now())), Some(150));
        assert!(q.take_resumable(0).is_empty(), "the event is out, but not yet handled");
        // Coming back with nothing new: the emptied side no longer counts.
        assert_eq!(q.next(Some(Instant::now())), None);
        assert_eq!(q.take_resumable(0), [a]);
        assert_eq!(q.load(), (0, 0));
    }

    /// Hands 30,000 items over to `takers`, in batches of 7, then closes
    /// the queue: together, the takers got each one once.
    fn every_item_once(q: &Queue<u32>, takers: Vec<std::thread::JoinHandle<Vec<u32>>>) {
        let mut batch = Batch::default();
        for item in 0..30_000u32 {
            let _ = q.stage(&mut batch, None, item, &[]);
            if item % 7 == 0 {
                q.push_batch(&mut batch, None);
            }
        }
        q.push_batch(&mut batch, None);
        q.close();
        let mut got: Vec<u32> = takers.into_iter().flat_map(|t| t.join().unwrap()).collect();
        got.sort_unstable();
        assert!(got.iter().copied().eq(0..30_000), "{} items taken for 30,000", got.len());
    }

    #[test]
    fn program_threads_taking_together_get_every_item_once() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new((), 1 << 30));
        let takers: Vec<_> = (0..3)
            .map(|_| {
                let q = Arc::clone(&q);
                std::thread::spawn(move || std::iter::from_fn(|| q.next(None)).collect::<Vec<u32>>())
            })
            .collect();
        every_item_once(&q, takers);
    }

    /// Stages `items` as one batch (one network loop turn) and hands it over.
    fn turn(q: &Queue<u32>, items: &[u32]) {
        let mut batch = Batch::default();
        for &item in items {
            let _ = q.stage(&mut batch, None, item, &[]);
        }
        assert_eq!(q.push_batch(&mut batch, None), None);
    }

    #[test]
    fn an_iterator_alone_takes_a_chunk_whole_and_it_is_handled_when_the_iterator_comes_back() {
        let q: Queue<u32> = Queue::new((), 1000);
        turn(&q, &[1, 2, 3]);
        assert_eq!(q.hold(), (3, None), "a half-closed peer waits for the three");
        q.iterator_started();
        let mut held = Held::default();
        assert_eq!(q.next_held(&mut held), Some(1));
        assert_eq!(lock(&q.taken).next_count(), None, "the chunk is the iterator's, not the shared side's");
        assert_eq!(q.load(), (6, 0), "and counts until the iterator comes back");
        let shared_next = lock(&q.taken).next_count();
        assert_eq!(lock(&q.inner).come_back(shared_next), None, "none of its events is handled yet");
        assert_eq!((q.next_held(&mut held), q.next_held(&mut held)), (Some(2), Some(3)));
        assert_eq!(q.next(Some(Instant::now())), None, "another call finds nothing to take");
        turn(&q, &[4]);
        assert_eq!(q.next_held(&mut held), Some(4), "back for more: the next chunk");
        assert_eq!(lock(&q.inner).came_back, 3, "coming back handled the first three");
        assert_eq!(q.load(), (4, 0));
        q.iterator_ended(&mut held);
        let came_back = lock(&q.inner).came_back;
        assert_eq!((came_back, q.load()), (4, (0, 0)), "ending is coming back");
    }

    #[test]
    fn an_iterator_ended_early_gives_back_what_it_did_not_hand_out_before_anything_later() {
        let q: Queue<u32> = Queue::new((), 1000);
        turn(&q, &[1, 2, 3]);
        turn(&q, &[4, 5]);
        q.iterator_started();
        let mut held = Held::default();
        assert_eq!(q.next_held(&mut held), Some(1));
        assert_eq!(q.next(Some(Instant::now())), Some(4), "another call takes the next chunk meanwhile");
        q.iterator_ended(&mut held);
        assert_eq!(lock(&q.taken).next_count(), Some(1), "the marker cannot pass 2, not handed out");
        let rest: Vec<u32> = std::iter::from_fn(|| q.next(Some(Instant::now()))).collect();
        assert_eq!(rest, [2, 3, 5]);
        assert_eq!(q.load(), (0, 0), "every weight accounted for");
        // The same with the iterator's events the newer ones.
        turn(&q, &[6, 7]);
        turn(&q, &[8, 9]);
        assert_eq!(q.next(Some(Instant::now())), Some(6));
        q.iterator_started();
        let mut held = Held::default();
        assert_eq!(q.next_held(&mut held), Some(7), "the shared side's first: it is older");
        assert_eq!(q.next_held(&mut held), Some(8), "then a chunk whole");
        turn(&q, &[10]);
        assert_eq!(q.next(Some(Instant::now())), Some(10));
        q.iterator_ended(&mut held);
        assert_eq!(q.drain(), [9]);
        assert_eq!(q.load(), (0, 0));
    }

    #[test]
    fn given_back_events_join_the_shared_side_in_the_order_they_were_queued() {
        let chunk = |items: &[u32]| {
            let mut chunk = Chunk::default();
            for &item in items {
                chunk.push(item, &[]);
            }
            chunk
        };
        let mut shared: Held<u32> = Held { chunk: chunk(&[20, 21]), next: 20, weight: 41, first: None };
        shared.give_back(10, chunk(&[10, 11]));
        assert_eq!((shared.next, shared.weight), (10, 41 + 21));
        shared.give_back(30, chunk(&[30]));
        let order: Vec<u32> = std::iter::from_fn(|| shared.pop()).collect();
        assert_eq!(order, [10, 11, 20, 21, 30]);
    }

    #[test]
    fn iterators_share_a_chunk_event_by_event_when_several_take() {
        let q: Queue<u32> = Queue::new((), 1000);
        turn(&q, &[1, 2, 3]);
        q.iterator_started();
        q.iterator_started();
        let (mut a, mut b) = (Held::default(), Held::default());
        assert_eq!(q.next_held(&mut a), Some(1));
        assert_eq!(lock(&q.taken).next_count(), Some(1), "the chunk stays on the shared side");
        assert_eq!(q.next_held(&mut b), Some(2));
        assert_eq!(q.next_held(&mut a), Some(3));
        q.iterator_ended(&mut a);
        q.iterator_ended(&mut b);
        assert_eq!(q.load(), (6, 0), "the shared side counts until a call comes back to it");
        assert_eq!(q.next(Some(Instant::now())), None);
        assert_eq!(q.load(), (0, 0));
    }

    #[test]
    fn a_paused_sender_resumes_once_the_iterator_comes_back() {
        let q: Queue<u32> = Queue::new((), 100);
        let reactor = Reactor::new().unwrap();
        q.attach(vec![Arc::new(Commands::new(reactor.notifier()))]);
        let a = ConnId { index: 1, generation: 0, home: 0 };
        assert!(push_from(&q, Some(a), 150), "over the limit: paused");
        q.iterator_started();
        let mut held = Held::default();
        assert_eq!(q.next_held(&mut held), Some(150));
        assert!(q.take_resumable(0).is_empty(), "the event is out, but not yet handled");
        push_from(&q, None, 1);
        assert_eq!(q.next_held(&mut held), Some(1));
        assert_eq!(q.take_resumable(0), [a]);
        q.iterator_ended(&mut held);
        assert_eq!(q.load(), (0, 0));
    }

    #[test]
    fn iterators_and_calls_on_several_threads_get_every_item_once() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new((), 1 << 30));
        let iterating = |q: Arc<Queue<u32>>| {
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    // An iterator that ends every 100 items, giving back what it holds.
                    q.iterator_started();
                    let mut held = Held::default();
                    let taken: Vec<u32> = std::iter::from_fn(|| q.next_held(&mut held)).take(100).collect();
                    q.iterator_ended(&mut held);
                    let ended = taken.len() < 100;
                    got.extend(taken);
                    if ended {
                        return got;
                    }
                }
            })
        };
        let mut takers: Vec<_> = (0..2).map(|_| iterating(Arc::clone(&q))).collect();
        let calls = Arc::clone(&q);
        takers.push(std::thread::spawn(move || std::iter::from_fn(|| calls.next(None)).collect()));
        every_item_once(&q, takers);
    }

    #[test]
    fn staged_bytes_become_each_events_own_in_order_across_hand_overs() {
        let q: Queue<Queued> = Queue::new((), 1 << 20);
        let conn = ConnId { index: 1, generation: 0, home: 0 };
        let message = || Queued::Message { client: conn, addr: crate::facade::events::NO_ADDR };
        let whole = |data: Vec<u8>| Event::Received { client: conn, addr: crate::facade::events::NO_ADDR, data }.into();
        let data_of = |e: Option<Event>| match e {
            Some(Event::Received { data, .. }) => data,
            other => panic!("{other:?}"),
        };
        let mut batch = Batch::default();
        for (i, bytes) in [&b"one"[..], b"", b"three"].into_iter().enumerate() {
            let _ = q.stage(&mut batch, Some(conn), message(), bytes);
            if i == 1 {
                let _ = q.stage(&mut batch, None, whole(b"own".to_vec()), &[]);
            }
        }
        assert_eq!(q.push_batch(&mut batch, None), None);
        assert_eq!(data_of(q.next_event(Some(Instant::now()))), b"one");
        // More bytes arrive behind the ones not taken yet.
        let _ = q.stage(&mut batch, Some(conn), message(), &[7; 5000]);
        assert_eq!(q.push_batch(&mut batch, None), None);
        let rest: Vec<_> = q.drain().into_iter().map(|e| data_of(Some(e))).collect();
        assert_eq!(rest, [b"".to_vec(), b"own".to_vec(), b"three".to_vec(), vec![7; 5000]]);
        assert_eq!(q.load(), (0, 0), "every byte accounted for");
    }
}
