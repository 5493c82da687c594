//! Plain-text tables for the terminal (`isobench check`, the end of a run):
//! every column but the last as wide as its longest cell, the last one free —
//! or wrapped under itself at a width, so a long value never overruns.

use std::fmt::Write;

/// Appends `rows` as a table, each line indented by `indent` spaces: every
/// column but the last as wide as its longest cell (in characters), the last
/// wrapped under itself at `wrap_width` (the whole line's width; at least 30
/// characters are left for the last column) or, with `None`, left whole. A
/// row shorter than the others leaves its last column empty. Lines carry no
/// trailing spaces.
pub fn table(out: &mut String, rows: &[Vec<String>], indent: usize, wrap_width: Option<usize>) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols.saturating_sub(1))
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let last_at = indent + widths.iter().map(|w| w + 2).sum::<usize>();
    for row in rows {
        let mut line = " ".repeat(indent);
        for (cell, w) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        let last = if row.len() == cols {
            row.last().map_or("", String::as_str)
        } else {
            ""
        };
        let wrapped = match wrap_width {
            Some(w) => wrap(last, w.saturating_sub(last_at).max(30)),
            None => vec![last.to_string()],
        };
        let mut parts = wrapped.iter();
        line.push_str(parts.next().map_or("", String::as_str));
        let _ = writeln!(out, "{}", line.trim_end());
        for p in parts {
            let _ = writeln!(out, "{:last_at$}{p}", "");
        }
    }
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer
/// word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let cur = lines.last_mut().expect("one line at least");
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_longer_than_the_width_has_its_own_line() {
        assert_eq!(wrap("ab cdefgh ij", 4), ["ab", "cdefgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn unwrapped_the_last_column_stays_whole() {
        let mut out = String::new();
        let long = "x ".repeat(80);
        table(
            &mut out,
            &[
                vec!["probe".into(), "case".into(), "reason".into()],
                vec!["ns_latency".into(), "noop".into(), long.trim_end().into()],
            ],
            0,
            None,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0], "probe       case  reason");
        assert!(lines[1].starts_with("ns_latency  noop  x x"), "{out}");
    }
}
