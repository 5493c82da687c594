//! [`Cgroup`]: one logical cgroup spread over the hierarchies that hold its
//! controllers, with typed setters and readers. The setters dispatch to the v1
//! or v2 driver of the directory that serves the controller, so a probe never
//! sees a version difference.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;

use super::devices::DeviceRule;
use super::hugetlb::{self, HugetlbStat, PageSize};
use super::stats::{CpuAcct, CpuStat, IoStat, MemoryStat};
use super::types::{CpuMax, IoLimit};
use super::{read_procs, v1, v2, write_file, CgroupError, Controller, Version, CGROUP_PROCS};
use crate::cpulist::CpuList;

/// How long kill and freeze wait for the kernel before giving up.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// One directory of a cgroup in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dir {
    pub version: Version,
    pub path: PathBuf,
    /// The controllers this directory serves for the cgroup. On a hybrid host the
    /// cgroup2 directory serves none: it mirrors the cgroup for cgroup.kill and
    /// cgroup.events (populated), which every cgroup2 directory has.
    pub serves: Vec<Controller>,
}

/// A cgroup made by the harness. Cheap to clone; it does not remove itself
/// (its [`super::Scope`] does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cgroup {
    pub name: String,
    pub dirs: Vec<Dir>,
}

impl Cgroup {
    /// The directory serving `c`, or why there is none.
    pub fn dir(&self, c: Controller) -> Result<&Dir, CgroupError> {
        self.dirs
            .iter()
            .find(|d| d.serves.contains(&c))
            .ok_or(CgroupError::NoController(c))
    }

    /// Whether the host gives this cgroup the controller.
    pub fn has(&self, c: Controller) -> bool {
        self.dir(c).is_ok()
    }

    /// The cgroup2 directory (the only one on a unified host, the mirror on a hybrid one).
    pub fn v2_dir(&self) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.version == Version::V2)
    }

    // ---- placing processes ---------------------------------------------------

    /// Moves process `pid` into every directory of the cgroup. A transient EINVAL
    /// (the task is mid-fork or exiting) is retried; returns false when the process
    /// is gone (ESRCH), which is harmless.
    pub fn attach(&self, pid: i32) -> Result<bool, CgroupError> {
        let value = pid.to_string();
        for d in &self.dirs {
            let path = d.path.join(CGROUP_PROCS);
            #[cfg(feature = "failpoints")]
            if super::fault::skip_attach(&path, pid) {
                continue;
            }
            let mut tries = 0;
            loop {
                match write_file(&path, &value) {
                    Ok(()) => break,
                    Err(e) if e.errno() == Some(Errno::ESRCH) => return Ok(false),
                    Err(e) if e.errno() == Some(Errno::EINVAL) && tries < 10 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(true)
    }

    /// Opens every cgroup.procs of the cgroup write-only, close-on-exec. A child
    /// writes `0` to each (see [`enter_self`]) between fork and exec, so it runs
    /// no instruction of its program outside its limits.
    pub fn procs_fds(&self) -> Result<Vec<OwnedFd>, CgroupError> {
        #[cfg(feature = "failpoints")]
        if super::fault::no_attach() {
            return Ok(Vec::new());
        }
        self.dirs
            .iter()
            .map(|d| {
                let path = d.path.join(CGROUP_PROCS);
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(OwnedFd::from)
                    .map_err(|e| CgroupError::Write {
                        path,
                        value: "0".into(),
                        errno: super::errno_of(&e),
                    })
            })
            .collect()
    }

    /// The pids in the cgroup, over all its directories.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let mut all = Vec::new();
        for d in &self.dirs {
            all.extend(read_procs(&d.path)?);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Whether process `pid` is in the directory that serves controller `c`
    /// (on a hybrid host: the right hierarchy, not only the mirror).
    pub fn holds(&self, c: Controller, pid: i32) -> Result<bool, CgroupError> {
        Ok(read_procs(&self.dir(c)?.path)?.contains(&pid))
    }

    /// Whether any process is in the cgroup (cgroup.events where there is a
    /// cgroup2 directory, otherwise the procs lists).
    pub fn populated(&self) -> Result<bool, CgroupError> {
        match self.v2_dir() {
            Some(d) => Ok(v2::events(&d.path)?.1),
            None => Ok(!self.procs()?.is_empty()),
        }
    }

    // ---- limits ---------------------------------------------------------------

    pub fn set_cpus(&self, cpus: &CpuList) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Cpuset)?;
        match d.version {
            Version::V1 => super::write_list(&d.path.join(v1::CPUSET_CPUS), cpus),
            Version::V2 => super::write_list(&d.path.join(v2::CPUSET_CPUS), cpus),
        }
    }

    pub fn set_mems(&self, mems: &CpuList) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Cpuset)?;
        match d.version {
            Version::V1 => super::write_list(&d.path.join(v1::CPUSET_MEMS), mems),
            Version::V2 => super::write_list(&d.path.join(v2::CPUSET_MEMS), mems),
        }
    }

    /// The CPUs the tasks may actually use (the configured set within the parent's).
    pub fn effective_cpus(&self) -> Result<CpuList, CgroupError> {
        let d = self.dir(Controller::Cpuset)?;
        let file = match d.version {
            Version::V1 => v1::CPUSET_EFFECTIVE_CPUS,
            Version::V2 => v2::CPUSET_CPUS_EFFECTIVE,
        };
        let path = d.path.join(file);
        let text = super::read_file(&path)?;
        text.parse().map_err(|_| CgroupError::Parse { path, text })
    }

    /// CFS bandwidth: quota per period, burst 0.
    pub fn set_cpu_max(&self, max: &CpuMax) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Cpu)?;
        match d.version {
            Version::V1 => v1::set_cpu_max(&d.path, max),
            Version::V2 => v2::set_cpu_max(&d.path, max),
        }
    }

    /// CPU weight on v2's scale (1…10000, default 100); v1 gets the equivalent
    /// cpu.shares ([`v1::weight_to_shares`]). Returns the value written to the kernel.
    pub fn set_cpu_weight(&self, weight: u64) -> Result<u64, CgroupError> {
        let d = self.dir(Controller::Cpu)?;
        match d.version {
            Version::V1 => v1::set_weight(&d.path, weight),
            Version::V2 => v2::set_weight(&d.path, weight),
        }
    }

    /// Hard memory limit; returns the limit the kernel kept (page-rounded).
    pub fn set_memory_max(&self, bytes: u64) -> Result<u64, CgroupError> {
        let d = self.dir(Controller::Memory)?;
        match d.version {
            Version::V1 => v1::set_memory_max(&d.path, bytes),
            Version::V2 => v2::set_memory(&d.path, v2::MEMORY_MAX, bytes),
        }
    }

    /// Memory throttling threshold; v2 only (v1's soft limit is not the same thing).
    pub fn set_memory_high(&self, bytes: u64) -> Result<u64, CgroupError> {
        let d = self.dir(Controller::Memory)?;
        match d.version {
            Version::V1 => Err(CgroupError::Unsupported {
                what: "memory.high",
                version: Version::V1,
            }),
            Version::V2 => v2::set_memory(&d.path, v2::MEMORY_HIGH, bytes),
        }
    }

    /// Forbids swap for the group (set after the memory limit on v1, where the
    /// memory+swap limit is set equal to it). False: no swap accounting here.
    pub fn disable_swap(&self) -> Result<bool, CgroupError> {
        let d = self.dir(Controller::Memory)?;
        match d.version {
            Version::V1 => v1::disable_swap(&d.path),
            Version::V2 => v2::disable_swap(&d.path),
        }
    }

    pub fn set_io_max(&self, limit: &IoLimit) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Io)?;
        match d.version {
            Version::V1 => v1::set_io_max(&d.path, limit),
            Version::V2 => v2::set_io_max(&d.path, limit),
        }
    }

    pub fn set_pids_max(&self, max: u64) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Pids)?;
        match d.version {
            Version::V1 => super::write_number(&d.path.join(v1::PIDS_MAX), max),
            Version::V2 => super::write_number(&d.path.join(v2::PIDS_MAX), max),
        }
    }

    /// The fault-time hugetlb limit of one page size (`hugetlb.<size>.max` /
    /// `limit_in_bytes`), in bytes: a whole number of pages, so it reads back as written.
    pub fn set_hugetlb_max(&self, size: PageSize, bytes: u64) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Hugetlb)?;
        let f = hugetlb::file(d.version, size, hugetlb::File::Max);
        super::write_number(&d.path.join(f), bytes)
    }

    /// The reservation limit of one page size (`hugetlb.<size>.rsvd.max` /
    /// `rsvd.limit_in_bytes`, Linux ≥ 5.7). `Ok(false)`: the kernel has none.
    pub fn set_hugetlb_rsvd_max(&self, size: PageSize, bytes: u64) -> Result<bool, CgroupError> {
        let d = self.dir(Controller::Hugetlb)?;
        let path = d
            .path
            .join(hugetlb::file(d.version, size, hugetlb::File::RsvdMax));
        if !path.exists() {
            return Ok(false);
        }
        super::write_number(&path, bytes)?;
        Ok(true)
    }

    /// One page size's hugetlb counters.
    pub fn hugetlb_stat(&self, size: PageSize) -> Result<HugetlbStat, CgroupError> {
        let d = self.dir(Controller::Hugetlb)?;
        hugetlb::stat(&d.path, d.version, size)
    }

    /// Device access rules ([`DeviceRule`], in order) by the devices
    /// controller's placement: devices.deny / devices.allow on v1, a device
    /// BPF program attached to the cgroup's directory on v2. Returns the
    /// version used.
    pub fn set_devices(&self, rules: &[DeviceRule]) -> Result<Version, CgroupError> {
        let d = self.dir(Controller::Devices)?;
        match d.version {
            Version::V1 => v1::set_devices(&d.path, rules)?,
            Version::V2 => attach_device_program(&d.path, rules)?,
        }
        Ok(d.version)
    }

    /// The same rules as a device BPF program on the cgroup2 directory, where
    /// the controller is on v1: a hybrid host's mirror, whose programs the
    /// kernel runs before the v1 check.
    pub fn set_devices_bpf(&self, rules: &[DeviceRule]) -> Result<(), CgroupError> {
        let d = self.v2_dir().ok_or(CgroupError::Unsupported {
            what: "a device BPF program (no cgroup2 directory)",
            version: Version::V1,
        })?;
        attach_device_program(&d.path, rules)
    }

    /// net_cls.classid: the tc class (`major << 16 | minor`) the cgroup's
    /// packets carry. v1 only: cgroup v2 has no net_cls (it classifies by cgroup
    /// path instead: nftables `socket cgroupv2`, BPF cgroup_skb programs).
    pub fn set_net_cls_classid(&self, classid: u32) -> Result<(), CgroupError> {
        let d = self.dir(Controller::NetCls)?;
        match d.version {
            Version::V1 => v1::set_classid(&d.path, classid),
            Version::V2 => Err(CgroupError::Unsupported {
                what: "net_cls.classid",
                version: Version::V2,
            }),
        }
    }

    /// net_prio.ifpriomap: priority `prio` for the cgroup's sockets on device
    /// `dev` of the initial network namespace (see [`v1::set_ifpriomap`]). v1 only.
    pub fn set_net_prio(&self, dev: &str, prio: u32) -> Result<(), CgroupError> {
        let d = self.dir(Controller::NetPrio)?;
        match d.version {
            Version::V1 => v1::set_ifpriomap(&d.path, dev, prio),
            Version::V2 => Err(CgroupError::Unsupported {
                what: "net_prio.ifpriomap",
                version: Version::V2,
            }),
        }
    }

    /// Freezes (or thaws) every task and waits until the kernel reports it done.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let d = self.dir(Controller::Freezer)?;
        match d.version {
            Version::V1 => v1::set_frozen(&d.path, frozen)?,
            Version::V2 => v2::set_frozen(&d.path, frozen)?,
        }
        let what = if frozen { "freeze of" } else { "thaw of" };
        match d.version {
            Version::V2 => wait_events(what, &d.path, |e| e.0 == frozen),
            Version::V1 => wait_until(what, &d.path, || self.is_frozen().map(|f| f == frozen)),
        }
    }

    /// A guard that thaws this cgroup when dropped, whatever way the scope is
    /// left (an interrupt's early return, a panic). Declare it after the
    /// workers it covers, so it drops first: on v1 a frozen task cannot die, so
    /// a worker's kill-and-wait on drop would wait for ever (seen: Ctrl-C during
    /// the freezer probe hung the harness in waitpid).
    pub fn thaw_on_drop(&self) -> ThawOnDrop<'_> {
        ThawOnDrop(self)
    }

    /// Whether the kernel reports the whole cgroup frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        let d = self.dir(Controller::Freezer)?;
        match d.version {
            Version::V1 => v1::is_frozen(&d.path),
            Version::V2 => Ok(v2::events(&d.path)?.0),
        }
    }

    // ---- readers --------------------------------------------------------------

    pub fn cpu_stat(&self) -> Result<CpuStat, CgroupError> {
        let acct = self.dir(Controller::Cpuacct)?;
        match acct.version {
            Version::V1 => {
                let cpu = self.dir(Controller::Cpu).ok().map(|d| d.path.as_path());
                v1::cpu_stat(cpu, &acct.path)
            }
            Version::V2 => v2::cpu_stat(&acct.path),
        }
    }

    /// The CPU time charged to the cgroup, split into user and system time
    /// and, on v1, per CPU.
    pub fn cpu_acct(&self) -> Result<CpuAcct, CgroupError> {
        let d = self.dir(Controller::Cpuacct)?;
        match d.version {
            Version::V1 => v1::cpu_acct(&d.path),
            Version::V2 => v2::cpu_acct(&d.path),
        }
    }

    pub fn memory_stat(&self) -> Result<MemoryStat, CgroupError> {
        let d = self.dir(Controller::Memory)?;
        match d.version {
            Version::V1 => v1::memory_stat(&d.path),
            Version::V2 => v2::memory_stat(&d.path),
        }
    }

    pub fn io_stat(&self) -> Result<Vec<IoStat>, CgroupError> {
        let d = self.dir(Controller::Io)?;
        match d.version {
            Version::V1 => v1::io_stat(&d.path),
            Version::V2 => v2::io_stat(&d.path),
        }
    }

    pub fn pids_current(&self) -> Result<u64, CgroupError> {
        let d = self.dir(Controller::Pids)?;
        let file = match d.version {
            Version::V1 => v1::PIDS_CURRENT,
            Version::V2 => v2::PIDS_CURRENT,
        };
        super::read_u64(&d.path.join(file))
    }

    /// How often a fork was refused at pids.max (the `max` key of pids.events,
    /// the same file on v1 and v2).
    pub fn pids_max_events(&self) -> Result<u64, CgroupError> {
        let d = self.dir(Controller::Pids)?;
        let text = super::read_file(&d.path.join("pids.events"))?;
        Ok(super::stats::flat_keyed(&text)
            .get("max")
            .copied()
            .unwrap_or(0))
    }

    // ---- teardown -------------------------------------------------------------

    /// Kills every process in the cgroup and waits until it is empty: atomically
    /// with cgroup.kill where a cgroup2 directory has it (also the mirror on a
    /// hybrid host), otherwise freeze, SIGKILL each task, thaw, so a forking
    /// workload cannot outrun the kill.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        // A task frozen by a v1 freezer cannot die (it was left FROZEN by a
        // harness killed mid-case): thaw first, whatever kills it.
        let v1_freezer = self
            .dir(Controller::Freezer)
            .ok()
            .filter(|d| d.version == Version::V1);
        if let Some(d) = v1_freezer {
            if v1::is_frozen(&d.path).unwrap_or(true) {
                v1::set_frozen(&d.path, false)?;
            }
        }
        if let Some(d) = self.v2_dir() {
            let file = d.path.join(v2::CGROUP_KILL);
            if file.exists() {
                write_file(&file, "1")?;
                return self.wait_empty();
            }
        }
        let freezer = self
            .dir(Controller::Freezer)
            .ok()
            .filter(|d| d.version == Version::V1);
        if let Some(d) = freezer {
            v1::set_frozen(&d.path, true)?;
            // Best effort: a task stuck in the kernel may stay FREEZING; SIGKILL still lands.
            let _ = wait_until("freeze of", &d.path, || v1::is_frozen(&d.path));
        }
        let start = Instant::now();
        loop {
            let pids = self.procs()?;
            for &pid in &pids {
                // ESRCH: already gone.
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            if pids.is_empty() || start.elapsed() > SETTLE_TIMEOUT {
                break;
            }
            if freezer.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(d) = freezer {
            v1::set_frozen(&d.path, false)?;
        }
        self.wait_empty()
    }

    /// Waits until no process is left (exited tasks leave at once; a killed task
    /// needs a moment to run its exit path).
    pub fn wait_empty(&self) -> Result<(), CgroupError> {
        let path = self
            .dirs
            .first()
            .map(|d| d.path.clone())
            .unwrap_or_default();
        match self.v2_dir() {
            Some(d) => wait_events("emptying of", &d.path, |e| !e.1),
            None => wait_until("emptying of", &path, || Ok(!self.populated()?)),
        }
    }
}

/// [`super::devbpf::apply`], unless a fault skips it (`devices.bpf`).
fn attach_device_program(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    #[cfg(feature = "failpoints")]
    if super::fault::skip_device_program(dir) {
        return Ok(());
    }
    super::devbpf::apply(dir, rules)
}

/// How often a state without notifications (a v1 freezer, a v1 cgroup's task
/// list) is polled: the resolution of a v1 freeze, thaw or emptying latency.
pub const V1_POLL: Duration = Duration::from_micros(100);

/// Waits until `done(frozen, populated)` holds for a cgroup2 directory's
/// cgroup.events, woken by the kernel's notification (poll(2) POLLPRI on the
/// file), so a freeze or thaw latency is the kernel's, not a polling interval.
fn wait_events(
    what: &'static str,
    dir: &Path,
    done: impl Fn((bool, bool)) -> bool,
) -> Result<(), CgroupError> {
    use std::os::unix::fs::FileExt;
    let path = dir.join(v2::CGROUP_EVENTS);
    let file = std::fs::File::open(&path).map_err(|e| CgroupError::Read {
        path: path.clone(),
        errno: super::errno_of(&e),
    })?;
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        let n = file.read_at(&mut buf, 0).map_err(|e| CgroupError::Read {
            path: path.clone(),
            errno: super::errno_of(&e),
        })?;
        let m = super::stats::flat_keyed(&String::from_utf8_lossy(&buf[..n]));
        let state = (
            m.get("frozen").copied().unwrap_or(0) == 1,
            m.get("populated").copied().unwrap_or(0) == 1,
        );
        if done(state) {
            return Ok(());
        }
        let left = SETTLE_TIMEOUT.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(CgroupError::Timeout {
                what,
                path: dir.to_path_buf(),
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid pollfd for an open file; the timeout is bounded.
        // A wake (or EINTR) only means: read the file again.
        unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(100) as i32 + 1) };
    }
}

/// Polls `done` every [`V1_POLL`] until it is true or [`SETTLE_TIMEOUT`] passes.
fn wait_until(
    what: &'static str,
    path: &Path,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        if done()? {
            return Ok(());
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            return Err(CgroupError::Timeout {
                what,
                path: path.to_path_buf(),
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        std::thread::sleep(V1_POLL);
    }
}

/// Moves the calling process into the cgroups whose cgroup.procs `fds` are open.
///
/// Async-signal-safe (one write(2) per fd, no allocation), so it may run in a
/// child between fork and exec (`Command::pre_exec`).
pub fn enter_self(fds: &[i32]) -> std::io::Result<()> {
    for &fd in fds {
        // SAFETY: writing a 1-byte static buffer to a caller-owned open fd.
        let n = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
        if n != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The raw numbers of open fds, for [`enter_self`] in a `pre_exec` closure.
pub fn raw_fds(fds: &[OwnedFd]) -> Vec<i32> {
    fds.iter().map(|f| f.as_raw_fd()).collect()
}

/// See [`Cgroup::thaw_on_drop`].
#[must_use = "the cgroup is thawed when the guard is dropped"]
pub struct ThawOnDrop<'a>(&'a Cgroup);

impl Drop for ThawOnDrop<'_> {
    fn drop(&mut self) {
        // Thawing a thawed cgroup of our own is harmless and returns at once.
        let _ = self.0.set_frozen(false);
    }
}
