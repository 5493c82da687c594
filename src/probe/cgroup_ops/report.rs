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
    let mut out = format!(
        "Each operation on a cgroup with N−1 siblings present (case `s<N>`):\n\n{}\n",
        t.render()
    );
    if cases.iter().any(|c| c.summary("attach_latency").is_some()) {
        out.push_str(ATTACH_NOTE);
    }
    out
}

/// Why `attach` has a p50 of a fraction of a millisecond and a max of
/// several: the counterpart of the note under the life-cycle table, whose
/// attach always waits.
const ATTACH_NOTE: &str = "*attach*: an idle worker's pid written to cgroup.procs in every \
     hierarchy of the cgroup, timed back to back with the other operations. Since Linux 6.0 \
     the write write-locks the global `cgroup_threadgroup_rwsem` (a per-CPU rw-semaphore), and \
     a write-lock after a quiet spell first waits for an RCU grace period (milliseconds); one \
     within about a grace period of the last does not. So the p50 is the write alone, while \
     the first write of a case (its max) and any after a longer gap carry the grace period, \
     as every attach of `cgroup_lifecycle` does. With `favordynmods` on the hierarchy (or \
     CONFIG_CGROUP_FAVOR_DYNMODS), as on kernels before 6.0, no write waits. \
     `attach_clone3` (unified hosts) starts the process inside the cgroup and takes no write \
     lock at all.\n\n";
