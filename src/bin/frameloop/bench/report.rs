//! How `frameloop bench` shows numbers: the live progress line (indicatif)
//! and the formatting of durations.

use std::time::{Duration, Instant};

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the progress line is worth updating.
pub const TICK: Duration = Duration::from_millis(250);

/// The progress line on stderr: a bar through the current phase with the
/// live rate. indicatif draws it only when stderr is a terminal, so output
/// piped to a file or read by a test is just the report.
pub struct Progress {
    bar: ProgressBar,
    last_count: u64,
    last_at: Instant,
}

impl Progress {
    /// A progress line, drawn at most 4 times a second.
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        // `wide_msg`: the message is cut to the terminal's width rather than
        // wrapped onto a second line. The template is constant and valid;
        // were it refused, the default style would do.
        if let Ok(style) = ProgressStyle::with_template("{prefix:>9} [{bar:20}] {wide_msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar, last_count: 0, last_at: Instant::now() }
    }

    /// Starts the phase `label`, which lasts `length`.
    pub fn phase(&mut self, label: &'static str, length: Duration) {
        // Label first: each of these calls may draw.
        self.bar.set_prefix(label);
        self.bar.set_message("");
        self.bar.set_length(length.as_millis().try_into().unwrap_or(u64::MAX));
        self.bar.reset();
        self.last_at = Instant::now();
    }

    /// Shows the rate since the last update: `count` echoes (and `errors`)
    /// so far, `elapsed` into the phase.
    pub fn update(&mut self, elapsed: Duration, count: u64, errors: u64) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_at).as_secs_f64();
        if dt <= 0.0 {
            return;
        }
        let rate = count.saturating_sub(self.last_count) as f64 / dt;
        self.last_count = count;
        self.last_at = now;
        let msg = format!(
            "{:>4.1} s  {:>9} msgs/s  {:>11} echoed  {errors} errors",
            elapsed.as_secs_f64(),
            HumanCount(rate as u64).to_string(),
            HumanCount(count).to_string()
        );
        // The message first: setting the position may draw.
        self.bar.set_message(msg);
        self.bar.set_position(elapsed.as_millis().try_into().unwrap_or(u64::MAX));
    }

    /// Clears the line, so the report starts on a clean one.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    HumanCount(n).to_string()
}

/// A duration in nanoseconds, in the unit that suits it. Written here
/// because indicatif's `HumanDuration` speaks in whole units ("2 seconds")
/// and latencies need ns, µs and ms with decimals.
pub fn nanos(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        _ => format!("{:.2} ms", ns as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_durations_scaled() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(nanos(850), "850 ns");
        assert_eq!(nanos(12_345), "12.3 µs");
        assert_eq!(nanos(1_081_300), "1.08 ms");
    }
}
