//! Baselines (criterion's word): a run kept under a name in
//! `results/baselines/NAME/` — an ordinary run folder — for later runs to be
//! compared with.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where baselines live, relative to the working directory (like `results/`).
pub fn baselines_dir() -> PathBuf {
    PathBuf::from("results").join("baselines")
}

/// Checks a baseline name: one plain path component.
pub fn check_name(name: &str) -> Result<(), String> {
    if crate::spec::is_valid_name(name) {
        Ok(())
    } else {
        Err(format!(
            "baseline name {name:?}: use letters, digits, `-`, `_` and `.` (it names a folder under {})",
            baselines_dir().display()
        ))
    }
}

/// A `compare` argument as a folder: an existing directory as given, else a
/// baseline of that name.
pub fn resolve(arg: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(arg);
    if p.is_dir() {
        return Ok(p);
    }
    let named = baselines_dir().join(arg);
    if check_name(arg).is_ok() && named.is_dir() {
        return Ok(named);
    }
    Err(format!(
        "{arg:?} is neither a result folder nor a baseline ({} does not exist); hint: save one with `isobench run --save-baseline NAME`",
        named.display()
    ))
}

/// Copies the run folder `dir` to `results/baselines/NAME/`, replacing a
/// baseline of that name only once the copy is complete.
pub fn save(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    check_name(name).map_err(anyhow::Error::msg)?;
    let root = baselines_dir();
    std::fs::create_dir_all(&root).with_context(|| format!("create {}", root.display()))?;
    let target = root.join(name);
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(dir, &tmp).with_context(|| format!("copy {} to {}", dir.display(), tmp.display()))?;
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .with_context(|| format!("replace {}", target.display()))?;
    }
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("rename {} to {}", tmp.display(), target.display()))?;
    Ok(target)
}

/// Copies a directory tree (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

/// `METRIC=PCT` of `--metric-threshold`.
pub fn parse_metric_threshold(s: &str) -> Result<(String, f64), String> {
    let (m, v) = s
        .split_once('=')
        .ok_or_else(|| format!("--metric-threshold {s:?}: expected METRIC=PCT, e.g. latency=15"))?;
    let pct = check_threshold(v.trim()).map_err(|e| format!("--metric-threshold {s:?}: {e}"))?;
    Ok((m.trim().to_string(), pct))
}

/// A threshold in percent: a number above 0 and at most 1000.
pub fn check_threshold(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 1000.0 => Ok(p),
        _ => Err(format!(
            "threshold {v:?} must be a percentage above 0 and at most 1000"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_thresholds() {
        assert!(check_name("main").is_ok());
        assert!(check_name("../x").is_err() && check_name("").is_err());
        assert_eq!(
            parse_metric_threshold("latency=15"),
            Ok(("latency".into(), 15.0))
        );
        assert!(parse_metric_threshold("latency").is_err());
        assert!(parse_metric_threshold("latency=0").is_err());
        assert!(check_threshold("x").is_err() && check_threshold("10").is_ok());
    }

    #[test]
    fn a_folder_is_copied_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("run");
        std::fs::create_dir_all(run.join("samples")).unwrap();
        std::fs::write(run.join("run.json"), "{}").unwrap();
        std::fs::write(run.join("samples/a.csv"), "x").unwrap();
        let target = tmp.path().join("copy");
        copy_dir(&run, &target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("samples/a.csv")).unwrap(),
            "x"
        );
        assert_eq!(
            std::fs::read_to_string(target.join("run.json")).unwrap(),
            "{}"
        );
    }
}
