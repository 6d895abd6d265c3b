//! The queue events wait in between the network thread and the caller: a
//! mutex-guarded deque and a condition variable, so a waiting caller sleeps
//! (no busy polling) and wakes the moment an event arrives. Only a caller
//! that sleeps is woken (the wake-up is a system call even when nobody
//! waits), and a polling server hands over a whole loop turn's events at
//! once ([`Batch`]): one lock and at most one wake-up per turn, not per
//! message.
//!
//! It is bounded by flow control rather than by dropping: once the events
//! waiting weigh more than the limit, the network thread pauses reading the
//! connection whose message crossed it (TCP then makes that peer wait);
//! once the caller has taken enough that they weigh half the limit or less,
//! the network thread is woken to resume every connection it paused.
//!
//! It also tells the network thread when the caller is done with what it
//! took, for connections whose peer half-closed: those stay open for the
//! caller's replies until the caller has come back for more (its next take)
//! after taking the last event queued before their end of stream. Coming
//! back then sends a marker through the command channel, behind the
//! replies the caller sent; the network thread closes them on it. Only
//! while such connections wait: otherwise a take costs nothing more.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use super::events::{ClientEvent, Event};
use super::runtime::lock;
use crate::handler::ConnId;
use crate::reactor::Notifier;

/// The default bound on the bytes of events waiting in a queue.
pub(crate) const DEFAULT_MAX_QUEUED: usize = 16 * 1024 * 1024;

/// What an event weighs against the queue's limit: the bytes it carries,
/// plus its own size, so that a flood of empty messages is bounded too.
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for Event {
    fn weight(&self) -> usize {
        std::mem::size_of::<Event>()
            + match self {
                Event::Received { data, .. } => data.len(),
                Event::Packet { packet, .. } => packet.text.len(),
                _ => 0,
            }
    }
}

impl Weigh for ClientEvent {
    fn weight(&self) -> usize {
        std::mem::size_of::<ClientEvent>()
            + match self {
                ClientEvent::Received(data) => data.len(),
                ClientEvent::Packet(packet) => packet.text.len(),
                _ => 0,
            }
    }
}

/// Events of type `T`, plus some state `S` that waiting callers look at
/// under the same lock (the client's connection status).
#[derive(Debug)]
pub(crate) struct Queue<T, S = ()> {
    inner: Mutex<Inner<T, S>>,
    cv: Condvar,
    /// Above this many bytes of events, connections are paused.
    limit: usize,
    /// Wakes the network thread to resume paused connections; set once the
    /// reactor exists.
    notifier: OnceLock<Notifier>,
    /// Sends the network thread "every event up to this count was handled"
    /// through the command channel; set once the channel exists.
    marker: OnceLock<Marker>,
}

/// The function behind [`Queue::set_marker`].
struct Marker(Box<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Marker")
    }
}

/// What a waiting caller sees.
#[derive(Debug)]
pub(crate) struct Inner<T, S> {
    items: VecDeque<T>,
    /// What `items` weigh.
    bytes: usize,
    /// Connections paused because the queue was over its limit.
    paused: Vec<ConnId>,
    /// The network thread was woken to resume them and has not yet.
    resume_asked: bool,
    /// Events ever queued, and ever taken.
    pushed: u64,
    popped: u64,
    /// `popped` when the caller last came back for more: every event up to
    /// it was handled, and the replies to them are in the command channel.
    came_back: u64,
    /// The last count sent as a marker.
    marked: u64,
    /// Half-closed connections waiting for a marker.
    held: usize,
    /// Callers asleep on the condition variable.
    waiting: usize,
    /// The network thread has ended: nothing more will arrive.
    pub(crate) closed: bool,
    pub(crate) state: S,
}

impl<T: Weigh, S> Inner<T, S> {
    pub(crate) fn push_back(&mut self, item: T) {
        self.bytes += item.weight();
        self.pushed += 1;
        self.items.push_back(item);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.pop_front()?;
        self.bytes = self.bytes.saturating_sub(item.weight());
        self.popped += 1;
        Some(item)
    }

    /// The caller came back for more: the marker to send, if half-closed
    /// connections wait and it took something since the last one.
    fn come_back(&mut self) -> Option<u64> {
        self.came_back = self.popped;
        let due = self.held > 0 && self.popped > self.marked;
        if due {
            self.marked = self.popped;
        }
        due.then_some(self.popped)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T: Weigh, S: Default> Default for Queue<T, S> {
    fn default() -> Self {
        Queue::new(S::default(), DEFAULT_MAX_QUEUED)
    }
}

impl<T: Weigh, S> Queue<T, S> {
    /// An empty queue whose waiters look at `state`, pausing connections
    /// above `limit` bytes of events.
    pub(crate) fn new(state: S, limit: usize) -> Self {
        let inner = Inner {
            items: VecDeque::new(),
            bytes: 0,
            paused: Vec::new(),
            resume_asked: false,
            pushed: 0,
            popped: 0,
            came_back: 0,
            marked: 0,
            held: 0,
            waiting: 0,
            closed: false,
            state,
        };
        Queue {
            inner: Mutex::new(inner),
            cv: Condvar::new(),
            limit,
            notifier: OnceLock::new(),
            marker: OnceLock::new(),
        }
    }

    /// Tells the queue how to send the network thread a marker (see the
    /// module's docs).
    pub(crate) fn set_marker(&self, send: impl Fn(u64) + Send + Sync + 'static) {
        let _ = self.marker.set(Marker(Box::new(send)));
    }

    /// The caller came back: send the marker if one is due, outside the lock.
    /// Returns the guard, and whether a marker was sent (the lock was let go
    /// meanwhile).
    fn came_back<'a>(&'a self, mut inner: MutexGuard<'a, Inner<T, S>>) -> (MutexGuard<'a, Inner<T, S>>, bool) {
        let Some(count) = inner.come_back() else { return (inner, false) };
        drop(inner);
        if let Some(marker) = self.marker.get() {
            (marker.0)(count);
        }
        (lock(&self.inner), true)
    }

    /// The network thread holds a connection whose peer half-closed until
    /// the caller has handled every event queued so far. Returns the count
    /// to wait for, and a marker the network thread must send itself (the
    /// caller already came back past it, and may be asleep now: its replies
    /// are in the channel ahead of that marker).
    pub(crate) fn hold(&self) -> (u64, Option<u64>) {
        let mut inner = lock(&self.inner);
        inner.held += 1;
        let mark = inner.pushed;
        (mark, (inner.came_back >= mark).then_some(inner.came_back))
    }

    /// `n` connections held by [`hold`](Self::hold) no longer wait.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            let mut inner = lock(&self.inner);
            inner.held = inner.held.saturating_sub(n);
        }
    }

    /// Tells the queue how to wake the network thread.
    pub(crate) fn set_notifier(&self, notifier: Notifier) {
        let _ = self.notifier.set(notifier);
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

    /// Appends an event and wakes the waiters.
    pub(crate) fn push(&self, item: T) {
        let mut inner = lock(&self.inner);
        inner.push_back(item);
        self.wake(inner);
    }

    /// Appends an event that `conn` sent and wakes the waiters. Returns
    /// whether the queue is now over its limit: the caller (the network
    /// thread) must then pause reading `conn`, which is resumed once the
    /// queue has drained to half the limit.
    #[must_use = "over the limit, the connection must be paused"]
    pub(crate) fn push_from(&self, conn: ConnId, item: T) -> bool {
        let mut inner = lock(&self.inner);
        inner.push_back(item);
        let over = inner.bytes > self.limit;
        if over {
            inner.paused.push(conn);
        }
        self.wake(inner);
        over
    }

    /// Appends the batch's events in order, as [`push`](Self::push) and
    /// [`push_from`](Self::push_from) would one by one, and wakes the
    /// waiters once. Yields the connections to pause: those whose message
    /// took the queue over its limit.
    pub(crate) fn push_batch<'b>(&self, batch: &'b mut Batch<T>) -> std::vec::Drain<'b, ConnId> {
        if !batch.items.is_empty() {
            let mut inner = lock(&self.inner);
            for (conn, item) in batch.items.drain(..) {
                inner.push_back(item);
                if let Some(conn) = conn.filter(|_| inner.bytes > self.limit) {
                    inner.paused.push(conn);
                    batch.over.push(conn);
                }
            }
            batch.base = inner.bytes;
            batch.bytes = 0;
            self.wake(inner);
        }
        batch.over.drain(..)
    }

    /// Adds an event that `from` sent (if any) to the batch. Returns
    /// whether to hand the batch over now: with it the queue may be over its
    /// limit, and the connection must then be paused at once, as with
    /// [`push_from`](Self::push_from). Below the limit that costs nothing.
    #[must_use = "near the limit, the batch must be handed over"]
    pub(crate) fn stage(&self, batch: &mut Batch<T>, from: Option<ConnId>, item: T) -> bool {
        batch.bytes += item.weight();
        batch.items.push((from, item));
        from.is_some() && batch.base + batch.bytes > self.limit
    }

    /// The connections to resume, if the caller has drained the queue
    /// since they were paused (called by the network thread when woken).
    pub(crate) fn take_resumable(&self) -> Vec<ConnId> {
        let mut inner = lock(&self.inner);
        if !inner.resume_asked {
            return Vec::new();
        }
        inner.resume_asked = false;
        std::mem::take(&mut inner.paused)
    }

    /// Changes the state (and maybe the items) and wakes the waiters.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Inner<T, S>) -> R) -> R {
        let mut inner = lock(&self.inner);
        let r = f(&mut inner);
        self.wake(inner);
        r
    }

    /// Marks the queue closed: waiters return once it is empty.
    pub(crate) fn close(&self) {
        self.update(|inner| inner.closed = true);
    }

    /// Calls `f` until it returns `Some`, sleeping between calls until the
    /// queue changes; gives up (returns `None`) at `deadline`. A deadline
    /// in the past makes one attempt without waiting.
    pub(crate) fn wait_for<R>(
        &self,
        deadline: Option<Instant>,
        mut f: impl FnMut(&mut Inner<T, S>) -> Option<R>,
    ) -> Option<R> {
        let (mut inner, _) = self.came_back(lock(&self.inner));
        loop {
            if let Some(r) = f(&mut inner) {
                self.taken(inner);
                return Some(r);
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
            inner.waiting += 1;
            inner = match left {
                None => self.cv.wait(inner).unwrap_or_else(PoisonError::into_inner),
                Some(left) => self.cv.wait_timeout(inner, left).unwrap_or_else(PoisonError::into_inner).0,
            };
            inner.waiting -= 1;
        }
    }

    /// Takes every queued item without waiting.
    pub(crate) fn drain(&self) -> Vec<T> {
        let (mut inner, _) = self.came_back(lock(&self.inner));
        let items: Vec<T> = inner.items.drain(..).collect();
        inner.bytes = 0;
        inner.popped += items.len() as u64;
        self.taken(inner);
        items
    }

    /// After the caller took events: if that brought the queue down to half
    /// its limit and connections are paused, wake the network thread (once)
    /// to resume them.
    fn taken(&self, mut inner: MutexGuard<'_, Inner<T, S>>) {
        let resume = !inner.paused.is_empty() && !inner.resume_asked && inner.bytes <= self.limit / 2 && !inner.closed;
        if resume {
            inner.resume_asked = true;
        }
        drop(inner);
        if resume && self.notifier.get().is_none_or(|n| n.notify().is_err()) {
            // Not woken: let the next take ask again.
            lock(&self.inner).resume_asked = false;
        }
    }

    /// Reads the state.
    pub(crate) fn state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&lock(&self.inner).state)
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
    /// Each event, with the connection that sent it (for flow control).
    items: Vec<(Option<ConnId>, T)>,
    /// The connections to pause, handed out by `push_batch`.
    over: Vec<ConnId>,
    /// What `items` weigh.
    bytes: usize,
    /// What the queue weighed at the last hand-over: at most what it weighs
    /// now, since only the caller takes from it meanwhile.
    base: usize,
}

impl<T> Batch<T> {
    /// Adds an event no connection sent (nobody to pause for it).
    pub(crate) fn push(&mut self, item: T) {
        self.items.push((None, item));
    }
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch { items: Vec::new(), over: Vec::new(), bytes: 0, base: 0 }
    }
}

/// The next item, or `Some(None)` once the queue is closed and empty:
/// the `f` for [`Queue::wait_for`] that plain event readers use.
pub(crate) fn next_item<T: Weigh, S>(inner: &mut Inner<T, S>) -> Option<Option<T>> {
    match inner.pop_front() {
        Some(item) => Some(Some(item)),
        None if inner.closed => Some(None),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::handler::ConnId;
    use crate::Reactor;

    impl<S> Inner<u32, S> {
        fn drain_all(&mut self) -> Vec<u32> {
            std::iter::from_fn(|| self.pop_front()).collect()
        }
    }

    impl Weigh for u32 {
        fn weight(&self) -> usize {
            *self as usize
        }
    }

    #[test]
    fn over_the_limit_the_sender_is_paused_and_resumed_once_half_is_taken() {
        let q: Queue<u32> = Queue::new((), 100);
        let reactor = Reactor::new().unwrap();
        q.set_notifier(reactor.notifier());
        let (a, b) = (ConnId { index: 1, generation: 0 }, ConnId { index: 2, generation: 0 });
        assert!(!q.push_from(a, 60));
        assert!(!q.push_from(b, 40), "at the limit is not over it");
        assert!(q.push_from(b, 30));
        assert!(q.push_from(a, 10));
        assert_eq!(q.load(), (140, 2));
        assert!(q.take_resumable().is_empty(), "nothing taken yet");
        assert_eq!(q.wait_for(None, next_item), Some(Some(60)));
        assert!(q.take_resumable().is_empty(), "80 bytes is more than half the limit");
        assert_eq!(q.wait_for(None, next_item), Some(Some(40)));
        assert_eq!(q.take_resumable(), [b, a]);
        assert!(q.take_resumable().is_empty(), "resumed once");
        assert_eq!(q.load(), (40, 0));
        q.push(1000); // not from a connection: never pauses anyone
        assert_eq!(q.drain(), [30, 10, 1000]);
        assert_eq!(q.load(), (0, 0));
    }

    #[test]
    fn a_waiter_wakes_when_an_item_arrives_and_sees_the_close_after_the_items() {
        let q: Arc<Queue<u32>> = Arc::default();
        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            q2.push(1);
            q2.push(2);
            q2.close();
        });
        let mut got = Vec::new();
        while let Some(item) = q.wait_for(None, next_item).flatten() {
            got.push(item);
        }
        t.join().unwrap();
        assert_eq!(got, [1, 2]);
    }

    #[test]
    fn a_batch_reaches_a_sleeping_waiter_at_once_and_counts_against_the_limit() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new((), 100));
        let q2 = Arc::clone(&q);
        let waiter =
            std::thread::spawn(move || q2.wait_for(None, |inner| (inner.items.len() == 3).then(|| inner.drain_all())));
        while lock(&q.inner).waiting == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (a, b) = (ConnId { index: 1, generation: 0 }, ConnId { index: 2, generation: 0 });
        let mut batch = Batch::default();
        assert!(!q.stage(&mut batch, Some(a), 60));
        assert!(!q.stage(&mut batch, None, 50), "over the limit, but not from a connection");
        assert!(q.stage(&mut batch, Some(b), 10), "over the limit: hand over now");
        assert_eq!(q.load(), (0, 0), "nothing is visible before the hand-over");
        assert_eq!(q.push_batch(&mut batch).collect::<Vec<_>>(), [b]);
        assert!(q.push_batch(&mut batch).next().is_none(), "the batch is empty again");
        assert_eq!(waiter.join().unwrap(), Some(vec![60, 50, 10]), "in order, with one wake-up");
        assert_eq!(q.load(), (0, 1), "taken, and b is still paused until resumed");
    }

    #[test]
    fn a_deadline_ends_the_wait_with_none() {
        let q: Queue<u32> = Queue::default();
        let start = Instant::now();
        assert!(q.wait_for(Some(start + Duration::from_millis(30)), next_item).is_none());
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
