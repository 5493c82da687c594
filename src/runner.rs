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
use crate::probe::{
    cgroup_ops, cpu, cpuset, freezer, io, lifecycle, limits, ns_latency, ProbeError,
};
use crate::record::{CaseResult, Run, Summary, SCHEMA_VERSION};
use crate::scenario::Scenario;
use crate::sink;

/// What to run and where to put it.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// (file name or `<default scenario>`, validated scenario)
    pub scenarios: Vec<(String, Scenario)>,
    pub out: Option<PathBuf>,
    pub quick: bool,
    pub cgroup_parent: Option<String>,
}

/// Progress, for the CLI to show; the runner itself never prints.
pub enum Event<'a> {
    Stale(&'a CleanReport),
    Folder(&'a Path),
    /// Every case the run will do, in order.
    Plan(&'a [Planned<'a>]),
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
pub struct Planned<'a> {
    pub probe: &'a str,
    pub case: &'a str,
    /// How long the scenario tells the case to run, where it says (a lower
    /// bound, for a time-left estimate before a case of the probe finished).
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

/// `results/<UTC timestamp>-<kernel release>/`, made unique if it exists.
fn default_dir(stamp: &str, release: &str) -> PathBuf {
    let base = PathBuf::from("results").join(format!("{stamp}-{release}"));
    if !base.exists() {
        return base;
    }
    PathBuf::from("results").join(format!("{stamp}-{release}-{}", std::process::id()))
}

/// Runs every case of `opts`. Returns the run even when verdicts failed; `Err`
/// means the run could not be done (environment) or was interrupted.
pub fn run(opts: &RunOptions, on: &mut dyn FnMut(Event)) -> anyhow::Result<Outcome> {
    let layout = Layout::detect().context("detect the cgroup layout")?;
    let host = Host::probe(Some(&layout));
    let plan = Plan::build(
        &opts
            .scenarios
            .iter()
            .map(|(_, s)| s.clone())
            .collect::<Vec<_>>(),
        opts.quick,
    );
    // Checked on the plan itself, before anything is created: ids come from the
    // expansion, across every scenario of the run.
    if let Some((section, id)) = plan.duplicate() {
        let files: Vec<&str> = opts.scenarios.iter().map(|(f, _)| f.as_str()).collect();
        return Err(anyhow::Error::new(crate::scenario::ScenarioError {
            file: files.join(", "),
            key: section.into(),
            value: id.clone(),
            reason: format!("two cases would have the id {id}, and a run folder keeps one set of results per case"),
            hint: Some("drop the repeated value, or name each scenario file once".into()),
        }));
    }
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
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&stamp, &host.kernel_release));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("create result folder {}", dir.display()))?;
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
    };
    sink::write_records(&run, &dir)?;
    let exe = crate::workload::self_exe();
    // Every case of the plan as one step, in order: cgroups first, then namespaces.
    enum Step<'a> {
        Lifecycle(&'a crate::plan::LifecycleCase),
        Ops(&'a crate::plan::OpsCase),
        Cpuset(&'a crate::plan::CpusetCase),
        Quota(&'a crate::plan::QuotaCase),
        Weight(&'a crate::plan::WeightCase),
        Pids(&'a crate::plan::PidsCase),
        Memory(&'a crate::plan::MemoryCase),
        Freezer(&'a crate::plan::FreezerCase),
        Io(&'a crate::plan::IoCase),
        Ns(&'a crate::plan::NsCase),
        Verify(crate::ns::NsKind),
    }
    let steps: Vec<(&str, String, Step)> = plan
        .lifecycle
        .iter()
        .map(|c| (lifecycle::PROBE, c.id.clone(), Step::Lifecycle(c)))
        .chain(
            plan.ops
                .iter()
                .map(|c| (cgroup_ops::PROBE, c.id.clone(), Step::Ops(c))),
        )
        .chain(
            plan.cpuset
                .iter()
                .map(|c| (cpuset::PROBE, c.id.clone(), Step::Cpuset(c))),
        )
        .chain(
            plan.quota
                .iter()
                .map(|c| (cpu::QUOTA, c.id.clone(), Step::Quota(c))),
        )
        .chain(
            plan.weight
                .iter()
                .map(|c| (cpu::WEIGHT, c.id.clone(), Step::Weight(c))),
        )
        .chain(
            plan.pids
                .iter()
                .map(|c| (limits::PIDS, c.id.clone(), Step::Pids(c))),
        )
        .chain(
            plan.memory
                .iter()
                .map(|c| (limits::MEMORY, c.id.clone(), Step::Memory(c))),
        )
        .chain(
            plan.freezer
                .iter()
                .map(|c| (freezer::PROBE, c.id.clone(), Step::Freezer(c))),
        )
        .chain(
            plan.io
                .iter()
                .map(|c| (io::PROBE, c.id.clone(), Step::Io(c))),
        )
        .chain(
            plan.ns
                .iter()
                .map(|c| (ns_latency::PROBE, c.id.clone(), Step::Ns(c))),
        )
        .chain(
            plan.ns_verify
                .iter()
                .map(|&k| (ns_latency::PROBE, format!("{k}-isolation"), Step::Verify(k))),
        )
        .collect();
    let total = steps.len();
    let planned: Vec<Planned> = steps
        .iter()
        .map(|(probe, id, step)| Planned {
            probe,
            case: id,
            expected: match step {
                Step::Lifecycle(c) => Some(c.hold * c.repeat),
                Step::Cpuset(c) if c.move_to.is_none() => Some(c.duration),
                Step::Quota(c) => Some(c.duration),
                Step::Weight(c) => Some(c.duration),
                _ => None,
            },
        })
        .collect();
    on(Event::Plan(&planned));
    // The namespace cost of each clone case is measured over the none-clone
    // baseline with the same number of workers.
    let mut baselines: std::collections::BTreeMap<u32, Summary> = Default::default();
    for (index, (probe, id, step)) in steps.iter().enumerate() {
        on(Event::CaseStart {
            index,
            total,
            probe,
            case: id,
        });
        let t = Instant::now();
        let outcome = match step {
            Step::Lifecycle(case) => lifecycle::run(&mut scope, &layout, case, &exe),
            Step::Ops(case) => cgroup_ops::run(&mut scope, &layout, case, &exe),
            Step::Cpuset(case) => cpuset::run(&mut scope, &layout, case, &exe),
            Step::Quota(case) => cpu::run_quota(&mut scope, &layout, case, &exe),
            Step::Weight(case) => cpu::run_weight(&mut scope, &layout, case, &exe),
            Step::Pids(case) => limits::run_pids(&mut scope, &layout, case, &exe),
            Step::Memory(case) => limits::run_memory(&mut scope, &layout, case, &exe),
            Step::Freezer(case) => freezer::run(&mut scope, &layout, case, &exe),
            Step::Io(case) => io::run(&mut scope, &layout, case, &exe, run.host.config_hz),
            Step::Ns(case) => ns_latency::run_case(case, &exe, baselines.get(&case.workers)),
            Step::Verify(kind) => ns_latency::run_verify(*kind, &exe),
        };
        match outcome {
            Ok(mut result) => {
                if let Step::Ns(c) = step {
                    if c.kind == Some(crate::ns::NsKind::None)
                        && c.method == Some(crate::ns::Method::Clone)
                    {
                        if let Some(s) = result.summaries.first() {
                            baselines.insert(c.workers, s.clone());
                        }
                    }
                }
                if !result.series.is_empty() {
                    result.samples_file =
                        Some(format!("samples/{}-{}.csv", result.probe, result.case));
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
            Err(ProbeError::Interrupted(i)) => {
                for p in scope.close() {
                    on(Event::Warning(&p.to_string()));
                }
                run.interrupted = true;
                sink::write_records(&run, &dir)?;
                charts(&run, &dir, on);
                return Err(i.into());
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
