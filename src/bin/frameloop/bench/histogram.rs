//! Latencies, recorded in an HdrHistogram: constant memory, O(1) recording,
//! every quantile (p99.999 included) within 0.1 % of the true value, and
//! the histograms of several client threads merged by adding their counts.

use hdrhistogram::Histogram;

/// Nothing below 1 ns is measured.
const LOWEST_NS: u64 = 1;
/// Larger values are recorded as this: a minute is far past any echo that
/// counts (a ping-pong echo fails after 5 s).
const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept: 3 is 0.1 %.
pub const DIGITS: u8 = 3;
/// Digits of the histograms of single seconds ([`Latency::coarse`]): 1 %
/// is plenty for a p99 over time, at an eighth of the memory.
const COARSE_DIGITS: u8 = 2;

/// The latencies (in nanoseconds) one client thread, or all of them, saw.
#[derive(Clone, Debug)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        // The bounds are constants that HdrHistogram accepts.
        Latency(Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, DIGITS).expect("valid histogram bounds"))
    }
}

impl Latency {
    /// An empty histogram that keeps 2 significant digits instead of 3:
    /// one per second of a run adds up.
    pub fn coarse() -> Self {
        // The bounds are constants that HdrHistogram accepts.
        Latency(Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, COARSE_DIGITS).expect("valid histogram bounds"))
    }

    /// The HdrHistogram itself, for the text distribution and the plots.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.0
    }

    /// Records one latency; one past the highest trackable value counts as
    /// the highest.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.0.saturating_record(ns);
    }

    /// Adds every latency of `other`: the merged quantiles are those of all
    /// the values together (averaging two threads' p99 would not be).
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so every value fits.
        let _ = self.0.add(&other.0);
    }

    /// Forgets every latency.
    pub fn clear(&mut self) {
        self.0.reset();
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// The largest latency recorded (0 when none was).
    pub fn max(&self) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.max()
        }
    }

    /// The latency below which a fraction `q` (0..=1) of them lie (0 when
    /// none was recorded).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_a_uniform_range_are_within_a_thousandth() {
        let mut h = Latency::default();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let near = |q: f64, want: f64| {
            let got = h.quantile(q) as f64;
            assert!((got / want - 1.0).abs() < 0.001, "p{}: {got}, want {want}", q * 100.0);
        };
        near(0.5, 50_000_000.0);
        near(0.99, 99_000_000.0);
        near(0.99999, 99_999_000.0);
        near(1.0, 100_000_000.0);
        assert_eq!(h.len(), 100_000);
    }

    #[test]
    fn merging_adds_counts_instead_of_averaging_quantiles() {
        // Two threads: one always fast, one always slow.
        let (mut fast, mut slow) = (Latency::default(), Latency::default());
        for _ in 0..900 {
            fast.record(1_000);
        }
        for _ in 0..100 {
            slow.record(1_000_000);
        }
        fast.merge(&slow);
        assert_eq!(fast.len(), 1000);
        // 90 % of all the values are fast; the p95 is one of the slow ones.
        assert!(fast.quantile(0.9) < 1_002);
        assert!(fast.quantile(0.95) > 999_000);
        assert!(fast.max() > 999_000);
    }

    #[test]
    fn an_empty_histogram_says_zero_and_huge_values_saturate() {
        let mut h = Latency::default();
        assert_eq!((h.len(), h.max(), h.quantile(0.99)), (0, 0, 0));
        h.record(u64::MAX);
        assert_eq!(h.len(), 1);
        assert!(h.max() >= HIGHEST_NS);
        h.clear();
        assert_eq!(h.len(), 0);
    }
}
