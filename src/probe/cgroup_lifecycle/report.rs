//! The `cgroup_lifecycle` part of report.md: steps as rows, cases as columns.

use crate::markdown::{generic, ordered, typical, Align, Table};
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
    if metrics.contains(&"attach") {
        out.push_str(ATTACH_NOTE);
    }
    let frozen_under_quota: Vec<String> = measured
        .iter()
        .filter(|c| c.summary("freeze").is_some() && c.summary("set_cpu_max").is_some())
        .map(|c| format!("`{}`", c.case))
        .collect();
    if !frozen_under_quota.is_empty() {
        out.push_str(&format!(
            "*freeze* under a cpu.max quota ({}): the freeze is done when every task of the \
             cgroup has stopped, and a task stops only when it next runs; a worker the quota \
             has throttled runs again only when the next period refills it, so this freeze can \
             take up to a period longer than one without a quota.\n\n",
            frozen_under_quota.join(", ")
        ));
    }
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

/// Why `attach` takes milliseconds here and a fraction of one in
/// `cgroup_ops`: not the process (both attach an idle worker) nor the
/// hierarchies (both write cgroup.procs in every one), but the quiet spell
/// before the write. Seen in runs: 9–19 ms here against a 0.1–2 ms p50 there
/// on 6.12, 6.18 and 7.2; on 5.10 both alike (1–2.5 ms, emulated CPU).
const ATTACH_NOTE: &str = "*attach*: the worker's pid (an idle process, waiting for its go) \
     written to cgroup.procs in every hierarchy of the new cgroup, the first such write since \
     the previous cycle's hold. Since Linux 6.0 this write write-locks the global \
     `cgroup_threadgroup_rwsem`, a per-CPU rw-semaphore, and the first write-lock after a quiet \
     spell waits for an RCU grace period (milliseconds) to turn the readers (fork, exit) to its \
     slow path; a write within about a grace period of the last one does not wait. \
     `cgroup_ops` writes back to back: its attach p50 is the write alone, and its first write \
     (its max) waits like this one. A hierarchy mounted with `favordynmods` (or a kernel built \
     with CONFIG_CGROUP_FAVOR_DYNMODS) keeps the semaphore in its slow mode, as kernels before \
     6.0 always did: then no write waits.\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Series, Verdict};
    use crate::units::Unit;

    fn case(id: &str, metrics: &[&str]) -> CaseResult {
        let series = metrics
            .iter()
            .map(|m| Series::new(m, Unit::Ns, vec![1_000, 2_000, 3_000]))
            .collect();
        CaseResult::measured(
            "cgroup_lifecycle",
            id,
            serde_json::json!({}),
            series,
            Verdict::pass("x"),
        )
    }

    /// The notes appear where their step does: attach always explained, a
    /// freeze explained only where the case also set a quota, naming it.
    #[test]
    fn notes_follow_the_steps_measured() {
        let plain = case("freezer", &["create", "attach", "freeze", "thaw"]);
        let quota = case("all", &["create", "attach", "set_cpu_max", "freeze"]);
        let text = lifecycle(&[&plain, &quota]);
        assert!(text.contains("*attach*: the worker's pid"), "{text}");
        assert!(
            text.contains("*freeze* under a cpu.max quota (`all`)"),
            "{text}"
        );
        let text = lifecycle(&[&plain]);
        assert!(!text.contains("*freeze* under"), "{text}");
        let text = lifecycle(&[&case("x", &["create", "remove"])]);
        assert!(!text.contains("*attach*"), "{text}");
    }
}
