//! The cgroup v2 driver: interface file names and how each typed setting maps onto them.

use std::path::Path;

use super::stats::{self, CpuAcct, CpuStat, IoStat, MemoryStat};
use super::types::{page_rounded, CpuMax, IoLimit};
use super::{read_file, read_u64, write_checked, write_file, CgroupError};

pub const CGROUP_CONTROLLERS: &str = "cgroup.controllers";
pub const CGROUP_SUBTREE_CONTROL: &str = "cgroup.subtree_control";
pub const CGROUP_EVENTS: &str = "cgroup.events";
pub const CGROUP_FREEZE: &str = "cgroup.freeze";
pub const CGROUP_KILL: &str = "cgroup.kill";
pub const CPUSET_CPUS: &str = "cpuset.cpus";
pub const CPUSET_MEMS: &str = "cpuset.mems";
pub const CPUSET_CPUS_EFFECTIVE: &str = "cpuset.cpus.effective";
pub const CPU_MAX: &str = "cpu.max";
pub const CPU_MAX_BURST: &str = "cpu.max.burst";
pub const CPU_WEIGHT: &str = "cpu.weight";
pub const CPU_STAT: &str = "cpu.stat";
pub const MEMORY_MAX: &str = "memory.max";
pub const MEMORY_HIGH: &str = "memory.high";
pub const MEMORY_SWAP_MAX: &str = "memory.swap.max";
pub const MEMORY_CURRENT: &str = "memory.current";
pub const MEMORY_PEAK: &str = "memory.peak";
pub const MEMORY_EVENTS: &str = "memory.events";
pub const IO_MAX: &str = "io.max";
pub const IO_STAT: &str = "io.stat";
pub const PIDS_MAX: &str = "pids.max";
pub const PIDS_CURRENT: &str = "pids.current";

/// The `cpu.max` value: `QUOTA PERIOD` in µs, or `max PERIOD`.
pub fn cpu_max_value(max: &CpuMax) -> String {
    let period = max.period.as_micros();
    match max.quota {
        Some(q) => format!("{} {period}", q.as_micros()),
        None => format!("max {period}"),
    }
}

/// The `io.max` line for one device; only the limits that are set appear.
pub fn io_max_value(limit: &IoLimit) -> String {
    let mut s = limit.device.to_string();
    for (key, v) in [
        ("rbps", limit.read_bps),
        ("wbps", limit.write_bps),
        ("riops", limit.read_iops),
        ("wiops", limit.write_iops),
    ] {
        if let Some(v) = v {
            s.push_str(&format!(" {key}={v}"));
        }
    }
    s
}

pub fn set_cpu_max(dir: &Path, max: &CpuMax) -> Result<(), CgroupError> {
    let v = cpu_max_value(max);
    write_checked(&dir.join(CPU_MAX), &v, |r| r == v)?;
    let burst = dir.join(CPU_MAX_BURST);
    if burst.exists() {
        write_checked(&burst, "0", |r| r == "0")?;
    }
    Ok(())
}

pub fn set_weight(dir: &Path, weight: u64) -> Result<u64, CgroupError> {
    super::write_number(&dir.join(CPU_WEIGHT), weight)?;
    Ok(weight)
}

/// Sets memory.max or memory.high; returns the limit kept (rounded down to a page).
pub fn set_memory(dir: &Path, file: &str, bytes: u64) -> Result<u64, CgroupError> {
    let read = write_checked(&dir.join(file), &bytes.to_string(), |r| {
        r.parse::<u64>().is_ok_and(|v| page_rounded(bytes, v))
    })?;
    Ok(read.parse().unwrap_or(bytes))
}

/// memory.swap.max = 0. Returns false where the kernel has no swap accounting.
pub fn disable_swap(dir: &Path) -> Result<bool, CgroupError> {
    let path = dir.join(MEMORY_SWAP_MAX);
    if !path.exists() {
        return Ok(false);
    }
    write_checked(&path, "0", |r| r == "0")?;
    Ok(true)
}

pub fn set_io_max(dir: &Path, limit: &IoLimit) -> Result<(), CgroupError> {
    let v = io_max_value(limit);
    let dev = limit.device.to_string();
    write_checked(&dir.join(IO_MAX), &v, |r| {
        // The kernel prints all four keys; the ones we set must be there as written.
        r.lines().any(|line| {
            let have: Vec<&str> = line.split_whitespace().collect();
            have.first() == Some(&dev.as_str())
                && v.split_whitespace().skip(1).all(|w| have.contains(&w))
        })
    })?;
    Ok(())
}

pub fn set_frozen(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    write_file(&dir.join(CGROUP_FREEZE), if frozen { "1" } else { "0" })
}

/// The `frozen` and `populated` keys of cgroup.events.
pub fn events(dir: &Path) -> Result<(bool, bool), CgroupError> {
    let m = stats::flat_keyed(&read_file(&dir.join(CGROUP_EVENTS))?);
    Ok((
        m.get("frozen").copied().unwrap_or(0) == 1,
        m.get("populated").copied().unwrap_or(0) == 1,
    ))
}

pub fn cpu_stat(dir: &Path) -> Result<CpuStat, CgroupError> {
    Ok(stats::cpu_stat_v2(&read_file(&dir.join(CPU_STAT))?))
}

/// cpu.stat's accounting keys (core: every cgroup2 directory has them).
pub fn cpu_acct(dir: &Path) -> Result<CpuAcct, CgroupError> {
    Ok(stats::cpu_acct_v2(&read_file(&dir.join(CPU_STAT))?))
}

pub fn memory_stat(dir: &Path) -> Result<MemoryStat, CgroupError> {
    let events = stats::flat_keyed(&read_file(&dir.join(MEMORY_EVENTS))?);
    let peak = dir.join(MEMORY_PEAK);
    Ok(MemoryStat {
        current_bytes: read_u64(&dir.join(MEMORY_CURRENT))?,
        peak_bytes: if peak.exists() {
            Some(read_u64(&peak)?)
        } else {
            None
        },
        oom_kill: events.get("oom_kill").copied().unwrap_or(0),
        max_events: events.get("max").copied().unwrap_or(0),
        high_events: events.get("high").copied(),
    })
}

pub fn io_stat(dir: &Path) -> Result<Vec<IoStat>, CgroupError> {
    Ok(stats::io_stat_v2(&read_file(&dir.join(IO_STAT))?))
}

/// Enables each controller in `dir`'s subtree_control, one write each (a write
/// naming several fails as a whole if one is unavailable).
pub fn enable_controllers(dir: &Path, names: &[&str]) -> Result<(), CgroupError> {
    for n in names {
        write_file(&dir.join(CGROUP_SUBTREE_CONTROL), &format!("+{n}"))?;
    }
    Ok(())
}

pub fn disable_controllers(dir: &Path, names: &[&str]) -> Result<(), CgroupError> {
    for n in names.iter().rev() {
        write_file(&dir.join(CGROUP_SUBTREE_CONTROL), &format!("-{n}"))?;
    }
    Ok(())
}

/// Controllers enabled in `dir`'s subtree_control.
pub fn subtree_control(dir: &Path) -> Result<Vec<String>, CgroupError> {
    Ok(read_file(&dir.join(CGROUP_SUBTREE_CONTROL))?
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::types::DevId;
    use std::time::Duration;

    #[test]
    fn cpu_max_values() {
        let m = CpuMax {
            quota: Some(Duration::from_millis(50)),
            period: Duration::from_millis(100),
        };
        assert_eq!(cpu_max_value(&m), "50000 100000");
        let m = CpuMax {
            quota: None,
            period: Duration::from_millis(100),
        };
        assert_eq!(cpu_max_value(&m), "max 100000");
    }

    #[test]
    fn io_max_values() {
        let l = IoLimit {
            device: DevId { major: 7, minor: 0 },
            read_bps: Some(1 << 20),
            write_bps: None,
            read_iops: None,
            write_iops: Some(100),
        };
        assert_eq!(io_max_value(&l), "7:0 rbps=1048576 wiops=100");
    }
}
