//! The gate's output folder: `compare.md` for people, `compare.csv` and
//! `compare.json` for tools, `junit.xml` and `results.ktap` for CI systems (one
//! test per gated figure and per changed verdict; an undecided figure is a
//! skip with its reason).

use std::path::Path;

use anyhow::Context;

use super::{GateReport, MetricRow, Outcome, VerdictRow};
use crate::markdown::{one_line, Align, Table};
use crate::record::Status;
use crate::sink::junit::{escape, escape_attr};
use crate::units::human;

/// Writes every file into `out` (created if missing).
pub fn write(report: &GateReport, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let files: [(&str, Vec<u8>); 5] = [
        ("compare.md", markdown(report).into_bytes()),
        ("compare.csv", csv(report)?),
        ("compare.json", serde_json::to_vec_pretty(report)?),
        ("junit.xml", junit(report).into_bytes()),
        ("results.ktap", ktap(report).into_bytes()),
    ];
    for (name, bytes) in files {
        let path = out.join(name);
        crate::fs::write_atomic(&path, &bytes)
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

fn status_word(s: Option<Status>) -> String {
    s.map_or("—".into(), |s| s.to_string())
}

/// A figure's test name: `probe/case/metric`.
fn test_name(m: &MetricRow) -> String {
    format!("{}/{}/{}", m.probe, m.case, m.metric)
}

/// The change as a signed percentage with its interval: `+12.3% (+4.1 … +20.9%)`.
fn change(m: &MetricRow) -> String {
    let pct = |r: f64| format!("{:+.1}", (r - 1.0) * 100.0);
    match (m.ratio, m.ratio_lo, m.ratio_hi) {
        (Some(r), Some(lo), Some(hi)) => format!("{}% ({} … {}%)", pct(r), pct(lo), pct(hi)),
        _ => "—".into(),
    }
}

/// The counts line, also printed by the CLI.
pub fn counts(r: &GateReport) -> String {
    format!(
        "{} regressed, {} improved, {} within noise, {} inconclusive; {} verdict(s) became fail",
        r.count(Outcome::Regressed),
        r.count(Outcome::Improved),
        r.count(Outcome::WithinNoise),
        r.count(Outcome::Inconclusive),
        r.verdicts.iter().filter(|v| v.regressed).count()
    )
}

pub fn markdown(r: &GateReport) -> String {
    let mut out = format!(
        "# isobench compare\n\nBase `{}`, current `{}`. Threshold ±{}% (per metric where set), α = {} (Holm-corrected).\n\n**{}**\n\n",
        r.base,
        r.cur,
        r.threshold_pct,
        r.alpha,
        counts(r)
    );
    if let Some(why) = &r.incomparable {
        out.push_str(&format!("No figure can be decided: {why}.\n\n"));
    }
    out.push_str("## Verdicts\n\n");
    if r.verdicts.is_empty() {
        out.push_str("Every case has the same verdict in both runs.\n\n");
    } else {
        let mut t = Table::new([
            ("probe", Align::Left),
            ("case", Align::Left),
            ("base", Align::Left),
            ("current", Align::Left),
            ("", Align::Left),
        ]);
        for v in &r.verdicts {
            t.row(vec![
                v.probe.clone(),
                v.case.clone(),
                status_word(v.base),
                status_word(v.cur),
                verdict_note(v).into(),
            ]);
        }
        out.push_str(&t.render());
        out.push('\n');
        if r.verdicts
            .iter()
            .any(|v| v.base == Some(Status::Inconclusive) || v.cur == Some(Status::Inconclusive))
        {
            out.push_str(&format!(
                "*inconclusive* (a verdict): {}.\n\n",
                crate::record::INCONCLUSIVE_MEANS
            ));
        }
    }
    out.push_str("## Figures\n\nThe change is cur / base − 1 with its 95% interval; `weak` marks an interval over samples (fewer than 3 repetitions a side), which never fails the gate. *inconclusive* (a figure): the comparison could not decide (the reason, under *Reasons*, says why: an interval across the threshold, too few repetitions, runs that cannot be compared, …).\n\n");
    let mut t = Table::new([
        ("probe", Align::Left),
        ("case", Align::Left),
        ("metric", Align::Left),
        ("base", Align::Right),
        ("current", Align::Right),
        ("change (95% CI)", Align::Right),
        ("reps", Align::Right),
        ("p (Holm)", Align::Right),
        ("call", Align::Left),
    ]);
    // Regressions first, then what could not be decided, then the rest.
    let order = |o: Outcome| match o {
        Outcome::Regressed => 0,
        Outcome::Inconclusive => 1,
        Outcome::Improved => 2,
        Outcome::WithinNoise => 3,
    };
    let mut rows: Vec<&MetricRow> = r.metrics.iter().collect();
    rows.sort_by_key(|m| order(m.outcome));
    for m in rows {
        t.row(vec![
            m.probe.clone(),
            m.case.clone(),
            m.metric.clone(),
            human(m.base_median, &m.unit),
            human(m.cur_median, &m.unit),
            change(m),
            format!("{}→{}", m.base_repetitions, m.cur_repetitions),
            m.p_adjusted.map_or("—".into(), |p| format!("{p:.3}")),
            format!(
                "{}{}",
                m.outcome.word(),
                if m.weak { " (weak)" } else { "" }
            ),
        ]);
    }
    out.push_str(&t.render());
    let undecided: Vec<&MetricRow> = r
        .metrics
        .iter()
        .filter(|m| m.outcome != Outcome::WithinNoise)
        .collect();
    if !undecided.is_empty() {
        out.push_str("\n## Reasons\n\n");
        for m in undecided {
            out.push_str(&format!("- `{}`: {}\n", test_name(m), one_line(&m.reason)));
        }
    }
    out
}

fn verdict_note(v: &VerdictRow) -> &'static str {
    match (v.base, v.cur) {
        _ if v.regressed => "regression",
        (None, _) => "only in the current run",
        (_, None) => "only in the base run",
        _ => "changed",
    }
}

pub fn csv(r: &GateReport) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "probe",
        "case",
        "metric",
        "unit",
        "better",
        "base_repetitions",
        "cur_repetitions",
        "base_median",
        "cur_median",
        "ratio",
        "ratio_lo",
        "ratio_hi",
        "p_adjusted",
        "weak",
        "threshold_pct",
        "call",
        "reason",
    ])?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for m in &r.metrics {
        w.write_record([
            m.probe.clone(),
            m.case.clone(),
            m.metric.clone(),
            m.unit.to_string(),
            m.better.into(),
            m.base_repetitions.to_string(),
            m.cur_repetitions.to_string(),
            format!("{:.1}", m.base_median),
            format!("{:.1}", m.cur_median),
            opt(m.ratio),
            opt(m.ratio_lo),
            opt(m.ratio_hi),
            opt(m.p_adjusted),
            m.weak.to_string(),
            m.threshold_pct.to_string(),
            m.outcome.word().replace(' ', "_"),
            m.reason.clone(),
        ])?;
    }
    Ok(w.into_inner()?)
}

/// One `(name, status, message)` per gated figure and changed verdict.
fn tests(r: &GateReport) -> Vec<(String, Status, String)> {
    let mut out: Vec<(String, Status, String)> = r
        .verdicts
        .iter()
        .map(|v| {
            let status = if v.regressed {
                Status::Fail
            } else {
                Status::Skip
            };
            let msg = format!(
                "verdict {} → {} ({})",
                status_word(v.base),
                status_word(v.cur),
                verdict_note(v)
            );
            (format!("{}/{}/verdict", v.probe, v.case), status, msg)
        })
        .collect();
    out.extend(r.metrics.iter().map(|m| {
        let status = match m.outcome {
            Outcome::Regressed => Status::Fail,
            Outcome::Inconclusive => Status::Skip,
            Outcome::Improved | Outcome::WithinNoise => Status::Pass,
        };
        (test_name(m), status, m.reason.clone())
    }));
    out
}

pub fn junit(r: &GateReport) -> String {
    let t = tests(r);
    let failures = t.iter().filter(|(_, s, _)| *s == Status::Fail).count();
    let skipped = t.iter().filter(|(_, s, _)| *s == Status::Skip).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"isobench compare\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  <testsuite name=\"compare\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
        t.len(),
        t.len()
    );
    for (name, status, msg) in &t {
        out.push_str(&format!(
            "    <testcase classname=\"compare\" name=\"{}\"",
            escape_attr(name)
        ));
        match status {
            Status::Fail => out.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                escape_attr(&one_line(msg)),
                escape(msg)
            )),
            Status::Skip | Status::Inconclusive => out.push_str(&format!(
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                escape_attr(&one_line(msg))
            )),
            Status::Pass => out.push_str(&format!(
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                escape(msg)
            )),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

pub fn ktap(r: &GateReport) -> String {
    let t = tests(r);
    let mut out = format!("KTAP version 1\n1..{}\n", t.len());
    let clean = crate::sink::ktap::name;
    for (i, (name, status, msg)) in t.iter().enumerate() {
        let n = i + 1;
        let line = match status {
            Status::Fail => format!("# {}\nnot ok {n} {}", one_line(msg), clean(name)),
            Status::Skip | Status::Inconclusive => {
                format!("ok {n} {} # SKIP {}", clean(name), one_line(msg))
            }
            Status::Pass => format!("ok {n} {}", clean(name)),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
