//! Ownership records: which process made which harness cgroups.
//!
//! A run writes `<state dir>/<pid>-<n>.json` before it creates a cgroup and
//! deletes it once everything is removed. When the harness dies without cleaning
//! up (SIGKILL, OOM, power loss of the parent), the record names the owner's pid
//! *and its start time*, so a later run or `isobench clean` can tell a dead
//! owner from a live one even after the pid was reused.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use super::CgroupError;

/// Where records live: tmpfs, emptied at boot just like the cgroups themselves.
pub const DEFAULT_STATE_DIR: &str = "/run/isobench";

/// The state directory (`ISOBENCH_STATE_DIR` overrides the default).
pub fn state_dir() -> PathBuf {
    std::env::var_os("ISOBENCH_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// What a run leaves behind to prove who owns its cgroups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRecord {
    pub run_id: String,
    pub owner_pid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot when the owner started.
    pub owner_start_ticks: u64,
    /// The directories under which the run creates `isobench-<pid>-*` cgroups.
    pub parents: Vec<PathBuf>,
}

/// The start time of a live process, from `/proc/<pid>/stat`; `None` if it is gone.
pub fn start_ticks(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_ticks(&text)
}

/// Field 22 of a stat line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn parse_start_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Writes a record for this process; returns its path.
pub fn write(run_id: &str, parents: &[PathBuf]) -> Result<PathBuf, CgroupError> {
    let dir = state_dir();
    let pid = std::process::id() as i32;
    let rec = OwnerRecord {
        run_id: run_id.to_string(),
        owner_pid: pid,
        owner_start_ticks: start_ticks(pid).unwrap_or(0),
        parents: parents.to_vec(),
    };
    let path = dir.join(format!(
        "{pid}-{}.json",
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let fail = |source| CgroupError::Record {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let json = serde_json::to_vec_pretty(&rec).map_err(|e| fail(e.into()))?;
    std::fs::write(&path, json).map_err(fail)?;
    Ok(path)
}

/// Every readable record in the state directory (unreadable ones are skipped:
/// a record is a hint for cleanup, never a reason to fail).
pub fn read_all() -> Vec<(PathBuf, OwnerRecord)> {
    let Ok(entries) = std::fs::read_dir(state_dir()) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let rec = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p, rec))
        })
        .collect()
}

/// Whether the harness process `pid` is still running. With a record, the start
/// time must match too (a reused pid is another process). Without one, a live
/// pid counts as live: leaving a leftover for later is safe, killing a live run's
/// workloads is not.
pub fn owner_alive(pid: i32, records: &[(PathBuf, OwnerRecord)]) -> bool {
    let Some(now) = start_ticks(pid) else {
        return false;
    };
    let mut recs = records
        .iter()
        .filter(|(_, r)| r.owner_pid == pid)
        .peekable();
    if recs.peek().is_none() {
        return true;
    }
    recs.any(|(_, r)| r.owner_start_ticks == now)
}

/// Removes a record file, ignoring one that is already gone.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_from_a_stat_line_with_a_nasty_comm() {
        let line = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_start_ticks(line), Some(987654));
        assert_eq!(parse_start_ticks("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = std::process::id() as i32;
        assert!(owner_alive(me, &[]));
        let mut rec = OwnerRecord {
            run_id: "r".into(),
            owner_pid: me,
            owner_start_ticks: start_ticks(me).unwrap(),
            parents: vec![],
        };
        assert!(owner_alive(me, &[(PathBuf::new(), rec.clone())]));
        rec.owner_start_ticks += 1;
        assert!(!owner_alive(me, &[(PathBuf::new(), rec)]));
        assert!(!owner_alive(i32::MAX, &[]));
    }
}
