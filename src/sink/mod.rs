//! Sinks: writers that only read a [`Run`]. Each renders one file to bytes; the
//! runner rewrites every file after each case (atomically), so an interrupted
//! run keeps everything it finished.

use std::path::Path;

use crate::record::Run;

pub mod csv;
pub mod json;

/// A writer of one file of the result folder.
pub trait Sink {
    /// Path relative to the run folder.
    fn file_name(&self) -> &'static str;
    /// The file's full content for `run`.
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>>;
}

/// Every sink of a run folder.
pub fn all() -> Vec<Box<dyn Sink>> {
    vec![Box::new(json::RunJson), Box::new(csv::SummaryCsv)]
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader
/// never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Writes every sink's file and the raw samples into `dir`.
pub fn write_all(run: &Run, dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    for sink in all() {
        let path = dir.join(sink.file_name());
        let bytes = sink.render(run)?;
        write_atomic(&path, &bytes).with_context(|| format!("write {}", path.display()))?;
    }
    for case in &run.cases {
        if let Some(rel) = &case.samples_file {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("create {}", parent.display()))?;
            }
            let bytes = csv::samples(case)?;
            write_atomic(&path, &bytes).with_context(|| format!("write {}", path.display()))?;
        }
    }
    Ok(())
}
