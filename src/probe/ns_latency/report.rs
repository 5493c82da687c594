//! The `ns_latency` part of report.md: namespace creation per kind and method,
//! one table per concurrency level, and the isolation checks.

use crate::markdown::{blank_for, generic, ordered, typical, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::record::Status;
use crate::units::human_u64;

/// An `ns_latency` case id: `<kind>-<method>` or `<kind>-<method>-c<N>`.
#[derive(Debug, PartialEq, Eq)]
struct NsId<'a> {
    kind: &'a str,
    method: &'a str,
    workers: u32,
}

fn ns_id(id: &str) -> Option<NsId<'_>> {
    let mut parts = id.split('-');
    let kind = parts.next()?;
    let method = parts.next()?;
    let workers = match parts.next() {
        None => 1,
        Some(c) => c.strip_prefix('c')?.parse().ok()?,
    };
    if parts.next().is_some() || method == "isolation" {
        return None;
    }
    Some(NsId {
        kind,
        method,
        workers,
    })
}

/// A clone's namespace cost: the median difference with its interval, or
/// "not resolved"; from folders of older versions, which floored a
/// difference of quantiles, their p50.
fn cost_cell(c: &CaseResult) -> Option<String> {
    if let Some(e) = c.estimate("ns_cost") {
        let h = |v: f64| crate::units::signed(v, &e.unit);
        let ci = format!("{} … {}", h(e.ci_lo), h(e.ci_hi));
        return Some(if e.resolved() {
            format!("{} ({ci})", h(e.value))
        } else {
            format!("not resolved ({ci})")
        });
    }
    c.summary("ns_cost").map(|s| human_u64(s.p50, &s.unit))
}

/// What the *ns cost* column is, for the cases at hand: the paired estimate
/// (with "not resolved" explained), or the floored difference of p50s that
/// folders of older versions hold.
fn cost_legend(cases: &[&CaseResult]) -> String {
    if cases.iter().any(|c| c.estimate("ns_cost").is_some()) {
        "*ns cost (95% CI)*: the namespace's own share of a clone: the median of the clones \
         with it minus the median of clones without any namespace, timed alternately by the \
         same workers, with its 95% bootstrap interval. *not resolved*: the interval includes \
         0: the namespace adds less than this run can tell apart from the spread of the clones \
         themselves (a cheap kind, or a noisy run); the cost is small, not necessarily zero.\n\n"
            .into()
    } else if cases.iter().any(|c| c.summary("ns_cost").is_some()) {
        "*ns cost*: (a folder of an older version) the clone's p50 minus that of `none-clone` \
         at the same concurrency, floored at 0.\n\n"
            .into()
    } else {
        String::new()
    }
}

/// The kinds whose clone p50 with `level` workers is below their serial one.
fn below_serial<'a>(ids: &[(&CaseResult, NsId<'a>)], level: u32) -> Vec<&'a str> {
    let p50 = |kind: &str, workers: u32| {
        ids.iter()
            .find(|(_, id)| id.kind == kind && id.method == "clone" && id.workers == workers)
            .and_then(|(c, _)| c.summary("latency"))
            .map(|s| s.p50)
    };
    ordered(
        ids.iter()
            .filter(|(_, id)| id.workers == level && id.method == "clone")
            .filter(|(_, id)| matches!((p50(id.kind, level), p50(id.kind, 1)), (Some(p), Some(s)) if p < s))
            .map(|(_, id)| id.kind),
    )
}

/// What a latency with `level` parallel workers is, and, where a clone came
/// out faster in parallel than alone (`below`), why that can be. Seen on a
/// 2-CPU VM: a serial forker's child started on the other CPU in 298 of 300
/// forks, two forkers' children on their parent's CPU in 532 of 600; pinning
/// a serial worker to one CPU took its none-clone p50 from about 190 to about
/// 90 µs when the host was otherwise idle, and two workers measured 150–175 µs.
fn parallel_note(level: u32, below: &[&str]) -> String {
    let others = match level - 1 {
        1 => "the other worker does".to_string(),
        n => format!("the other {n} do"),
    };
    let mut s = format!(
        "Each worker times its own operations while {others} the same; the p50 and p99 are \
         over all workers' samples together."
    );
    if !below.is_empty() {
        let kinds: Vec<String> = below.iter().map(|k| format!("`{k}`")).collect();
        s.push_str(&format!(
            " Here the clone p50 of {} is lower with {level} workers than serially. That is \
             not the namespace getting cheaper in parallel. On a host that is otherwise idle, \
             the scheduler starts a serial worker's child on another, idle CPU, so the clone \
             includes waking that CPU and, when the child exits, waking the parent's (a \
             halted virtual CPU of a VM is slow to wake); with a worker busy on every CPU the \
             child mostly starts on its parent's CPU and neither wakeup happens. The serial \
             cases also ran earlier (every serial case first), on a host whose load may have \
             differed. The *ns cost* column, timed with and without the namespace in the same \
             workers, is the figure to compare.",
            kinds.join(", ")
        ));
    }
    s.push_str("\n\n");
    s
}

pub(super) fn ns_latency(cases: &[&CaseResult]) -> String {
    let mut out = String::new();
    if let Some(noop) = cases.iter().find(|c| c.case == "noop") {
        if let Some(s) = noop.summary("latency") {
            out.push_str(&format!(
                "Measurement floor (`noop`, two clock reads): p50 {}, p99 {} over {} samples.\n\n",
                human_u64(s.p50, &s.unit),
                human_u64(s.p99, &s.unit),
                s.n
            ));
        }
    }
    let ids: Vec<(&CaseResult, NsId)> = cases
        .iter()
        .filter_map(|c| ns_id(&c.case).map(|id| (*c, id)))
        .collect();
    let mut levels: Vec<u32> = ids.iter().map(|(_, id)| id.workers).collect();
    levels.sort_unstable();
    levels.dedup();
    let find = |kind: &str, method: &str, workers: u32| {
        ids.iter()
            .find(|(_, id)| id.kind == kind && id.method == method && id.workers == workers)
            .map(|(c, _)| *c)
    };
    if !ids.is_empty() {
        out.push_str(
            "Latency of one operation (p50 and p99). `clone`: clone3 until the child is reaped; \
             `unshare`: the call alone; `setns`: joining a held namespace.\n\n",
        );
        out.push_str(&cost_legend(cases));
    }
    for &level in &levels {
        out.push_str(&if level == 1 {
            "#### Serial (1 worker)\n\n".to_string()
        } else {
            format!("#### {level} parallel workers (per-operation latency)\n\n")
        });
        let at_level = |id: &NsId| id.workers == level;
        let kinds = ordered(
            ids.iter()
                .filter(|(_, id)| at_level(id))
                .map(|(_, id)| id.kind),
        );
        let methods = ordered(
            ids.iter()
                .filter(|(_, id)| at_level(id))
                .map(|(_, id)| id.method),
        );
        let mut cols: Vec<(String, Align)> = vec![("kind".into(), Align::Left)];
        let mut has_cost = Vec::new();
        for &m in &methods {
            cols.push((format!("{m} p50"), Align::Right));
            cols.push((format!("{m} p99"), Align::Right));
            let cost = kinds
                .iter()
                .any(|k| find(k, m, level).is_some_and(|c| cost_cell(c).is_some()));
            if cost {
                cols.push(("ns cost (95% CI)".into(), Align::Right));
            }
            has_cost.push(cost);
        }
        let mut t = Table::new(cols);
        for &k in &kinds {
            let mut row = vec![k.to_string()];
            for (&m, &cost) in methods.iter().zip(&has_cost) {
                let c = find(k, m, level);
                match c.and_then(|c| c.summary("latency").map(|s| (c, s))) {
                    Some((c, s)) => {
                        let mark = match c.verdict.status {
                            Status::Fail => " FAIL",
                            _ => "",
                        };
                        row.push(format!("{}{mark}", human_u64(s.p50, &s.unit)));
                        row.push(human_u64(s.p99, &s.unit));
                    }
                    None => {
                        let b = c.map_or(String::new(), blank_for);
                        row.push(b);
                        row.push(String::new());
                    }
                }
                if cost {
                    row.push(c.and_then(cost_cell).unwrap_or_default());
                }
            }
            t.row(row);
        }
        out.push_str(&t.render());
        out.push('\n');
        if level > 1 {
            out.push_str(&parallel_note(level, &below_serial(&ids, level)));
            let mut t = Table::new(
                std::iter::once(("kind".to_string(), Align::Left))
                    .chain(methods.iter().map(|m| (m.to_string(), Align::Right))),
            );
            let mut any = false;
            for &k in &kinds {
                let mut row = vec![k.to_string()];
                for &m in &methods {
                    let cell = find(k, m, level)
                        .and_then(|c| c.summary("aggregate_throughput"))
                        .map_or(String::new(), |s| {
                            any = true;
                            typical(s)
                        });
                    row.push(cell);
                }
                t.row(row);
            }
            if any {
                out.push_str(&format!(
                    "Operations per second of all {level} workers together:\n\n"
                ));
                out.push_str(&t.render());
                out.push('\n');
            }
        }
    }
    let mut t = Table::new([
        ("case", Align::Left),
        ("backlog", Align::Right),
        ("drain", Align::Right),
        ("left after drain", Align::Right),
        ("sustained rate", Align::Right),
        ("sustained backlog", Align::Right),
        ("sustained drain", Align::Right),
    ]);
    for c in cases.iter().filter(|c| c.summary("backlog").is_some()) {
        let v = |m: &str| c.summary(m).map_or("—".into(), typical);
        t.row(vec![
            c.case.clone(),
            v("backlog"),
            v("drain"),
            v("drain_residual"),
            v("sustained_rate"),
            v("sustained_backlog"),
            v("sustained_drain"),
        ]);
    }
    if !t.is_empty() {
        out.push_str(
            "#### Network namespace teardown\n\n\
             Namespaces still being torn down after the case (`net_namespace` objects in use), \
             how long until the count stopped falling, and a create+destroy loop's rate:\n\n",
        );
        out.push_str(&t.render());
        out.push('\n');
        out.push_str(
            "*left after drain*: what /proc/slabinfo still counted once the count had not fallen \
             for 300 ms. SLUB counts the freed objects in its per-CPU slabs as in use, so a few \
             left is not by itself a leak; a count that keeps growing from case to case would be.\n\n",
        );
    }
    let mut t = Table::new([
        ("namespace", Align::Left),
        ("verdict", Align::Left),
        ("what was seen", Align::Left),
    ]);
    for c in cases.iter().filter(|c| c.case.ends_with("-isolation")) {
        t.row(vec![
            c.case.trim_end_matches("-isolation").to_string(),
            verdict_word(c.verdict.status),
            c.verdict.reason.clone(),
        ]);
    }
    if !t.is_empty() {
        out.push_str("#### Isolation\n\n");
        out.push_str(&t.render());
        out.push('\n');
    }
    let known = |c: &&&CaseResult| {
        c.case == "noop" || c.case.ends_with("-isolation") || ns_id(&c.case).is_some()
    };
    let rest: Vec<&CaseResult> = cases.iter().filter(|c| !known(c)).copied().collect();
    if !rest.is_empty() {
        out.push_str(&generic(&rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clone_case(id: &str, base_ns: u64) -> CaseResult {
        let values = (0..40).map(|i| base_ns + i * 100).collect();
        CaseResult::measured(
            "ns_latency",
            id,
            serde_json::json!({}),
            vec![crate::record::Series::new(
                "latency",
                crate::units::Unit::Ns,
                values,
            )],
            crate::record::Verdict::pass("x"),
        )
    }

    /// The note on a parallel clone faster than the serial one names the
    /// kinds where it happened, and only those.
    #[test]
    fn a_parallel_clone_below_the_serial_one_is_explained() {
        let cases = [
            clone_case("none-clone", 200_000),
            clone_case("none-clone-c2", 150_000),
            clone_case("pid-clone", 150_000),
            clone_case("pid-clone-c2", 190_000),
        ];
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let text = ns_latency(&refs);
        let note = text
            .split("#### 2 parallel workers")
            .nth(1)
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            note.contains("Here the clone p50 of `none` is lower with 2 workers"),
            "{note}"
        );
        assert!(!note.contains("`pid`"), "{note}");
        assert!(note.contains("the other worker does the same"), "{note}");
        // No kind below: no explanation.
        let text = ns_latency(&[&cases[2], &cases[3]]);
        assert!(!text.contains("Here the clone p50"), "{text}");
    }

    #[test]
    fn ns_case_ids() {
        assert_eq!(
            ns_id("net-clone-c2"),
            Some(NsId {
                kind: "net",
                method: "clone",
                workers: 2
            })
        );
        assert_eq!(ns_id("mnt-setns").map(|i| i.workers), Some(1));
        assert_eq!(ns_id("mnt-isolation"), None);
        assert_eq!(ns_id("noop"), None);
        assert_eq!(ns_id("a-b-x3"), None);
    }
}
