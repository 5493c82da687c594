//! The `io` part of report.md.

use crate::markdown::{signed_error, value, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;

pub(super) fn io(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("limit", Align::Right),
        ("achieved", Align::Right),
        ("unthrottled", Align::Right),
        ("error", Align::Right),
        ("rate per window (min / p50 / max)", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let windows = c.summary("rate").map_or(String::new(), |s| {
            format!(
                "{} / {} / {} (n={})",
                human_u64(s.min, &s.unit),
                human_u64(s.p50, &s.unit),
                human_u64(s.max, &s.unit),
                s.n
            )
        });
        if c.summaries.is_empty() {
            t.unmeasured(vec![c.case.clone()], c);
            continue;
        }
        t.row(vec![
            c.case.clone(),
            value(c, "limit"),
            value(c, "achieved"),
            value(c, "unthrottled"),
            signed_error(c, "error_pct", "achieved", "limit"),
            windows,
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "Throughput under an io.max / blkio.throttle limit, against the limit (error relative to \
         it) and the same IO unthrottled; *rate per window*: over 250 ms windows.\n\n{}\n",
        t.render()
    )
}
