//! The comparison report of several runs (`isobench report A B …`): the hosts
//! side by side, the verdicts that differ, the interface files that differ,
//! then per probe one table per metric with a column per run and the change
//! against the reference run (the first run on a CPU of the same kind: real or
//! emulated). A column may be a set of boots (`crate::set`), whose boots are
//! repetitions; boots that did not finish are listed with their console.

use super::host;
use super::{charts_of, counts_text};
use crate::chart::Chart;
use crate::compare::{align, change_pct, references, tally_text};
use crate::gate::{GateReport, MetricRow, Outcome};
use crate::markdown::verdict_word;
use crate::markdown::{typical, Align, Table};
use crate::record::{Run, Status, Summary};
use crate::set::{BootFailure, Boots};
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

/// What a comparison shows besides the runs: per run how its boots went
/// (empty: every run is one plain folder), and the sets of which no boot finished.
#[derive(Debug, Default)]
pub struct Extras<'a> {
    pub boots: &'a [Boots],
    pub unfinished: &'a [(String, Vec<BootFailure>)],
}

/// The comparison of `runs` (label, run) with their `gates`
/// ([`crate::compare::deltas`]), embedding `charts`.
pub fn render(
    runs: &[(String, Run)],
    gates: &[Option<GateReport>],
    extras: &Extras,
    charts: &[Chart],
) -> String {
    let labels: Vec<&str> = runs.iter().map(|(l, _)| l.as_str()).collect();
    let refs: Vec<&Run> = runs.iter().map(|(_, r)| r).collect();
    // Tables name the runs by letter: labels (kernel release and folder) are too
    // wide for a column per run.
    let keys: Vec<String> = (0..runs.len()).map(key).collect();
    let reference = references(&refs);
    // The columns that have a change: every run but the references.
    let changed: Vec<usize> = (0..runs.len()).filter(|&i| reference[i] != i).collect();
    let any_emulated = refs.iter().any(|r| r.host.emulated());
    let mut out = format!("# isobench comparison of {} runs\n\n", runs.len());
    out.push_str(
        "Each cell: p50 (p99) of the run's samples, or the value when measured once (over \
         repetitions or boots: the median of theirs); a verdict other than pass follows the \
         value (with how many repetitions had it, when not all); — when the run lacks the \
         case. *Δ*: change of the p50 against the reference run; for latency figures, with \
         the 95% interval and the mark of `isobench compare` (τ 10%): ▲ slower beyond the \
         noise, ▼ faster, ≈ within ±10%, ? inconclusive: the comparison could not decide (an \
         interval across ±10%, or fewer than 3 repetitions a side: the interval is then over \
         samples, blind to run-to-run noise).\n\n",
    );
    if any_emulated {
        let names = |emulated: bool| {
            refs.iter()
                .position(|r| r.host.emulated() == emulated)
                .map(|i| keys[i].clone())
        };
        out.push_str(&format!(
            "**Timings of an emulated CPU (QEMU's TCG) are indicative only**: the emulator, not \
             the kernel, sets their scale. They are compared only with each other (reference: \
             {}){}. Fidelity verdicts are comparable across all columns: they judge the kernel \
             against its own limits.\n\n",
            names(true).unwrap_or_default(),
            names(false).map_or(String::new(), |k| format!(
                ", and the real CPUs' with each other (reference: {k})"
            )),
        ));
    }
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
    if !extras.boots.is_empty() {
        let mut row = vec!["boots".to_string()];
        row.extend(extras.boots.iter().map(|b| {
            let all = b.finished + b.failures.len();
            if b.failures.is_empty() {
                b.finished.to_string()
            } else {
                format!("{} of {all}", b.finished)
            }
        }));
        t.row(row);
    }
    if any_emulated {
        let mut row = vec!["timings".to_string()];
        row.extend(refs.iter().map(|r| {
            if r.host.emulated() {
                "indicative (emulated CPU)".to_string()
            } else {
                "measured".to_string()
            }
        }));
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
    out.push_str(&failures(&keys, extras));

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
            if statuses
                .iter()
                .all(|s| !s.is_empty() && s.iter().all(|s| *s == Status::Pass))
            {
                all_pass += 1;
                continue;
            }
            let mut row = vec![p.probe.clone(), case.clone()];
            row.extend(statuses.iter().map(|s| tally(s)));
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
        if refs.iter().any(|r| {
            r.cases
                .iter()
                .any(|c| c.verdict.status == Status::Inconclusive)
        }) {
            out.push_str(&format!(
                "*inconclusive*: {}; the reasons are in each run's report.md.\n\n",
                crate::record::INCONCLUSIVE_MEANS
            ));
        }
    }
    out.push_str(&interface_files(&refs, &keys));

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
                changed
                    .iter()
                    .map(|&i| (format!("Δ {}", keys[i]), Align::Right)),
            );
            let mut t = Table::new(cols);
            for (case, cells) in &m.rows {
                let mut row = vec![case.clone()];
                row.extend(cells.iter().map(|c| match c {
                    None => "—".to_string(),
                    Some((s, status)) => cell(s, *status),
                }));
                row.extend(changed.iter().map(|&i| {
                    let base = cells[reference[i]].as_ref().map(|(s, _)| center(s));
                    match (base, cells[i].as_ref().map(|(s, _)| center(s))) {
                        (Some(a), Some(b)) => {
                            let interval = gates[i]
                                .as_ref()
                                .and_then(|g: &GateReport| {
                                    g.metrics.iter().find(|r| {
                                        r.probe == p.probe
                                            && r.case == *case
                                            && r.metric == m.metric
                                    })
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

/// A run's verdicts of a case: `pass`; `FAIL 1/3` when some repetitions
/// differ (the worst, and how many had it); — when the run lacks the case.
fn tally(statuses: &[Status]) -> String {
    let t = tally_text(statuses);
    match t.strip_prefix("fail") {
        _ if t.is_empty() => "—".into(),
        Some(rest) => format!("{}{rest}", verdict_word(Status::Fail)),
        None => t,
    }
}

/// The interface files some runs' cgroups had and others' did not, one table
/// per cgroup layout (a v1 hierarchy has other files than cgroup2 on any
/// kernel: across layouts the difference says nothing of the kernel). Runs
/// that recorded none, from before isobench kept them, are left out.
fn interface_files(runs: &[&Run], keys: &[String]) -> String {
    let mut layouts: Vec<&str> = Vec::new();
    for r in runs.iter().filter(|r| !r.interface_files.is_empty()) {
        if !layouts.contains(&r.host.cgroup_layout.as_str()) {
            layouts.push(&r.host.cgroup_layout);
        }
    }
    let mut out = String::new();
    for layout in layouts {
        let have: Vec<usize> = (0..runs.len())
            .filter(|&i| {
                !runs[i].interface_files.is_empty() && runs[i].host.cgroup_layout == layout
            })
            .collect();
        if have.len() >= 2 {
            out.push_str(&interface_files_of(runs, keys, layout, &have));
        }
    }
    if !out.is_empty() {
        out.insert_str(
            0,
            "## Interface files\n\nFiles a fresh cgroup of the run had (✓) or lacked (—), where runs \
             of the same cgroup layout differ: what one kernel (or its configuration) offers and \
             another does not.\n\n",
        );
    }
    out
}

/// The table of one layout's runs `have`.
fn interface_files_of(runs: &[&Run], keys: &[String], layout: &str, have: &[usize]) -> String {
    let mut all: Vec<&str> = have
        .iter()
        .flat_map(|&i| runs[i].interface_files.iter().map(String::as_str))
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut t = Table::new(
        std::iter::once(("file".to_string(), Align::Left))
            .chain(have.iter().map(|&i| (keys[i].clone(), Align::Left))),
    );
    let mut same = 0;
    for f in all {
        let marks: Vec<bool> = have
            .iter()
            .map(|&i| runs[i].interface_files.iter().any(|x| x == f))
            .collect();
        if marks.iter().all(|m| *m) {
            same += 1;
            continue;
        }
        let mut row = vec![format!("`{f}`")];
        row.extend(marks.iter().map(|m| if *m { "✓" } else { "—" }.to_string()));
        t.row(row);
    }
    let runs_text = have
        .iter()
        .map(|&i| keys[i].as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!("#### Cgroup layout {layout}: {runs_text}\n\n");
    if t.is_empty() {
        out.push_str(&format!(
            "These runs' cgroups had the same {same} files.\n\n"
        ));
    } else {
        out.push_str(&format!("The other {same} files all these runs had.\n\n"));
        out.push_str(&t.render());
        out.push('\n');
    }
    out
}

/// Boots that ended without a result: what happened and the console's last lines.
fn failures(keys: &[String], extras: &Extras) -> String {
    let mut listed: Vec<(String, &BootFailure)> = Vec::new();
    for (i, b) in extras.boots.iter().enumerate() {
        listed.extend(b.failures.iter().map(|f| (keys[i].clone(), f)));
    }
    for (label, fs) in extras.unfinished {
        listed.extend(fs.iter().map(|f| (label.clone(), f)));
    }
    let mut out = String::new();
    if !extras.unfinished.is_empty() {
        out.push_str("## Kernels with no finished boot\n\n");
        for (label, fs) in extras.unfinished {
            out.push_str(&format!(
                "- **{label}**: {} boot(s), none finished; see below.\n",
                fs.len()
            ));
        }
        out.push('\n');
    }
    if listed.is_empty() {
        return out;
    }
    out.push_str("## Boots that did not finish\n\n");
    for (who, f) in listed {
        out.push_str(&format!("**{who}, {}**: {}\n\n", f.boot, f.what));
        if !f.console.is_empty() {
            out.push_str("```text\n");
            for l in &f.console {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
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
pub fn key(i: usize) -> String {
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
        insta::assert_snapshot!(
            "compare_md",
            render(
                &runs,
                &crate::compare::deltas(&runs),
                &Extras::default(),
                &[]
            )
        );
    }

    #[test]
    fn run_keys() {
        assert_eq!(key(0), "A");
        assert_eq!(key(25), "Z");
        assert_eq!(key(26), "AA");
        assert_eq!(key(27), "AB");
    }
}
