//! An `--out` folder (of `run`, `report` and `compare`): it must be new or
//! empty. Checked before anything is created, so a refused command leaves no
//! cgroup, no ownership record and no folder behind.
//!
//! Writing into a folder that holds files already would mix them with the
//! results (and `report` would later read a folder it cannot tell apart); into an
//! earlier run's folder it would overwrite that run's records case by case,
//! leaving a folder that is neither run.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::folder::RUN_JSON;

/// Why a folder cannot be written into.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OutDirError {
    /// `--out` (or a folder on its way) is a file.
    #[error("--out {}: {}; hint: give a new or empty folder", out.display(), is_a_file(out, file))]
    File { out: PathBuf, file: PathBuf },
    #[error("--out {0}: already holds a run (run.json), which would be overwritten; hint: choose a new folder, or remove this one")]
    Run(PathBuf),
    #[error("--out {0}: not empty and not a run folder, so the results would be mixed with its files; hint: give a new or empty folder")]
    NotEmpty(PathBuf),
    #[error("--out {0}: {1}")]
    Unreadable(PathBuf, String),
}

/// `is a file, not a folder`, naming the part of the path that is the file.
fn is_a_file(out: &Path, file: &Path) -> String {
    if out == file {
        "is a file, not a folder".into()
    } else {
        format!("{} is a file, not a folder", file.display())
    }
}

/// Accepts a folder that does not exist yet (under folders, or none yet, that
/// can hold it) or exists and is empty; refuses anything else.
pub fn check(out: &Path) -> Result<(), OutDirError> {
    let file = |file: &Path| OutDirError::File {
        out: out.to_path_buf(),
        file: file.to_path_buf(),
    };
    // The nearest part of the path that exists: `a/b/c` cannot be made where
    // `a` is a file, and that is known now, not after the cgroups are made.
    let Some((existing, meta)) = out.ancestors().find_map(|p| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        std::fs::metadata(p).ok().map(|m| (p, m))
    }) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(file(existing));
    }
    if existing != out {
        return Ok(());
    }
    if out.join(RUN_JSON).exists() {
        return Err(OutDirError::Run(out.to_path_buf()));
    }
    let mut entries = std::fs::read_dir(out)
        .map_err(|e| OutDirError::Unreadable(out.to_path_buf(), e.to_string()))?;
    match entries.next() {
        None => Ok(()),
        Some(_) => Err(OutDirError::NotEmpty(out.to_path_buf())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_or_empty_folders_are_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        check(&tmp.path().join("new")).unwrap();
        check(&tmp.path().join("new/deeper/still")).unwrap();
        check(tmp.path()).unwrap();
    }

    #[test]
    fn files_runs_and_other_folders_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(
            check(&f).unwrap_err(),
            OutDirError::File {
                out: f.clone(),
                file: f.clone()
            }
        );
        // A folder under a file: the file is named.
        let e = check(&f.join("sub")).unwrap_err();
        assert_eq!(
            e,
            OutDirError::File {
                out: f.join("sub"),
                file: f.clone()
            }
        );
        assert!(
            e.to_string()
                .contains(&format!(": {} is a file", f.display())),
            "{e}"
        );
        std::fs::remove_file(&f).unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let e = check(tmp.path()).unwrap_err();
        assert_eq!(e, OutDirError::NotEmpty(tmp.path().to_path_buf()));
        // A run folder says so, whatever else it holds.
        std::fs::write(tmp.path().join(RUN_JSON), "{}").unwrap();
        let e = check(tmp.path()).unwrap_err();
        assert_eq!(e, OutDirError::Run(tmp.path().to_path_buf()));
        for m in [
            OutDirError::Run(f.clone()).to_string(),
            OutDirError::NotEmpty(f.clone()).to_string(),
            file(&f),
        ] {
            assert!(m.starts_with(&format!("--out {}: ", f.display())), "{m}");
            assert!(m.contains("; hint: "), "{m}");
            assert!(!m.contains('\n'), "{m}");
        }
    }

    fn file(f: &Path) -> String {
        OutDirError::File {
            out: f.to_path_buf(),
            file: f.to_path_buf(),
        }
        .to_string()
    }
}
