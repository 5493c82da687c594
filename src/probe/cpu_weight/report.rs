//! The `cpu_weight` part of report.md.

use crate::markdown::{blank_for, typical, verdict_word, Align, Table};
use crate::record::CaseResult;
use crate::units::human_u64;
use crate::units::Unit;

/// `w100-300` → [100, 300].
fn weights(id: &str) -> Option<Vec<u64>> {
    id.strip_prefix('w')?
        .split('-')
        .map(|w| w.parse().ok())
        .collect()
}

pub(super) fn weight(cases: &[&CaseResult]) -> String {
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
                human_u64(w, &Unit::PctX100),
                human_u64(g, &Unit::PctX100),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_grammar() {
        assert_eq!(weights("w100-300-600"), Some(vec![100, 300, 600]));
        assert_eq!(weights("x"), None);
    }
}
