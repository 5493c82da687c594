//! Sinks: writers that only read a [`Run`]. Each renders one file to bytes; the
//! runner rewrites every file after each case (atomically), so an interrupted
//! run keeps everything it finished.
//!
//! Charts are slower than text and only worth drawing once: they are rendered at
//! the end of a run (also an interrupted one) and by `isobench report`, after
//! which report.md is rewritten to embed them ([`write_charts`]). Until then
//! report.md embeds no chart, so it never names a file that does not exist.

use std::path::Path;

use anyhow::Context;

use crate::chart::Chart;
pub use crate::fs::write_atomic;
pub use crate::markdown::one_line;
use crate::record::{CaseResult, Run};

pub mod charts;
pub mod csv;
#[cfg(test)]
pub mod fixture;
pub mod json;
pub mod junit;
pub mod ktap;
pub mod markdown;

/// A writer of one file of the result folder.
pub trait Sink {
    /// Path relative to the run folder.
    fn file_name(&self) -> &'static str;
    /// The file's full content for `run`.
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>>;
}

/// Every sink of a run folder, report.md embedding `charts`.
pub fn with_charts(charts: Vec<Chart>) -> Vec<Box<dyn Sink>> {
    vec![
        Box::new(json::RunJson),
        Box::new(csv::SummaryCsv),
        Box::new(markdown::Report { charts }),
        Box::new(junit::Junit),
        Box::new(ktap::Ktap),
    ]
}

/// Every sink of a run folder (report.md without charts).
pub fn all() -> Vec<Box<dyn Sink>> {
    with_charts(Vec::new())
}

fn write_sink(sink: &dyn Sink, run: &Run, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(sink.file_name());
    let bytes = sink
        .render(run)
        .with_context(|| format!("render {}", path.display()))?;
    write_atomic(&path, &bytes).with_context(|| format!("write {}", path.display()))
}

/// Writes every sink's file and the raw samples of every case into `dir`.
pub fn write_all(run: &Run, dir: &Path) -> anyhow::Result<()> {
    write_records(run, dir)?;
    for case in &run.cases {
        write_samples(case, dir)?;
    }
    Ok(())
}

/// Writes every sink's file (not the samples) into `dir`.
pub fn write_records(run: &Run, dir: &Path) -> anyhow::Result<()> {
    for sink in all() {
        write_sink(sink.as_ref(), run, dir)?;
    }
    Ok(())
}

/// Writes one case's raw samples to its `samples_file` in `dir`, if it has one.
/// A finished case's samples never change: the runner writes them once.
pub fn write_samples(case: &CaseResult, dir: &Path) -> anyhow::Result<()> {
    let Some(rel) = &case.samples_file else {
        return Ok(());
    };
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let bytes = csv::samples(case)?;
    write_atomic(&path, &bytes).with_context(|| format!("write {}", path.display()))
}

/// Rewrites the files derived from the record — every sink but run.json; the
/// samples are left as they are — for `isobench report` on a folder in place.
pub fn write_derived(run: &Run, dir: &Path) -> anyhow::Result<()> {
    for sink in all()
        .iter()
        .filter(|s| s.file_name() != json::RunJson.file_name())
    {
        write_sink(sink.as_ref(), run, dir)?;
    }
    Ok(())
}

/// Renders the run's charts into `dir/charts/`, then rewrites report.md to
/// embed them. On error the text files stay as they were (report.md without
/// charts).
pub fn write_charts(run: &Run, dir: &Path) -> anyhow::Result<Vec<Chart>> {
    let charts = charts::render_run(run, dir)
        .with_context(|| format!("render the charts into {}", dir.join("charts").display()))?;
    write_sink(
        &markdown::Report {
            charts: charts.clone(),
        },
        run,
        dir,
    )?;
    Ok(charts)
}
