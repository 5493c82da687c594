//! Fidelity tables: for each limit, what was configured against what the kernel
//! delivered, with the verdict beside the numbers. Configured values come from
//! the case id (its grammar is part of the schema) or, where the id does not
//! carry them, from the case's config as run.

use std::time::Duration;

use super::table::{Align, Table};
use super::{blank_for, generic, typical, value, verdict_word};
use crate::record::CaseResult;
use crate::units::{human, human_u64};

/// The table(s) of one fidelity probe.
pub fn section(probe: &str, cases: &[&CaseResult]) -> String {
    match probe {
        "cpu_quota" => quota(cases),
        "cpu_weight" => weight(cases),
        "cpuset" => cpuset(cases),
        "memory" => memory(cases),
        "pids" => pids(cases),
        "io" => io(cases),
        "freezer" => freezer(cases),
        _ => generic(cases),
    }
}

fn config_u64(c: &CaseResult, key: &str) -> Option<u64> {
    c.config.get(key)?.as_u64()
}

/// A `Duration` as serde writes it (`{"secs": …, "nanos": …}`).
fn config_duration(c: &CaseResult, key: &str) -> Option<Duration> {
    let d = c.config.get(key)?;
    let nanos = u32::try_from(d.get("nanos")?.as_u64()?).ok()?;
    // A record from elsewhere may hold anything: nanos past a second is malformed.
    if nanos >= 1_000_000_000 {
        return None;
    }
    Some(Duration::new(d.get("secs")?.as_u64()?, nanos))
}

fn config_str<'a>(c: &'a CaseResult, key: &str) -> Option<&'a str> {
    c.config.get(key)?.as_str()
}

/// `q<quota_us>-p<period_us>-t<threads>` → (quota, period, threads).
fn quota_id(id: &str) -> Option<(u64, u64, u64)> {
    let mut p = id.split('-');
    let q = p.next()?.strip_prefix('q')?.parse().ok()?;
    let per = p.next()?.strip_prefix('p')?.parse().ok()?;
    let t = p.next()?.strip_prefix('t')?.parse().ok()?;
    p.next().is_none().then_some((q, per, t))
}

/// A configured time as written in a scenario: `25 ms`, `2.5 ms`, `500 µs`.
fn configured_time(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 1000 {
        let ms = format!("{:.3}", us as f64 / 1000.0);
        format!("{} ms", ms.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{us} µs")
    }
}

/// `+0.02%`: an absolute error in hundredths of a percent, with the sign of `achieved − expected`.
fn signed_error(c: &CaseResult, error: &str, achieved: &str, expected: &str) -> String {
    let Some(e) = c.summary(error) else {
        return "—".into();
    };
    let sign = match (c.summary(achieved), c.summary(expected)) {
        (Some(a), Some(x)) if a.max < x.max => "-",
        _ => "+",
    };
    format!("{sign}{}", human_u64(e.max, &e.unit))
}

fn quota(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("quota / period", Align::Right),
        ("threads", Align::Right),
        ("configured", Align::Right),
        ("expected", Align::Right),
        ("achieved", Align::Right),
        ("error", Align::Right),
        ("throttled", Align::Right),
        ("available", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let (quota, period, threads) = match quota_id(&c.case) {
            Some((q, p, t)) => (
                Some(Duration::from_micros(q)),
                Some(Duration::from_micros(p)),
                t.to_string(),
            ),
            None => (
                config_duration(c, "quota"),
                config_duration(c, "period"),
                match (config_u64(c, "threads"), config_u64(c, "idle_threads")) {
                    (Some(t), Some(i)) if i > 0 => format!("{t} + {i} idle"),
                    (Some(t), _) => t.to_string(),
                    _ => "—".into(),
                },
            ),
        };
        let (qp, configured) = match (quota, period) {
            (Some(q), Some(p)) if !p.is_zero() => (
                format!("{} / {}", configured_time(q), configured_time(p)),
                format!("{:.1}%", q.as_secs_f64() / p.as_secs_f64() * 100.0),
            ),
            _ => ("—".into(), "—".into()),
        };
        if c.summaries.is_empty() {
            t.row(vec![
                c.case.clone(),
                qp,
                threads,
                configured,
                blank_for(c),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                verdict_word(c.verdict.status),
            ]);
            continue;
        }
        let throttled = match (c.summary("throttled_periods"), c.summary("periods")) {
            (Some(th), Some(p)) => format!("{}/{}", th.max, p.max),
            _ => "—".into(),
        };
        let available = c
            .summary("available_pct")
            .map_or("—".into(), |s| human_u64(s.min, &s.unit));
        t.row(vec![
            c.case.clone(),
            qp,
            threads,
            configured,
            value(c, "expected_pct"),
            value(c, "achieved_pct"),
            signed_error(c, "error_pct", "achieved_pct", "expected_pct"),
            throttled,
            available,
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "CPU time the group got, in % of one CPU. *configured*: quota / period; *expected*: \
         what the whole periods elapsed allow (periods × quota, at most threads × wall time); \
         *error*: achieved against expected, relative; *throttled*: periods throttled / periods; \
         *available*: what an unlimited spinner got before and after (the lower), a busy host \
         shows here.\n\n{}\n",
        t.render()
    )
}

/// `w100-300` → [100, 300].
fn weights(id: &str) -> Option<Vec<u64>> {
    id.strip_prefix('w')?
        .split('-')
        .map(|w| w.parse().ok())
        .collect()
}

fn weight(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("weight", Align::Right),
        ("expected share", Align::Right),
        ("achieved share", Align::Right),
        ("error", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let ws = weights(&c.case).unwrap_or_default();
        let got = c.values("share_pct");
        let want = c.values("expected_share_pct");
        if got.is_empty() || got.len() != want.len() {
            // Not measured, or the raw values were not loaded: the worst error only.
            t.row(vec![
                c.case.clone(),
                ws.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" : "),
                String::new(),
                String::new(),
                c.summary("share_ratio_error_pct")
                    .map_or(blank_for(c), |s| format!("worst {}", typical(s))),
                verdict_word(c.verdict.status),
            ]);
            continue;
        }
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let err = if w > 0 {
                (g as f64 - w as f64) / w as f64 * 100.0
            } else {
                0.0
            };
            t.row(vec![
                if i == 0 {
                    c.case.clone()
                } else {
                    String::new()
                },
                ws.get(i).map_or("?".into(), u64::to_string),
                human_u64(w, "pct_x100"),
                human_u64(g, "pct_x100"),
                // Hundredths, as the shares; no `-0.00`.
                format!("{:+.2}%", if err.abs() < 0.005 { 0.0 } else { err }),
                if i == 0 {
                    verdict_word(c.verdict.status)
                } else {
                    String::new()
                },
            ]);
        }
    }
    format!(
        "Sibling groups spinning on the same CPUs: each group's share of the CPU time they got \
         together, against its weight's share (error relative to the expected share).\n\n{}\n",
        t.render()
    )
}

fn cpuset(cases: &[&CaseResult]) -> String {
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
        let threads = config_u64(c, "threads").map_or("—".into(), |t| t.to_string());
        if let Some(set) = c.case.strip_prefix("pin-") {
            pin.row(vec![
                c.case.clone(),
                config_str(c, "cpus").map_or_else(|| set.replace('_', ","), str::to_string),
                threads,
                value(c, "on_allowed_pct"),
                value(c, "samples"),
                value(c, "off_allowed"),
                verdict_word(c.verdict.status),
            ]);
        } else if let Some(pair) = c.case.strip_prefix("move-") {
            let fromto = match (config_str(c, "cpus"), config_str(c, "move_to")) {
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
                None => mv.row(vec![
                    c.case.clone(),
                    fromto,
                    blank_for(c),
                    String::new(),
                    String::new(),
                    String::new(),
                    verdict_word(c.verdict.status),
                ]),
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

fn memory(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("memory.max", Align::Right),
        ("touched", Align::Right),
        ("peak", Align::Right),
        ("at the end", Align::Right),
        ("OOM-killed", Align::Left),
        ("oom_kill events", Align::Right),
        ("time to kill", Align::Right),
        ("slowdown", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let oom = c.summary("oom_killed").map_or("—".into(), |s| {
            if s.max > 0 { "yes" } else { "no" }.into()
        });
        let limit = c
            .summary("limit_bytes")
            .map(typical)
            .or_else(|| config_u64(c, "limit_bytes").map(|b| human_u64(b, "bytes")))
            .unwrap_or_else(|| "—".into());
        if c.summaries.is_empty() {
            t.row(vec![
                c.case.clone(),
                limit,
                blank_for(c),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                verdict_word(c.verdict.status),
            ]);
            continue;
        }
        let opt = |m: &str| c.summary(m).map_or(String::new(), typical);
        t.row(vec![
            c.case.clone(),
            limit,
            value(c, "touched_bytes"),
            value(c, "peak_bytes"),
            value(c, "current_bytes"),
            oom,
            value(c, "oom_kill_events"),
            opt("time_to_kill"),
            opt("slowdown"),
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "Swap off. `below` touches half the limit (must survive), `above` twice it (must be \
         OOM-killed, and counted), `killed` is SIGKILLed by the harness (must not be counted as an \
         OOM kill), `high` sets memory.high (must be slowed, not killed). *time to kill*: from the \
         last progress report to death.\n\n{}\n",
        t.render()
    )
}

fn pids(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("pids.max", Align::Right),
        ("forks", Align::Right),
        ("tasks at the limit", Align::Right),
        ("pids.events max", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        t.row(vec![
            c.case.clone(),
            c.case
                .strip_prefix("max")
                .map_or("—".into(), str::to_string),
            value(c, "forks_reached"),
            value(c, "tasks_at_limit"),
            value(c, "max_events"),
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "A worker (itself one task) forks until refused: K−1 forks must succeed under pids.max K.\n\n{}\n",
        t.render()
    )
}

fn io(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("limit", Align::Right),
        ("achieved", Align::Right),
        ("unthrottled", Align::Right),
        ("error", Align::Right),
        ("rate per window (min / p50 / max)", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        let windows = c.summary("rate").map_or(String::new(), |s| {
            format!(
                "{} / {} / {} (n={})",
                human_u64(s.min, &s.unit),
                human_u64(s.p50, &s.unit),
                human_u64(s.max, &s.unit),
                s.n
            )
        });
        if c.summaries.is_empty() {
            t.row(vec![
                c.case.clone(),
                blank_for(c),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                verdict_word(c.verdict.status),
            ]);
            continue;
        }
        t.row(vec![
            c.case.clone(),
            value(c, "limit"),
            value(c, "achieved"),
            value(c, "unthrottled"),
            signed_error(c, "error_pct", "achieved", "limit"),
            windows,
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "Throughput under an io.max / blkio.throttle limit, against the limit (error relative to \
         it) and the same IO unthrottled; *rate per window*: over 250 ms windows.\n\n{}\n",
        t.render()
    )
}

/// `t<N>` or `t<N>-q<pct>` → (threads, quota %).
fn freezer_id(id: &str) -> (Option<&str>, Option<&str>) {
    let mut p = id.split('-');
    let t = p.next().and_then(|t| t.strip_prefix('t'));
    let q = p.next().and_then(|q| q.strip_prefix('q'));
    (t, q)
}

fn freezer(cases: &[&CaseResult]) -> String {
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
        assert_eq!(quota_id("q25000-p100000-t1"), Some((25_000, 100_000, 1)));
        assert_eq!(quota_id("fibtest"), None);
        assert_eq!(weights("w100-300-600"), Some(vec![100, 300, 600]));
        assert_eq!(freezer_id("t2-q20"), (Some("2"), Some("20")));
        assert_eq!(freezer_id("t4"), (Some("4"), None));
    }
}
