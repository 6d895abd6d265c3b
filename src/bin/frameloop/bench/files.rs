//! What `--hgrm`, `--json` and `--report` write once a run is over: the
//! latency distribution as HdrHistogram text, the summary as JSON, and a
//! report folder with both, the two plots and a page that shows them.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::json;
use super::options::Options;
use super::plot::{self, Curve, Line};
use super::series;
use super::Measured;

/// Writes the files `opts` asks for about the run that measured `m`.
pub fn write(opts: &Options, m: &Measured) -> Result<(), String> {
    if let Some(path) = &opts.hgrm {
        save(path, &super::hgrm::text(m.latency().histogram()))?;
    }
    let summary = || {
        // A Value always serializes.
        serde_json::to_string_pretty(&json::summary(opts, m)).unwrap_or_default() + "\n"
    };
    if let Some(path) = &opts.json {
        save(path, &summary())?;
    }
    let Some(dir) = &opts.report else { return Ok(()) };
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    save(&dir.join("summary.json"), &summary())?;
    save(&dir.join("latency.hgrm"), &super::hgrm::text(m.latency().histogram()))?;
    if let Some(u) = &m.total.uncorrected {
        save(&dir.join("latency-uncorrected.hgrm"), &super::hgrm::text(u.histogram()))?;
    }
    let curves: Vec<Curve<'_>> = match &m.total.uncorrected {
        Some(u) => vec![
            Curve { label: "corrected: from the intended send time", latency: m.latency() },
            Curve { label: "uncorrected: from the actual write", latency: u },
        ],
        None => vec![Curve { label: "from the write", latency: m.latency() }],
    };
    let title = format!("frameloop bench, {}: latency by percentile", json::mode(opts).replace('_', " "));
    save(&dir.join("latency.svg"), &plot::latency(&curves, &title)?)?;
    save(&dir.join("throughput.svg"), &throughput_svg(opts, m)?)?;
    save(&dir.join("index.html"), &index(opts, m))?;
    println!("report       {}/index.html", dir.display());
    Ok(())
}

fn save(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The throughput plot: echoes per second (and with `--churn` connects
/// per second) at the middle of each second, and the requested rate.
fn throughput_svg(opts: &Options, m: &Measured) -> Result<String, String> {
    let secs = m.elapsed.as_secs_f64();
    let seconds = m.total.series.seconds();
    // A last part of a second shorter than this is left out: a few echoes
    // in a few milliseconds make a rate that means nothing.
    let shown = |&(i, span): &(usize, f64)| i == 0 || span >= 0.25;
    let rates = |count: fn(&series::Second) -> u64| -> Vec<(f64, f64)> {
        let point = |(i, span): (usize, f64)| {
            (i as f64 + span / 2.0, series::per_second(seconds.get(i).map_or(0, count), span))
        };
        series::spans(secs).filter(shown).map(point).collect()
    };
    let mut lines = Vec::new();
    // The requested rate first, so the achieved one is drawn over it.
    if let Some(rate) = opts.rate {
        lines.push(Line { label: "requested (--rate)", points: vec![(0.0, rate), (secs, rate)], colour: plot::GREY });
    }
    lines.push(Line { label: "echoes per second", points: rates(|s| s.msgs), colour: plot::BLUE });
    if opts.churn.is_some() {
        lines.push(Line { label: "connects per second", points: rates(|s| s.connects), colour: plot::GREEN });
    }
    let title = format!("frameloop bench, {}: throughput", json::mode(opts).replace('_', " "));
    let y_desc = if opts.churn.is_some() { "per second (echoes, connects)" } else { "echoes per second" };
    plot::throughput(&lines, secs, &title, y_desc)
}

/// `s` with HTML's special characters escaped.
fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report's page: the key numbers, both plots, links to the data.
fn index(opts: &Options, m: &Measured) -> String {
    let summary = json::summary(opts, m);
    let mut rows = String::new();
    let mut row = |name: &str, value: String| {
        let _ = writeln!(rows, "<tr><th>{}</th><td>{}</td></tr>", html(name), html(&value));
    };
    let lat = |key: &str| {
        let l = &summary[key];
        if l.is_null() {
            return None;
        }
        let f = |k: &str| l[k].as_f64().map_or("-".to_owned(), |v| format!("{v:.1}"));
        Some(format!(
            "p50 {}, p90 {}, p99 {}, p99.9 {}, p99.99 {}, max {}",
            f("p50"),
            f("p90"),
            f("p99"),
            f("p99_9"),
            f("p99_99"),
            f("max")
        ))
    };
    row("messages per second", format!("{:.0}", m.rate()));
    if let Some(rate) = opts.rate {
        row("requested", format!("{rate:.0}"));
    }
    if let Some(l) = lat("latency_us") {
        let name = if opts.rate.is_some() { "latency, corrected (µs)" } else { "latency (µs)" };
        row(name, l);
    }
    if let Some(l) = lat("uncorrected_latency_us") {
        row("latency, uncorrected (µs)", l);
    }
    if let Some(l) = lat("connect_latency_us") {
        row("connect latency (µs)", l);
    }
    row("errors", m.errors().to_string());
    let config = serde_json::to_string_pretty(&summary["config"]).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>frameloop bench report</title>\n\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}th{{text-align:left;padding-right:1em}}\
         img{{width:100%;border:1px solid #ccc;margin:1em 0}}</style>\n</head>\n<body>\n\
         <h1>frameloop bench report</h1>\n<table>\n{rows}</table>\n\
         <h2>Latency by percentile</h2>\n<img src=\"latency.svg\" alt=\"latency by percentile\">\n\
         <h2>Throughput</h2>\n<img src=\"throughput.svg\" alt=\"messages per second over time\">\n\
         <p>Data: <a href=\"summary.json\">summary.json</a>, <a href=\"latency.hgrm\">latency.hgrm</a> \
         (HdrHistogram text, milliseconds).</p>\n<h2>Configuration</h2>\n<pre>{}</pre>\n</body>\n</html>\n",
        html(&config)
    )
}
