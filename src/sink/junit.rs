//! `junit.xml`: the verdicts for CI systems that read JUnit reports. One
//! `<testsuite>` per probe, one `<testcase>` per case:
//!
//! - pass → a plain testcase (the reason in `<system-out>`);
//! - fail → `<failure message="<reason>">` with the case's numbers in the body;
//! - skip → `<skipped message="<reason>"/>`;
//! - inconclusive → `<skipped message="inconclusive: <reason>"/>` and a
//!   `verdict=inconclusive` property: the measurement could not decide (the
//!   reason says why), which must not fail a CI job, yet stays visible and
//!   countable. A comment at the top says so in the words of
//!   [`crate::record::INCONCLUSIVE_MEANS`], once, when a case is inconclusive.
//!
//! The host fingerprint is in each suite's `<properties>`.

use std::fmt::Write;

use super::Sink;
use crate::record::{CaseResult, Run, Status};

pub struct Junit;

impl Sink for Junit {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>> {
        Ok(render(run).into_bytes())
    }
}

/// Text as XML character data or attribute value: markup escaped, characters XML 1.0
/// forbids (control characters other than tab and line breaks) dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// An attribute value: as [`escape`], and line breaks and tabs as character
/// references, since a parser turns them into spaces otherwise.
pub fn escape_attr(s: &str) -> String {
    escape(s)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// Seconds with millisecond precision, as JUnit's `time` attribute wants.
fn seconds(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e9)
}

struct Counts {
    tests: usize,
    failures: usize,
    skipped: usize,
    time_ns: Option<u64>,
}

fn counts<'a>(cases: impl Iterator<Item = &'a CaseResult>) -> Counts {
    let mut c = Counts {
        tests: 0,
        failures: 0,
        skipped: 0,
        time_ns: None,
    };
    for case in cases {
        c.tests += 1;
        match case.verdict.status {
            Status::Fail => c.failures += 1,
            Status::Skip | Status::Inconclusive => c.skipped += 1,
            Status::Pass => {}
        }
        if let Some(t) = case.elapsed_ns {
            c.time_ns = Some(c.time_ns.unwrap_or(0) + t);
        }
    }
    c
}

fn attrs(c: &Counts) -> String {
    let mut s = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\"",
        c.tests, c.failures, c.skipped
    );
    if let Some(t) = c.time_ns {
        s.push_str(&format!(" time=\"{}\"", seconds(t)));
    }
    s
}

/// The host and run facts a CI reader filters on.
fn properties(run: &Run) -> Vec<(&'static str, String)> {
    let h = &run.host;
    vec![
        ("run_id", run.run_id.clone()),
        ("isobench_version", run.isobench_version.clone()),
        ("kernel_release", h.kernel_release.clone()),
        ("kernel_version", h.kernel_version.clone()),
        (
            "config_hz",
            h.config_hz.map_or(String::new(), |z| z.to_string()),
        ),
        ("preemption", h.preemption.clone().unwrap_or_default()),
        ("cpu_model", h.cpu_model.clone()),
        ("cpus_online", h.cpus_online.clone()),
        ("virtualization", h.virtualization.clone()),
        ("cgroup_layout", h.cgroup_layout.clone()),
        ("quick", run.quick.to_string()),
        ("interrupted", run.interrupted.to_string()),
    ]
}

/// The numbers of a case, one metric a line, for a failure's body.
fn numbers(c: &CaseResult) -> String {
    let mut s = String::new();
    for m in &c.summaries {
        let _ = writeln!(
            s,
            "{} [{}]: n={} min={} p50={} p90={} p99={} max={} mean={:.1}",
            m.metric, m.unit, m.n, m.min, m.p50, m.p90, m.p99, m.max, m.mean
        );
    }
    s
}

/// The whole file.
pub fn render(run: &Run) -> String {
    let mut probes: Vec<&str> = Vec::new();
    for c in &run.cases {
        if !probes.contains(&c.probe.as_str()) {
            probes.push(&c.probe);
        }
    }
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if run
        .cases
        .iter()
        .any(|c| c.verdict.status == Status::Inconclusive)
    {
        // Text of our own, never `--` (which a comment must not hold).
        let _ = writeln!(
            x,
            "<!-- inconclusive (reported as skipped): {} -->",
            crate::record::INCONCLUSIVE_MEANS
        );
    }
    let _ = writeln!(
        x,
        "<testsuites name=\"isobench\" {} timestamp=\"{}\">",
        attrs(&counts(run.cases.iter())),
        escape_attr(&run.started_utc)
    );
    let props = properties(run);
    for probe in probes {
        let cases: Vec<&CaseResult> = run.cases.iter().filter(|c| c.probe == probe).collect();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" {} timestamp=\"{}\" hostname=\"{}\">",
            escape_attr(probe),
            attrs(&counts(cases.iter().copied())),
            escape_attr(&run.started_utc),
            escape_attr(&run.host.hostname)
        );
        x.push_str("    <properties>\n");
        for (k, v) in &props {
            let _ = writeln!(
                x,
                "      <property name=\"{k}\" value=\"{}\"/>",
                escape_attr(v)
            );
        }
        x.push_str("    </properties>\n");
        for c in cases {
            let time = c
                .elapsed_ns
                .map_or(String::new(), |t| format!(" time=\"{}\"", seconds(t)));
            let _ = writeln!(
                x,
                "    <testcase classname=\"isobench.{}\" name=\"{}\"{time}>",
                escape_attr(&c.probe),
                escape_attr(&c.label())
            );
            let reason = escape_attr(&c.verdict.reason);
            match c.verdict.status {
                Status::Pass => {
                    let _ = writeln!(
                        x,
                        "      <system-out>{}</system-out>",
                        escape(&c.verdict.reason)
                    );
                }
                Status::Fail => {
                    let _ = writeln!(
                        x,
                        "      <failure message=\"{reason}\" type=\"fail\">{}\n{}</failure>",
                        escape(&c.verdict.reason),
                        escape(&numbers(c))
                    );
                }
                Status::Skip => {
                    let _ = writeln!(x, "      <skipped message=\"{reason}\"/>");
                }
                Status::Inconclusive => {
                    x.push_str("      <properties>\n        <property name=\"verdict\" value=\"inconclusive\"/>\n      </properties>\n");
                    let _ = writeln!(x, "      <skipped message=\"inconclusive: {reason}\"/>");
                    let _ = writeln!(x, "      <system-out>{}</system-out>", escape(&numbers(c)));
                }
            }
            x.push_str("    </testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_of_a_fixed_run() {
        insta::assert_snapshot!("junit_xml", render(&crate::sink::fixture::run()));
    }

    /// Parses the file with a real XML parser and checks the counts against the run.
    #[test]
    fn valid_xml_with_the_right_counts() {
        let run = crate::sink::fixture::run();
        let text = render(&run);
        let doc = roxmltree::Document::parse(&text).expect("junit.xml is well-formed");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let n = |s: Status| run.cases.iter().filter(|c| c.verdict.status == s).count();
        let attr = |node: roxmltree::Node, a: &str| -> usize {
            node.attribute(a).unwrap().parse().unwrap()
        };
        assert_eq!(attr(root, "tests"), run.cases.len());
        assert_eq!(attr(root, "failures"), n(Status::Fail));
        assert_eq!(
            attr(root, "skipped"),
            n(Status::Skip) + n(Status::Inconclusive)
        );
        assert_eq!(attr(root, "errors"), 0);
        let cases: Vec<roxmltree::Node> = root
            .descendants()
            .filter(|d| d.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), run.cases.len());
        let with = |tag: &str| {
            cases
                .iter()
                .filter(|c| c.children().any(|d| d.has_tag_name(tag)))
                .count()
        };
        assert_eq!(with("failure"), n(Status::Fail));
        assert_eq!(with("skipped"), n(Status::Skip) + n(Status::Inconclusive));
        // Suites add up to the total, and the reasons survive escaping.
        let suites: Vec<roxmltree::Node> = root
            .children()
            .filter(|d| d.has_tag_name("testsuite"))
            .collect();
        assert_eq!(
            suites.iter().map(|s| attr(*s, "tests")).sum::<usize>(),
            run.cases.len()
        );
        for c in &run.cases {
            let node = cases
                .iter()
                .find(|n| {
                    n.attribute("name") == Some(c.case.as_str())
                        && n.attribute("classname")
                            == Some(format!("isobench.{}", c.probe).as_str())
                })
                .unwrap();
            let msg = node
                .descendants()
                .find(|d| d.has_tag_name("failure") || d.has_tag_name("skipped"))
                .and_then(|d| d.attribute("message"));
            match c.verdict.status {
                Status::Fail | Status::Skip => assert_eq!(msg, Some(c.verdict.reason.as_str())),
                Status::Inconclusive => {
                    assert_eq!(
                        msg,
                        Some(format!("inconclusive: {}", c.verdict.reason).as_str())
                    )
                }
                Status::Pass => assert_eq!(msg, None),
            }
        }
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{1}<b>&\"'\n"), "a&lt;b&gt;&amp;&quot;&apos;\n");
    }
}
