//! perf_event's cgroup mode: counters that count only while a task of a
//! cgroup runs. `perf_event_open(attr, <cgroup dir fd>, cpu, -1,
//! PERF_FLAG_PID_CGROUP)` takes the cgroup's directory in the perf_event
//! hierarchy — on v2 (and on a hybrid host whose perf_event is bound to no v1
//! hierarchy) its cgroup2 directory, on v1 its perf_event directory — and one
//! CPU: a cgroup event is per CPU, so a group is counted by one counter on each CPU.
//!
//! The event is the software `cpu-clock` (PERF_COUNT_SW_CPU_CLOCK): a clock
//! that advances while the event is scheduled in, and a cgroup event is
//! scheduled in on its CPU exactly while a task of the cgroup (or of a
//! descendant) runs there; its count is the time the cgroup's tasks ran on
//! that CPU, in ns. `task-clock` is defined by the *task* context it is
//! attached to; `perf stat` itself switches to cpu-clock for per-CPU and
//! cgroup targets.
//!
//! `struct perf_event_attr` is built by hand in its first published size
//! (PERF_ATTR_SIZE_VER0, 64 bytes, which every kernel accepts): libc has the
//! syscall number but not the struct, and the few fields needed here do not
//! justify a generated-bindings crate.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::cpulist::CpuList;

/// The first argument is a cgroup directory fd, not a pid.
const PERF_FLAG_PID_CGROUP: libc::c_ulong = 1 << 2;
/// The counter fd is close-on-exec.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// read_format: the value is followed by time enabled and time running.
const PERF_FORMAT_TOTAL_TIME_ENABLED: u64 = 1 << 0;
const PERF_FORMAT_TOTAL_TIME_RUNNING: u64 = 1 << 1;
/// attr flag bits (a C bit field): exclude_kernel, exclude_hv.
const EXCLUDE_KERNEL: u64 = 1 << 5;
const EXCLUDE_HV: u64 = 1 << 6;
/// PERF_ATTR_SIZE_VER0.
const ATTR_SIZE: u32 = 64;

/// `struct perf_event_attr` up to `config1` (PERF_ATTR_SIZE_VER0).
#[repr(C)]
#[derive(Debug, Default)]
struct Attr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// disabled, inherit, pinned, exclusive, exclude_user, exclude_kernel, …
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const _: () = assert!(std::mem::size_of::<Attr>() == ATTR_SIZE as usize);

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Software cpu-clock: ns the cgroup's tasks ran on the CPU.
    CpuClock,
    /// Hardware instructions retired (needs a PMU), user and kernel.
    Instructions,
}

impl Event {
    /// perf's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Event::CpuClock => "cpu-clock",
            Event::Instructions => "instructions",
        }
    }

    fn attr(self) -> Attr {
        let (type_, config) = match self {
            Event::CpuClock => (PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK),
            Event::Instructions => (PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS),
        };
        Attr {
            type_,
            size: ATTR_SIZE,
            config,
            read_format: PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING,
            ..Attr::default()
        }
    }
}

/// A perf_event_open or read that failed, with the event, cgroup and CPU.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    #[error("perf_event_open {event} for cgroup {} on CPU {cpu}: {}{}", path.display(), super::errno_text(*errno), open_hint(*errno))]
    Open {
        event: &'static str,
        path: PathBuf,
        cpu: u32,
        errno: Errno,
    },
    #[error("open cgroup directory {}: {}", path.display(), super::errno_text(*errno))]
    Dir { path: PathBuf, errno: Errno },
    #[error("read {event} counter of CPU {cpu}: {}", super::errno_text(*errno))]
    Read {
        event: &'static str,
        cpu: u32,
        errno: Errno,
    },
}

impl PerfError {
    /// The kernel's errno.
    pub fn errno(&self) -> Errno {
        match self {
            PerfError::Open { errno, .. }
            | PerfError::Dir { errno, .. }
            | PerfError::Read { errno, .. } => *errno,
        }
    }
}

fn open_hint(e: Errno) -> &'static str {
    match e {
        Errno::EACCES | Errno::EPERM => {
            "; hint: cgroup events need CAP_PERFMON or CAP_SYS_ADMIN (or kernel.perf_event_paranoid ≤ 0)"
        }
        Errno::ENOENT | Errno::EOPNOTSUPP => "; hint: this kernel or machine lacks the event",
        Errno::EBADF | Errno::EINVAL => {
            "; hint: a kernel without CONFIG_CGROUP_PERF refuses a cgroup as the target"
        }
        _ => "",
    }
}

/// One reading of one counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub cpu: u32,
    /// The count (ns for cpu-clock).
    pub value: u64,
    /// How long the counter was enabled, and how long it was on the PMU
    /// (less when the kernel multiplexed hardware counters), ns.
    pub enabled_ns: u64,
    pub running_ns: u64,
}

/// One counter of `event` per CPU, counting the tasks of one cgroup, enabled
/// from the moment they are opened; closed on drop.
#[derive(Debug)]
pub struct CgroupCounters {
    event: Event,
    counters: Vec<(u32, OwnedFd)>,
}

fn perf_event_open(
    attr: &Attr,
    pid: i32,
    cpu: i32,
    flags: libc::c_ulong,
) -> Result<OwnedFd, Errno> {
    // SAFETY: a valid, fully initialised attr of the size it declares; the
    // returned fd (if any) is owned by nobody else.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const Attr,
            pid,
            cpu,
            -1i32,
            flags,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new fd returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl CgroupCounters {
    /// Opens `event` for the cgroup whose perf_event directory is `dir`, on
    /// each of `cpus`.
    pub fn open(dir: &Path, cpus: &CpuList, event: Event) -> Result<CgroupCounters, PerfError> {
        let cg = std::fs::File::open(dir).map_err(|e| PerfError::Dir {
            path: dir.to_path_buf(),
            errno: super::errno_of(&e),
        })?;
        let attr = event.attr();
        let counters = cpus
            .iter()
            .map(|cpu| {
                perf_event_open(
                    &attr,
                    cg.as_raw_fd(),
                    cpu as i32,
                    PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC,
                )
                .map(|fd| (cpu, fd))
                .map_err(|errno| PerfError::Open {
                    event: event.name(),
                    path: dir.to_path_buf(),
                    cpu,
                    errno,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(CgroupCounters { event, counters })
    }

    /// Every counter's value now.
    pub fn read(&self) -> Result<Vec<Reading>, PerfError> {
        self.counters
            .iter()
            .map(|(cpu, fd)| {
                let mut buf = [0u64; 3];
                // SAFETY: reading at most 24 bytes into a 24-byte buffer.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 24) };
                if n != 24 {
                    return Err(PerfError::Read {
                        event: self.event.name(),
                        cpu: *cpu,
                        errno: if n < 0 { Errno::last() } else { Errno::EIO },
                    });
                }
                Ok(Reading {
                    cpu: *cpu,
                    value: buf[0],
                    enabled_ns: buf[1],
                    running_ns: buf[2],
                })
            })
            .collect()
    }
}

/// Whether the machine has a hardware PMU the kernel drives: an instructions
/// counter for this process (user mode only, which perf_event_paranoid ≤ 2
/// allows anyone) opens. ENOENT / EOPNOTSUPP / ENODEV: no PMU (a VM without a
/// virtual one); another refusal is returned as it is.
pub fn hardware_pmu() -> Result<bool, Errno> {
    let mut attr = Event::Instructions.attr();
    attr.flags = EXCLUDE_KERNEL | EXCLUDE_HV;
    match perf_event_open(&attr, 0, -1, PERF_FLAG_FD_CLOEXEC) {
        Ok(_) => Ok(true),
        Err(Errno::ENOENT | Errno::EOPNOTSUPP | Errno::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

/// kernel.perf_event_paranoid, if the kernel has perf events at all.
pub fn paranoid() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The difference of two readings of the same counters: counted per CPU.
pub fn since(after: &[Reading], before: &[Reading]) -> Vec<Reading> {
    after
        .iter()
        .map(|a| {
            let b = before
                .iter()
                .find(|b| b.cpu == a.cpu)
                .copied()
                .unwrap_or_default();
            Reading {
                cpu: a.cpu,
                value: a.value.saturating_sub(b.value),
                enabled_ns: a.enabled_ns.saturating_sub(b.enabled_ns),
                running_ns: a.running_ns.saturating_sub(b.running_ns),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attr_is_the_first_published_layout() {
        let a = Event::CpuClock.attr();
        assert_eq!((a.type_, a.config, a.size), (1, 0, 64));
        assert_eq!(a.read_format, 3);
        // Enabled at open: the disabled bit (bit 0) is clear.
        assert_eq!(a.flags & 1, 0);
        let a = Event::Instructions.attr();
        assert_eq!((a.type_, a.config), (0, 1));
    }

    #[test]
    fn readings_subtract_per_cpu() {
        let r = |cpu, value| Reading {
            cpu,
            value,
            enabled_ns: value,
            running_ns: value,
        };
        assert_eq!(
            since(&[r(0, 10), r(1, 50)], &[r(1, 20), r(0, 4)]),
            vec![r(0, 6), r(1, 30)]
        );
    }
}
