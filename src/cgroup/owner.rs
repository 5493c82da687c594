//! Ownership records: which process made which harness cgroups.
//!
//! A run writes `<state dir>/<pid>-<n>.json` before it creates a cgroup and
//! deletes it once everything is removed. When the harness dies without cleaning
//! up (SIGKILL, OOM, power loss of the parent), the record names the owner's pid
//! *and its start time*, its pid namespace and the boot, so a later run or
//! `isobench clean` can tell a dead owner from a live one even after the pid was
//! reused — and leaves alone what it cannot prove dead: a cgroup with no record
//! (another container's run keeps its records in its own /run), or an owner in
//! another pid namespace, whose pid means nothing here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use super::CgroupError;

/// Where records live: tmpfs, emptied at boot just like the cgroups themselves.
pub const DEFAULT_STATE_DIR: &str = "/run/isobench";

/// The state directory (`ISOBENCH_STATE_DIR` overrides the default). A user
/// other than root keeps its records in its own runtime directory
/// (`$XDG_RUNTIME_DIR/isobench`), which is also a tmpfs emptied at boot.
pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ISOBENCH_STATE_DIR") {
        return PathBuf::from(d);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(r) if !nix::unistd::geteuid().is_root() => PathBuf::from(r).join("isobench"),
        _ => PathBuf::from(DEFAULT_STATE_DIR),
    }
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
    /// The owner's pid namespace (`pid:[4026531836]`): its pid is only
    /// meaningful there (absent in records of isobench ≤ 0.1.0).
    #[serde(default)]
    pub pid_ns: Option<String>,
    /// /proc/sys/kernel/random/boot_id when the record was written.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// Huge page pools the run grew and has not set back yet: a later run or
    /// `isobench clean` restores them once the owner is proven dead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolChange>,
    /// Controllers the run enabled in a hierarchy root's subtree_control
    /// (`(root directory, controller)`), given back the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub root_enabled: Vec<(PathBuf, String)>,
}

/// A huge page pool a run grew: its `nr_hugepages` file and the value before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolChange {
    pub file: PathBuf,
    pub old: u64,
}

/// This process's pid namespace, as `/proc/self/ns/pid` names it.
pub fn this_pid_ns() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.display().to_string())
}

/// This boot's id.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
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
        pid_ns: this_pid_ns(),
        boot_id: boot_id(),
        pools: Vec::new(),
        root_enabled: Vec::new(),
    };
    let path = dir.join(format!(
        "{pid}-{}.json",
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let fail = |error| CgroupError::Record {
        path: path.clone(),
        error,
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let json = serde_json::to_vec_pretty(&rec).map_err(|e| fail(e.into()))?;
    std::fs::write(&path, json).map_err(fail)?;
    Ok(path)
}

/// Changes the record at `path` with `f`. The new text replaces the old by a
/// rename, so a harness killed mid-write leaves the old record or the new one,
/// never half of one.
pub fn update(path: &Path, f: impl FnOnce(&mut OwnerRecord)) -> Result<(), CgroupError> {
    let fail = |error| CgroupError::Record {
        path: path.to_path_buf(),
        error,
    };
    let mut rec: OwnerRecord =
        serde_json::from_slice(&std::fs::read(path).map_err(fail)?).map_err(|e| fail(e.into()))?;
    f(&mut rec);
    let json = serde_json::to_vec_pretty(&rec).map_err(|e| fail(e.into()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
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

/// Whether the harness process `pid` may still be running: false only when a
/// record proves it dead — written in an earlier boot, or in this pid namespace
/// by a process that is gone (or whose pid now belongs to a process started at
/// another time). Without a record, or for an owner in another pid namespace,
/// nothing is proven: leaving a leftover for later is safe, killing a live run's
/// workloads is not.
pub fn owner_alive(pid: i32, records: &[(PathBuf, OwnerRecord)]) -> bool {
    let recs: Vec<&OwnerRecord> = records
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.owner_pid == pid)
        .collect();
    if recs.is_empty() {
        return true;
    }
    let (ns, boot) = (this_pid_ns(), boot_id());
    recs.iter()
        .any(|r| record_alive(r, ns.as_deref(), boot.as_deref()))
}

/// Whether the owner of one record may be alive, seen from pid namespace `ns` in boot `boot`.
fn record_alive(r: &OwnerRecord, ns: Option<&str>, boot: Option<&str>) -> bool {
    if r.boot_id.is_some() && r.boot_id.as_deref() != boot {
        return false;
    }
    if r.pid_ns.is_some() && r.pid_ns.as_deref() != ns {
        return true;
    }
    start_ticks(r.owner_pid).is_some_and(|now| now == r.owner_start_ticks)
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
        let mut rec = OwnerRecord {
            run_id: "r".into(),
            owner_pid: me,
            owner_start_ticks: start_ticks(me).unwrap(),
            parents: vec![],
            pid_ns: this_pid_ns(),
            boot_id: boot_id(),
            pools: Vec::new(),
            root_enabled: Vec::new(),
        };
        assert!(owner_alive(me, &[(PathBuf::new(), rec.clone())]));
        rec.owner_start_ticks += 1;
        assert!(!owner_alive(me, &[(PathBuf::new(), rec.clone())]));
        // A dead owner in this pid namespace is dead.
        rec.owner_pid = i32::MAX;
        assert!(!owner_alive(i32::MAX, &[(PathBuf::new(), rec.clone())]));
        // Another pid namespace's pid proves nothing here: left alone.
        rec.pid_ns = Some("pid:[1]".into());
        assert!(owner_alive(i32::MAX, &[(PathBuf::new(), rec.clone())]));
        // An earlier boot's run is gone, whatever its namespace.
        rec.boot_id = Some("another boot".into());
        assert!(!owner_alive(i32::MAX, &[(PathBuf::new(), rec)]));
        // No record at all: not proven dead.
        assert!(owner_alive(i32::MAX, &[]));
    }

    #[test]
    fn an_update_keeps_the_record_whole_and_old_records_still_read() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("1-0.json");
        // A record of a version without pools.
        std::fs::write(
            &path,
            r#"{"run_id":"r","owner_pid":1,"owner_start_ticks":2,"parents":[]}"#,
        )
        .unwrap();
        update(&path, |r| {
            r.pools.push(PoolChange {
                file: "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages".into(),
                old: 3,
            })
        })
        .unwrap();
        let rec: OwnerRecord = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(rec.owner_pid, 1);
        assert_eq!(rec.pools[0].old, 3);
        assert!(!path.with_extension("json.tmp").exists());
    }
}
