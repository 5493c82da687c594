//! The `freezer` part of report.md.

use crate::markdown::{blank_for, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human;

/// `t<N>` or `t<N>-q<pct>` → (threads, quota %).
fn freezer_id(id: &str) -> (Option<&str>, Option<&str>) {
    let mut p = id.split('-');
    let t = p.next().and_then(|t| t.strip_prefix('t'));
    let q = p.next().and_then(|q| q.strip_prefix('q'));
    (t, q)
}

pub(super) fn freezer(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("threads", Align::Right),
        ("quota", Align::Right),
        ("cycles", Align::Right),
        ("freeze p50", Align::Right),
        ("freeze p99", Align::Right),
        ("thaw p50", Align::Right),
        ("thaw p99", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let (threads, q) = freezer_id(&c.case);
        let f = c.summary("freeze_latency");
        let th = c.summary("thaw_latency");
        let q50 = |s: Option<&crate::record::Summary>, p99: bool| {
            s.map_or(String::new(), |s| {
                human(if p99 { s.p99 } else { s.p50 } as f64, &s.unit)
            })
        };
        t.row(vec![
            c.case.clone(),
            threads.unwrap_or("—").to_string(),
            q.map_or("none".into(), |q| format!("{q}%")),
            f.map_or(blank_for(c), |s| s.n.to_string()),
            q50(f, false),
            q50(f, true),
            q50(th, false),
            q50(th, true),
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "Freeze and thaw of spinning threads until the kernel reports the state; the verdict \
         checks the threads' own run time does not move while frozen and moves after the thaw.\n\n{}\n",
        t.render()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_grammar() {
        assert_eq!(freezer_id("t2-q20"), (Some("2"), Some("20")));
        assert_eq!(freezer_id("t4"), (Some("4"), None));
    }
}
