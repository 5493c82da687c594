//! Markdown tables padded to their widest cell, so the file reads as well in a
//! terminal or a mail as rendered. Numbers are right-aligned.

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
    crate::sink::one_line(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
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
