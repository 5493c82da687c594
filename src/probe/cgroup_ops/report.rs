//! The `cgroup_ops` part of report.md.

use crate::markdown::{blank_for, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;

pub(super) fn ops(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("operation", Align::Left),
        ("n", Align::Right),
        ("p50", Align::Right),
        ("p90", Align::Right),
        ("p99", Align::Right),
        ("max", Align::Right),
    ]);
    for c in cases {
        if c.summaries.is_empty() {
            t.row(vec![c.case.clone(), blank_for(c)]);
        }
        for s in &c.summaries {
            t.row(vec![
                c.case.clone(),
                s.metric.trim_end_matches("_latency").to_string(),
                s.n.to_string(),
                human_u64(s.p50, &s.unit),
                human_u64(s.p90, &s.unit),
                human_u64(s.p99, &s.unit),
                human_u64(s.max, &s.unit),
            ]);
        }
    }
    format!(
        "Each operation on a cgroup with N−1 siblings present (case `s<N>`):\n\n{}\n",
        t.render()
    )
}
