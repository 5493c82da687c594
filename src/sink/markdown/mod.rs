//! `report.md`: the run for people — what a kernel developer would paste into a
//! mail: the counts and the cases that did not pass (with their reasons) first,
//! then the main results (namespace latency, quota fidelity, cgroup operation
//! costs), the other probes' tables (what a limit promised against what the
//! kernel delivered) and charts, the host, and last every case that passed. Derived from the [`Run`] alone (and the chart list), so it
//! can be rebuilt from a folder at any time (`isobench report`).

use super::Sink;
use crate::chart::Chart;
use crate::record::{CaseResult, Run, Status};

pub mod compare;
mod host;

use crate::markdown::{generic, Align, Table};
use crate::probe::{Group, ALL};

/// The report of one run, embedding `charts` (rendered beforehand; the report
/// names only charts that exist).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub charts: Vec<Chart>,
}

impl Sink for Report {
    fn file_name(&self) -> &'static str {
        "report.md"
    }
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>> {
        Ok(render(run, &self.charts).into_bytes())
    }
}

/// The probes of the main results, in this order: namespace latency per kind
/// and method, quota fidelity, then what cgroup operations cost. They answer
/// what most readers come for, so they come before the other probes (which
/// keep the registry's order).
const MAIN: [&str; 4] = ["ns_latency", "cpu_quota", "cgroup_ops", "cgroup_lifecycle"];

/// The whole report text, in reading order: what run this is, the counts, the
/// cases that did not pass, the main results, the other probes, the host, and
/// last the per-probe counts and every passed case.
pub fn render(run: &Run, charts: &[Chart]) -> String {
    let mut out = String::new();
    let h = &run.host;
    out.push_str(&format!(
        "# isobench report: Linux {} on {}\n\n",
        h.kernel_release, h.hostname
    ));
    out.push_str(&run_line(run));
    out.push_str(&format!("**{}.**\n\n", counts_text(run)));
    out.push_str(&not_passed(run));

    let by_probe = group_by_probe_ordered(run);
    let cases_of = |probe: &str| -> &[&CaseResult] {
        by_probe
            .iter()
            .find(|(p, _)| *p == probe)
            .map_or(&[], |(_, c)| c.as_slice())
    };
    let mut shown: Vec<&str> = Vec::new();
    let main: Vec<&dyn crate::probe::Registered> = MAIN
        .iter()
        .filter_map(|id| crate::probe::find(id))
        .filter(|p| !cases_of(p.id()).is_empty())
        .collect();
    if !main.is_empty() {
        out.push_str("## Main results\n\n");
        if run.cases.iter().any(|c| c.repetition.is_some()) {
            out.push_str(
                "The latency cases ran in repetitions: the tables show the first; how much \
                 the repetitions differ is under *Repetitions*, after these results.\n\n",
            );
        }
        for probe in main {
            out.push_str(&format!("### {} (`{}`)\n\n", probe.title(), probe.id()));
            out.push_str(&probe.report(cases_of(probe.id())));
            out.push_str(&charts_of(charts, probe.id()));
            shown.push(probe.id());
        }
    }
    out.push_str(&repetitions(run));
    // The other probes: latency, then fidelity, each in the registry's order;
    // then any probe this build does not know (shown generically, so nothing
    // is hidden).
    for group in [Group::Latency, Group::Fidelity] {
        let present: Vec<_> = ALL
            .iter()
            .filter(|p| p.group() == group && !shown.contains(&p.id()))
            .filter(|p| !cases_of(p.id()).is_empty())
            .collect();
        if present.is_empty() {
            continue;
        }
        out.push_str(&format!("## {}\n\n", other_title(group)));
        for probe in present {
            out.push_str(&format!("### {} (`{}`)\n\n", probe.title(), probe.id()));
            out.push_str(&probe.report(cases_of(probe.id())));
            out.push_str(&charts_of(charts, probe.id()));
            shown.push(probe.id());
        }
    }
    let others: Vec<&str> = run
        .cases
        .iter()
        .map(|c| c.probe.as_str())
        .filter(|p| !shown.contains(p))
        .fold(Vec::new(), |mut v, p| {
            if !v.contains(&p) {
                v.push(p);
            }
            v
        });
    if !others.is_empty() {
        out.push_str("## Other probes\n\n");
        for probe in others {
            out.push_str(&format!("### `{probe}`\n\n"));
            out.push_str(&generic(cases_of(probe)));
            out.push_str(&charts_of(charts, probe));
            shown.push(probe);
        }
    }
    let rest: Vec<&Chart> = charts
        .iter()
        .filter(|c| !shown.contains(&c.probe.as_str()))
        .collect();
    if !rest.is_empty() {
        out.push_str("## Other charts\n\n");
        for c in rest {
            out.push_str(&embed(c));
        }
        out.push('\n');
    }
    out.push_str("## Host\n\n");
    let mut t = Table::new([("fact", Align::Left), ("value", Align::Left)]);
    for (k, v) in host::rows(h) {
        t.row(vec![k.into(), v]);
    }
    out.push_str(&t.render());
    out.push('\n');
    out.push_str(&host::cmdline(h));
    out.push_str(&all_verdicts(run));
    out.push_str(
        "---\n\nFiles: `run.json` (the record; everything else is derived from it and `samples/`), \
         `summary.csv`, `samples/*.csv`, `junit.xml`, `results.ktap`. \
         Rebuild with `isobench report <this folder>`.\n",
    );
    out
}

/// The heading of the probes of `group` that are not among the main results.
fn other_title(group: Group) -> &'static str {
    match group {
        Group::Latency => "Other latency measurements",
        Group::Fidelity => "Other fidelity checks",
    }
}

/// Run-to-run spread of the repeated cases: per case, its first metric's
/// median in each repetition, summarised (the noise `isobench compare` works
/// against). Empty when nothing was repeated.
fn repetitions(run: &Run) -> String {
    let mut t = Table::new([
        ("probe", Align::Left),
        ("case", Align::Left),
        ("metric", Align::Left),
        ("repetitions", Align::Right),
        ("median", Align::Right),
        ("min … max", Align::Right),
        ("spread", Align::Right),
    ]);
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for c in run.cases.iter().filter(|c| c.repetition.is_some()) {
        if seen.contains(&(c.probe.as_str(), c.case.as_str())) {
            continue;
        }
        seen.push((&c.probe, &c.case));
        let Some(first) = c.summaries.first() else {
            continue;
        };
        let mut p50s: Vec<u64> = run
            .cases
            .iter()
            .filter(|r| r.probe == c.probe && r.case == c.case)
            .filter_map(|r| r.summary(&first.metric).map(|s| s.p50))
            .collect();
        p50s.sort_unstable();
        let (Some(&lo), Some(&hi)) = (p50s.first(), p50s.last()) else {
            continue;
        };
        let mid = crate::bootstrap::median(&mut p50s.clone()).unwrap_or(0.0);
        t.row(vec![
            c.probe.clone(),
            c.case.clone(),
            first.metric.clone(),
            p50s.len().to_string(),
            crate::units::human(mid, &first.unit),
            format!(
                "{} … {}",
                crate::units::human_u64(lo, &first.unit),
                crate::units::human_u64(hi, &first.unit)
            ),
            if mid > 0.0 {
                format!("{:.1}%", (hi - lo) as f64 / mid * 100.0)
            } else {
                "—".into()
            },
        ]);
    }
    if t.is_empty() {
        return String::new();
    }
    format!(
        "## Repetitions\n\nThe latency cases ran in interleaved repetitions, each in fresh workers. \
         Per case, the p50 of each repetition: its median, range, and spread (max − min over the \
         median) — the run-to-run noise a regression must stand out from. The tables above show \
         the first repetition; every record is in summary.csv.\n\n{}\n",
        t.render()
    )
}

/// One line saying which run this is, and notes that change how to read it.
fn run_line(run: &Run) -> String {
    // In code spans: `<default scenario>` is otherwise read as an HTML tag
    // and dropped by a Markdown renderer.
    let scenarios: Vec<String> = run
        .scenarios
        .iter()
        .map(|(f, _)| format!("`{}`", f.replace('`', "'")))
        .collect();
    let mut s = format!(
        "Run `{}`, isobench {}, scenario {}; started {}, {}.\n\n",
        run.run_id,
        run.isobench_version,
        if scenarios.is_empty() {
            "none".into()
        } else {
            scenarios.join(", ")
        },
        run.started_utc,
        match &run.finished_utc {
            Some(f) => format!("finished {f}"),
            None if run.interrupted => "interrupted".into(),
            None => "not finished (still running, or the harness was killed)".into(),
        }
    );
    if run.interrupted {
        s.push_str(&format!(
            "> **Interrupted** by a signal after {} case(s): the cases below finished; later ones did not run.\n\n",
            run.cases.len()
        ));
    }
    if run.quick {
        s.push_str("> **Quick run** (`--quick`): one repetition per case, a smoke test rather than a measurement.\n\n");
    }
    if run.host.busy {
        s.push_str(&format!(
            "> **Busy host** when the run started: {}; results are noisier.\n\n",
            run.host.busy_basis()
        ));
    }
    s
}

/// `130 pass, 0 fail, 0 inconclusive, 3 skip`.
fn counts_text(run: &Run) -> String {
    run.counts()
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The cases that did not pass, with their reasons, worst first: what a
/// reader of a long run needs on the first screen.
fn not_passed(run: &Run) -> String {
    if run.cases.is_empty() {
        return "No case has finished.\n\n".into();
    }
    let mut out = String::from("## Cases that did not pass\n\n");
    let mut any = false;
    for status in [Status::Fail, Status::Inconclusive, Status::Skip] {
        let t = cases_table(run, status);
        if t.is_empty() {
            continue;
        }
        any = true;
        let (title, means) = match status {
            Status::Fail => ("Failed", None),
            Status::Inconclusive => (
                "Inconclusive",
                Some(format!(
                    "*Inconclusive*: {}.",
                    crate::record::INCONCLUSIVE_MEANS
                )),
            ),
            _ => (
                "Skipped",
                Some(
                    "*Skipped*: the case cannot run here; the reason says what is missing."
                        .to_string(),
                ),
            ),
        };
        out.push_str(&format!("### {title}\n\n"));
        if let Some(m) = means {
            out.push_str(&m);
            out.push_str("\n\n");
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    if !any {
        out.push_str("Every case passed.\n\n");
    }
    out
}

/// Every case of `status` with its reason, in run order.
fn cases_table(run: &Run, status: Status) -> Table {
    let mut t = Table::new([
        ("probe", Align::Left),
        ("case", Align::Left),
        ("reason", Align::Left),
    ]);
    for c in run.cases.iter().filter(|c| c.verdict.status == status) {
        t.row(vec![c.probe.clone(), c.label(), c.verdict.reason.clone()]);
    }
    t
}

/// The verdicts in full, at the end: the counts per probe, then every case
/// that passed with its reason (the others are at the top).
fn all_verdicts(run: &Run) -> String {
    let mut t = Table::new([
        ("probe", Align::Left),
        ("pass", Align::Right),
        ("fail", Align::Right),
        ("inconclusive", Align::Right),
        ("skip", Align::Right),
    ]);
    for (probe, cases) in group_by_probe_ordered(run) {
        let n = |s: Status| cases.iter().filter(|c| c.verdict.status == s).count();
        t.row(vec![
            probe.to_string(),
            n(Status::Pass).to_string(),
            n(Status::Fail).to_string(),
            n(Status::Inconclusive).to_string(),
            n(Status::Skip).to_string(),
        ]);
    }
    if t.is_empty() {
        return String::new();
    }
    let mut out = format!("## Verdicts per probe\n\n{}\n", t.render());
    let passed = cases_table(run, Status::Pass);
    if !passed.is_empty() {
        out.push_str(&format!("### Passed\n\n{}\n", passed.render()));
    }
    out
}

/// Probes in the order the run met them.
fn group_by_probe_ordered(run: &Run) -> Vec<(&str, Vec<&CaseResult>)> {
    let mut v: Vec<(&str, Vec<&CaseResult>)> = Vec::new();
    for c in &run.cases {
        match v.iter_mut().find(|(p, _)| *p == c.probe) {
            Some((_, cases)) => cases.push(c),
            None => v.push((c.probe.as_str(), vec![c])),
        }
    }
    v
}

fn embed(c: &Chart) -> String {
    let mut s = format!("![{}]({})", c.title, c.svg);
    if !c.png.is_empty() {
        s.push_str(&format!(" ([PNG]({}))", c.png));
    }
    s.push('\n');
    s
}

/// The charts of `probe`, one per paragraph.
fn charts_of(charts: &[Chart], probe: &str) -> String {
    let mut s = String::new();
    for c in charts.iter().filter(|c| c.probe == probe) {
        s.push_str(&embed(c));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_of_a_fixed_run() {
        let run = crate::sink::fixture::run();
        insta::assert_snapshot!("report_md", render(&run, &crate::sink::fixture::charts()));
    }

    /// The order a reader meets: counts, what did not pass, the main results
    /// (namespace latency, quota fidelity, cgroup operation costs), the other
    /// probes, the host, and last what passed.
    #[test]
    fn sections_come_in_reading_order() {
        let text = render(
            &crate::sink::fixture::run(),
            &crate::sink::fixture::charts(),
        );
        let order = [
            "**15 pass, 2 fail, 1 inconclusive, 3 skip.**",
            "## Cases that did not pass",
            "### Failed",
            "### Inconclusive",
            "### Skipped",
            "## Main results",
            "### Namespace creation (`ns_latency`)",
            "![ns-latency-cdf chart]",
            "### CPU quota (cpu.max, cpu.cfs_quota_us) (`cpu_quota`)",
            "![cpu-quota-achieved chart]",
            "### Cgroup operations (`cgroup_ops`)",
            "### Cgroup life cycle (`cgroup_lifecycle`)",
            "## Other fidelity checks",
            "### Cpuset placement (`cpuset`)",
            "## Other probes",
            "## Other charts",
            "## Host",
            "## Verdicts per probe",
            "### Passed",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|h| {
                text.find(h)
                    .unwrap_or_else(|| panic!("no {h:?} in\n{text}"))
            })
            .collect();
        for (w, pair) in at.windows(2).enumerate() {
            assert!(
                pair[0] < pair[1],
                "{:?} is not before {:?}",
                order[w],
                order[w + 1]
            );
        }
        // Every section of the probes is there once: nothing dropped, nothing doubled.
        for probe in [
            "ns_latency",
            "cpu_quota",
            "cgroup_ops",
            "cgroup_lifecycle",
            "io",
        ] {
            let heading = format!("(`{probe}`)\n");
            assert_eq!(text.matches(&heading).count(), 1, "{probe}");
        }
        // A passed case is listed at the end only.
        let top = &text[..at[5]];
        assert!(!top.contains("pin-0_1"), "{top}");
    }

    /// One definition of "inconclusive", the shared one; none of the old ones.
    #[test]
    fn inconclusive_has_one_definition() {
        let text = render(&crate::sink::fixture::run(), &[]);
        assert!(text.contains(crate::record::INCONCLUSIVE_MEANS), "{text}");
        assert!(!text.contains("clean measurement"), "{text}");
    }

    #[test]
    fn a_run_where_everything_passed_says_so() {
        let mut run = crate::sink::fixture::run();
        run.cases.retain(|c| c.verdict.status == Status::Pass);
        let text = render(&run, &[]);
        assert!(
            text.contains("## Cases that did not pass\n\nEvery case passed.\n"),
            "{text}"
        );
        assert!(
            !text.contains("### Failed") && !text.contains("### Skipped"),
            "{text}"
        );
    }

    /// Repeated latency cases: the main results say the tables are the first
    /// repetition, and the spread follows them, before the other probes.
    #[test]
    fn repetitions_follow_the_main_results() {
        let mut run = crate::sink::fixture::run();
        let i = run
            .cases
            .iter()
            .position(|c| c.case == "none-clone")
            .unwrap();
        run.cases[i].repetition = Some(1);
        let mut again = run.cases[i].clone();
        again.repetition = Some(2);
        run.cases.push(again);
        let text = render(&run, &[]);
        let at = |h: &str| {
            text.find(h)
                .unwrap_or_else(|| panic!("no {h:?} in\n{text}"))
        };
        assert!(at("## Main results") < at("ran in repetitions: the tables show the first"));
        assert!(at("### Cgroup life cycle") < at("## Repetitions"));
        assert!(at("## Repetitions") < at("## Other fidelity checks"));
    }

    #[test]
    fn a_busy_host_is_noted_with_what_it_was_judged_by() {
        let mut run = crate::sink::fixture::run();
        assert!(!render(&run, &[]).contains("Busy host"));
        run.host.busy = true;
        let text = render(&run, &[]);
        assert!(
            text.contains("> **Busy host** when the run started: CPUs 4 % busy and a task waiting for one 1 % of the time, over 1 s (/proc/stat, PSI); results are noisier.\n"),
            "{text}"
        );
        // A folder written before the sample: judged by the load average.
        run.host.cpu_sample = None;
        assert!(render(&run, &[]).contains(
            "> **Busy host** when the run started: load 0.38 on 2 CPUs (1-minute load average);"
        ));
    }

    #[test]
    fn no_chart_means_no_image() {
        let run = crate::sink::fixture::run();
        let text = render(&run, &[]);
        assert!(!text.contains("!["), "{text}");
    }
}
