//! `cgroup_ops`: the latency of the cgroup operations a container runtime
//! performs — mkdir (in every hierarchy the cgroup spans), setting a limit,
//! attaching a process (a cgroup.procs write; on a unified host also creating it
//! inside with clone3 + CLONE_INTO_CGROUP), rmdir — and how mkdir and rmdir
//! grow with the number of sibling cgroups.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{OpsCase, PROBE};
use crate::cgroup::{Controller, Layout, LayoutKind, Scope};
use crate::interrupt;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::Worker;

use crate::probe::ProbeError;
use crate::units::Unit;

/// Runs one sibling count.
pub fn run(
    scope: &mut Scope,
    layout: &Layout,
    case: &OpsCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    let mut siblings = Vec::new();
    let outcome = (|| -> Result<Result<(), String>, ProbeError> {
        for i in 1..case.siblings {
            interrupt::check()?;
            siblings.push(scope.create(&format!("ops-{}-sib{i}", case.id))?);
        }
        // A process to attach: the spin worker, idle until told to go (never told here).
        let worker =
            Worker::spawn(exe, Duration::from_secs(1)).map_err(|source| ProbeError::Spawn {
                path: exe.to_path_buf(),
                source,
            })?;
        let hold = scope.create(&format!("ops-{}-hold", case.id))?;
        let (mut mkdir, mut set, mut attach, mut clone3, mut rmdir) =
            (vec![], vec![], vec![], vec![], vec![]);
        let has_pids = layout.placement(Controller::Pids).version.is_some();
        let unified = layout.kind == LayoutKind::Unified;
        for _ in 0..case.repeat {
            interrupt::check()?;
            let t = Instant::now();
            let cg = scope.create(&format!("ops-{}-op", case.id))?;
            mkdir.push(t.elapsed().as_nanos() as u64);
            if has_pids {
                let t = Instant::now();
                if let Err(e) = cg.set_pids_max(100) {
                    return Ok(Err(format!("set pids.max: {e}")));
                }
                set.push(t.elapsed().as_nanos() as u64);
            }
            let t = Instant::now();
            match cg.attach(worker.pid()) {
                Ok(true) => attach.push(t.elapsed().as_nanos() as u64),
                Ok(false) => return Ok(Err("the attach worker vanished".into())),
                Err(e) => return Ok(Err(format!("attach: {e}"))),
            }
            if unified {
                if let Some(d) = cg.v2_dir() {
                    let t = Instant::now();
                    match crate::workload::spawn::spawn_into_cgroup(
                        &d.path,
                        Path::new("/proc/self/exe"),
                        &["--version"],
                    ) {
                        Ok(pid) => {
                            clone3.push(t.elapsed().as_nanos() as u64);
                            let _ = crate::ns::wait(pid);
                        }
                        Err(e) => return Ok(Err(format!("clone3 into {}: {e}", d.path.display()))),
                    }
                }
            }
            // Out again (untimed), so the timed rmdir is of an empty cgroup.
            if let Err(e) = hold.attach(worker.pid()) {
                return Ok(Err(format!("attach back: {e}")));
            }
            let t = Instant::now();
            if let Err(e) = scope.remove_empty(&cg) {
                return Ok(Err(format!("rmdir: {e}")));
            }
            rmdir.push(t.elapsed().as_nanos() as u64);
        }
        drop(worker);
        scope.remove(&hold)?;
        for (metric, values) in [
            ("mkdir_latency", mkdir),
            ("set_limit_latency", set),
            ("attach_latency", attach),
            ("attach_clone3_latency", clone3),
            ("rmdir_latency", rmdir),
        ] {
            if !values.is_empty() {
                result.series.push(Series::new(metric, Unit::Ns, values));
            }
        }
        Ok(Ok(()))
    })();
    for s in siblings.iter().rev() {
        scope.remove(s)?;
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(match outcome? {
        Ok(()) => {
            let p50 = |m: &str| {
                result
                    .summaries
                    .iter()
                    .find(|s| s.metric == m)
                    .map_or("-".to_string(), |s| format!("{} µs", s.p50 / 1000))
            };
            Verdict::pass(format!(
                "{} cycles with {} siblings; p50 mkdir {}, attach {}, rmdir {}{}",
                case.repeat,
                case.siblings - 1,
                p50("mkdir_latency"),
                p50("attach_latency"),
                p50("rmdir_latency"),
                if layout.kind == LayoutKind::Unified {
                    String::new()
                } else {
                    "; clone3 attach: unified hosts only".into()
                }
            ))
        }
        Err(e) => Verdict::fail(e),
    });
    Ok(result.finish())
}
