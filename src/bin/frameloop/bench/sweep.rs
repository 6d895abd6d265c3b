//! `frameloop bench --sizes`: one run per payload size, each with its usual
//! report, then a table with a row per size. The table is for scripts as
//! much as for people: one header line that starts with `size`, then one
//! line per size, in fixed columns of single words (no thousands
//! separators, no units inside a cell; the units are in the header).

use std::fmt::Write;

use super::options::Options;
use super::{intact, load, Measured};

/// The table's columns: header and width. The first is left-aligned, so
/// the header line starts with `size`; the others are numbers,
/// right-aligned.
const COLUMNS: [(&str, usize); 9] = [
    ("size", 10),
    ("conns", 5),
    ("depth", 5),
    ("msgs/s", 10),
    ("MB/s_each_way", 13),
    ("server_ns/msg", 13),
    ("p50_us", 9),
    ("p99_us", 9),
    ("errors", 6),
];

/// Runs each of `runs` in turn, printing its report, then the table; fails
/// if any run's echoes came back wrong, after the table, so that the other
/// sizes' numbers are still shown.
pub fn run(runs: &[Options]) -> Result<(), String> {
    let mut rows = Vec::with_capacity(runs.len());
    for (i, opts) in runs.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let measured = load(opts)?;
        rows.push(Row::new(opts, &measured));
    }
    println!();
    println!(
        "sweep: size in payload bytes, conns x depth frames in flight, MB/s of payload each way (10^6 B/s), \
         server CPU in ns per message (- when not measured), latency in µs"
    );
    println!("{}", line(COLUMNS.map(|(header, _)| header.to_owned())));
    for row in &rows {
        println!("{}", line(row.cells()));
    }
    intact(rows.iter().map(|r| r.errors).sum())
}

/// One size's line of the table.
struct Row {
    size: usize,
    conns: usize,
    depth: usize,
    /// Whole messages per second, cut as the report cuts them.
    rate: u64,
    mb_per_s: f64,
    server_ns: Option<f64>,
    p50_ns: u64,
    p99_ns: u64,
    errors: u64,
}

impl Row {
    /// The row of the run `opts` that measured `m`; the numbers are the
    /// ones its report printed.
    fn new(opts: &Options, m: &Measured) -> Self {
        Row {
            size: opts.size,
            conns: opts.conns,
            depth: opts.depth,
            rate: m.rate() as u64,
            mb_per_s: m.mb_per_s(opts.size),
            server_ns: m.server_ns_per_msg(),
            p50_ns: m.latency().quantile(0.50),
            p99_ns: m.latency().quantile(0.99),
            errors: m.errors(),
        }
    }

    /// The cells, in the order of [`COLUMNS`].
    fn cells(&self) -> [String; 9] {
        let micros = |ns: u64| format!("{:.1}", ns as f64 / 1e3);
        [
            self.size.to_string(),
            self.conns.to_string(),
            self.depth.to_string(),
            self.rate.to_string(),
            format!("{:.1}", self.mb_per_s),
            self.server_ns.map_or_else(|| "-".to_owned(), |ns| format!("{ns:.0}")),
            micros(self.p50_ns),
            micros(self.p99_ns),
            self.errors.to_string(),
        ]
    }
}

/// `cells` laid out in the widths of [`COLUMNS`], two spaces apart; a cell
/// wider than its column pushes the rest right but stays one word.
fn line(cells: [String; 9]) -> String {
    let mut out = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(COLUMNS).enumerate() {
        // Writing to a String cannot fail.
        let _ = if i == 0 { write!(out, "{cell:<width$}") } else { write!(out, "  {cell:>width$}") };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_in_single_words() {
        let row = Row {
            size: 1 << 20,
            conns: 4,
            depth: 2,
            rate: 2345,
            mb_per_s: 2459.3,
            server_ns: None,
            p50_ns: 1_234_567,
            p99_ns: 2_000_000,
            errors: 0,
        };
        let header = line(COLUMNS.map(|(h, _)| h.to_owned()));
        let body = line(row.cells());
        assert!(header.starts_with("size "), "{header}");
        assert_eq!(header.len(), body.len(), "\n{header}\n{body}");
        let words: Vec<&str> = body.split_whitespace().collect();
        assert_eq!(words, ["1048576", "4", "2", "2345", "2459.3", "-", "1234.6", "2000.0", "0"]);
        assert_eq!(header.split_whitespace().count(), words.len());
    }
}
