//! The open loop of `--rate`: when each connection's next message is due,
//! and waking up on time to send it.
//!
//! Each connection has a schedule of its own, rate / connections messages
//! per second, so that the connections' messages interleave evenly (their
//! starts are staggered by 1 / rate) and a slow connection does not hold
//! the others back. The intended send times follow the schedule whatever
//! the replies do; latency counts from them ("corrected for coordinated
//! omission", as wrk2 does), so a message that had to wait for its
//! connection is charged for the wait.
//!
//! Being on time matters: a message sent late is charged for the lateness
//! as if the server had caused it. `mio` waits in whole milliseconds, and a
//! sleeping thread wakes late (by 0.1 ms typically, by a millisecond at
//! times on a virtual machine, where a sleeping CPU is slow to wake), so a
//! client thread sleeps only until [`SPIN`] before its next message is due
//! and polls without sleeping from there. That costs CPU (a whole core at
//! rates where messages are less than [`SPIN`] apart), but replies are
//! seen as they come and messages leave on time. (A thread that slept
//! precisely and woke the poller was tried: every wake-up crossing threads
//! added hundreds of microseconds on a virtual machine.)

use std::time::{Duration, Instant};

use super::options::Arrival;
use super::rng::Rng;

/// The last stretch before a message is due, spent polling for events
/// without sleeping: more than a sleep usually overshoots, so that the
/// thread is awake before the time.
pub const SPIN: Duration = Duration::from_millis(1);
/// A message written this long after its intended time was sent late: its
/// connection was full (see `--depth`), or the client could not keep up.
pub const LATE: Duration = Duration::from_millis(1);

/// The rate of a run and what every connection's schedule starts from.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Messages per second, all connections together.
    pub rate: f64,
    /// Connections, all client threads together.
    pub conns: usize,
    pub arrival: Arrival,
    /// The time the schedules count from, the same for every thread.
    pub epoch: Instant,
}

/// One connection's schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// When the next message is due, in seconds from the epoch: an `f64`
    /// so that a constant schedule does not drift by rounding.
    at: f64,
    /// Mean seconds between two of this connection's messages.
    gap: f64,
    /// Messages of a constant schedule so far (`at` is `start + n * gap`).
    n: u64,
    start: f64,
    arrival: Arrival,
    epoch: Instant,
    rng: Rng,
}

impl Schedule {
    /// The schedule of connection `index` (of `pace.conns`).
    pub fn new(pace: &Pace, index: usize) -> Self {
        let gap = pace.conns as f64 / pace.rate;
        let mut rng = Rng::new(0x5eed ^ index as u64);
        // Constant: staggered, so that the connections take turns one
        // 1/rate apart. Poisson: a first gap like any other.
        let start = match pace.arrival {
            Arrival::Constant => index as f64 / pace.rate,
            Arrival::Poisson => rng.exponential(gap),
        };
        Schedule { at: start, gap, n: 0, start, arrival: pace.arrival, epoch: pace.epoch, rng }
    }

    /// When the next message is due.
    pub fn due(&self) -> Instant {
        self.epoch + Duration::from_secs_f64(self.at)
    }

    /// Moves on to the message after the one due now.
    pub fn advance(&mut self) {
        match self.arrival {
            Arrival::Constant => {
                self.n += 1;
                self.at = self.start + self.n as f64 * self.gap;
            }
            Arrival::Poisson => self.at += self.rng.exponential(self.gap),
        }
    }
}

/// How long the poller may wait for events when the next event is due at
/// `due` (if any): up to [`SPIN`] before it, in whole milliseconds rounded
/// down (mio rounds up, and waking early costs one more turn while waking
/// late costs latency), zero from there on.
pub fn poll_timeout(due: Option<Instant>, now: Instant, longest: Duration) -> Duration {
    let Some(due) = due else { return longest };
    let wait = due.saturating_duration_since(now).saturating_sub(SPIN);
    Duration::from_millis(wait.as_millis() as u64).min(longest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(arrival: Arrival) -> Pace {
        Pace { rate: 1000.0, conns: 10, arrival, epoch: Instant::now() }
    }

    #[test]
    fn constant_schedules_interleave_one_gap_apart() {
        let p = pace(Arrival::Constant);
        let mut a = Schedule::new(&p, 0);
        let b = Schedule::new(&p, 1);
        // 1000 msgs/s over 10 connections: 100/s each, staggered by 1 ms.
        assert_eq!(b.due() - a.due(), Duration::from_millis(1));
        let first = a.due();
        for _ in 0..1000 {
            a.advance();
        }
        let span = (a.due() - first).as_secs_f64();
        assert!((span - 10.0).abs() < 1e-9, "{span}");
    }

    #[test]
    fn poisson_schedules_keep_the_mean_rate() {
        let p = pace(Arrival::Poisson);
        let mut s = Schedule::new(&p, 3);
        let first = s.due();
        for _ in 0..100_000 {
            s.advance();
        }
        let per_second = 100_000.0 / (s.due() - first).as_secs_f64();
        assert!((per_second - 100.0).abs() < 1.5, "{per_second}");
    }

    #[test]
    fn short_waits_spin_and_long_ones_poll_whole_milliseconds() {
        let now = Instant::now();
        let longest = Duration::from_millis(50);
        let after = |us| poll_timeout(Some(now + Duration::from_micros(us)), now, longest);
        assert_eq!(poll_timeout(None, now, longest), longest);
        assert_eq!(poll_timeout(Some(now), now, longest), Duration::ZERO);
        assert_eq!(after(1_900), Duration::ZERO);
        assert_eq!(after(3_900), Duration::from_millis(2));
        assert_eq!(after(9_000_000), longest);
    }
}
