//! The shell scripts run under `set -o pipefail`, where a reader that quits
//! early (`grep -q`, `grep -m`, `head`) kills the writer with SIGPIPE and fails
//! the pipeline although the reader found what it looked for. On a fresh
//! machine that made `scripts/vm/run` conclude a kernel package held no
//! kernel. This test keeps such readers out of every pipeline.

use std::path::{Path, PathBuf};

fn scripts() -> Vec<PathBuf> {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![top.join(".ci/run")];
    let mut dirs = vec![top.join("scripts")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if std::fs::read_to_string(&p)
                .is_ok_and(|t| t.starts_with("#!") && t.contains("pipefail"))
            {
                out.push(p);
            }
        }
    }
    out
}

/// The pipeline stages of `line` after the first that end early on a match.
fn early_readers(line: &str) -> Option<String> {
    let code = line.split(" #").next().unwrap_or(line).trim_start();
    if code.starts_with('#') {
        return None;
    }
    // `||` is not a pipe; split on single bars only.
    let code = code.replace("||", "\u{1}");
    let stages: Vec<&str> = code.split('|').collect();
    let found = stages.iter().skip(1).copied().find(|s| {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.first() {
            Some(&"head") => true,
            Some(&"grep") => words.iter().skip(1).any(|w| {
                w.starts_with('-') && !w.starts_with("--") && (w.contains('q') || w.contains('m'))
                    || *w == "--quiet"
                    || w.starts_with("--max-count")
            }),
            _ => false,
        }
    });
    found.map(str::to_string)
}

#[test]
fn the_linter_sees_an_early_reader() {
    assert!(early_readers("dpkg-deb -c x.deb | grep -q vmlinuz || die").is_some());
    assert!(early_readers("ls | head -1").is_some());
    assert!(early_readers("a | grep -m1 b").is_some());
    assert!(early_readers("a | grep b >/dev/null || c").is_none());
    assert!(early_readers("grep -q b file || c").is_none());
    assert!(early_readers("# a | grep -q b").is_none());
}

#[test]
fn no_pipeline_ends_early_under_pipefail() {
    let mut found = Vec::new();
    for f in scripts() {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if let Some(stage) = early_readers(line) {
                found.push(format!("{}:{}: `{}`", f.display(), i + 1, stage.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "readers that quit early under pipefail (use `grep PATTERN >/dev/null`, or read the whole input):\n{}",
        found.join("\n")
    );
}
