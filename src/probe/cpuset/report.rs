//! The `cpuset` part of report.md.

use crate::markdown::{generic, value, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;

pub(super) fn cpuset(cases: &[&CaseResult]) -> String {
    let mut out = String::new();
    let mut pin = Table::new([
        ("case", Align::Left),
        ("cpuset.cpus", Align::Left),
        ("threads", Align::Right),
        ("on the set", Align::Right),
        ("samples", Align::Right),
        ("off the set", Align::Right),
        ("verdict", Align::Left),
    ]);
    let mut mv = Table::new([
        ("case", Align::Left),
        ("from → to", Align::Left),
        ("changes", Align::Right),
        ("migration p50", Align::Right),
        ("p99", Align::Right),
        ("max", Align::Right),
        ("verdict", Align::Left),
    ]);
    let mut rest = Vec::new();
    for c in cases {
        let threads = c
            .config::<u64>("threads")
            .map_or("—".into(), |t| t.to_string());
        if let Some(set) = c.case.strip_prefix("pin-") {
            pin.row(vec![
                c.case.clone(),
                c.config_str("cpus")
                    .map_or_else(|| set.replace('_', ","), str::to_string),
                threads,
                value(c, "on_allowed_pct"),
                value(c, "samples"),
                value(c, "off_allowed"),
                verdict_word(c.verdict.status),
            ]);
        } else if let Some(pair) = c.case.strip_prefix("move-") {
            let fromto = match (c.config_str("cpus"), c.config_str("move_to")) {
                (Some(a), Some(b)) => format!("{a} → {b}"),
                // `move-<a>-<b>` splits only when neither set is a range.
                _ => match pair.split_once('-') {
                    Some((a, b)) if !b.contains('-') => {
                        format!("{} → {}", a.replace('_', ","), b.replace('_', ","))
                    }
                    _ => pair.to_string(),
                },
            };
            match c.summary("migrate_latency") {
                Some(s) => mv.row(vec![
                    c.case.clone(),
                    fromto,
                    s.n.to_string(),
                    human_u64(s.p50, &s.unit),
                    human_u64(s.p99, &s.unit),
                    human_u64(s.max, &s.unit),
                    verdict_word(c.verdict.status),
                ]),
                None => mv.unmeasured(vec![c.case.clone(), fromto], c),
            }
        } else {
            rest.push(*c);
        }
    }
    if !pin.is_empty() {
        out.push_str(
            "Spinning threads sampling `sched_getcpu()`: the share of samples on the allowed CPUs.\n\n",
        );
        out.push_str(&pin.render());
        out.push('\n');
    }
    if !mv.is_empty() {
        out.push_str(
            "cpuset.cpus changed back and forth under spinning threads: time from the write until \
             every thread was seen on the new set.\n\n",
        );
        out.push_str(&mv.render());
        out.push('\n');
    }
    if !rest.is_empty() {
        out.push_str(&generic(&rest));
    }
    out
}
