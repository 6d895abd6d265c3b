//! The one back-off rule of frameloop: a wait that starts at `first`,
//! doubles after each further failure up to `max`, and starts over after a
//! success. The reactor waits this way to accept again after a resource
//! error, and a client to reconnect.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    /// The last wait given since the last success.
    current: Option<Duration>,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        Backoff { first, max, current: None }
    }

    /// The wait after one more failure.
    pub(crate) fn next(&mut self) -> Duration {
        let next = match self.current {
            None => self.first,
            Some(d) => d.saturating_mul(2),
        }
        .min(self.max);
        self.current = Some(next);
        next
    }

    /// A success: the next failure waits `first` again.
    pub(crate) fn reset(&mut self) {
        self.current = None;
    }

    /// The last wait given since the last success, if any.
    pub(crate) fn current(&self) -> Option<Duration> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum_and_starts_over_after_a_success() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(5), ms(30));
        assert_eq!(b.current(), None);
        let waits: Vec<_> = (0..5).map(|_| b.next()).collect();
        assert_eq!(waits, [ms(5), ms(10), ms(20), ms(30), ms(30)]);
        b.reset();
        assert_eq!((b.current(), b.next()), (None, ms(5)));
        assert_eq!(Backoff::new(Duration::MAX, ms(1)).next(), ms(1), "never above the maximum");
    }
}
