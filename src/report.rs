//! `isobench report`: rebuilds what a result folder derives from its record, or
//! compares several folders side by side. Every input folder is read (and
//! checked) before anything is written, so bad input creates nothing.
//!
//! - One folder, no `--out`: summary.csv, report.md, junit.xml, results.ktap and
//!   charts are rewritten in place; run.json and samples are not touched.
//! - One folder, `--out DIR`: DIR becomes a complete result folder (run.json
//!   with `samples_columns`, samples, and everything derived).
//! - Several folders: `--out DIR` (default `results/compare-<UTC time>/`) gets a
//!   comparison report.md and overlay charts.
//!
//! An `--out` folder must be new or empty ([`crate::outdir`]); one folder
//! re-rendered in place (no `--out`, or `--out` naming that folder) is not one.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::record::Run;
use crate::set::Loaded;
use crate::sink::{self, markdown};

/// What `report` wrote.
#[derive(Debug)]
pub struct Written {
    /// The report.md written.
    pub report: PathBuf,
    /// Number of charts embedded.
    pub charts: usize,
}

/// Reads every folder of `dirs` (run folders or sets of boots), in order; the
/// first bad one is the error.
pub fn load_all(dirs: &[PathBuf]) -> anyhow::Result<Vec<Loaded>> {
    dirs.iter().map(|d| crate::set::load(d)).collect()
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Runs `write` into `out` (new or empty: checked); if it fails, removes what
/// it made, so a retry is not refused as a folder that is not empty.
fn into_new(
    out: &Path,
    write: impl FnOnce() -> anyhow::Result<Written>,
) -> anyhow::Result<Written> {
    let names = |d: &Path| -> Option<Vec<std::ffi::OsString>> {
        Some(
            std::fs::read_dir(d)
                .ok()?
                .flatten()
                .map(|e| e.file_name())
                .collect(),
        )
    };
    // None: a new folder; Some(None): one that could not be listed (left alone).
    let before = out.exists().then(|| names(out));
    let r = write();
    if r.is_err() {
        match before {
            None => {
                let _ = std::fs::remove_dir_all(out);
            }
            Some(Some(before)) => {
                // The user's folder stays, and whatever was in it.
                let made = std::fs::read_dir(out).into_iter().flatten().flatten();
                for e in made.filter(|e| !before.contains(&e.file_name())) {
                    let p = e.path();
                    let _ = if e.file_type().is_ok_and(|t| t.is_dir()) {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
            Some(None) => {}
        }
    }
    r
}

/// Re-renders one run: in `dir` itself, or as a whole folder in `out`.
pub fn rerender(dir: &Path, run: &Run, out: Option<&Path>) -> anyhow::Result<Written> {
    match out {
        Some(o) if !same_dir(o, dir) => {
            crate::outdir::check(o)?;
            into_new(o, || {
                std::fs::create_dir_all(o).with_context(|| format!("create {}", o.display()))?;
                sink::write_all(run, o)?;
                charts_into(run, o)
            })
        }
        _ => {
            sink::write_derived(run, dir)?;
            charts_into(run, dir)
        }
    }
}

fn charts_into(run: &Run, target: &Path) -> anyhow::Result<Written> {
    let charts = sink::write_charts(run, target)?;
    Ok(Written {
        report: target.join("report.md"),
        charts: charts.len(),
    })
}

/// The default folder of a comparison: `results/compare-<UTC time>/`, or
/// `…-<pid>/` when one of the same second exists (an `--out` folder that is not
/// empty is refused, and this one is not the user's choice).
pub fn default_compare_dir() -> PathBuf {
    let base = format!("compare-{}", crate::runner::utc_now().0);
    let dir = PathBuf::from("results").join(&base);
    if dir.exists() {
        PathBuf::from("results").join(format!("{base}-{}", std::process::id()))
    } else {
        dir
    }
}

/// Writes the comparison of `loaded` (run folders and sets of boots) into
/// `out`: report.md, compare.csv and charts. A set of which no boot finished
/// is listed, not a column.
pub fn compare(loaded: Vec<Loaded>, out: &Path) -> anyhow::Result<Written> {
    crate::outdir::check(out)?;
    let name = |d: &Path| {
        let d = d.canonicalize().unwrap_or_else(|_| d.to_path_buf());
        d.file_name()
            .map_or_else(|| d.display().to_string(), |n| n.to_string_lossy().into())
    };
    let mut unfinished = Vec::new();
    let mut columns = Vec::new();
    let mut boots = Vec::new();
    let any_set = loaded
        .iter()
        .any(|l| l.boots.finished != 1 || !l.boots.failures.is_empty());
    for l in loaded {
        match l.run {
            None => unfinished.push((name(&l.dir), l.boots.failures)),
            Some(run) => {
                let d = l.dir.canonicalize().unwrap_or_else(|_| l.dir.clone());
                columns.push((crate::compare::label(&d, &run), run));
                boots.push(l.boots);
            }
        }
    }
    if columns.is_empty() {
        bail!(
            "no run to compare: no boot of {} finished (see their .failed records)",
            unfinished
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let labels = crate::compare::unique(columns.iter().map(|(l, _)| l.clone()).collect());
    let labelled: Vec<(String, Run)> = labels
        .into_iter()
        .zip(columns.into_iter().map(|(_, r)| r))
        .collect();
    let extras = markdown::compare::Extras {
        boots: if any_set { &boots } else { &[] },
        unfinished: &unfinished,
    };
    into_new(out, || compare_into(&labelled, &extras, out))
}

fn compare_into(
    labelled: &[(String, Run)],
    extras: &markdown::compare::Extras,
    out: &Path,
) -> anyhow::Result<Written> {
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let keys: Vec<String> = (0..labelled.len()).map(markdown::compare::key).collect();
    let csv_path = out.join("compare.csv");
    // The gate's statistics once: the CSV and both renderings of report.md share them.
    let gates = crate::compare::deltas(labelled);
    let rows = crate::compare::figure_rows(labelled, &keys, &gates);
    sink::write_atomic(&csv_path, &sink::csv::comparison(&rows)?)
        .with_context(|| format!("write {}", csv_path.display()))?;
    let path = out.join("report.md");
    let write = |charts: &[crate::chart::Chart]| {
        sink::write_atomic(
            &path,
            markdown::compare::render(labelled, &gates, extras, charts).as_bytes(),
        )
        .with_context(|| format!("write {}", path.display()))
    };
    // The tables first: a chart that fails leaves a report without charts.
    write(&[])?;
    let charts = crate::sink::charts::render_compare(labelled, out)
        .with_context(|| format!("render the charts into {}", out.join("charts").display()))?;
    write(&charts)?;
    Ok(Written {
        report: path,
        charts: charts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed write takes back what it made: a new folder goes, a folder
    /// that was there stays with what it held.
    #[test]
    fn a_failed_write_leaves_no_half_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let failing = |out: &Path| {
            into_new(out, || {
                std::fs::create_dir_all(out.join("charts")).unwrap();
                std::fs::write(out.join("report.md"), "half").unwrap();
                bail!("disk full")
            })
            .unwrap_err()
        };
        let new = tmp.path().join("new");
        failing(&new);
        assert!(!new.exists());
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        failing(&empty);
        assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
        std::fs::write(empty.join("keep"), "mine").unwrap();
        failing(&empty);
        let left: Vec<_> = std::fs::read_dir(&empty)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["keep"]);
    }
}
