//! Workloads run in child processes: the harness re-executes itself
//! (`/proc/self/exe worker ...`) so a workload is a separate single-threaded
//! process that can be placed in cgroups before it does any work.
//!
//! Every worker `isobench worker <name>` is `workload::<name>::main(...) -> i32`
//! (its exit status); this module holds what the harness side shares.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::cgroup::{enter_self, raw_fds, Cgroup, CgroupError};
use crate::cpulist::CpuList;

pub mod cpuspin;
pub mod devices;
pub mod fork;
pub mod hugetlb;
pub mod io;
pub mod mem;
pub mod net;
pub mod nsbench;
pub mod nsverify;
pub mod spawn;
pub mod spin;

/// The harness binary, for re-executing itself as a worker.
pub fn self_exe() -> PathBuf {
    std::fs::read_link("/proc/self/exe").unwrap_or_else(|_| PathBuf::from("/proc/self/exe"))
}

/// Spawns `cmd` so that it enters every directory of `cg` between fork and exec
/// (a `write("0")` to each cgroup.procs): not one instruction of its program runs
/// outside the cgroup.
pub fn spawn_in(cmd: &mut Command, cg: &Cgroup) -> Result<Child, CgroupError> {
    let fds = cg.procs_fds()?;
    let raw = raw_fds(&fds);
    // SAFETY: the closure only makes write(2) calls (async-signal-safe).
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || enter_self(&raw));
    }
    cmd.spawn().map_err(|e| CgroupError::Write {
        path: cg
            .dirs
            .first()
            .map(|d| d.path.join(crate::cgroup::CGROUP_PROCS))
            .unwrap_or_default(),
        value: "0".into(),
        errno: crate::cgroup::errno_of(&e),
    })
}

/// A busy-loop worker process. It blocks on its stdin until [`Worker::go`], so it
/// does no work before the harness has placed and limited it; it exits by itself
/// after `max` of spinning (or at once if the harness dies before `go`).
#[derive(Debug)]
pub struct Worker {
    child: Child,
}

impl Worker {
    fn command(exe: &Path, max: Duration) -> Command {
        let mut cmd = Command::new(exe);
        // Its own process group: a Ctrl-C at the terminal interrupts the harness,
        // which stops the case; the worker must not die of it and be judged.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.args([
            "worker",
            "spin",
            "--max-ms",
            &max.as_millis().to_string(),
            "--touch-bytes",
            &TOUCH_BYTES.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
        cmd
    }

    /// Starts a worker in the harness's own cgroups (to be attached later).
    pub fn spawn(exe: &Path, max: Duration) -> std::io::Result<Worker> {
        Ok(Worker {
            child: Worker::command(exe, max).spawn()?,
        })
    }

    /// Starts a worker that enters `cg` between fork and exec, so not one
    /// instruction of it runs outside the cgroup.
    pub fn spawn_in(exe: &Path, max: Duration, cg: &Cgroup) -> Result<Worker, CgroupError> {
        Ok(Worker {
            child: spawn_in(&mut Worker::command(exe, max), cg)?,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Lets the worker start, and waits (up to `timeout`) until it has touched its
    /// memory and is spinning, so a hold measures time under the limits, not start-up.
    pub fn go(&mut self, timeout: Duration) -> std::io::Result<()> {
        if let Some(s) = self.child.stdin.as_mut() {
            s.write_all(b"g")?;
        }
        let Some(out) = self.child.stdout.as_ref() else {
            return Ok(());
        };
        let fd = std::os::fd::AsFd::as_fd(out);
        let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let ready = nix::poll::poll(&mut fds, ms).map_err(std::io::Error::from)?;
        if ready == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "the worker did not start within {} ms (is the host overloaded?)",
                    timeout.as_millis()
                ),
            ));
        }
        let mut b = [0u8; 1];
        match self.child.stdout.as_mut().map(|o| o.read(&mut b)) {
            Some(Ok(1)) => Ok(()),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the worker exited before it started",
            )),
        }
    }

    /// Reaps the worker (it must be exiting or killed).
    pub fn wait(mut self) -> std::io::Result<ExitStatus> {
        drop(self.child.stdin.take());
        self.child.wait()
    }

    /// Reaps the worker if it has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }
}

impl Drop for Worker {
    /// A worker never outlives its handle: a still-running one is killed and reaped.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU time all threads of a process have run, ns: the first field of every
/// task's schedstat (exact, where `/proc/<pid>/stat`'s utime is tick-coarse).
pub fn run_time_ns(pid: i32) -> Option<u64> {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let text = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// CPU time every process in `cg` has run, ns.
pub fn cgroup_run_time_ns(cg: &Cgroup) -> Option<u64> {
    cg.procs().ok()?.into_iter().map(run_time_ns).sum()
}

/// How long [`cgroup_ran_within`] watches for tasks that have not run: on a
/// busy host (CI: eight busy loops at ten times the weight) one watch of
/// 20–30 ms can see a healthy task wait its turn.
pub const RAN_WATCH_MAX: Duration = Duration::from_secs(1);

/// Whether the tasks of `cg` ran (their schedstat run time moved), watched in
/// steps of `step` (each `sleep(step)`) until they did or [`RAN_WATCH_MAX`]
/// passed; `None` when the run time cannot be read. With the CLOCK_MONOTONIC
/// span watched, for checks by the tasks' own clocks. The first step is one
/// plain watch, so tasks that ran in it decide as a single watch would.
pub fn cgroup_ran_within<E>(
    cg: &Cgroup,
    step: Duration,
    mut sleep: impl FnMut(Duration) -> Result<(), E>,
) -> Result<(Option<bool>, (u64, u64)), E> {
    let (t0, started) = (crate::ns::now_ns(), std::time::Instant::now());
    let Some(a) = cgroup_run_time_ns(cg) else {
        return Ok((None, (t0, t0)));
    };
    loop {
        sleep(step)?;
        let ran = cgroup_run_time_ns(cg).map(|b| b > a);
        if ran != Some(false) || started.elapsed() >= RAN_WATCH_MAX {
            return Ok((ran, (t0, crate::ns::now_ns())));
        }
    }
}

/// What a spin worker touches after `go`: memory charged to its cgroup *after*
/// the move (v1 leaves earlier charges behind), so memory counters must show it.
pub const TOUCH_BYTES: usize = 1 << 20;

/// The CPUs a task may run on, from `/proc/<pid>/status`.
pub fn allowed_cpus(pid: i32) -> Option<CpuList> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(|v| v.trim().parse().ok())
}
