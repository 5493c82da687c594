//! The `memory` part of report.md.

use crate::markdown::{typical, value, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;
use crate::units::Unit;

pub(super) fn memory(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("memory.max", Align::Right),
        ("touched", Align::Right),
        ("peak", Align::Right),
        ("at the end", Align::Right),
        ("OOM-killed", Align::Left),
        ("oom_kill events", Align::Right),
        ("time to kill", Align::Right),
        ("slowdown", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let oom = c.summary("oom_killed").map_or("—".into(), |s| {
            if s.max > 0 { "yes" } else { "no" }.into()
        });
        let limit = c
            .summary("limit_bytes")
            .map(typical)
            .or_else(|| {
                c.config::<u64>("limit_bytes")
                    .map(|b| human_u64(b, &Unit::Bytes))
            })
            .unwrap_or_else(|| "—".into());
        if c.summaries.is_empty() {
            t.unmeasured(vec![c.case.clone(), limit], c);
            continue;
        }
        let opt = |m: &str| c.summary(m).map_or(String::new(), typical);
        t.row(vec![
            c.case.clone(),
            limit,
            value(c, "touched_bytes"),
            value(c, "peak_bytes"),
            value(c, "current_bytes"),
            oom,
            value(c, "oom_kill_events"),
            opt("time_to_kill"),
            opt("slowdown"),
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "Swap off. `below` touches half the limit (must survive), `above` twice it (must be \
         OOM-killed, and counted), `killed` is SIGKILLed by the harness (must not be counted as an \
         OOM kill), `high` sets memory.high (must be slowed, not killed). *time to kill*: from the \
         last progress report to death.\n\n{}\n",
        t.render()
    )
}
