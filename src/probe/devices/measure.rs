//! Running one devices case: the control outside, the rules, the worker inside.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::judge::{errnos, judge};
use super::{DevicesCase, BPF_PREFIX, NODES, PROBE};
use crate::cgroup::{devbpf, Cgroup, Controller, Layout, Version};
use crate::probe::{Ctx, ProbeError};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::units::Unit;
use crate::workload::devices::{DevOp, DevReport};
use crate::workload::spawn_in;

/// Errno series value of an operation the worker did not report.
pub const NOT_TRIED: u64 = u64::MAX;

/// Why the case cannot run here, if it cannot.
fn unavailable(case: &DevicesCase, layout: &Layout) -> Option<String> {
    let placement = layout.placement(Controller::Devices).version;
    let cgroup2 = layout
        .hierarchies
        .iter()
        .any(|h| h.version == Version::V2 && h.own_dir.is_some());
    match (case.bpf, placement) {
        (false, None) => Some(layout.absence(Controller::Devices)),
        (true, Some(Version::V2)) => Some(format!(
            "the devices controller is on cgroup v2 here: `{}` already applies these rules as a BPF device program",
            case.id.trim_start_matches(BPF_PREFIX)
        )),
        (true, _) if !cgroup2 => Some(
            "no cgroup2 hierarchy on this host to attach a BPF device program to (a pure v1 host)"
                .into(),
        ),
        _ => None,
    }
}

/// Whether every node the worker opens is the character device it must be.
fn wrong_nodes() -> Vec<String> {
    NODES
        .iter()
        .filter_map(|&(path, major, minor)| match std::fs::metadata(path) {
            Err(e) => Some(format!("{path}: {e}")),
            Ok(m) if !m.file_type().is_char_device() => {
                Some(format!("{path}: not a character device"))
            }
            Ok(m) => {
                let (ma, mi) = (libc::major(m.rdev()), libc::minor(m.rdev()));
                (ma != major || mi != minor)
                    .then(|| format!("{path} is {ma}:{mi}, not {major}:{minor}"))
            }
        })
        .collect()
}

/// Runs the worker (inside `cg` when given) and reads its report.
fn worker(
    exe: &Path,
    case: &DevicesCase,
    cg: Option<&Cgroup>,
) -> Result<Result<DevReport, String>, ProbeError> {
    let mut cmd = Command::new(exe);
    // Its own process group: a Ctrl-C at the terminal interrupts the harness,
    // which stops the case; the worker must not die of it and be judged.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args(["worker", "devices"]);
    for c in &case.checks {
        match c.op {
            // Each node once: the worker opens it both ways.
            DevOp::OpenRead => {
                cmd.arg("--open").arg(&c.target);
            }
            DevOp::OpenWrite => {}
            DevOp::Mknod => {
                cmd.arg("--mknod").arg(&c.target);
            }
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = match cg {
        Some(cg) => spawn_in(&mut cmd, cg)?,
        None => cmd.spawn().map_err(|source| ProbeError::Spawn {
            path: exe.to_path_buf(),
            source,
        })?,
    };
    let out = child
        .wait_with_output()
        .map_err(|source| ProbeError::Spawn {
            path: exe.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let where_ = if cg.is_some() { "inside" } else { "outside" };
    Ok(text
        .lines()
        .find_map(|l| serde_json::from_str::<DevReport>(l).ok())
        .ok_or_else(|| {
            format!(
                "the worker {where_} the cgroup did not report ({}; stdout {:?}, stderr {:?})",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )
        }))
}

/// What the case saw in its cgroup.
struct Inside {
    /// The rule writes, or the BPF load and attach.
    apply_ns: u64,
    mechanism: &'static str,
    report: DevReport,
    /// Device programs the kernel lists on the cgroup (BPF cases).
    attached: Option<usize>,
}

/// Applies the rules to `cg` and runs the worker in it; `Err(text)` when the
/// rules could not be applied or the worker did not report.
fn inside(
    case: &DevicesCase,
    cg: &Cgroup,
    exe: &Path,
) -> Result<Result<Inside, String>, ProbeError> {
    let start = Instant::now();
    let applied = if case.bpf {
        cg.set_devices_bpf(&case.rules).map(|()| Version::V2)
    } else {
        cg.set_devices(&case.rules)
    };
    let apply_ns = start.elapsed().as_nanos() as u64;
    let version = match applied {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("apply the rules: {e}"))),
    };
    let mechanism = match version {
        Version::V1 => "devices.deny/devices.allow (v1)",
        Version::V2 => "BPF device program (cgroup2)",
    };
    // The kernel's list of programs: a confirmation for the report, never the witness.
    let attached = match (version, cg.v2_dir()) {
        (Version::V2, Some(d)) => devbpf::attached(&d.path).ok().map(|ids| ids.len()),
        _ => None,
    };
    Ok(worker(exe, case, Some(cg))?.map(|report| Inside {
        apply_ns,
        mechanism,
        report,
        attached,
    }))
}

pub(super) fn run(case: &DevicesCase, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
    let Ctx {
        scope, layout, exe, ..
    } = ctx;
    let mut result = Measured::new(PROBE, &case.id, case);
    if let Some(why) = unavailable(case, layout) {
        result.judge(Verdict::skip(why));
        return Ok(result.finish());
    }
    let wrong = wrong_nodes();
    if !wrong.is_empty() {
        result.judge(Verdict::inconclusive(format!(
            "{} of {} device nodes are not what the rules name, so the case cannot tell: {}",
            wrong.len(),
            NODES.len(),
            wrong.join("; ")
        )));
        return Ok(result.finish());
    }
    // The control first: the harness's own cgroup, no rule of ours.
    let outside = match worker(exe, case, None)? {
        Ok(r) => r,
        Err(e) => {
            result.judge(Verdict::fail(e));
            return Ok(result.finish());
        }
    };
    let cg = scope.create(&format!("devices-{}", case.id))?;
    let measured = inside(case, &cg, exe);
    scope.remove(&cg)?;
    let Inside {
        apply_ns,
        mechanism,
        report: inside,
        attached,
    } = match measured? {
        Ok(m) => m,
        Err(e) => {
            result.judge(Verdict::fail(e));
            return Ok(result.finish());
        }
    };
    result.config["mechanism"] = mechanism.into();
    let series_of = |r: &DevReport| {
        errnos(&case.checks, r)
            .into_iter()
            .map(|e| e.map_or(NOT_TRIED, |e| e as u64))
            .collect::<Vec<u64>>()
    };
    let denied = case.checks.iter().filter(|c| !c.allowed).count() as u64;
    result.series = vec![
        Series::new("apply", Unit::Ns, vec![apply_ns]),
        Series::new("checked", Unit::Count, vec![case.checks.len() as u64]),
        Series::new("denied", Unit::Count, vec![denied]),
        Series::new("trace_inside_errno", Unit::Count, series_of(&inside)),
        Series::new("trace_outside_errno", Unit::Count, series_of(&outside)),
    ];
    if let Some(n) = attached {
        result.series.push(Series::new(
            "programs_attached",
            Unit::Count,
            vec![n as u64],
        ));
    }
    let mut verdict = judge(&case.checks, &inside, &outside);
    if verdict.status == crate::record::Status::Fail {
        if let Some(n) = attached {
            verdict.reason.push_str(&format!(
                " (the kernel listed {n} device programs on the cgroup)"
            ));
        }
    }
    result.judge(verdict);
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}
