//! The runner: turns a plan into a result folder. It owns the cgroup [`Scope`]
//! (whose guard removes everything on any exit path), calls the probes, and
//! rewrites the sinks after every case.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cgroup::{clean_stale, CleanReport, Layout, Scope, ScopeOptions};
use crate::host::Host;
use crate::interrupt::Interrupted;
use crate::plan::Plan;
use crate::probe::{Ctx, PlanEnv, ProbeError, Scenario};
use crate::record::{CaseResult, Run, SCHEMA_VERSION};
use crate::sink;
use crate::spec::ScenarioError;

/// What to run and where to put it.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// (file name or `<default scenario>`, validated scenario)
    pub scenarios: Vec<(String, Scenario)>,
    pub out: Option<PathBuf>,
    pub quick: bool,
    pub cgroup_parent: Option<String>,
    /// `--repeat`: repetitions of each latency case, over the scenarios' own.
    pub repeat: Option<u32>,
}

/// Progress, for the CLI to show; the runner itself never prints.
pub enum Event<'a> {
    Stale(&'a CleanReport),
    Folder(&'a Path),
    /// Every case the run will do, in order.
    Plan(&'a [Announced<'a>]),
    CaseStart {
        index: usize,
        total: usize,
        probe: &'a str,
        case: &'a str,
    },
    CaseDone {
        index: usize,
        total: usize,
        result: &'a CaseResult,
        elapsed: Duration,
    },
    /// Something went wrong that does not change the results (the charts could
    /// not be drawn); the run goes on.
    Warning(&'a str),
}

/// One case of the plan, as announced before the run starts.
#[derive(Debug, Clone, Copy)]
pub struct Announced<'a> {
    pub probe: &'a str,
    pub case: &'a str,
    /// How long the case runs by design, where its settings say (a lower
    /// bound, for the time-left estimate).
    pub expected: Option<Duration>,
}

/// A finished (or interrupted) run and its folder.
pub struct Outcome {
    pub run: Run,
    pub dir: PathBuf,
}

/// UTC now as `20261129T043000Z` (file names) and RFC 3339 (records).
pub fn utc_now() -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let compact = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let rfc = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    (compact, rfc)
}

/// Creates `results/<UTC timestamp>-<kernel release>/`, or `…-<pid>/` when a
/// run that started in the same second has that name. Made with `create_dir`,
/// which fails on an existing folder, so two runs never share one.
fn create_default_dir(results: &Path, stamp: &str, release: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(results)
        .with_context(|| format!("create the folder {}", results.display()))?;
    let base = format!("{stamp}-{release}");
    for name in [base.clone(), format!("{base}-{}", std::process::id())] {
        let dir = results.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("create result folder {}", dir.display()))
            }
        }
    }
    anyhow::bail!(
        "{}/{base} and {base}-{} exist already; hint: give --out DIR",
        results.display(),
        std::process::id()
    )
}

/// The plan of `opts`, checked on the plan itself before anything is created
/// (ids come from the expansion, across every scenario of the run): what a run
/// says about its input before it asks for a scope or touches the host.
pub fn check_plan(opts: &RunOptions) -> anyhow::Result<Plan> {
    let env = PlanEnv {
        quick: opts.quick,
        online_cpus: crate::host::online_cpus(),
    };
    let scenarios: Vec<Scenario> = opts.scenarios.iter().map(|(_, s)| s.clone()).collect();
    let plan = Plan::build(&scenarios, &env, opts.repeat);
    if let Some((probe, id)) = plan.duplicate() {
        let files: Vec<&str> = opts.scenarios.iter().map(|(f, _)| f.as_str()).collect();
        let mut e = ScenarioError::new(
            probe,
            id.clone(),
            format!("two cases would have the id {id}, and a run folder keeps one set of results per case"),
        )
        .hint("drop the repeated value, or name each scenario file once");
        e.file = files.join(", ");
        return Err(anyhow::Error::new(e));
    }
    Ok(plan)
}

/// Runs every case of `opts`. Returns the run even when verdicts failed, and
/// when it was interrupted (`run.interrupted`: the finished cases, written);
/// `Err` means the run could not be done (environment), or was interrupted
/// before its folder existed.
pub fn run(opts: &RunOptions, on: &mut dyn FnMut(Event)) -> anyhow::Result<Outcome> {
    let plan = check_plan(opts)?;
    // After the scenarios (their errors come first), before the host is touched.
    if let Some(out) = &opts.out {
        crate::outdir::check(out)?;
    }
    let mut layout = Layout::detect().context("detect the cgroup layout")?;
    // Without root and without a delegated cgroup, the cgroup probes skip and
    // the namespace probes still run; with no such case, today's refusal.
    let uid = nix::unistd::geteuid();
    let mut unwritable = None;
    if !uid.is_root() && opts.cgroup_parent.is_none() {
        let whole = layout.clone();
        let writable = |d: &Path| nix::unistd::access(d, nix::unistd::AccessFlags::W_OK).is_ok();
        let any_left = layout.leave_unwritable(uid.as_raw(), writable);
        if !any_left && plan.cases.iter().all(|p| p.case.needs_cgroups()) {
            crate::cgroup::check_parents(&whole, None).context("prepare the harness's cgroups")?;
        }
        let dirs = layout.unwritable_dirs();
        unwritable = (!dirs.is_empty()).then(|| dirs.join(", "));
    }
    // Before the host's fingerprint (a second of sampling): a place the
    // harness cannot write to is said at once.
    crate::cgroup::check_parents(&layout, opts.cgroup_parent.as_deref())
        .context("prepare the harness's cgroups")?;
    if let Some(dirs) = &unwritable {
        on(Event::Warning(&format!(
            "not root, and uid {} cannot write the own cgroup ({dirs}): the cgroup cases it serves skip, the namespace probes run through a user namespace; hint: {}",
            uid,
            crate::cgroup::UNWRITABLE_HINT
        )));
    }
    let host = Host::probe(Some(&layout));
    let stale = clean_stale(&layout, opts.cgroup_parent.as_deref())
        .context("remove leftovers of earlier runs")?;
    on(Event::Stale(&stale));
    let (stamp, started) = utc_now();
    let run_id = format!("{stamp}-{}", std::process::id());
    // The scope first: if the harness cannot make cgroups here, nothing is created.
    let mut scope = Scope::new(
        &layout,
        &ScopeOptions {
            parent: opts.cgroup_parent.clone(),
            run_id: run_id.clone(),
        },
    )
    .context("prepare the harness's cgroups")?;
    let dir = match &opts.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("create result folder {}", dir.display()))?;
            dir.clone()
        }
        None => create_default_dir(Path::new("results"), &stamp, &host.kernel_release)?,
    };
    on(Event::Folder(&dir));
    let mut run = Run {
        schema_version: SCHEMA_VERSION,
        isobench_version: env!("CARGO_PKG_VERSION").into(),
        run_id: run_id.clone(),
        started_utc: started,
        finished_utc: None,
        scenarios: opts
            .scenarios
            .iter()
            .map(|(f, s)| (f.clone(), serde_json::to_value(s).unwrap_or_default()))
            .collect(),
        quick: opts.quick,
        host,
        cases: Vec::new(),
        stale_removed: stale
            .removed
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        interrupted: false,
        interface_files: scope.interface_files(),
    };
    sink::write_records(&run, &dir)?;
    let exe = crate::workload::self_exe();
    let total = plan.cases.len();
    let announced: Vec<Announced> = plan
        .cases
        .iter()
        .map(|p| Announced {
            probe: p.probe,
            case: p.case.id(),
            expected: p.case.expected(),
        })
        .collect();
    on(Event::Plan(&announced));
    for (index, planned) in plan.cases.iter().enumerate() {
        let (probe, id) = (planned.probe, planned.case.id());
        on(Event::CaseStart {
            index,
            total,
            probe,
            case: id,
        });
        let t = Instant::now();
        let outcome = planned.case.run(&mut Ctx {
            scope: &mut scope,
            layout: &layout,
            exe: &exe,
            host: &run.host,
        });
        // A stop requested while the case ran: its workers got the same signal
        // (Ctrl-C reaches the whole process group), so what it measured may be
        // the interrupt's doing. A quota case whose workers died of it judged
        // "ran 0.00%" a failure in a TCG guest; it is not recorded, as if it
        // had noticed the stop itself.
        let outcome = match outcome {
            Ok(_) if crate::interrupt::requested() => Err(ProbeError::Interrupted(Interrupted)),
            o => o,
        };
        match outcome {
            Ok(mut result) => {
                result.repetition = planned.repetition;
                // A verdict on limits the manager took away mid-case is no
                // verdict on the kernel.
                if let Some(why) = scope.taken_away() {
                    if result.verdict.status != crate::record::Status::Skip {
                        result.verdict = crate::record::Verdict::inconclusive(why);
                    }
                }
                if !result.series.is_empty() {
                    result.samples_file = Some(match planned.repetition {
                        Some(r) => format!("samples/{}-{}.r{r}.csv", result.probe, result.case),
                        None => format!("samples/{}-{}.csv", result.probe, result.case),
                    });
                }
                let elapsed = t.elapsed();
                result.elapsed_ns = Some(elapsed.as_nanos() as u64);
                on(Event::CaseDone {
                    index,
                    total,
                    result: &result,
                    elapsed,
                });
                // The text files cover the whole run and are rewritten; the
                // samples are this case's alone and written once.
                sink::write_samples(&result, &dir)?;
                run.cases.push(result);
                sink::write_records(&run, &dir)?;
            }
            Err(ProbeError::Interrupted(_)) => {
                // The case that was running is not recorded: it did not finish,
                // and an interrupt is no verdict on the kernel.
                for p in scope.close() {
                    on(Event::Warning(&p.to_string()));
                }
                run.interrupted = true;
                sink::write_records(&run, &dir)?;
                charts(&run, &dir, on);
                return Ok(Outcome { run, dir });
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("case {probe}/{id}"))),
        }
    }
    for p in scope.close() {
        on(Event::Warning(&p.to_string()));
    }
    run.finished_utc = Some(utc_now().1);
    sink::write_records(&run, &dir)?;
    charts(&run, &dir, on);
    Ok(Outcome { run, dir })
}

/// Draws the charts once, at the end (they are slower than the text files); a
/// failure is a warning, since every result is already written.
fn charts(run: &Run, dir: &Path, on: &mut dyn FnMut(Event)) {
    // A chart is a view of finished results: a bug in drawing one must not cost
    // the run its verdict table and exit code.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sink::write_charts(run, dir)
    })) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            on(Event::Warning(&format!(
                "charts left out of report.md: {}",
                chain.join(": ")
            )));
        }
        Err(_) => on(Event::Warning(
            "charts left out of report.md: drawing them panicked (a bug; please report it)",
        )),
    }
}

/// Whether an error chain is an interruption (exit 130) rather than an environment error.
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Interrupted>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs in the same second get two folders; a third is refused, not mixed in.
    #[test]
    fn default_folders_never_collide() {
        let tmp = tempfile::tempdir().unwrap();
        let results = tmp.path().join("results");
        let a = create_default_dir(&results, "20260101T000000Z", "6.1").unwrap();
        let b = create_default_dir(&results, "20260101T000000Z", "6.1").unwrap();
        assert_eq!(a, results.join("20260101T000000Z-6.1"));
        assert_eq!(
            b,
            results.join(format!("20260101T000000Z-6.1-{}", std::process::id()))
        );
        let e = create_default_dir(&results, "20260101T000000Z", "6.1").unwrap_err();
        assert!(e.to_string().contains("exist already; hint: "), "{e}");
        assert_eq!(std::fs::read_dir(&results).unwrap().count(), 2);
    }
}
