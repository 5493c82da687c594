//! A set of boots: a folder that holds run folders (`boot-1/`, `boot-2/`, …) of
//! one kernel and layout, as `scripts/compare-kernels` writes them, instead of
//! being a run folder itself. `isobench report` reads a set as one column whose
//! boots are repetitions: each boot is a fresh kernel, so the spread between
//! boots is the noise a kernel difference has to stand out from.
//!
//! A boot that did not finish leaves `boot-<k>.failed` instead of a folder: its
//! first line says what happened (hung, panicked, exit status), the rest is the
//! guest console's last lines. They are reported, never dropped.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::folder::{self, RUN_JSON};
use crate::record::Run;

/// A boot that left no run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFailure {
    /// `boot-2`.
    pub boot: String,
    /// What happened, one line.
    pub what: String,
    /// The console's last lines.
    pub console: Vec<String>,
}

/// How a column's boots went: those that finished and those that did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Boots {
    pub finished: usize,
    pub failures: Vec<BootFailure>,
}

/// One input of a comparison: a run folder, or a set of boots.
#[derive(Debug)]
pub struct Loaded {
    pub dir: PathBuf,
    /// The run, or the boots merged into one (`None`: no boot finished).
    pub run: Option<Run>,
    /// How its boots went (one finished for a plain run folder).
    pub boots: Boots,
}

/// Whether `dir` is a set: no run.json of its own, but run folders or
/// `*.failed` records inside.
pub fn is_set(dir: &Path) -> bool {
    !dir.join(RUN_JSON).exists() && !members(dir).is_empty()
}

/// The boots of a set in natural order (`boot-2` before `boot-10`): run folders
/// and failure records, by name.
fn members(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            if p.join(RUN_JSON).is_file() {
                Some((name, p))
            } else {
                let boot = name.strip_suffix(".failed")?.to_string();
                p.is_file().then_some((boot, p))
            }
        })
        .collect();
    out.sort_by_key(|(name, _)| natural_key(name));
    out
}

/// `boot-10` → ("boot-", 10): numbers compare as numbers.
fn natural_key(name: &str) -> (String, u64, String) {
    let digits = name
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit())
        .map_or(name.len(), |(i, _)| i);
    let (head, rest) = name.split_at(digits);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (
        head.to_string(),
        rest[..end].parse().unwrap_or(0),
        rest[end..].to_string(),
    )
}

/// Reads a run folder or a set; the first bad run folder is the error.
pub fn load(dir: &Path) -> anyhow::Result<Loaded> {
    if !is_set(dir) {
        return Ok(Loaded {
            dir: dir.to_path_buf(),
            run: Some(folder::load(dir)?),
            boots: Boots {
                finished: 1,
                failures: Vec::new(),
            },
        });
    }
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for (boot, path) in members(dir) {
        if path.is_dir() {
            runs.push(folder::load(&path)?);
        } else {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("read {}", path.display()))?;
            failures.push(parse_failure(boot, &text));
        }
    }
    Ok(Loaded {
        dir: dir.to_path_buf(),
        boots: Boots {
            finished: runs.len(),
            failures,
        },
        run: merge(runs),
    })
}

fn parse_failure(boot: String, text: &str) -> BootFailure {
    let mut lines = text.lines();
    let what = lines
        .next()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or("ended without a result folder")
        .to_string();
    BootFailure {
        boot,
        what,
        console: lines.map(str::to_string).collect(),
    }
}

/// The boots as one run: the first boot's host and facts, every boot's cases,
/// each numbered as a repetition of its case in boot order (a boot that itself
/// repeated a case contributes each of its repetitions).
pub fn merge(runs: Vec<Run>) -> Option<Run> {
    let several = runs.len() > 1;
    let mut it = runs.into_iter();
    let mut merged = it.next()?;
    if !several {
        return Some(merged);
    }
    let mut seen: Vec<((String, String), u32)> = Vec::new();
    let mut number = |probe: &str, case: &str| {
        let key = (probe.to_string(), case.to_string());
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                seen.push((key, 1));
                1
            }
        }
    };
    for c in &mut merged.cases {
        c.repetition = Some(number(&c.probe, &c.case));
    }
    for run in it {
        merged.interrupted |= run.interrupted;
        for mut c in run.cases {
            c.repetition = Some(number(&c.probe, &c.case));
            merged.cases.push(c);
        }
        // A file some boot lacks is not one the kernel has for sure.
        merged
            .interface_files
            .retain(|f| run.interface_files.contains(f));
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CaseResult, Series, Verdict};

    fn run_with(cases: &[(&str, Option<u32>)]) -> Run {
        let mut r = crate::sink::fixture::run();
        r.cases = cases
            .iter()
            .map(|(id, rep)| {
                let s = Series::new("latency", crate::units::Unit::Ns, vec![1, 2, 3]);
                let mut c = CaseResult::measured("ns_latency", id, (), vec![s], Verdict::pass(""));
                c.repetition = *rep;
                c
            })
            .collect();
        r
    }

    #[test]
    fn boots_become_repetitions_in_boot_order() {
        let a = run_with(&[("mnt-clone", None), ("net-clone", None)]);
        let b = run_with(&[("mnt-clone", Some(1)), ("mnt-clone", Some(2))]);
        let m = merge(vec![a, b]).unwrap();
        let reps: Vec<(&str, Option<u32>)> = m
            .cases
            .iter()
            .map(|c| (c.case.as_str(), c.repetition))
            .collect();
        assert_eq!(
            reps,
            [
                ("mnt-clone", Some(1)),
                ("net-clone", Some(1)),
                ("mnt-clone", Some(2)),
                ("mnt-clone", Some(3))
            ]
        );
        // One boot is the run as it was.
        let one = merge(vec![run_with(&[("x", None)])]).unwrap();
        assert_eq!(one.cases[0].repetition, None);
        assert!(merge(Vec::new()).is_none());
    }

    #[test]
    fn interface_files_are_those_every_boot_saw() {
        let mut a = run_with(&[]);
        a.interface_files = vec!["cgroup.kill".into(), "memory.peak".into()];
        let mut b = a.clone();
        b.interface_files = vec!["memory.peak".into()];
        assert_eq!(merge(vec![a, b]).unwrap().interface_files, ["memory.peak"]);
    }

    #[test]
    fn natural_order_and_failure_records() {
        let mut names = vec!["boot-10", "boot-2", "boot-1"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["boot-1", "boot-2", "boot-10"]);
        let f = parse_failure(
            "boot-2".into(),
            "hung: no completion after 900 s\nline 1\nline 2\n",
        );
        assert_eq!(f.what, "hung: no completion after 900 s");
        assert_eq!(f.console, ["line 1", "line 2"]);
        assert_eq!(
            parse_failure("boot-3".into(), "").what,
            "ended without a result folder"
        );
    }

    #[test]
    fn a_set_folder_is_read_with_its_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let set = tmp.path().join("6.12-v2");
        std::fs::create_dir_all(&set).unwrap();
        std::fs::write(set.join("boot-1.failed"), "panicked: Kernel panic\nOops\n").unwrap();
        assert!(is_set(&set));
        let l = load(&set).unwrap();
        assert!(l.run.is_none());
        assert_eq!(l.boots.finished, 0);
        assert_eq!(l.boots.failures[0].what, "panicked: Kernel panic");
        // An empty folder is neither a run nor a set: loading says it is no run.
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(!is_set(&empty));
        assert!(load(&empty).is_err());
    }
}
