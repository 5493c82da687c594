//! The `ns_latency` part of report.md: namespace creation per kind and method,
//! one table per concurrency level, and the isolation checks.

use crate::markdown::{ordered, blank_for, generic, typical, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;
use crate::record::Status;

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
             `unshare`: the call alone; `setns`: joining a held namespace. \
             *ns cost*: the clone's quantile minus that of `none-clone` at the same concurrency \
             (floored at 0: a cost near 0 is within the noise of process creation).\n\n",
        );
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
