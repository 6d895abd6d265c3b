//! The plots of `--report`, as SVG (plotters' SVG backend: text is left to
//! the viewer's fonts, so no font is needed to draw them).
//!
//! The latency plot is HdrHistogram's: latency against percentile, the
//! percentile axis logarithmic in 1/(1 - p), so that 90 %, 99 %, 99.9 %...
//! are evenly spaced and the tail gets the room it deserves. The throughput
//! plot is messages per second over the seconds of the window.

use plotters::prelude::*;

use super::histogram::Latency;

/// The plots' size in pixels.
const SIZE: (u32, u32) = (960, 540);
/// The percentile axis ends at 99.999 %: 1/(1 - 0.99999). Points beyond it
/// (and the maximum, at 100 %) are drawn at its end.
const X_MAX: f64 = 1e5;
/// Steps per halving of the distance to 100 %, as in the .hgrm text.
const TICKS_PER_HALF_DISTANCE: u32 = 5;
const FONT: &str = "sans-serif";

/// A series of the latency plot.
pub struct Curve<'a> {
    pub label: &'a str,
    pub latency: &'a Latency,
}

/// A percentile axis position as its label: 1 is 0 %, 10 is 90 %, 100 is
/// 99 %, 1000 is 99.9 %...
fn nines(x: f64) -> String {
    let p = (1.0 - 1.0 / x) * 100.0;
    let decade = x.log10().round();
    if (x - 10f64.powf(decade)).abs() < 1e-6 * x {
        // Exact nines: as many decimals as there are nines past the second.
        let decimals = (decade as usize).saturating_sub(2);
        return format!("{p:.decimals$}%");
    }
    format!("{p:.3}%")
}

/// The unit latencies are shown in, for values up to `max_ns`: µs below a
/// millisecond, else ms.
fn unit(max_ns: u64) -> (&'static str, f64) {
    if max_ns < 1_000_000 {
        ("µs", 1e3)
    } else {
        ("ms", 1e6)
    }
}

/// The points of `h`'s percentile curve: (1/(1-p), latency in `per` ns).
fn curve(h: &Latency, per: f64) -> Vec<(f64, f64)> {
    h.histogram()
        .iter_quantiles(TICKS_PER_HALF_DISTANCE)
        .map(|v| {
            let q = v.quantile_iterated_to();
            let x = if q < 1.0 { (1.0 / (1.0 - q)).min(X_MAX) } else { X_MAX };
            (x, v.value_iterated_to() as f64 / per)
        })
        .collect()
}

/// Latency by percentile: one line per curve.
pub fn latency(curves: &[Curve<'_>], title: &str) -> Result<String, String> {
    let max_ns = curves.iter().map(|c| c.latency.max()).max().unwrap_or(0);
    let (unit, per) = unit(max_ns);
    let y_max = (max_ns as f64 / per * 1.05).max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 24))
            .margin(20)
            // Room for the last percentile label, centred on the axis' end.
            .margin_right(48)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d((1.0..X_MAX).log_scale(), 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| nines(*x))
            .x_desc("percentile")
            .y_desc(format!("latency ({unit})"))
            .axis_desc_style((FONT, 18))
            .label_style((FONT, 15))
            .draw()
            .map_err(|e| e.to_string())?;
        let colours = [RED, BLUE, GREEN];
        for (c, colour) in curves.iter().zip(colours.iter().cycle()) {
            let colour = *colour;
            chart
                .draw_series(LineSeries::new(curve(c.latency, per), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(c.label)
                .legend(legend_mark(colour));
        }
        // Lower right: the curves are low on the left and high on the right.
        legend(&mut chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A series of the throughput plot: (seconds into the window, per second),
/// drawn in order, the first on the bottom.
pub struct Line<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
    pub colour: RGBColor,
}

/// The plots' colours.
pub const RED: RGBColor = RGBColor(200, 30, 30);
pub const BLUE: RGBColor = RGBColor(30, 90, 200);
pub const GREY: RGBColor = RGBColor(140, 140, 140);
pub const GREEN: RGBColor = RGBColor(20, 140, 60);

/// Events per second over time, one line per series; `y_desc` names the
/// events and the unit.
pub fn throughput(lines: &[Line<'_>], secs: f64, title: &str, y_desc: &str) -> Result<String, String> {
    let y_max = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0, f64::max).max(1.0) * 1.1;
    let x_max = secs.max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 24))
            .margin(20)
            .x_label_area_size(56)
            .y_label_area_size(96)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time into the measured window (s)")
            .y_desc(y_desc)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .axis_desc_style((FONT, 18))
            .label_style((FONT, 15))
            .draw()
            .map_err(|e| e.to_string())?;
        for l in lines {
            let colour = l.colour;
            chart
                .draw_series(LineSeries::new(l.points.iter().copied(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(l.label)
                .legend(legend_mark(colour));
        }
        legend(&mut chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A series' mark in the legend: a short line in its colour.
fn legend_mark(colour: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2))
}

/// The legend of both plots, in the lower right corner.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, DB, CT>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_axis_is_labelled_in_nines() {
        let labels: Vec<String> = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5].into_iter().map(nines).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        assert_eq!(nines(2.0), "50.000%");
    }

    #[test]
    fn plots_are_svg_documents() {
        let mut h = Latency::default();
        for v in 1..=10_000u64 {
            h.record(v * 100);
        }
        let svg = latency(&[Curve { label: "corrected", latency: &h }], "latency").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("latency (ms)") && svg.contains("99.9%") && svg.contains("corrected"));
        let line = Line { label: "msgs/s", points: vec![(0.5, 10.0), (1.5, 12.0)], colour: BLUE };
        let svg = throughput(&[line], 2.0, "throughput", "messages per second").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("messages per second"));
    }
}
