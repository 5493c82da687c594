//! `run.json`: the whole run, the one machine-readable source of a result folder.

use super::Sink;
use crate::record::Run;

pub struct RunJson;

impl Sink for RunJson {
    fn file_name(&self) -> &'static str {
        "run.json"
    }
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(run)?;
        v.push(b'\n');
        Ok(v)
    }
}
