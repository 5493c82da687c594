//! The chart files of a result folder: every registered probe's figures of a
//! run (or of several runs) drawn by [`crate::chart`] and written under
//! `charts/`. A probe absent from the run, or skipped, gives no chart.

use std::path::Path;

use anyhow::Context;

use crate::chart::{draw_all, Chart, Figure, CHARTS_DIR};
use crate::probe::ALL;
use crate::record::Run;

/// Every chart a run's data supports, probe by probe.
pub fn figures(run: &Run) -> Vec<Figure> {
    ALL.iter().flat_map(|p| p.figures(run)).collect()
}

/// Every overlay chart comparing several runs (label, run).
pub fn compare_figures(runs: &[(String, Run)]) -> Vec<Figure> {
    ALL.iter().flat_map(|p| p.compare_figures(runs)).collect()
}

/// Renders every chart this run's data supports into `dir/charts/`; returns
/// what it wrote.
pub fn render_run(run: &Run, dir: &Path) -> anyhow::Result<Vec<Chart>> {
    write(figures(run), dir)
}

/// Overlay charts comparing several runs (label, run) into `dir/charts/`.
pub fn render_compare(runs: &[(String, Run)], dir: &Path) -> anyhow::Result<Vec<Chart>> {
    write(compare_figures(runs), dir)
}

fn write(figs: Vec<Figure>, dir: &Path) -> anyhow::Result<Vec<Chart>> {
    if figs.is_empty() {
        return Ok(Vec::new());
    }
    let folder = dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&folder).with_context(|| format!("create {}", folder.display()))?;
    let mut out = Vec::new();
    for d in draw_all(figs)? {
        for (rel, bytes) in [(&d.chart.svg, &d.svg), (&d.chart.png, &d.png)] {
            let path = dir.join(rel);
            crate::fs::write_atomic(&path, bytes)
                .with_context(|| format!("write {}", path.display()))?;
        }
        out.push(d.chart);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;
