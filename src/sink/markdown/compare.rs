//! The comparison report of several runs (`isobench report A B …`): the hosts
//! side by side, the verdicts that differ, then per probe one table per metric
//! with a column per run and the change against the first run.

use super::host;
use super::{charts_of, counts_text};
use crate::chart::Chart;
use crate::compare::{align, change_pct};
use crate::gate::{self, GateOptions, GateReport, MetricRow, Outcome};
use crate::markdown::verdict_word;
use crate::markdown::{typical, Align, Table};
use crate::record::{Run, Status, Summary};
use crate::units::human_u64;

/// Host facts worth a row when comparing (the rest is in each run's own report).
const HOST_ROWS: [&str; 12] = [
    "host name",
    "kernel",
    "kernel version",
    "CONFIG_HZ",
    "preemption",
    "CPU",
    "CPUs online",
    "memory",
    "virtualisation",
    "cgroup layout",
    "controllers",
    "scheduler",
];

/// A row of facts about a run: title, and how to get it.
type Fact = (&'static str, fn(&Run) -> String);

/// The comparison of `runs` (label, run), embedding `charts`.
pub fn render(runs: &[(String, Run)], charts: &[Chart]) -> String {
    let labels: Vec<&str> = runs.iter().map(|(l, _)| l.as_str()).collect();
    let refs: Vec<&Run> = runs.iter().map(|(_, r)| r).collect();
    // Tables name the runs by letter: labels (kernel release and folder) are too
    // wide for a column per run.
    let keys: Vec<String> = (0..runs.len()).map(key).collect();
    // Each run against run A with the regression gate's statistics, so a
    // reader can tell a kernel difference from noise.
    let gates: Vec<GateReport> = runs
        .iter()
        .skip(1)
        .map(|(l, r)| {
            let opts = GateOptions {
                // Comparing kernels is the point here.
                across_hosts: true,
                ..GateOptions::default()
            };
            gate::compare((labels[0], &runs[0].1), (l.as_str(), r), &opts)
        })
        .collect();
    let mut out = format!("# isobench comparison of {} runs\n\n", runs.len());
    out.push_str(
        "Each cell: p50 (p99) of the run's samples, or the value when measured once; a verdict \
         other than pass follows the value; — when the run lacks the case. *Δ*: change of the \
         p50 against run A; for latency figures, with the 95% interval and the mark of \
         `isobench compare` (τ 10%): ▲ slower beyond the noise, ▼ faster, ≈ within ±10%, \
         ? undecided (an interval across ±10%, or fewer than 3 repetitions a side: the \
         interval is then over samples, blind to run-to-run noise).\n\n",
    );
    out.push_str("## Runs\n\n");
    let mut t = Table::new(
        std::iter::once(("".to_string(), Align::Left))
            .chain(keys.iter().map(|k| (k.clone(), Align::Left))),
    );
    t.row(
        std::iter::once("label".to_string())
            .chain(labels.iter().map(|l| l.to_string()))
            .collect(),
    );
    let host_rows: Vec<Vec<(&str, String)>> = refs.iter().map(|r| host::rows(&r.host)).collect();
    for key in HOST_ROWS {
        let mut row = vec![key.to_string()];
        for rows in &host_rows {
            row.push(
                rows.iter()
                    .find(|(k, _)| *k == key)
                    .map_or(String::new(), |(_, v)| v.clone()),
            );
        }
        t.row(row);
    }
    let facts: [Fact; 6] = [
        ("run", |r| format!("`{}`", r.run_id)),
        ("started", |r| r.started_utc.clone()),
        ("isobench", |r| r.isobench_version.clone()),
        ("scenarios", |r| {
            r.scenarios
                .iter()
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ("mode", |r| {
            match (r.quick, r.interrupted) {
                (false, false) => "full",
                (true, false) => "quick",
                (false, true) => "full, interrupted",
                (true, true) => "quick, interrupted",
            }
            .into()
        }),
        ("verdicts", counts_text),
    ];
    for (key, f) in facts {
        let mut row = vec![key.to_string()];
        row.extend(refs.iter().map(|r| f(r)));
        t.row(row);
    }
    out.push_str(&t.render());
    out.push('\n');

    let probes = align(&refs);
    out.push_str("## Verdicts\n\n");
    let mut t = Table::new(
        [
            ("probe".to_string(), Align::Left),
            ("case".into(), Align::Left),
        ]
        .into_iter()
        .chain(keys.iter().map(|k| (k.clone(), Align::Left))),
    );
    let mut all_pass = 0;
    for p in &probes {
        for (case, statuses) in &p.cases {
            if statuses.iter().all(|s| *s == Some(Status::Pass)) {
                all_pass += 1;
                continue;
            }
            let mut row = vec![p.probe.clone(), case.clone()];
            row.extend(statuses.iter().map(|s| s.map_or("—".into(), verdict_word)));
            t.row(row);
        }
    }
    if t.is_empty() {
        out.push_str(&format!("Every case ({all_pass}) passed in every run.\n\n"));
    } else {
        out.push_str(&format!(
            "Cases that did not pass in every run (the other {all_pass} passed in all):\n\n"
        ));
        out.push_str(&t.render());
        out.push('\n');
    }

    for p in &probes {
        out.push_str(&format!("## `{}`\n\n", p.probe));
        if p.metrics.is_empty() {
            out.push_str("No measurements (see the verdicts).\n\n");
        }
        for m in &p.metrics {
            out.push_str(&format!("#### `{}` ({})\n\n", m.metric, m.unit));
            let mut cols = vec![("case".to_string(), Align::Left)];
            cols.extend(keys.iter().map(|k| (k.clone(), Align::Right)));
            cols.extend(
                keys.iter()
                    .skip(1)
                    .map(|k| (format!("Δ {k}"), Align::Right)),
            );
            let mut t = Table::new(cols);
            for (case, cells) in &m.rows {
                let mut row = vec![case.clone()];
                row.extend(cells.iter().map(|c| match c {
                    None => "—".to_string(),
                    Some((s, status)) => cell(s, *status),
                }));
                let first = cells[0].as_ref().map(|(s, _)| center(s));
                row.extend(cells.iter().skip(1).zip(&gates).map(|(c, g)| {
                    match (first, c.as_ref().map(|(s, _)| center(s))) {
                        (Some(a), Some(b)) => {
                            let interval = g
                                .metrics
                                .iter()
                                .find(|r| {
                                    r.probe == p.probe && r.case == *case && r.metric == m.metric
                                })
                                .map_or(String::new(), interval_mark);
                            change_pct(a, b).map_or("—".into(), |d| format!("{d:+.1}%{interval}"))
                        }
                        _ => String::new(),
                    }
                }));
                t.row(row);
            }
            out.push_str(&t.render());
            out.push('\n');
        }
        out.push_str(&charts_of(charts, &p.probe));
    }
    out
}

/// ` (−3 … +12%) ?`: a gated figure's interval and mark.
fn interval_mark(r: &MetricRow) -> String {
    let (Some(lo), Some(hi)) = (r.ratio_lo, r.ratio_hi) else {
        return " ?".into();
    };
    let mark = match r.outcome {
        Outcome::Regressed => "▲",
        Outcome::Improved => "▼",
        Outcome::WithinNoise => "≈",
        Outcome::Inconclusive => "?",
    };
    let pct = |x: f64| format!("{:+.0}", (x - 1.0) * 100.0);
    format!(" ({} … {}%) {mark}", pct(lo), pct(hi))
}

/// `A`, `B`, … `Z`, `AA`, `AB`, …: the column of run `i`.
fn key(i: usize) -> String {
    let letter = |n: usize| char::from(b'A' + (n % 26) as u8);
    if i < 26 {
        letter(i).to_string()
    } else {
        format!("{}{}", letter(i / 26 - 1), letter(i))
    }
}

/// The value a change is measured on: the exact value when measured once, else the median.
fn center(s: &Summary) -> u64 {
    if s.n == 1 {
        s.min
    } else {
        s.p50
    }
}

fn cell(s: &Summary, status: Status) -> String {
    let v = if s.n == 1 {
        typical(s)
    } else {
        format!(
            "{} ({})",
            human_u64(s.p50, &s.unit),
            human_u64(s.p99, &s.unit)
        )
    };
    match status {
        Status::Pass => v,
        other => format!("{v} {}", verdict_word(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_of_two_fixed_runs() {
        let a = crate::sink::fixture::run();
        let mut b = a.clone();
        b.run_id = "20260102T000000Z-2".into();
        b.host.kernel_release = "6.12.0-test".into();
        b.host.config_hz = Some(1000);
        // One case slower and failing, one missing.
        let c = b.cases.iter_mut().find(|c| c.case == "mnt-clone").unwrap();
        for s in &mut c.summaries {
            s.p50 += s.p50 / 10;
        }
        // The samples too, a third slower: what the interval is computed from.
        for s in &mut c.series {
            s.values.iter_mut().for_each(|v| *v += *v / 3);
        }
        c.verdict = crate::record::Verdict::fail("mnt-clone failed: EPERM");
        b.cases.retain(|c| c.case != "noop");
        let runs = vec![("A".to_string(), a), ("B".to_string(), b)];
        insta::assert_snapshot!("compare_md", render(&runs, &[]));
    }

    #[test]
    fn run_keys() {
        assert_eq!(key(0), "A");
        assert_eq!(key(25), "Z");
        assert_eq!(key(26), "AA");
        assert_eq!(key(27), "AB");
    }
}
