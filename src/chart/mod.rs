//! Charts of a run and overlays of several runs (SVG and PNG under `charts/`).
//!
//! This is a stand-in with the agreed signatures so the report branch builds;
//! the real renderer (branch issue7-charts) replaces this file. It draws nothing,
//! so reports made with it embed no chart.

use std::path::Path;

use crate::record::Run;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Stable id, e.g. `ns-latency-cdf`.
    pub id: String,
    pub title: String,
    /// The probe whose data it shows (the report places it in that probe's section).
    pub probe: String,
    /// Path of the SVG relative to the folder given to the renderer, e.g. `charts/ns-latency-cdf.svg`.
    pub svg: String,
    /// Path of the PNG, relative likewise.
    pub png: String,
}

/// Renders every chart this run's data supports into `dir/charts/`; returns what it wrote.
pub fn render_run(run: &Run, dir: &Path) -> anyhow::Result<Vec<Chart>> {
    let _ = (run, dir);
    Ok(Vec::new())
}

/// Overlay charts comparing runs (label, run) into `dir/charts/`.
pub fn render_compare(runs: &[(String, Run)], dir: &Path) -> anyhow::Result<Vec<Chart>> {
    let _ = (runs, dir);
    Ok(Vec::new())
}
