//! The `cgroup_lifecycle` part of report.md: steps as rows, cases as columns.

use crate::markdown::{ordered, generic, typical, Align, Table};
use crate::record::CaseResult;

/// Where a life-cycle metric goes: the steps in the order a cycle does them,
/// then what the cgroup counted (stable sort: first-seen order within each).
fn step_order(metric: &str) -> u8 {
    match metric {
        "create" => 0,
        "attach" => 1,
        m if m.starts_with("set_") || m.starts_with("disable_") => 2,
        "freeze" => 3,
        "thaw" => 4,
        "remove" => 5,
        _ => 6,
    }
}

/// Steps as rows and cases as columns (p50 over the cycles); a long table when
/// there are too many cases to fit across.
pub(super) fn lifecycle(cases: &[&CaseResult]) -> String {
    const MAX_COLUMNS: usize = 8;
    let measured: Vec<&CaseResult> = cases
        .iter()
        .filter(|c| !c.summaries.is_empty())
        .copied()
        .collect();
    if measured.is_empty() {
        return "No case was measured (see the verdicts).\n\n".into();
    }
    if measured.len() > MAX_COLUMNS {
        return generic(cases);
    }
    let mut metrics = ordered(
        measured
            .iter()
            .flat_map(|c| c.summaries.iter().map(|s| s.metric.as_str())),
    );
    metrics.sort_by_key(|m| step_order(m));
    let one_cycle = measured
        .iter()
        .all(|c| c.summaries.iter().all(|s| s.n == 1));
    let mut out = format!(
        "{} of each case: latency of each step, then what the worker's cgroup counted.\n\n",
        if one_cycle {
            "One cycle"
        } else {
            "Median over the cycles"
        }
    );
    let mut t = Table::new(
        std::iter::once(("step".to_string(), Align::Left))
            .chain(measured.iter().map(|c| (c.case.clone(), Align::Right))),
    );
    for m in &metrics {
        let mut row = vec![m.to_string()];
        for c in &measured {
            row.push(c.summary(m).map_or(String::new(), typical));
        }
        t.row(row);
    }
    out.push_str(&t.render());
    out.push('\n');
    let skipped: Vec<String> = cases
        .iter()
        .filter(|c| c.summaries.is_empty())
        .map(|c| format!("`{}` ({})", c.case, c.verdict.status))
        .collect();
    if !skipped.is_empty() {
        out.push_str(&format!(
            "Not measured: {} — see the verdicts.\n\n",
            skipped.join(", ")
        ));
    }
    out
}
