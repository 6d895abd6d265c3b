//! The reactor's timers: one ordered map of deadlines.
//!
//! Connection deadlines (idle timeout, message deadline) are armed lazily: a
//! connection has at most one entry, and when it fires the connection's
//! real deadline is checked again and the entry re-armed if activity moved
//! it. Activity itself only stores the loop turn's time, so a busy
//! connection costs no timer work per message.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::handler::TimerId;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// A timer of the handler's.
    User(TimerId),
    /// Check the deadlines of the connection at this slab key and generation.
    Conn { key: usize, generation: u32 },
    /// Try accepting again after a resource error.
    AcceptRetry,
    /// A graceful stop ran out of time. The number tells which stop, so a
    /// deadline left over from an earlier `run` cannot cut a later one short.
    StopDeadline(u64),
    /// A lingering socket's deadline (see `linger.rs`).
    Linger(usize),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// Keyed by deadline, then a sequence number that keeps keys unique and
    /// timers set for the same instant in the order they were set.
    queue: BTreeMap<(Instant, u64), TimerKind>,
    /// Deadlines of the live user timers, so a cancel finds its entry.
    user: std::collections::HashMap<u64, Instant>,
    seq: u64,
}

impl Timers {
    pub(crate) fn insert(&mut self, at: Instant, kind: TimerKind) -> u64 {
        self.seq += 1;
        self.queue.insert((at, self.seq), kind);
        self.seq
    }

    pub(crate) fn insert_user(&mut self, at: Instant) -> TimerId {
        let seq = self.seq + 1;
        let id = TimerId(seq);
        self.insert(at, TimerKind::User(id));
        self.user.insert(seq, at);
        id
    }

    /// Cancels a user timer; `false` if it already fired or was cancelled.
    pub(crate) fn cancel_user(&mut self, id: TimerId) -> bool {
        match self.user.remove(&id.0) {
            Some(at) => self.queue.remove(&(at, id.0)).is_some(),
            None => false,
        }
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// Removes and returns the earliest timer, with its deadline, if it is
    /// due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        let entry = self.queue.first_entry()?;
        let at = entry.key().0;
        if at > now {
            return None;
        }
        let kind = entry.remove();
        if let TimerKind::User(id) = kind {
            self.user.remove(&id.0);
        }
        Some((at, kind))
    }
}

/// `now + timeout`, where a timeout too long to represent (such as
/// `Duration::MAX`) means "a century": never, in practice, and no overflow
/// panic on the caller's thread.
pub(crate) fn deadline_after(timeout: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + super::FOREVER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timers_fire_in_deadline_order_and_cancelled_ones_do_not_fire() {
        let now = Instant::now();
        let mut t = Timers::default();
        let late = t.insert_user(now + Duration::from_millis(20));
        let early = t.insert_user(now + Duration::from_millis(10));
        let cancelled = t.insert_user(now + Duration::from_millis(5));
        assert!(t.cancel_user(cancelled));
        assert!(!t.cancel_user(cancelled));
        assert_eq!(t.pop_due(now), None);
        let later = now + Duration::from_millis(30);
        assert_eq!(t.pop_due(later).map(|(_, k)| k), Some(TimerKind::User(early)));
        assert_eq!(t.pop_due(later).map(|(_, k)| k), Some(TimerKind::User(late)));
        assert_eq!(t.pop_due(later), None);
        assert!(!t.cancel_user(late));
    }
}
