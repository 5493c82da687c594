//! The cgroup layer: layout detection, a [`Cgroup`] handle with typed setters and
//! readers over v1 and v2 drivers, and a [`Scope`] that creates cgroups under the
//! harness's own cgroup and always removes them.
//!
//! Only this module (with `ns` and the workloads) touches the kernel's cgroup files.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::Serialize;

pub mod devbpf;
pub mod devices;
#[cfg(feature = "failpoints")]
pub mod fault;
mod handle;
pub mod hugetlb;
pub mod layout;
pub mod manager;
pub mod owner;
pub mod perf;
mod scope;
pub mod stats;
mod types;
pub mod v1;
pub mod v2;

pub use devices::{DevAccess, DevKind, DeviceRule};
pub use handle::{enter_self, raw_fds, Cgroup, Dir, ThawOnDrop, SETTLE_TIMEOUT, V1_POLL};
pub use layout::{Layout, LayoutKind, Placement, Standing, UNWRITABLE_HINT};
pub use manager::Manager;
pub use scope::{
    check_parents, clean_stale, owner_of, take_cleanup_problems, CleanReport, CleanupProblem,
    Scope, ScopeOptions,
};
pub use stats::{CpuAcct, CpuStat, IoStat, MemoryStat};
pub use types::{CpuMax, DevId, IoLimit};

/// The prefix of every cgroup the harness creates: `isobench-<pid>-<case>`.
pub const NAME_PREFIX: &str = "isobench-";

/// cgroup.procs exists in every cgroup of both versions.
pub const CGROUP_PROCS: &str = "cgroup.procs";

/// A cgroup hierarchy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        })
    }
}

/// The controllers isobench drives. `Display` gives the v1 name, the one users
/// see in /proc/self/cgroup on a v1 host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Controller {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Io,
    Pids,
    Freezer,
    Devices,
    Hugetlb,
    NetCls,
    NetPrio,
    PerfEvent,
}

/// How cgroup v2 offers a controller's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnV2 {
    /// A controller enabled in subtree_control, named so.
    Controller(&'static str),
    /// Core files or hooks every cgroup has (cpu.stat usage, cgroup.freeze, a
    /// device BPF program, perf_event's cgroup mode): no controller to enable.
    Core,
    /// Not at all (net_cls and net_prio: v2 classifies sockets by cgroup path).
    Absent,
}

impl Controller {
    pub const ALL: [Controller; 12] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Cpuset,
        Controller::Memory,
        Controller::Io,
        Controller::Pids,
        Controller::Freezer,
        Controller::Devices,
        Controller::Hugetlb,
        Controller::NetCls,
        Controller::NetPrio,
        Controller::PerfEvent,
    ];

    /// The name of the v1 controller (as in mount options and /proc/self/cgroup).
    pub fn v1_name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Io => "blkio",
            Controller::Pids => "pids",
            Controller::Freezer => "freezer",
            Controller::Devices => "devices",
            Controller::Hugetlb => "hugetlb",
            Controller::NetCls => "net_cls",
            Controller::NetPrio => "net_prio",
            Controller::PerfEvent => "perf_event",
        }
    }

    /// How cgroup v2 offers it.
    pub fn on_v2(self) -> OnV2 {
        match self {
            Controller::Cpu => OnV2::Controller("cpu"),
            Controller::Cpuset => OnV2::Controller("cpuset"),
            Controller::Memory => OnV2::Controller("memory"),
            Controller::Io => OnV2::Controller("io"),
            Controller::Pids => OnV2::Controller("pids"),
            Controller::Hugetlb => OnV2::Controller("hugetlb"),
            Controller::Cpuacct
            | Controller::Freezer
            | Controller::Devices
            | Controller::PerfEvent => OnV2::Core,
            Controller::NetCls | Controller::NetPrio => OnV2::Absent,
        }
    }

    /// The v2 controller to enable in subtree_control; `None` where v2 serves the
    /// function with core files or hooks, or not at all ([`Controller::on_v2`]).
    pub fn v2_name(self) -> Option<&'static str> {
        match self.on_v2() {
            OnV2::Controller(n) => Some(n),
            OnV2::Core | OnV2::Absent => None,
        }
    }
}

impl fmt::Display for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.v1_name())
    }
}

/// An error of the cgroup layer. Every variant names the file or directory and,
/// for writes, the value.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("write \"{value}\" to {}: {}{}", path.display(), errno_text(*errno), write_hint(*errno, path))]
    Write {
        path: PathBuf,
        value: String,
        errno: Errno,
    },
    #[error("read {}: {}", path.display(), errno_text(*errno))]
    Read { path: PathBuf, errno: Errno },
    #[error("create cgroup {}: {}{}", path.display(), errno_text(*errno), mkdir_hint(*errno))]
    Mkdir { path: PathBuf, errno: Errno },
    #[error("create cgroup {}: it already exists, and isobench kills and removes only cgroups it created; hint: `isobench clean` removes leftovers of earlier runs once their owner is gone; if another program owns it, pass --cgroup-parent to create cgroups elsewhere", path.display())]
    Exists { path: PathBuf },
    #[error("remove cgroup {}: {}", path.display(), errno_text(*errno))]
    Rmdir { path: PathBuf, errno: Errno },
    #[error("{}: cannot parse {text:?}", path.display())]
    Parse { path: PathBuf, text: String },
    #[error("wrote \"{wrote}\" to {} but it reads back \"{read}\" (the kernel adjusted the value)", path.display())]
    ReadBack {
        path: PathBuf,
        wrote: String,
        read: String,
    },
    #[error("{what} is not available on cgroup {version}")]
    Unsupported {
        what: &'static str,
        version: Version,
    },
    #[error("the {0} controller is not available to this process; hint: run `isobench check` to see the layout")]
    NoController(Controller),
    #[error("invalid cgroup name {0:?}: use 1-200 characters of a-z A-Z 0-9 _ . - (no `/`, not `.` or `..`)")]
    BadName(String),
    #[error("cgroup parent {} does not exist; hint: --cgroup-parent takes a cgroup path that exists in every hierarchy: absolute from the root (/my.slice) or relative to the own cgroup", path.display())]
    NoParent { path: PathBuf },
    #[error("{what} {} did not finish within {waited_ms} ms", path.display())]
    Timeout {
        what: &'static str,
        path: PathBuf,
        waited_ms: u64,
    },
    #[error("cannot enable controllers in {}: it holds other processes ({pids:?}) besides isobench{}", path.display(), busy_hint(*namespace_root))]
    BusyParent {
        path: PathBuf,
        pids: Vec<i32>,
        /// The cgroup is a container's cgroup-namespace root.
        namespace_root: bool,
    },
    #[error("{what} for {}: {}{}", path.display(), errno_text(*errno), bpf_log(log))]
    Bpf {
        what: &'static str,
        path: PathBuf,
        errno: Errno,
        /// The verifier's log of a refused load, lines joined by ` | `.
        log: String,
    },
    // `error`, not `source`: the message carries it, and a chain printed
    // whole would say it twice.
    #[error("ownership record {}: {error}", path.display())]
    Record {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot create cgroups in {}: it is not writable by uid {uid}; hint: run as root (sudo isobench run), or from a cgroup delegated to you (systemd-run --user --scope -p Delegate=yes isobench run)", path.display())]
    NotWritable { path: PathBuf, uid: u32 },
}

impl CgroupError {
    /// The kernel's errno behind the error, if there was one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            CgroupError::Write { errno, .. }
            | CgroupError::Read { errno, .. }
            | CgroupError::Mkdir { errno, .. }
            | CgroupError::Rmdir { errno, .. }
            | CgroupError::Bpf { errno, .. } => Some(*errno),
            CgroupError::Exists { .. } => Some(Errno::EEXIST),
            _ => None,
        }
    }
}

/// The errno's description in lower case, as the house style wants messages.
fn errno_text(e: Errno) -> String {
    let desc = e.desc();
    let mut chars = desc.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => format!("{e}"),
    }
}

fn bpf_log(log: &str) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("; verifier log: {log}")
    }
}

fn busy_hint(namespace_root: bool) -> &'static str {
    if namespace_root {
        "; it is this container's cgroup-namespace root, which the kernel treats as an ordinary cgroup (no internal processes); hint: run isobench as the container's only process, or move the others into a child first (as moby's hack/dind does) and pass --cgroup-parent to an empty child"
    } else {
        "; hint: run isobench as the only process of a delegated cgroup (e.g. systemd-run --scope -p Delegate=yes isobench run), or pass --cgroup-parent"
    }
}

fn mkdir_hint(e: Errno) -> &'static str {
    match e {
        Errno::EACCES | Errno::EPERM | Errno::EROFS => {
            "; hint: run as root, or pass --cgroup-parent to a delegated subtree"
        }
        _ => "",
    }
}

fn write_hint(e: Errno, path: &Path) -> &'static str {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    match (e, file) {
        (Errno::ENOENT, _) => "; hint: the interface file does not exist on this kernel",
        (Errno::EBUSY, "cgroup.subtree_control") => {
            "; hint: the parent cgroup has other processes in it; run isobench in a delegated cgroup of its own"
        }
        (Errno::ENOSPC, CGROUP_PROCS) => "; hint: the cpuset has no cpus or mems",
        _ => "",
    }
}

/// The errno behind an I/O error (EIO when it carries none).
pub fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO)
}

/// Writes `value` to an interface file in a single write(2), opening it
/// write-only *without* O_CREAT: `std::fs::write` would try to create a missing
/// file and turn ENOENT into a misleading EACCES.
pub fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    let fail = |errno| CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        errno,
    };
    // These run a program as root on the host when a cgroup empties: never ours to write.
    if path
        .file_name()
        .is_some_and(|f| f == "release_agent" || f == "notify_on_release")
    {
        return Err(fail(Errno::EPERM));
    }
    #[cfg(feature = "failpoints")]
    let faulted = match fault::write(path, value) {
        Some(v) => v,
        None => return Ok(()),
    };
    #[cfg(feature = "failpoints")]
    let value = faulted.as_str();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| fail(errno_of(&e)))?;
    match f.write(value.as_bytes()) {
        Ok(n) if n == value.len() => Ok(()),
        Ok(_) => Err(fail(Errno::EIO)),
        Err(e) => Err(fail(errno_of(&e))),
    }
}

/// Reads an interface file whole.
pub fn read_file(path: &Path) -> Result<String, CgroupError> {
    #[cfg(feature = "failpoints")]
    if let Some(v) = fault::read(path) {
        return Ok(v);
    }
    let mut s = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| CgroupError::Read {
            path: path.to_path_buf(),
            errno: errno_of(&e),
        })?;
    #[cfg(feature = "failpoints")]
    let s = fault::scale_read(path, s);
    Ok(s)
}

/// Reads a file holding one unsigned number (`max` reads as `u64::MAX`).
pub fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read_file(path)?;
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        text: t.to_string(),
    })
}

/// Writes `value`, reads the file back and fails when the kernel kept another
/// value (v1 cpu.shares clamps silently, for example). `same` compares the
/// trimmed read-back text with what was written.
pub fn write_checked(
    path: &Path,
    value: &str,
    same: impl Fn(&str) -> bool,
) -> Result<String, CgroupError> {
    write_file(path, value)?;
    let read = read_file(path)?;
    let read = read.trim().to_string();
    if same(&read) {
        Ok(read)
    } else {
        Err(CgroupError::ReadBack {
            path: path.to_path_buf(),
            wrote: value.to_string(),
            read,
        })
    }
}

/// Writes a number and requires it to read back unchanged.
pub fn write_number(path: &Path, n: u64) -> Result<(), CgroupError> {
    let v = n.to_string();
    write_checked(path, &v, |r| r == v).map(|_| ())
}

/// Writes a CPU/node list and requires the same set to read back (the kernel
/// prints it in its own canonical form).
pub fn write_list(path: &Path, list: &crate::cpulist::CpuList) -> Result<(), CgroupError> {
    write_checked(path, &list.to_string(), |r| {
        r.parse::<crate::cpulist::CpuList>()
            .is_ok_and(|l| &l == list)
    })
    .map(|_| ())
}

/// Checks a name for a cgroup made by the harness: a strict character set so a
/// scenario can never reach outside the harness's subtree or collide with an
/// interface file.
pub fn validate_name(name: &str) -> Result<(), CgroupError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CgroupError::BadName(name.to_string()))
    }
}

/// The processes beside this one in the own cgroup2 cgroup (0 where it
/// cannot be read): what decides whether the harness may enable controllers
/// below it, or must step aside first.
pub fn others_in_own(layout: &Layout) -> usize {
    let me = std::process::id() as i32;
    layout
        .unified()
        .and_then(|h| h.own_dir.as_deref())
        .and_then(|d| read_procs(d).ok())
        .map_or(0, |p| p.iter().filter(|&&q| q != me).count())
}

/// The pids listed in a cgroup.procs file.
pub fn read_procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let path = dir.join(CGROUP_PROCS);
    let text = read_file(&path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| CgroupError::Parse {
                path: path.clone(),
                text: l.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_strict() {
        for ok in ["a", "cpu-quota_1.5", "X9"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            "a\nb",
            &"x".repeat(201),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn write_does_not_create_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.max");
        let err = write_file(&path, "max 100000").unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ENOENT));
        assert!(!path.exists());
        let msg = err.to_string();
        assert!(msg.starts_with("write \"max 100000\" to "), "{msg}");
        assert!(msg.contains("no such file or directory"), "{msg}");
    }

    #[test]
    fn release_agent_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["release_agent", "notify_on_release"] {
            let path = dir.path().join(f);
            std::fs::write(&path, "").unwrap();
            assert!(write_file(&path, "1").is_err());
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        }
    }

    #[test]
    fn write_checked_reports_a_clamped_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.shares");
        std::fs::write(&path, "").unwrap();
        assert_eq!(write_checked(&path, "100", |r| r == "100").unwrap(), "100");
        let err = write_checked(&path, "1", |r| r == "2").unwrap_err();
        assert!(matches!(err, CgroupError::ReadBack { .. }), "{err}");
    }

    #[test]
    fn read_u64_understands_max() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pids.max");
        std::fs::write(&path, "max\n").unwrap();
        assert_eq!(read_u64(&path).unwrap(), u64::MAX);
        std::fs::write(&path, "12\n").unwrap();
        assert_eq!(read_u64(&path).unwrap(), 12);
        std::fs::write(&path, "x\n").unwrap();
        assert!(read_u64(&path).is_err());
    }
}
