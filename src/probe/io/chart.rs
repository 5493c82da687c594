//! Charts of the `io` probe: the achieved rate per window over time against
//! the configured limit.
//!
//! The probe's cases are `read-bps-<size>`, `write-bps-<size>`, `read-iops-<N>`,
//! `write-iops-<N>`; series `rate` (one value per [`WINDOW_MS`] window, unit
//! `bytes_per_s` or `ops_per_s`), `limit`, `unthrottled` and `achieved` (one
//! value each, same unit).

use super::{PROBE as IO, WINDOW_MS};
use crate::chart::data::{cases, series, value};
use crate::chart::figure::{palette, Axis, Figure, Layer, Style, Swatch, Unit, GRAY, INK};
use crate::record::{CaseResult, Run};

/// Every chart of one run.
pub(super) fn figures(run: &Run) -> Vec<Figure> {
    cases(run, IO).filter_map(rate_chart).collect()
}

/// `io-<case>`: the rate of each window as a step line, the limit, the
/// unthrottled rate and the whole run's achieved rate as horizontal lines (an
/// unthrottled rate more than 3× above everything else is only named).
fn rate_chart(c: &CaseResult) -> Option<Figure> {
    let rate = series(c, "rate")?;
    let (unit, f) = Unit::of_series(&rate.unit);
    let window = (WINDOW_MS * 1_000_000) as f64;
    let direction = if c.case.starts_with("write") {
        "write"
    } else {
        "read"
    };
    let what = match unit {
        Unit::OpsPerS => format!("{direction} operations"),
        _ => format!("{direction} throughput"),
    };
    let limit = value(c, "limit").map(|v| v as f64 * f);
    let unthrottled = value(c, "unthrottled").map(|v| v as f64 * f);
    let achieved = value(c, "achieved").map(|v| v as f64 * f);
    // The unthrottled rate is drawn when it fits a scale that still shows the
    // windows' spread around the limit; far above, the legend gives it.
    let top = rate
        .values
        .iter()
        .map(|v| *v as f64 * f)
        .chain(limit)
        .chain(achieved)
        .fold(0.0, f64::max);
    let off_scale = unthrottled.filter(|u| *u > 3.0 * top);
    let y = Axis::linear(&what, unit.clone()).zero_based();
    let ms = |w: f64| Unit::Ns.human(w);
    let mut fig = Figure::new(
        format!("io-{}", c.case),
        format!(
            "io {}: rate per {} window against the limit",
            c.case,
            ms(window)
        ),
        IO,
        Axis::linear("time since the workload started", Unit::Ns).zero_based(),
        y,
    );
    let mut pts = Vec::with_capacity(rate.values.len() * 2);
    for (i, v) in rate.values.iter().enumerate() {
        let v = *v as f64 * f;
        pts.push((i as f64 * window, v));
        pts.push(((i + 1) as f64 * window, v));
    }
    let s = Style::line(palette(0));
    fig.line(pts, s);
    fig.entry(format!("rate per {} window", ms(window)), Swatch::Line(s));
    let mut hline = |y: Option<f64>, style: Style, label: &str| {
        if let Some(y) = y {
            fig.layer(Layer::HLine { y, style });
            fig.entry(format!("{label} {}", unit.human(y)), Swatch::Line(style));
        }
    };
    hline(limit, Style::line(INK).dashed(), "limit");
    hline(
        achieved,
        Style::line(palette(1)).dashed().thin(),
        "achieved (run)",
    );
    match off_scale {
        None => hline(unthrottled, Style::line(GRAY).dotted(), "unthrottled"),
        Some(u) => fig.entry(
            format!("unthrottled: {} (off the scale)", unit.human(u)),
            Swatch::Note,
        ),
    }
    fig.fit();
    Some(fig)
}
