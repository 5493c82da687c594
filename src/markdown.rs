//! Markdown building blocks shared by report.md's frame and every probe's part
//! of it: tables padded to their widest cell (so the file reads as well in a
//! terminal or a mail as rendered; numbers right-aligned) and the cells every
//! table uses (a metric's typical value, a verdict word).

use crate::record::{CaseResult, Status, Summary};
use crate::units::human_u64;

/// How a column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table being built: a header, then rows of the same width.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose columns are `(title, alignment)`.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Align)>) -> Table {
        let (header, align) = columns.into_iter().map(|(t, a)| (t.into(), a)).unzip();
        Table {
            header,
            align,
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra ones dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| escape(&c)).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// A row for a case with no numbers: the `lead` cells, its verdict's blank
    /// ([`blank_for`]), empty cells, and the verdict word in the last column.
    pub fn unmeasured(&mut self, mut lead: Vec<String>, case: &CaseResult) {
        lead.push(blank_for(case));
        lead.resize(
            self.header.len().saturating_sub(1).max(lead.len()),
            String::new(),
        );
        lead.push(verdict_word(case.verdict.status));
        self.row(lead);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as Markdown, ending with a newline.
    pub fn render(&self) -> String {
        let header: Vec<String> = self.header.iter().map(|h| escape(h)).collect();
        let width: Vec<usize> = (0..header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| len(&r[i]))
                    .chain([len(&header[i]), 3])
                    .max()
                    .unwrap_or(3)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&width)
                .zip(&self.align)
                .map(|((c, &w), a)| pad(c, w, *a))
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(&header);
        let rule: Vec<String> = width
            .iter()
            .zip(&self.align)
            .map(|(&w, a)| match a {
                Align::Left => "-".repeat(w),
                Align::Right => format!("{}:", "-".repeat(w - 1)),
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// Width as shown: characters, not bytes (`µs`, `×`, `—`).
fn len(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(len(s)));
    match align {
        Align::Left => format!("{s}{fill}"),
        Align::Right => format!("{fill}{s}"),
    }
}

/// A cell keeps to one line and cannot end it: `\` and `|` are escaped (so `\|`
/// in a reason cannot turn into an escaped backslash and a cell break), and
/// every control character or line separator becomes a space.
pub fn escape(s: &str) -> String {
    one_line(s).replace('\\', "\\\\").replace('|', "\\|")
}

/// `s` as one line of plain text: every control character (tab included) and
/// Unicode line or paragraph separator becomes a space, so a reason can neither
/// end a KTAP line or a Markdown table row nor smuggle in terminal escapes.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The verdict word as a report shows it: a failure stands out in plain text.
pub fn verdict_word(s: Status) -> String {
    match s {
        Status::Fail => "FAIL".into(),
        other => other.to_string(),
    }
}

/// Every metric of every case: for probes without a dedicated table.
pub fn generic(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("metric", Align::Left),
        ("n", Align::Right),
        ("p50", Align::Right),
        ("p90", Align::Right),
        ("p99", Align::Right),
        ("max", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        if c.summaries.is_empty() {
            t.row(vec![
                c.case.clone(),
                "—".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                verdict_word(c.verdict.status),
            ]);
        }
        for s in &c.summaries {
            t.row(vec![
                c.case.clone(),
                s.metric.clone(),
                s.n.to_string(),
                human_u64(s.p50, &s.unit),
                human_u64(s.p90, &s.unit),
                human_u64(s.p99, &s.unit),
                human_u64(s.max, &s.unit),
                verdict_word(c.verdict.status),
            ]);
        }
    }
    format!("{}\n", t.render())
}

/// A metric's typical value as one cell: the exact value when measured once,
/// else the median.
pub fn typical(s: &Summary) -> String {
    if s.n == 1 {
        human_u64(s.min, &s.unit)
    } else {
        human_u64(s.p50, &s.unit)
    }
}

/// [`typical`] of `metric` in `case`, or `—`.
pub fn value(case: &CaseResult, metric: &str) -> String {
    case.summary(metric).map_or("—".into(), typical)
}

/// First-seen order without repeats.
pub fn ordered<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for i in items {
        if !v.contains(&i) {
            v.push(i);
        }
    }
    v
}

/// `+0.02%`: an absolute error in hundredths of a percent, with the sign of `achieved − expected`.
pub fn signed_error(c: &CaseResult, error: &str, achieved: &str, expected: &str) -> String {
    let Some(e) = c.summary(error) else {
        return "—".into();
    };
    let sign = match (c.summary(achieved), c.summary(expected)) {
        (Some(a), Some(x)) if a.max < x.max => "-",
        _ => "+",
    };
    format!("{sign}{}", human_u64(e.max, &e.unit))
}

/// A cell for a case that has no numbers to show: its verdict.
pub fn blank_for(case: &CaseResult) -> String {
    match case.verdict.status {
        Status::Skip => "skip".into(),
        Status::Fail => "FAIL".into(),
        _ => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backslash_before_a_pipe_cannot_break_the_row() {
        assert_eq!(escape("a\\|b\nc\u{1b}"), "a\\\\\\|b c ");
    }

    #[test]
    fn padded_and_aligned() {
        let mut t = Table::new([("case", Align::Left), ("p50", Align::Right)]);
        t.row(vec!["mnt-clone".into(), "106 µs".into()]);
        t.row(vec!["a|b".into()]);
        assert_eq!(
            t.render(),
            "| case      |    p50 |\n\
             | --------- | -----: |\n\
             | mnt-clone | 106 µs |\n\
             | a\\|b      |        |\n"
        );
    }
}
