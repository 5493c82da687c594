//! The cgroup v1 driver: interface file names and how each typed setting maps onto them.

use std::path::Path;

use super::devices::DeviceRule;
use super::stats::{self, CpuAcct, CpuStat, IoStat, MemoryStat};
use super::types::{page_rounded, CpuMax, IoLimit};
use super::{read_file, read_u64, write_checked, write_file, CgroupError};

pub const CPUSET_CPUS: &str = "cpuset.cpus";
pub const CPUSET_MEMS: &str = "cpuset.mems";
pub const CPUSET_EFFECTIVE_CPUS: &str = "cpuset.effective_cpus";
pub const CPUSET_EFFECTIVE_MEMS: &str = "cpuset.effective_mems";
pub const CPU_CFS_QUOTA_US: &str = "cpu.cfs_quota_us";
pub const CPU_CFS_PERIOD_US: &str = "cpu.cfs_period_us";
pub const CPU_CFS_BURST_US: &str = "cpu.cfs_burst_us";
pub const CPU_SHARES: &str = "cpu.shares";
pub const CPU_STAT: &str = "cpu.stat";
pub const CPUACCT_USAGE: &str = "cpuacct.usage";
pub const CPUACCT_USAGE_PERCPU: &str = "cpuacct.usage_percpu";
pub const CPUACCT_STAT: &str = "cpuacct.stat";
pub const MEMORY_LIMIT: &str = "memory.limit_in_bytes";
pub const MEMORY_MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";
pub const MEMORY_USAGE: &str = "memory.usage_in_bytes";
pub const MEMORY_MAX_USAGE: &str = "memory.max_usage_in_bytes";
pub const MEMORY_FAILCNT: &str = "memory.failcnt";
pub const MEMORY_OOM_CONTROL: &str = "memory.oom_control";
pub const BLKIO_READ_BPS: &str = "blkio.throttle.read_bps_device";
pub const BLKIO_WRITE_BPS: &str = "blkio.throttle.write_bps_device";
pub const BLKIO_READ_IOPS: &str = "blkio.throttle.read_iops_device";
pub const BLKIO_WRITE_IOPS: &str = "blkio.throttle.write_iops_device";
pub const BLKIO_SERVICE_BYTES: &str = "blkio.throttle.io_service_bytes";
pub const BLKIO_SERVICED: &str = "blkio.throttle.io_serviced";
pub const PIDS_MAX: &str = "pids.max";
pub const PIDS_CURRENT: &str = "pids.current";
pub const FREEZER_STATE: &str = "freezer.state";
pub const DEVICES_ALLOW: &str = "devices.allow";
pub const DEVICES_DENY: &str = "devices.deny";
pub const DEVICES_LIST: &str = "devices.list";
pub const NET_CLS_CLASSID: &str = "net_cls.classid";
pub const NET_PRIO_IFPRIOMAP: &str = "net_prio.ifpriomap";

/// v2's cpu.weight (1…10000, default 100) expressed as v1 cpu.shares (default
/// 1024): linear through the two defaults, at least the kernel's minimum 2.
pub fn weight_to_shares(weight: u64) -> u64 {
    (weight * 1024 / 100).max(2)
}

/// Copies the parent's cpus and mems into a new v1 cpuset: a v1 cpuset starts
/// empty and attaching a task to it fails with ENOSPC until both are set.
pub fn copy_cpuset_down(parent: &Path, child: &Path) -> Result<(), CgroupError> {
    for (file, effective) in [
        (CPUSET_CPUS, CPUSET_EFFECTIVE_CPUS),
        (CPUSET_MEMS, CPUSET_EFFECTIVE_MEMS),
    ] {
        let mut value = read_file(&parent.join(file))?.trim().to_string();
        if value.is_empty() {
            value = read_file(&parent.join(effective))?.trim().to_string();
        }
        write_file(&child.join(file), &value)?;
    }
    Ok(())
}

pub fn set_cpu_max(dir: &Path, max: &CpuMax) -> Result<(), CgroupError> {
    // Lift the quota first: a new period is checked against the old quota.
    write_file(&dir.join(CPU_CFS_QUOTA_US), "-1")?;
    let period = max.period.as_micros().to_string();
    write_checked(&dir.join(CPU_CFS_PERIOD_US), &period, |r| r == period)?;
    let quota = match max.quota {
        Some(q) => q.as_micros().to_string(),
        None => "-1".to_string(),
    };
    write_checked(&dir.join(CPU_CFS_QUOTA_US), &quota, |r| r == quota)?;
    let burst = dir.join(CPU_CFS_BURST_US);
    if burst.exists() {
        write_checked(&burst, "0", |r| r == "0")?;
    }
    Ok(())
}

/// Sets cpu.shares from a v2-style weight; returns the shares written.
pub fn set_weight(dir: &Path, weight: u64) -> Result<u64, CgroupError> {
    let shares = weight_to_shares(weight);
    super::write_number(&dir.join(CPU_SHARES), shares)?;
    Ok(shares)
}

/// Sets memory.limit_in_bytes; returns the limit the kernel kept (rounded down to a page).
pub fn set_memory_max(dir: &Path, bytes: u64) -> Result<u64, CgroupError> {
    let memsw = dir.join(MEMORY_MEMSW_LIMIT);
    // memsw must never be below the memory limit: raise it first when needed.
    if memsw.exists() && read_u64(&memsw)? < bytes {
        write_file(&memsw, &bytes.to_string())?;
    }
    let path = dir.join(MEMORY_LIMIT);
    let read = write_checked(&path, &bytes.to_string(), |r| {
        r.parse::<u64>().is_ok_and(|v| page_rounded(bytes, v))
    })?;
    Ok(read.parse().unwrap_or(bytes))
}

/// No swap for the group: memory+swap limit equal to the memory limit. Returns
/// false where the kernel has no swap accounting (the file is absent).
pub fn disable_swap(dir: &Path) -> Result<bool, CgroupError> {
    let memsw = dir.join(MEMORY_MEMSW_LIMIT);
    if !memsw.exists() {
        return Ok(false);
    }
    let limit = read_u64(&dir.join(MEMORY_LIMIT))?;
    let v = limit.to_string();
    write_checked(&memsw, &v, |r| r == v)?;
    Ok(true)
}

pub fn set_io_max(dir: &Path, limit: &IoLimit) -> Result<(), CgroupError> {
    let dev = limit.device.to_string();
    for (file, value) in [
        (BLKIO_READ_BPS, limit.read_bps),
        (BLKIO_WRITE_BPS, limit.write_bps),
        (BLKIO_READ_IOPS, limit.read_iops),
        (BLKIO_WRITE_IOPS, limit.write_iops),
    ] {
        let Some(v) = value else { continue };
        let line = format!("{dev} {v}");
        write_checked(&dir.join(file), &line, |r| {
            r.lines().any(|l| l.trim() == line)
        })?;
    }
    Ok(())
}

/// Writes each rule, in order, to devices.allow or devices.deny: one rule a
/// write, as the kernel parses them. Not read back: devices.list of a group
/// that allows by default prints `a *:* rwm` whatever it denies.
pub fn set_devices(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    for r in rules {
        let file = if r.allow { DEVICES_ALLOW } else { DEVICES_DENY };
        write_file(&dir.join(file), &r.v1_line())?;
    }
    Ok(())
}

pub fn set_frozen(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    write_file(
        &dir.join(FREEZER_STATE),
        if frozen { "FROZEN" } else { "THAWED" },
    )
}

/// True once every task is frozen (FREEZING while some are still running).
pub fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(read_file(&dir.join(FREEZER_STATE))?.trim() == "FROZEN")
}

/// Sets net_cls.classid (`0xAAAABBBB` is tc class `AAAA:BBBB`); the kernel
/// prints it back in decimal.
pub fn set_classid(dir: &Path, classid: u32) -> Result<(), CgroupError> {
    super::write_number(&dir.join(NET_CLS_CLASSID), u64::from(classid))
}

/// Sets the priority of the cgroup's sockets on device `dev`. The kernel looks
/// the name up in the *initial* network namespace (write_priomap:
/// `dev_get_by_name(&init_net, ...)`), whatever namespace the writer is in, and
/// lists only that namespace's devices when the file is read: a device of
/// another namespace can be given no priority at all.
pub fn set_ifpriomap(dir: &Path, dev: &str, prio: u32) -> Result<(), CgroupError> {
    let line = format!("{dev} {prio}");
    write_checked(&dir.join(NET_PRIO_IFPRIOMAP), &line, |r| {
        r.lines().any(|l| l.trim() == line)
    })
    .map(|_| ())
}

/// Throttling from the cpu hierarchy, usage from cpuacct (which may be another mount).
pub fn cpu_stat(cpu_dir: Option<&Path>, cpuacct_dir: &Path) -> Result<CpuStat, CgroupError> {
    let usage = read_u64(&cpuacct_dir.join(CPUACCT_USAGE))?;
    let text = match cpu_dir {
        Some(d) => read_file(&d.join(CPU_STAT))?,
        None => String::new(),
    };
    Ok(stats::cpu_stat_v1(&text, usage))
}

/// The cpuacct accounting files, usage first (the per-CPU split and the
/// user/system ticks are read just after it).
pub fn cpu_acct(dir: &Path) -> Result<CpuAcct, CgroupError> {
    let usage = read_u64(&dir.join(CPUACCT_USAGE))?;
    let percpu = read_file(&dir.join(CPUACCT_USAGE_PERCPU))?;
    let stat = read_file(&dir.join(CPUACCT_STAT))?;
    Ok(stats::cpu_acct_v1(usage, &percpu, &stat, user_hz()))
}

/// USER_HZ, the unit of cpuacct.stat's ticks (100 on every Linux the
/// harness runs on; sysconf says so where it does not).
pub fn user_hz() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as u64
    } else {
        100
    }
}

pub fn memory_stat(dir: &Path) -> Result<MemoryStat, CgroupError> {
    let oom = stats::flat_keyed(&read_file(&dir.join(MEMORY_OOM_CONTROL))?);
    Ok(MemoryStat {
        current_bytes: read_u64(&dir.join(MEMORY_USAGE))?,
        peak_bytes: Some(read_u64(&dir.join(MEMORY_MAX_USAGE))?),
        oom_kill: oom.get("oom_kill").copied().unwrap_or(0),
        max_events: read_u64(&dir.join(MEMORY_FAILCNT))?,
        high_events: None,
    })
}

pub fn io_stat(dir: &Path) -> Result<Vec<IoStat>, CgroupError> {
    Ok(stats::io_stat_v1(
        &read_file(&dir.join(BLKIO_SERVICE_BYTES))?,
        &read_file(&dir.join(BLKIO_SERVICED))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_maps_through_the_defaults() {
        assert_eq!(weight_to_shares(100), 1024);
        assert_eq!(weight_to_shares(200), 2048);
        assert_eq!(weight_to_shares(1), 10);
        assert_eq!(weight_to_shares(10_000), 102_400);
    }
}
