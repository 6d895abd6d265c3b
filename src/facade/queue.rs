//! The queue events wait in between the network thread and the caller: a
//! mutex-guarded deque and a condition variable, so a waiting caller sleeps
//! (no busy polling) and wakes the moment an event arrives.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

use super::runtime::lock;

/// Events of type `T`, plus some state `S` that waiting callers look at
/// under the same lock (the client's connection status).
#[derive(Debug)]
pub(crate) struct Queue<T, S = ()> {
    inner: Mutex<Inner<T, S>>,
    cv: Condvar,
}

/// What a waiting caller sees.
#[derive(Debug)]
pub(crate) struct Inner<T, S> {
    pub(crate) items: VecDeque<T>,
    /// The network thread has ended: nothing more will arrive.
    pub(crate) closed: bool,
    pub(crate) state: S,
}

impl<T, S: Default> Default for Queue<T, S> {
    fn default() -> Self {
        Queue::with_state(S::default())
    }
}

impl<T, S> Queue<T, S> {
    /// An empty queue whose waiters look at `state`.
    pub(crate) fn with_state(state: S) -> Self {
        Queue { inner: Mutex::new(Inner { items: VecDeque::new(), closed: false, state }), cv: Condvar::new() }
    }

    /// Appends an event and wakes the waiters.
    pub(crate) fn push(&self, item: T) {
        lock(&self.inner).items.push_back(item);
        self.cv.notify_all();
    }

    /// Changes the state (and maybe the items) and wakes the waiters.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Inner<T, S>) -> R) -> R {
        let r = f(&mut lock(&self.inner));
        self.cv.notify_all();
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
        let mut inner = lock(&self.inner);
        loop {
            if let Some(r) = f(&mut inner) {
                return Some(r);
            }
            match deadline {
                None => inner = self.cv.wait(inner).unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    inner = self.cv.wait_timeout(inner, left).unwrap_or_else(PoisonError::into_inner).0;
                }
            }
        }
    }

    /// Takes every queued item without waiting.
    pub(crate) fn drain(&self) -> Vec<T> {
        lock(&self.inner).items.drain(..).collect()
    }

    /// Reads the state.
    pub(crate) fn state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&lock(&self.inner).state)
    }
}

/// The next item, or `Some(None)` once the queue is closed and empty:
/// the `f` for [`Queue::wait_for`] that plain event readers use.
pub(crate) fn next_item<T, S>(inner: &mut Inner<T, S>) -> Option<Option<T>> {
    match inner.items.pop_front() {
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
    fn a_deadline_ends_the_wait_with_none() {
        let q: Queue<u32> = Queue::default();
        let start = Instant::now();
        assert!(q.wait_for(Some(start + Duration::from_millis(30)), next_item).is_none());
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
