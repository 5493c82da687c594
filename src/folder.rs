//! Reading a result folder back into a [`Run`]: run.json, then each case's raw
//! samples from its `samples/*.csv`, so everything a sink derives (reports,
//! charts, comparisons) can be rebuilt later, on another machine, from the folder
//! alone.
//!
//! The samples header names each column `<metric>_<unit>`, and metric and unit
//! ids both contain underscores (`achieved_pct` in `pct_x100`), so a header is
//! never split by guessing when it can be avoided: run.json lists every column's
//! metric and unit (`samples_columns`). Folders written before that field
//! existed are read by matching each header against the case's summaries, then
//! against the known unit ids (longest first).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::record::{CaseResult, Run, Series, SCHEMA_VERSION};
use crate::units::Unit;

/// The one file that makes a folder a result folder.
pub const RUN_JSON: &str = "run.json";

/// Every unit id a probe writes, for folders without `samples_columns`.
pub const UNITS: [&str; 10] = [
    "ns",
    "bytes",
    "bytes_per_s",
    "count",
    "ops_per_s",
    "pct",
    "pct_x100",
    "x100",
    "cpu",
    "index",
];

/// Why a folder could not be read.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    Missing(PathBuf, String),
    #[error(
        "{0}: not a result folder (no run.json); hint: give a folder written by `isobench run`"
    )]
    NotARun(PathBuf),
    #[error("read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: not a valid run.json: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}: schema version {found}, this isobench reads version {SCHEMA_VERSION}; hint: use the isobench release that wrote it")]
    Schema { path: PathBuf, found: u64 },
    #[error("{path}: {message}")]
    Samples { path: PathBuf, message: String },
}

/// Reads the run in `dir`: run.json, with every case's series refilled from its
/// samples file. A case whose samples file is named but missing is an error; a
/// folder is read whole or not at all.
pub fn load(dir: &Path) -> Result<Run, LoadError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(LoadError::Missing(
                dir.to_path_buf(),
                "not a directory; hint: give the run folder, not a file in it".into(),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LoadError::Missing(
                dir.to_path_buf(),
                "no such directory".into(),
            ))
        }
        Err(e) => return Err(LoadError::Missing(dir.to_path_buf(), e.to_string())),
    }
    let path = dir.join(RUN_JSON);
    if !path.is_file() {
        return Err(LoadError::NotARun(dir.to_path_buf()));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Read {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut run = parse_run(&text).map_err(|e| match e {
        RunJsonError::Schema(found) => LoadError::Schema {
            path: path.clone(),
            found,
        },
        RunJsonError::Invalid(message) => LoadError::Json {
            path: path.clone(),
            message,
        },
    })?;
    for case in &mut run.cases {
        let Some(rel) = case.samples_file.clone() else {
            continue;
        };
        let path = dir.join(&rel);
        // The name comes from the file: it must stay inside the folder's samples/,
        // or `report --out` would read and write wherever run.json points.
        if !is_samples_name(&rel) {
            return Err(LoadError::Samples {
                path: dir.join(RUN_JSON),
                message: format!(
                    "case {}/{}: samples_file {rel:?} is not samples/<name>.csv",
                    case.probe, case.case
                ),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Read {
            path: path.clone(),
            message: e.to_string(),
        })?;
        case.series =
            parse_samples(&text, case).map_err(|message| LoadError::Samples { path, message })?;
    }
    Ok(run)
}

/// Whether `rel` is `samples/<name>.csv` with a plain file name (no `/`, no `..`).
fn is_samples_name(rel: &str) -> bool {
    rel.strip_prefix("samples/")
        .and_then(|n| n.strip_suffix(".csv"))
        .is_some_and(|n| !n.is_empty() && !n.contains('/') && n != "." && n != "..")
}

/// What is wrong with a run.json text.
#[derive(Debug, PartialEq, Eq)]
pub enum RunJsonError {
    /// A schema version this build does not read.
    Schema(u64),
    Invalid(String),
}

/// Parses run.json text; the schema version is checked before the rest, so a
/// newer file says so instead of failing on a field it does not know.
pub fn parse_run(text: &str) -> Result<Run, RunJsonError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| RunJsonError::Invalid(e.to_string()))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| RunJsonError::Invalid("no schema_version".into()))?;
    if version != u64::from(SCHEMA_VERSION) {
        return Err(RunJsonError::Schema(version));
    }
    serde_json::from_value(value).map_err(|e| RunJsonError::Invalid(e.to_string()))
}

/// The series of `case` from its samples CSV text. The columns after `index`
/// are named by `case.series` (metric and unit from run.json) when present,
/// else split as described in the module docs.
pub fn parse_samples(text: &str, case: &CaseResult) -> Result<Vec<Series>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| format!("header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.first().map(String::as_str) != Some("index") {
        return Err("the first column is not `index`".into());
    }
    let names = &header[1..];
    let mut series: Vec<Series> = if case.series.is_empty() {
        names
            .iter()
            .map(|n| {
                split_column(n, case).map(|(m, u)| Series::new(m, Unit::from_id(u), Vec::new()))
            })
            .collect::<Result<_, _>>()?
    } else {
        if case.series.len() != names.len() {
            return Err(format!(
                "{} sample columns, run.json lists {}",
                names.len(),
                case.series.len()
            ));
        }
        for (s, n) in case.series.iter().zip(names) {
            if format!("{}_{}", s.metric, s.unit) != *n {
                return Err(format!(
                    "column `{n}` where run.json lists {} in {}",
                    s.metric, s.unit
                ));
            }
        }
        case.series
            .iter()
            .map(|s| Series::new(&s.metric, s.unit.clone(), Vec::new()))
            .collect()
    };
    for (line, row) in r.records().enumerate() {
        let row = row.map_err(|e| format!("row {}: {e}", line + 1))?;
        for (s, cell) in series.iter_mut().zip(row.iter().skip(1)) {
            if cell.is_empty() {
                continue;
            }
            let v = cell.parse::<u64>().map_err(|_| {
                format!(
                    "row {}: `{cell}` in column {}_{} is not a whole number",
                    line + 1,
                    s.metric,
                    s.unit
                )
            })?;
            s.values.push(v);
        }
    }
    Ok(series)
}

/// `achieved_pct_pct_x100` → (`achieved_pct`, `pct_x100`): by the case's
/// summaries first (they name metric and unit), then by the longest known unit.
fn split_column<'a>(name: &'a str, case: &CaseResult) -> Result<(&'a str, &'a str), String> {
    if let Some(s) = case
        .summaries
        .iter()
        .find(|s| *name == format!("{}_{}", s.metric, s.unit))
    {
        return Ok((&name[..s.metric.len()], &name[s.metric.len() + 1..]));
    }
    let mut units = UNITS;
    units.sort_by_key(|u| std::cmp::Reverse(u.len()));
    units
        .iter()
        .find_map(|u| {
            let metric = name.strip_suffix(u)?.strip_suffix('_')?;
            (!metric.is_empty()).then(|| (metric, &name[metric.len() + 1..]))
        })
        .ok_or_else(|| format!("cannot split column `{name}` into metric and unit"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Summary;

    fn case(series: Vec<Series>, summaries: Vec<Summary>) -> CaseResult {
        CaseResult {
            series,
            summaries,
            ..CaseResult::new("cpu_quota", "q1", (), crate::record::Verdict::pass(""))
        }
    }

    #[test]
    fn a_samples_file_must_stay_in_samples() {
        assert!(is_samples_name("samples/io-read-bps-8MiB.csv"));
        for bad in [
            "../../x.csv",
            "/etc/x.csv",
            "samples/../x.csv",
            "samples/a/b.csv",
            "samples/.csv",
            "x.csv",
        ] {
            assert!(!is_samples_name(bad), "{bad}");
        }
    }

    #[test]
    fn columns_named_in_run_json() {
        let c = case(
            vec![
                Series::new("achieved_pct", Unit::PctX100, vec![]),
                Series::new("period_usage", Unit::Ns, vec![]),
            ],
            vec![],
        );
        let s = parse_samples(
            "index,achieved_pct_pct_x100,period_usage_ns\n0,2501,7\n1,,8\n",
            &c,
        )
        .unwrap();
        assert_eq!(s[0], Series::new("achieved_pct", Unit::PctX100, vec![2501]));
        assert_eq!(s[1], Series::new("period_usage", Unit::Ns, vec![7, 8]));
    }

    #[test]
    fn a_header_that_disagrees_with_run_json_is_an_error() {
        let c = case(vec![Series::new("a", Unit::Ns, vec![])], vec![]);
        let e = parse_samples("index,b_ns\n0,1\n", &c).unwrap_err();
        assert!(e.contains("`b_ns`"), "{e}");
    }

    #[test]
    fn old_folders_split_by_summaries_then_known_units() {
        let sum = Summary::of(&Series::new("error_pct", Unit::PctX100, vec![3])).unwrap();
        // `slowdown_x100` has no summary here: the longest known unit decides,
        // and `move_time_ns` is not taken for unit `time_ns`.
        let c = case(vec![], vec![sum]);
        let s = parse_samples(
            "index,error_pct_pct_x100,rate_ops_per_s,slowdown_x100,move_time_ns\n0,3,4,5,6\n",
            &c,
        )
        .unwrap();
        let ids: Vec<(&str, &str)> = s.iter().map(|s| (s.metric.as_str(), s.unit.id())).collect();
        assert_eq!(
            ids,
            [
                ("error_pct", "pct_x100"),
                ("rate", "ops_per_s"),
                ("slowdown", "x100"),
                ("move_time", "ns")
            ]
        );
        assert!(parse_samples("index,mystery\n", &c).is_err());
    }

    #[test]
    fn schema_version_is_checked_first() {
        assert_eq!(
            parse_run(r#"{"schema_version": 7, "whatever": true}"#).unwrap_err(),
            RunJsonError::Schema(7)
        );
        assert!(matches!(
            parse_run("{").unwrap_err(),
            RunJsonError::Invalid(_)
        ));
    }

    /// What the sinks write, `load` reads back: every series with its values.
    #[test]
    fn a_written_folder_loads_back() {
        let run = crate::sink::fixture::run();
        let dir = tempfile::tempdir().unwrap();
        crate::sink::write_all(&run, dir.path()).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.cases.len(), run.cases.len());
        for (a, b) in run.cases.iter().zip(&back.cases) {
            assert_eq!(a.series, b.series, "{}/{}", a.probe, a.case);
            assert_eq!(a.verdict, b.verdict);
            assert_eq!(a.elapsed_ns, b.elapsed_ns);
        }
        assert_eq!(back.host, run.host);
    }

    #[test]
    fn bad_folders_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(load(&missing).unwrap_err().to_string().contains("nope"));
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a result folder"), "{e}");
        std::fs::write(dir.path().join(RUN_JSON), r#"{"schema_version": 2}"#).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("run.json: schema version 2"), "{e}");
    }
}
