//! `results.ktap`: the verdicts in KTAP version 1, the format kernel test systems
//! (KUnit, kselftest runners, LAVA, KernelCI) read. One subtest per probe, one
//! test per case, in run order:
//!
//! - pass → `ok N case`, the reason on a `#` diagnostic line before it;
//! - fail → `not ok N case`, likewise;
//! - skip → `ok N case # SKIP <reason>`;
//! - inconclusive → `ok N case # SKIP inconclusive: <reason>` (as in junit.xml:
//!   a measurement that could not decide must not fail a CI job, and the word
//!   stays searchable); a diagnostic line after the header defines the word
//!   ([`crate::record::INCONCLUSIVE_MEANS`]) when a case is inconclusive.
//!
//! A probe is `not ok` when a case failed, `ok … # SKIP` when no case passed or
//! failed, else `ok`. Its counts are a diagnostic line at the end of its
//! subtest, in words: KTAP defines no totals line, and KUnit's `pass:N fail:N`
//! lines have no field for inconclusive, which parsers of them would choke on.

use std::fmt::Write;

use super::Sink;
use crate::record::{CaseResult, Run, Status};

pub struct Ktap;

impl Sink for Ktap {
    fn file_name(&self) -> &'static str {
        "results.ktap"
    }
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>> {
        Ok(render(run).into_bytes())
    }
}

/// A test name: one line, and no `#` (which would start a directive).
pub fn name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '#' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Diagnostic or directive text: one line.
fn line(s: &str) -> String {
    crate::sink::one_line(s)
}

/// The result line of a test with its directive.
fn result(n: usize, test: &str, status: Status, reason: &str) -> String {
    match status {
        Status::Pass => format!("ok {n} {}", name(test)),
        Status::Fail => format!("not ok {n} {}", name(test)),
        Status::Skip => format!("ok {n} {} # SKIP {}", name(test), line(reason)),
        Status::Inconclusive => {
            format!(
                "ok {n} {} # SKIP inconclusive: {}",
                name(test),
                line(reason)
            )
        }
    }
}

/// The whole file.
pub fn render(run: &Run) -> String {
    let mut probes: Vec<(&str, Vec<&CaseResult>)> = Vec::new();
    for c in &run.cases {
        match probes.iter_mut().find(|(p, _)| *p == c.probe) {
            Some((_, v)) => v.push(c),
            None => probes.push((&c.probe, vec![c])),
        }
    }
    let h = &run.host;
    let mut out = String::from("KTAP version 1\n");
    let _ = writeln!(
        out,
        "# isobench {} run {}: Linux {} on {}, cgroup {}",
        run.isobench_version,
        run.run_id,
        line(&h.kernel_release),
        line(&h.hostname),
        h.cgroup_layout
    );
    if run.interrupted {
        out.push_str(
            "# interrupted by a signal: only the cases below ran; the plan counts the probes reached\n",
        );
    }
    if run
        .cases
        .iter()
        .any(|c| c.verdict.status == Status::Inconclusive)
    {
        let _ = writeln!(
            out,
            "# inconclusive (reported as SKIP): {}",
            crate::record::INCONCLUSIVE_MEANS
        );
    }
    let _ = writeln!(out, "1..{}", probes.len());
    for (i, (probe, cases)) in probes.iter().enumerate() {
        out.push_str("    KTAP version 1\n");
        let _ = writeln!(out, "    # Subtest: {}", name(probe));
        let _ = writeln!(out, "    1..{}", cases.len());
        for (j, c) in cases.iter().enumerate() {
            if matches!(c.verdict.status, Status::Pass | Status::Fail)
                && !c.verdict.reason.is_empty()
            {
                let _ = writeln!(
                    out,
                    "    # {}: {}",
                    name(&c.label()),
                    line(&c.verdict.reason)
                );
            }
            let _ = writeln!(
                out,
                "    {}",
                result(j + 1, &c.label(), c.verdict.status, &c.verdict.reason)
            );
        }
        let n = |s: Status| cases.iter().filter(|c| c.verdict.status == s).count();
        let (pass, fail, inconclusive, skip) = (
            n(Status::Pass),
            n(Status::Fail),
            n(Status::Inconclusive),
            n(Status::Skip),
        );
        let _ = writeln!(
            out,
            "    # {}: {} cases, {pass} passed, {fail} failed, {} skipped ({inconclusive} of \
             them inconclusive)",
            name(probe),
            cases.len(),
            skip + inconclusive
        );
        let status = if fail > 0 {
            Status::Fail
        } else if pass == 0 {
            Status::Skip
        } else {
            Status::Pass
        };
        let why = if inconclusive > 0 && skip == 0 {
            "every case inconclusive"
        } else {
            "no case could run"
        };
        let _ = writeln!(out, "{}", result(i + 1, probe, status, why));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_start_a_line() {
        assert_eq!(
            line("a\nok 3 fake\u{1b}[31m\u{2028}x\0"),
            "a ok 3 fake [31m x "
        );
    }

    #[test]
    fn snapshot_of_a_fixed_run() {
        insta::assert_snapshot!("results_ktap", render(&crate::sink::fixture::run()));
    }

    /// Every line is one of KTAP v1's four kinds, at an indentation of four
    /// spaces a nesting level: version, plan, result (with SKIP as the only
    /// directive) or diagnostic (`#`), the subtest header being a diagnostic.
    #[test]
    fn every_line_is_a_ktap_v1_line() {
        let text = render(&crate::sink::fixture::run());
        for l in text.lines() {
            let t = l.trim_start_matches("    ");
            assert!(
                !t.starts_with(' '),
                "indentation not a multiple of 4: {l:?}"
            );
            let result = |t: &str| {
                let rest = t.strip_prefix("not ").unwrap_or(t).strip_prefix("ok ")?;
                let (n, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                n.parse::<usize>().ok()?;
                match rest.split_once(" # ") {
                    None => Some(!rest.contains('#')),
                    Some((desc, dir)) => Some(!desc.contains('#') && dir.starts_with("SKIP")),
                }
            };
            let ok = t == "KTAP version 1"
                || t.strip_prefix("1..")
                    .is_some_and(|n| n.parse::<usize>().is_ok())
                || t.starts_with("# ")
                || result(t) == Some(true);
            assert!(ok, "not a KTAP v1 line: {l:?}");
            // No KUnit-style counts: their parsers know no `inconclusive:`.
            assert!(!t.contains("pass:"), "{l:?}");
        }
    }

    /// Reads the file back as a KTAP consumer would: every plan matches its
    /// tests, and each case's status is on its result line.
    #[test]
    fn plans_match_and_statuses_are_right() {
        let run = crate::sink::fixture::run();
        let text = render(&run);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KTAP version 1");
        let top: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .copied()
            .collect();
        let plan = lines.iter().find(|l| l.starts_with("1..")).unwrap();
        assert_eq!(*plan, format!("1..{}", top.len()));
        // Each nested plan counts the result lines up to the parent's result.
        let mut i = 0;
        let mut subtests = 0;
        while i < lines.len() {
            if let Some(n) = lines[i].strip_prefix("    1..") {
                let n: usize = n.parse().unwrap();
                let mut results = 0;
                let mut j = i + 1;
                while !lines[j].starts_with("ok ") && !lines[j].starts_with("not ok ") {
                    let t = lines[j].trim_start();
                    if t.starts_with("ok ") || t.starts_with("not ok ") {
                        results += 1;
                        let number: usize = t
                            .trim_start_matches("not ")
                            .trim_start_matches("ok ")
                            .split(' ')
                            .next()
                            .unwrap()
                            .parse()
                            .unwrap();
                        assert_eq!(number, results, "tests numbered from 1: {t}");
                    }
                    j += 1;
                }
                assert_eq!(results, n, "plan of subtest before line {j}");
                subtests += 1;
                i = j;
            }
            i += 1;
        }
        assert_eq!(subtests, top.len());
        for c in &run.cases {
            let l = lines
                .iter()
                .map(|l| l.trim_start())
                .find(|l| {
                    let rest = l.trim_start_matches("not ").trim_start_matches("ok ");
                    rest.split(' ').nth(1) == Some(c.case.as_str())
                        && l.starts_with(char::is_alphabetic)
                })
                .unwrap_or_else(|| panic!("no result line for {}", c.case));
            match c.verdict.status {
                Status::Pass => assert!(l.starts_with("ok ") && !l.contains("# SKIP"), "{l}"),
                Status::Fail => assert!(l.starts_with("not ok "), "{l}"),
                Status::Skip => {
                    assert!(l.contains("# SKIP ") && !l.contains("inconclusive"), "{l}")
                }
                Status::Inconclusive => assert!(l.contains("# SKIP inconclusive: "), "{l}"),
            }
        }
        // A probe with a failed case is not ok.
        let failing: Vec<&str> = run
            .cases
            .iter()
            .filter(|c| c.verdict.status == Status::Fail)
            .map(|c| c.probe.as_str())
            .collect();
        for p in failing {
            assert!(top
                .iter()
                .any(|l| l.starts_with("not ok ") && l.ends_with(p)));
        }
    }
}
