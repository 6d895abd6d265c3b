//! A small pseudo-random generator for the load: frame sizes drawn from a
//! `--size` range and the exponential gaps of `--arrival poisson`. The
//! bench needs numbers that are cheap and spread evenly, not secret ones,
//! so SplitMix64 (Steele, Lea and Flood, 2014) does, in a few lines, with
//! no dependency.

/// SplitMix64: a 64-bit state advanced by a constant, then mixed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `seed` (a connection's id, say): different
    /// seeds give unrelated sequences.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng(seed ^ 0x853c_49e6_748f_ea9b);
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `min..=max`.
    pub fn between(&mut self, min: usize, max: usize) -> usize {
        if min >= max {
            return min;
        }
        let span = (max - min) as u64 + 1;
        // Multiply-shift instead of `%`: no modulo bias worth the name for
        // spans far below 2^64, and no division.
        min + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as usize
    }

    /// Uniform in [0, 1): the top 53 bits, as many as an f64 holds.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An exponential variate of mean `mean` (inverse transform): the gap
    /// to the next arrival of a Poisson process of rate 1/mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - unit() is in (0, 1]: its logarithm is finite.
        -mean * (1.0 - self.unit()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_stays_in_range_and_reaches_both_ends() {
        let mut rng = Rng::new(1);
        let (mut low, mut high) = (false, false);
        for _ in 0..10_000 {
            let n = rng.between(64, 70);
            assert!((64..=70).contains(&n));
            low |= n == 64;
            high |= n == 70;
        }
        assert!(low && high);
        assert_eq!(rng.between(5, 5), 5);
    }

    #[test]
    fn exponential_gaps_have_the_mean_asked_for() {
        let mut rng = Rng::new(7);
        let n = 200_000;
        let mean = (0..n).map(|_| rng.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((mean - 2.0).abs() < 0.02, "{mean}");
    }

    #[test]
    fn seeds_give_different_sequences() {
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        assert_eq!(Rng::new(3).next_u64(), Rng::new(3).next_u64());
    }
}
