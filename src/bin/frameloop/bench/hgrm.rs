//! A latency histogram as HdrHistogram's percentile distribution text, the
//! `.hgrm` format of `AbstractHistogram.outputPercentileDistribution` (and
//! of wrk2's `--latency` spectrum), which HdrHistogram's plotter and other
//! tools read: a header, one line per percentile step (value, percentile,
//! count so far, 1/(1-percentile)), a last line at 100 % without the last
//! column, and three `#[...]` lines of totals. The hdrhistogram crate
//! serializes histograms only in HdrHistogram's binary form, so this is
//! written here, column for column as the Java original formats them.

use std::fmt::Write;

use hdrhistogram::Histogram;

use super::histogram::DIGITS;

/// Steps per halving of the distance to 100 %, as HdrHistogram's own
/// tools and wrk2 use.
const TICKS_PER_HALF_DISTANCE: u32 = 5;
/// Nanoseconds per unit of the output: milliseconds, the unit of wrk2's
/// output and of HdrHistogram's plotter.
pub const NS_PER_UNIT: f64 = 1e6;

/// The distribution of `h` (values in nanoseconds) in milliseconds.
pub fn text(h: &Histogram<u64>) -> String {
    let decimals = usize::from(DIGITS);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{:>12} {:>14} {:>10} {:>14}\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    let mut total = 0u64;
    for v in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        total += v.count_since_last_iteration();
        let value = v.value_iterated_to() as f64 / NS_PER_UNIT;
        let q = v.quantile_iterated_to();
        if q < 1.0 {
            let _ = writeln!(out, "{value:12.decimals$} {q:2.12} {total:10} {:14.2}", 1.0 / (1.0 - q));
        } else {
            let _ = writeln!(out, "{value:12.decimals$} {q:2.12} {total:10}");
        }
    }
    let (mean, stdev, max) = (h.mean() / NS_PER_UNIT, h.stdev() / NS_PER_UNIT, h.max() as f64 / NS_PER_UNIT);
    let _ = writeln!(out, "#[Mean    = {mean:12.decimals$}, StdDeviation   = {stdev:12.decimals$}]");
    let _ = writeln!(out, "#[Max     = {max:12.decimals$}, Total count    = {:12}]", h.len());
    // The crate keeps its sub-bucket count to itself; its counts array is
    // (buckets + 1) halves of it, as in the Java original.
    let sub_buckets = 2 * h.distinct_values() / (usize::from(h.buckets()) + 1);
    let _ = writeln!(out, "#[Buckets = {:12}, SubBuckets     = {:12}]", h.buckets(), sub_buckets);
    out
}

#[cfg(test)]
mod tests {
    use super::super::histogram::Latency;
    use super::*;

    #[test]
    fn the_text_has_hdrhistograms_columns_and_totals() {
        let mut h = Latency::default();
        for v in 1..=1000u64 {
            h.record(v * 1_000); // 1 µs to 1 ms
        }
        let text = text(h.histogram());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "       Value     Percentile TotalCount 1/(1-Percentile)");
        assert_eq!(lines[1], "");
        // 0.001 ms, the first value, at percentile 0.
        assert_eq!(lines[2], "       0.001 0.000000000000          1           1.00");
        let last = lines.iter().rfind(|l| !l.starts_with('#')).unwrap();
        let cols: Vec<&str> = last.split_whitespace().collect();
        assert_eq!(cols.len(), 3, "{last}");
        assert_eq!((cols[1], cols[2]), ("1.000000000000", "1000"));
        assert!(cols[0].starts_with("1.00"), "{last}");
        let n = lines.len();
        assert!(lines[n - 3].starts_with("#[Mean    =        0.50"), "{}", lines[n - 3]);
        assert!(lines[n - 2].ends_with("Total count    =         1000]"), "{}", lines[n - 2]);
        assert!(lines[n - 1].starts_with("#[Buckets = "), "{}", lines[n - 1]);
        assert!(lines[n - 1].ends_with("SubBuckets     =         2048]"), "{}", lines[n - 1]);
        // Percentiles rise, as do the counts.
        let rows: Vec<Vec<f64>> =
            lines[2..n - 3].iter().map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect()).collect();
        assert!(rows.windows(2).all(|w| w[0][1] <= w[1][1] && w[0][2] <= w[1][2]));
    }
}
