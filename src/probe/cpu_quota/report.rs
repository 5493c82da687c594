//! The `cpu_quota` part of report.md: what was configured against what the
//! kernel delivered, with the verdict beside the numbers. Configured values come
//! from the case id (its grammar is part of the schema) or, where the id does not
//! carry them, from the case's config as run.

use crate::markdown::{signed_error, value, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;

use std::time::Duration;

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

pub(super) fn quota(cases: &[&CaseResult]) -> String {
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
                c.config::<std::time::Duration>("quota"),
                c.config::<std::time::Duration>("period"),
                match (c.config::<u64>("threads"), c.config::<u64>("idle_threads")) {
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
            t.unmeasured(vec![c.case.clone(), qp, threads, configured], c);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_grammar() {
        assert_eq!(quota_id("q25000-p100000-t1"), Some((25_000, 100_000, 1)));
        assert_eq!(quota_id("fibtest"), None);
    }
}
