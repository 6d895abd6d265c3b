//! How `frameloop bench` shows numbers: the live progress line and the
//! formatting of counts, rates and durations.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The progress line on stderr: rewritten in place with `\r` on a terminal,
/// a plain line per second otherwise (logs stay readable).
pub struct Progress {
    terminal: bool,
    last_line: Instant,
    last_count: u64,
    last_at: Instant,
    width: usize,
}

impl Progress {
    /// A progress line starting now.
    pub fn new(count: u64) -> Self {
        let now = Instant::now();
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last_line: now,
            last_count: count,
            last_at: now,
            width: 0,
        }
    }

    /// How often [`update`](Self::update) is worth calling.
    pub fn tick(&self) -> Duration {
        if self.terminal {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        }
    }

    /// Shows the rate since the last update; `label` says which phase.
    pub fn update(&mut self, label: &str, elapsed: Duration, count: u64, errors: u64) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_at).as_secs_f64();
        if dt <= 0.0 {
            return;
        }
        let rate = count.saturating_sub(self.last_count) as f64 / dt;
        self.last_count = count;
        self.last_at = now;
        let line = format!(
            "{label:>9} {:>6.1} s  {:>12} msgs/s  {:>14} echoed  {errors} errors",
            elapsed.as_secs_f64(),
            thousands(rate as u64),
            thousands(count)
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let pad = self.width.saturating_sub(line.len());
            let _ = write!(err, "\r{line}{:pad$}", "");
            self.width = line.len();
        } else if now.duration_since(self.last_line) >= Duration::from_millis(900) {
            let _ = writeln!(err, "{line}");
            self.last_line = now;
        }
        let _ = err.flush();
    }

    /// Clears the line (on a terminal), so the report starts on a clean one.
    pub fn finish(&mut self) {
        if self.terminal && self.width > 0 {
            let _ = write!(std::io::stderr(), "\r{:w$}\r", "", w = self.width);
            self.width = 0;
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in nanoseconds, in the unit that suits it.
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
