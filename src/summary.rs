//! What `isobench run` prints when it ends, finished or interrupted: the
//! counts, the cases that did not pass with their reasons (every case with
//! `--verbose`), then where the results are. One screen: the passed cases are
//! in report.md and summary.csv.

use std::fmt::Write;
use std::path::Path;

use isobench::record::{CaseResult, Status};

/// Not-passed rows shown at most without `--verbose`; the rest are counted.
const MAX_ROWS: usize = 30;

/// One finished case, as the summary shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub probe: String,
    /// The case id, `#N` after it for a repetition.
    pub case: String,
    pub status: Status,
    pub reason: String,
    /// A repetition after the first (collapsed when it passed).
    pub later_repetition: bool,
}

impl From<&CaseResult> for Row {
    fn from(c: &CaseResult) -> Row {
        Row {
            probe: c.probe.clone(),
            case: c.label(),
            status: c.verdict.status,
            reason: c.verdict.reason.clone(),
            later_repetition: c.repetition.is_some_and(|r| r > 1),
        }
    }
}

/// `96 pass, 1 fail, 3 inconclusive, 6 skip`.
pub fn counts(rows: &[Row]) -> String {
    isobench::record::status_counts(rows.iter().map(|r| r.status))
        .map(|(s, n)| format!("{n} {s}"))
        .join(", ")
}

/// A table of `rows`, its columns as wide as their longest cell.
fn table(out: &mut String, rows: &[&Row]) {
    let header = ["probe", "case", "verdict", "reason"]
        .map(String::from)
        .to_vec();
    let cells = rows.iter().map(|r| {
        vec![
            r.probe.clone(),
            r.case.clone(),
            r.status.to_string(),
            r.reason.clone(),
        ]
    });
    let all: Vec<Vec<String>> = std::iter::once(header).chain(cells).collect();
    isobench::textable::table(out, &all, 0, None);
}

/// The counts, then the cases that did not pass, worst first (every case in
/// plan order with `verbose`).
pub fn render(rows: &[Row], verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", counts(rows));
    if rows.is_empty() {
        return out;
    }
    if verbose {
        // Later repetitions only where they did not pass: every record is in
        // summary.csv.
        let shown: Vec<&Row> = rows
            .iter()
            .filter(|r| !(r.later_repetition && r.status == Status::Pass))
            .collect();
        table(&mut out, &shown);
        let quiet = rows.len() - shown.len();
        if quiet > 0 {
            let _ = writeln!(
                out,
                "(and {quiet} further repetitions that passed: see summary.csv)"
            );
        }
        return out;
    }
    let mut not_passed: Vec<&Row> = rows.iter().filter(|r| r.status != Status::Pass).collect();
    if not_passed.is_empty() {
        let _ = writeln!(out, "every case passed (--verbose lists them)");
        return out;
    }
    // Stable: within a verdict, plan order.
    not_passed.sort_by_key(|r| std::cmp::Reverse(r.status.severity()));
    let more = not_passed.len().saturating_sub(MAX_ROWS);
    not_passed.truncate(MAX_ROWS);
    let _ = writeln!(out, "not passed:");
    table(&mut out, &not_passed);
    if more > 0 {
        let _ = writeln!(
            out,
            "(and {more} more that did not pass: see report.md, or summary.csv)"
        );
    }
    out
}

/// The folder lines: `results: <dir>` and `report: <dir>/report.md`.
pub fn folder(dir: &Path) -> String {
    format!(
        "results: {}\nreport: {}\n",
        dir.display(),
        dir.join("report.md").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(probe: &str, case: &str, status: Status, reason: &str) -> Row {
        Row {
            probe: probe.into(),
            case: case.into(),
            status,
            reason: reason.into(),
            later_repetition: false,
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            row("cgroup_lifecycle", "cpu", Status::Pass, "5 cycle(s)"),
            row("memory", "high-64MiB", Status::Skip, "v2 only"),
            row("cpu_quota", "q25", Status::Inconclusive, "busy host"),
            row("ns_latency", "mnt-clone", Status::Pass, "p50 20 µs"),
            row("pids", "max16", Status::Fail, "forked 17"),
        ]
    }

    #[test]
    fn counts_first_then_only_the_cases_that_did_not_pass_worst_first() {
        let text = render(&rows(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "2 pass, 1 fail, 1 inconclusive, 1 skip");
        assert_eq!(lines[1], "not passed:");
        // Columns sized to the rows shown: `cgroup_lifecycle` is not among them.
        assert_eq!(lines[2], "probe      case        verdict       reason");
        assert_eq!(lines[3], "pids       max16       fail          forked 17");
        assert_eq!(lines[4], "cpu_quota  q25         inconclusive  busy host");
        assert_eq!(lines[5], "memory     high-64MiB  skip          v2 only");
        assert_eq!(lines.len(), 6, "{text}");
    }

    #[test]
    fn verbose_lists_every_case_in_plan_order() {
        let text = render(&rows(), true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[2].starts_with("cgroup_lifecycle  cpu "), "{text}");
        assert!(lines[6].starts_with("pids "), "{text}");
    }

    #[test]
    fn all_passed_is_said_in_one_line() {
        let all: Vec<Row> = rows()
            .into_iter()
            .filter(|r| r.status == Status::Pass)
            .collect();
        assert_eq!(
            render(&all, false),
            "2 pass, 0 fail, 0 inconclusive, 0 skip\nevery case passed (--verbose lists them)\n"
        );
        assert_eq!(
            render(&[], false),
            "0 pass, 0 fail, 0 inconclusive, 0 skip\n"
        );
    }

    #[test]
    fn a_long_list_stays_one_screen() {
        let many: Vec<Row> = (0..45)
            .map(|i| row("devices", &format!("c{i}"), Status::Skip, "no"))
            .collect();
        let text = render(&many, false);
        assert_eq!(text.lines().count(), 1 + 1 + 1 + MAX_ROWS + 1, "{text}");
        assert!(text.ends_with("(and 15 more that did not pass: see report.md, or summary.csv)\n"));
    }

    #[test]
    fn passed_later_repetitions_are_collapsed_in_verbose() {
        let mut r = rows();
        r.push(Row {
            later_repetition: true,
            ..row("ns_latency", "mnt-clone#2", Status::Pass, "p50 21 µs")
        });
        let text = render(&r, true);
        assert!(!text.contains("mnt-clone#2"), "{text}");
        assert!(text.ends_with("(and 1 further repetitions that passed: see summary.csv)\n"));
    }
}
