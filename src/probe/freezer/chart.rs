//! The freezer chart: latency CDFs of freeze and thaw per case.

use super::PROBE as FREEZER;
use crate::chart::data::{cases, cdf, series, summary};
use crate::chart::figure::{palette, Axis, Figure, Style, Swatch, Unit};
use crate::record::Run;

/// `freezer-latency`: CDF of freeze (solid) and thaw (dashed) latency per case.
pub(super) fn freezer_chart(run: &Run) -> Option<Figure> {
    let mut fig = Figure::new(
        "freezer-latency",
        "Freezer: freeze and thaw latency, CDF per case",
        FREEZER,
        Axis::log("latency", Unit::Ns),
        Axis::linear("fraction of operations", Unit::Count).range(0.0, 1.0),
    );
    for (i, c) in cases(run, FREEZER).enumerate() {
        for (metric, what, dashed) in [
            ("freeze_latency", "freeze", false),
            ("thaw_latency", "thaw", true),
        ] {
            let Some(s) = series(c, metric) else {
                continue;
            };
            let mut style = Style::line(palette(i));
            if dashed {
                style = style.dashed();
            }
            fig.line(cdf(&s.values), style);
            let p50 = summary(c, metric).map_or(0, |s| s.p50);
            fig.entry(
                format!("{} {what} (p50 {})", c.case, Unit::Ns.human(p50 as f64)),
                Swatch::Line(style),
            );
        }
    }
    fig.has_data().then(|| {
        fig.fit();
        fig
    })
}
