//! Injected kernel faults, for proving that every verdict fails on a kernel that
//! does not enforce its limit. Built only with the `failpoints` feature (the
//! release binary has none of this).
//!
//! One fail point, `cgroup-ignore`, set the fail crate's way for the harness and
//! every worker it starts (they inherit the environment):
//! `FAILPOINTS='cgroup-ignore=return(cpu.max*1.2,memory.max)'`. Its payload lists
//! interface files separated by `,`:
//! - `FILE`: the write is not done (or a neutral value is written where the
//!   cgroup needs one: all online CPUs for `cpuset.cpus`, `THAWED`/`0` for the
//!   freezer), yet reading the file back returns what the harness wrote — a
//!   kernel that accepts a limit and does not enforce it;
//! - `FILE*F`: numbers are written multiplied by F (cpu.max's quota, memory
//!   limits, pids.max, io rates, their v1 equivalents), again reading back as
//!   written — a kernel that enforces the wrong amount.
//!
//! A v2 name also names its v1 equivalents and the other way round (`cpu.max` is
//! `cpu.cfs_quota_us`, `memory.max` is `memory.limit_in_bytes` and the memsw
//! limit that would otherwise enforce it, `io.max` is every
//! `blkio.throttle.*_device`, `cgroup.freeze` is `freezer.state`), so one setting
//! works on every layout. hugetlb files carry the page size in their names:
//! `hugetlb.max` stands for every size's limits, fault-time and reservation
//! (`hugetlb.<size>.max`, `.rsvd.max`, `.limit_in_bytes`, `.rsvd.limit_in_bytes`),
//! and `hugetlb.rsvd.max` for the reservation limits alone. `cgroup.procs` ignored means no process is ever moved:
//! attaches are skipped, and a child is started outside the cgroup.
//!
//! Device rules: `devices.deny` (or its alias `devices.allow`) skips every v1
//! rule write of either file — a deny list denies nothing, and an allow list
//! whose `deny a` was skipped leaves every device open. `devices.bpf`, a
//! pseudo file name, skips the attach of the v2 device program (on a v2 host,
//! or a hybrid host's cgroup2 mirror) while the setter reports it done.
//! Faults on *reads*: the CPU accounting files the harness reads
//! ([`STATS`]: `cpuacct.usage`, `cpuacct.usage_percpu`, `cpuacct.stat`,
//! `cpu.stat`) are one name, the kernel's CPU charge on every layout. `FILE*F`
//! naming any of them multiplies the charged time *read* from all of them by F
//! (`cpuacct.usage*0.8`: a kernel that under-charges by 20 %): every number of
//! cpuacct.usage and .usage_percpu, the `user` and `system` ticks of
//! cpuacct.stat, and only `usage_usec`, `user_usec` and `system_usec` of
//! cpu.stat — never its throttling keys (nr_periods, nr_throttled,
//! throttled_*), so the fault changes what was charged and nothing else. `FILE`
//! alone is ×0: nothing charged. A write fault (`cpu.max*1.2`) never scales a
//! read, and no other row names these files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One fault of the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// The interface file name as given (`cpu.max`).
    pub file: String,
    /// `None`: ignored; `Some(f)`: numbers multiplied by f.
    pub factor: Option<f64>,
}

/// The files each name stands for.
const ALIASES: &[&[&str]] = &[
    &["cpu.max", "cpu.cfs_quota_us"],
    &["cpu.weight", "cpu.shares"],
    &[
        "memory.max",
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
    ],
    &[
        "io.max",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device",
    ],
    &["cgroup.freeze", "freezer.state"],
    &["cgroup.procs", "tasks"],
    &["devices.deny", "devices.allow"],
];

/// The limit in a hugetlb file name, whatever its page size:
/// `hugetlb.2MB.rsvd.max` → `(true, "rsvd.max")`; `None` for other files.
fn hugetlb_limit(file: &str) -> Option<bool> {
    let rest = file.strip_prefix("hugetlb.")?;
    let (size, tail) = rest.split_once('.')?;
    crate::cgroup::hugetlb::PageSize::parse(size)?;
    match tail {
        "max" | "limit_in_bytes" => Some(false),
        "rsvd.max" | "rsvd.limit_in_bytes" => Some(true),
        _ => None,
    }
}

/// The CPU accounting files a read fault scales: naming one names them all.
pub const STATS: &[&str] = &[
    "cpuacct.usage",
    "cpuacct.usage_percpu",
    "cpuacct.stat",
    "cpu.stat",
];

/// The keys of cpu.stat and cpuacct.stat that are charged time.
const CHARGED_KEYS: &[&str] = &["usage_usec", "user_usec", "system_usec", "user", "system"];

/// `text` read from `path`, its charged time multiplied by a read fault's factor
/// when one names the accounting files ([`STATS`]); unchanged otherwise.
pub fn scale_read(path: &Path, text: String) -> String {
    let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
        return text;
    };
    if !STATS.contains(&file) {
        return text;
    }
    let Some(fault) = faults()
        .into_iter()
        .find(|f| STATS.contains(&f.file.as_str()))
    else {
        return text;
    };
    scale_stats(file, &text, fault.factor.unwrap_or(0.0))
}

/// The charged time of an accounting file multiplied by `f` (see [`STATS`]).
fn scale_stats(file: &str, text: &str, f: f64) -> String {
    let times = |t: &str| -> Option<String> {
        let n: u64 = t.parse().ok()?;
        Some(((n as f64 * f).round() as u64).to_string())
    };
    let keyed = matches!(file, "cpu.stat" | "cpuacct.stat");
    let mut out: String = text
        .lines()
        .map(|line| {
            if keyed {
                match line.split_once(' ') {
                    Some((k, v)) if CHARGED_KEYS.contains(&k) => {
                        times(v.trim()).map_or(line.to_string(), |v| format!("{k} {v}"))
                    }
                    _ => line.to_string(),
                }
            } else {
                line.split_whitespace()
                    .map(|t| times(t).unwrap_or_else(|| t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

/// Whether fault name `name` covers interface file `file`.
fn covers(name: &str, file: &str) -> bool {
    let hugetlb = match name {
        "hugetlb.max" => hugetlb_limit(file).is_some(),
        "hugetlb.rsvd.max" => hugetlb_limit(file) == Some(true),
        _ => false,
    };
    name == file
        || hugetlb
        || ALIASES
            .iter()
            .any(|group| group.contains(&name) && group.contains(&file))
}

/// Parses `cpu.max*1.2,memory.max`. Malformed entries are an error naming them.
pub fn parse(payload: &str) -> Result<Vec<Fault>, String> {
    payload
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| match item.split_once('*') {
            None => Ok(Fault {
                file: item.to_string(),
                factor: None,
            }),
            Some((file, f)) => f
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| Fault {
                    file: file.trim().to_string(),
                    factor: Some(f),
                })
                .ok_or_else(|| format!("cgroup-ignore: bad factor in {item:?}")),
        })
        .collect()
}

/// The configured faults (empty when the fail point is off).
fn faults() -> Vec<Fault> {
    fn payload() -> Option<String> {
        fail::fail_point!("cgroup-ignore", |arg: Option<String>| arg);
        None
    }
    payload()
        .map(|p| {
            // A typo in a fault must not silently test nothing.
            parse(&p).unwrap_or_else(|e| panic!("{e}"))
        })
        .unwrap_or_default()
}

/// The fault that applies to `path`, if any.
fn fault_for(path: &Path) -> Option<Fault> {
    let file = path.file_name()?.to_str()?;
    faults().into_iter().find(|f| covers(&f.file, file))
}

/// Values the harness wrote to faulted files: what reading them returns.
static WRITTEN: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);

fn remember(path: &Path, value: &str) {
    let mut w = WRITTEN.lock().unwrap_or_else(|e| e.into_inner());
    w.get_or_insert_with(HashMap::new)
        .insert(path.to_path_buf(), value.to_string());
}

/// What reading `path` returns under a fault: what the harness wrote.
pub fn read(path: &Path) -> Option<String> {
    let w = WRITTEN.lock().unwrap_or_else(|e| e.into_inner());
    let v = w.as_ref()?.get(path)?;
    if matches!(
        path.file_name().and_then(|f| f.to_str()),
        Some("cgroup.procs" | "tasks")
    ) {
        // As the kernel's list, a task leaves it when it exits: a pure v1 host
        // has no cgroup.events, and its teardown waits for this list to empty.
        return Some(
            v.split_whitespace()
                .filter(|pid| alive(pid))
                .map(|pid| format!("{pid}\n"))
                .collect(),
        );
    }
    Some(format!("{v}\n"))
}

/// Whether `pid` is a task that has not exited (not a zombie or dead).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}

/// What really to write for the harness's `value` to `path`: `Some(value)`
/// unchanged without a fault, a neutral or scaled value, or `None` (skip).
pub fn write(path: &Path, value: &str) -> Option<String> {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    // Moving processes is faulted where workloads are placed ([`no_attach`]),
    // not in the harness's own bookkeeping (its v2 leaf, cleanup).
    if matches!(file, "cgroup.procs" | "tasks") {
        return Some(value.to_string());
    }
    let Some(fault) = fault_for(path) else {
        return Some(value.to_string());
    };
    remember(path, value);
    match fault.factor {
        Some(f) => Some(scale(file, value, f)),
        None => neutral(file),
    }
}

/// Whether moving a workload into a cgroup is faulted away (`cgroup.procs`).
pub fn no_attach() -> bool {
    faults().iter().any(|f| covers(&f.file, "cgroup.procs"))
}

/// Whether the device program for cgroup2 directory `dir` is not to be
/// attached (`devices.bpf`): the setter then returns as if it had been.
pub fn skip_device_program(dir: &Path) -> bool {
    fault_for(&dir.join("devices.bpf")).is_some()
}

/// An attach of `pid` through `procs` that the fault skips: reading the file
/// back returns the pid, as if the kernel had taken it.
pub fn skip_attach(procs: &Path, pid: i32) -> bool {
    if no_attach() {
        remember(procs, &pid.to_string());
        return true;
    }
    false
}

/// What an ignored write leaves: nothing, except where the cgroup needs a value
/// to be usable at all.
fn neutral(file: &str) -> Option<String> {
    match file {
        // A v1 cpuset with no CPUs refuses tasks: give it every CPU.
        "cpuset.cpus" => Some(crate::host::online_cpus().to_string()),
        "freezer.state" => Some("THAWED".into()),
        "cgroup.freeze" => Some("0".into()),
        _ => None,
    }
}

/// `value` with its numbers multiplied by `f`: every integer token and
/// `key=integer` (device numbers `MAJ:MIN` and `max` untouched); in cpu.max
/// only the quota, not the period; `-1` (no limit) stays.
fn scale(file: &str, value: &str, f: f64) -> String {
    let times = |t: &str| -> Option<String> {
        let n: u64 = t.parse().ok()?;
        Some(((n as f64 * f).round() as u64).max(1).to_string())
    };
    value
        .split_whitespace()
        .enumerate()
        .map(|(i, tok)| {
            if file == "cpu.max" && i > 0 {
                return tok.to_string();
            }
            if let Some((k, v)) = tok.split_once('=') {
                return times(v).map_or(tok.to_string(), |v| format!("{k}={v}"));
            }
            times(tok).unwrap_or_else(|| tok.to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faked_procs_list_drops_tasks_that_exited() {
        let procs = Path::new("/nonexistent/isobench-test/cgroup.procs");
        let me = std::process::id();
        // pid_max is at most 2^22: this pid cannot exist.
        remember(procs, &format!("{me} 99999999"));
        assert_eq!(read(procs), Some(format!("{me}\n")));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        remember(procs, &pid.to_string());
        assert_eq!(read(procs), Some(String::new()));
    }

    #[test]
    fn read_faults_scale_charged_time_only() {
        assert_eq!(
            scale_stats("cpuacct.usage", "1000000000\n", 0.8),
            "800000000\n"
        );
        assert_eq!(
            scale_stats("cpuacct.usage_percpu", "100 2000 \n", 1.25),
            "125 2500\n"
        );
        assert_eq!(
            scale_stats("cpuacct.stat", "user 100\nsystem 8\n", 0.5),
            "user 50\nsystem 4\n"
        );
        assert_eq!(
            scale_stats(
                "cpu.stat",
                "usage_usec 1000\nuser_usec 900\nsystem_usec 100\nnr_periods 52\nnr_throttled 47\nthrottled_usec 2200\n",
                0.8
            ),
            "usage_usec 800\nuser_usec 720\nsystem_usec 80\nnr_periods 52\nnr_throttled 47\nthrottled_usec 2200\n"
        );
        // v1's cpu.stat has throttling only: nothing in it is charged time.
        let v1 = "nr_periods 20\nnr_throttled 19\nthrottled_time 1602170516\n";
        assert_eq!(scale_stats("cpu.stat", v1, 0.8), v1);
        // No accounting file is a write target: a write fault on one changes nothing written.
        for f in STATS {
            assert!(!ALIASES.iter().any(|g| g.contains(f)), "{f}");
        }
    }

    #[test]
    fn payloads_parse() {
        assert_eq!(
            parse("cpu.max*1.2, memory.max").unwrap(),
            vec![
                Fault {
                    file: "cpu.max".into(),
                    factor: Some(1.2)
                },
                Fault {
                    file: "memory.max".into(),
                    factor: None
                }
            ]
        );
        assert!(parse("cpu.max*x").is_err());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn names_cover_their_v1_equivalents() {
        assert!(covers("cpu.max", "cpu.cfs_quota_us"));
        assert!(covers("memory.limit_in_bytes", "memory.max"));
        assert!(covers("memory.max", "memory.memsw.limit_in_bytes"));
        assert!(covers("io.max", "blkio.throttle.write_iops_device"));
        assert!(covers("cgroup.freeze", "freezer.state"));
        assert!(covers("devices.deny", "devices.allow"));
        assert!(!covers("devices.deny", "devices.bpf"));
        assert!(!covers("cpu.max", "cpu.cfs_period_us"));
        assert!(!covers("memory.max", "memory.high"));
        for f in [
            "hugetlb.2MB.max",
            "hugetlb.1GB.limit_in_bytes",
            "hugetlb.2MB.rsvd.max",
            "hugetlb.1GB.rsvd.limit_in_bytes",
        ] {
            assert!(covers("hugetlb.max", f), "{f}");
        }
        assert!(covers(
            "hugetlb.rsvd.max",
            "hugetlb.2MB.rsvd.limit_in_bytes"
        ));
        assert!(!covers("hugetlb.rsvd.max", "hugetlb.2MB.max"));
        assert!(!covers("hugetlb.max", "hugetlb.2MB.current"));
        assert!(!covers("hugetlb.max", "hugetlb.2MB.failcnt"));
        assert!(!covers("hugetlb.max", "hugetlb.xx.max"));
    }

    #[test]
    fn scaling_touches_limits_not_devices_or_periods() {
        assert_eq!(scale("cpu.max", "25000 100000", 1.2), "30000 100000");
        assert_eq!(scale("cpu.max", "max 100000", 1.2), "max 100000");
        assert_eq!(scale("cpu.cfs_quota_us", "25000", 0.8), "20000");
        assert_eq!(scale("memory.max", "67108864", 1.25), "83886080");
        assert_eq!(
            scale("io.max", "7:3 rbps=1048576 riops=max", 1.2),
            "7:3 rbps=1258291 riops=max"
        );
        assert_eq!(
            scale("blkio.throttle.read_iops_device", "7:3 200", 1.2),
            "7:3 240"
        );
        assert_eq!(scale("pids.max", "16", 1.1), "18");
        assert_eq!(scale("hugetlb.2MB.max", "8388608", 1.5), "12582912");
    }
}
