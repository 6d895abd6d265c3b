//! What happened in each second of the measured window: echoes received,
//! connections opened (`--churn`) and the latencies of those echoes, so a
//! stall shows where it happened and the throughput plot has its points.
//! A second is counted by when the echo arrived, from the window's start.

use std::time::Duration;

use super::histogram::Latency;

/// One second of the window.
#[derive(Clone, Debug)]
pub struct Second {
    /// Echoes received in it.
    pub msgs: u64,
    /// Connections established in it (`--churn`).
    pub connects: u64,
    /// The latencies of its echoes (the corrected ones with `--rate`).
    pub latency: Latency,
}

impl Default for Second {
    fn default() -> Self {
        Second { msgs: 0, connects: 0, latency: Latency::coarse() }
    }
}

/// The seconds of one client thread, or of all of them merged.
#[derive(Clone, Debug, Default)]
pub struct Series {
    seconds: Vec<Second>,
}

impl Series {
    /// The second that `at` (from the window's start) falls in, created
    /// (with the ones before it) if new.
    fn second(&mut self, at: Duration) -> &mut Second {
        let i = at.as_secs() as usize;
        if self.seconds.len() <= i {
            self.seconds.resize_with(i + 1, Second::default);
        }
        &mut self.seconds[i]
    }

    /// An echo received `at` into the window, with latency `ns`.
    pub fn echo(&mut self, at: Duration, ns: u64) {
        let second = self.second(at);
        second.msgs += 1;
        second.latency.record(ns);
    }

    /// A connection established `at` into the window.
    pub fn connect(&mut self, at: Duration) {
        self.second(at).connects += 1;
    }

    /// Adds `other` second by second: counts summed, histograms added.
    pub fn merge(&mut self, other: &Series) {
        if self.seconds.len() < other.seconds.len() {
            self.seconds.resize_with(other.seconds.len(), Second::default);
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(&other.seconds) {
            mine.msgs += theirs.msgs;
            mine.connects += theirs.connects;
            mine.latency.merge(&theirs.latency);
        }
    }

    /// The seconds, from the first; a run of `secs` seconds has at most
    /// `ceil(secs)` of them, the last one partial when `secs` is not whole.
    pub fn seconds(&self) -> &[Second] {
        &self.seconds
    }
}

/// The seconds of a window of `secs` seconds, each with its length: 1, or
/// less for a last, partial one.
pub fn spans(secs: f64) -> impl Iterator<Item = (usize, f64)> {
    (0..secs.ceil() as usize).map(move |i| (i, (secs - i as f64).clamp(0.0, 1.0)))
}

/// `count` events in a second `span` long, per second.
pub fn per_second(count: u64, span: f64) -> f64 {
    if span > 0.0 {
        count as f64 / span
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_second_by_second() {
        let (mut a, mut b) = (Series::default(), Series::default());
        a.echo(Duration::from_millis(100), 1_000);
        a.echo(Duration::from_millis(1_500), 2_000);
        b.echo(Duration::from_millis(1_200), 3_000_000);
        b.echo(Duration::from_millis(2_900), 4_000);
        b.connect(Duration::from_millis(2_100));
        a.merge(&b);
        let msgs: Vec<u64> = a.seconds().iter().map(|s| s.msgs).collect();
        assert_eq!(msgs, [1, 2, 1]);
        assert_eq!(a.seconds()[2].connects, 1);
        assert!(a.seconds()[1].latency.max() > 2_900_000);
        assert_eq!(a.seconds()[1].latency.len(), 2);
    }
}
