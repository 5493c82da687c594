//! `pids`: does fork fail exactly at pids.max? A worker (itself one task) is
//! placed in a cgroup with pids.max K before it does anything (`isobench worker
//! fork`) and forks until refused: K−1 forks must succeed, the next must fail
//! with EAGAIN, and pids.events must count it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::markdown::{value, verdict_word, Align, Table};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::spec::{Checked, HostLimits, Keys};
use crate::units::Unit;
use crate::workload::spawn_in;

/// The probe.
pub struct Pids;

/// The `pids` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PidsSpec {
    /// pids.max values, one case each (`max<N>`).
    #[serde(default = "default_pids_max")]
    pub max: Vec<u64>,
}

fn default_pids_max() -> Vec<u64> {
    vec![1, 16, 128]
}

/// One pids case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PidsCase {
    /// `max<N>`.
    pub id: String,
    pub max: u64,
}

impl Probe for Pids {
    const ID: &'static str = "pids";
    const TITLE: &'static str = "Pids limit";
    const GROUP: Group = Group::Fidelity;
    type Section = PidsSpec;

    fn validate(s: &PidsSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(Self::ID);
        k.non_empty("max", &s.max, "names no limit")?;
        k.each_range_says(
            "max",
            &s.max,
            1..=100_000,
            "pids.max must be 1 … 100000 (the worker itself is a task)",
        )
    }

    fn expand(s: &PidsSpec, _env: &PlanEnv) -> Vec<Box<dyn Case>> {
        s.max
            .iter()
            .map(|&m| {
                Box::new(PidsCase {
                    id: format!("max{m}"),
                    max: m,
                }) as Box<dyn Case>
            })
            .collect()
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(host.controller(Controller::Pids))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report(cases)
    }
}

impl Case for PidsCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        run(self, ctx)
    }
}

/// What the fork worker managed: forks, the errno that stopped it, tasks in the
/// cgroup at that moment, new `max` events.
type ForkOutcome = (u64, i32, u64, u64);

/// Runs one pids case: the fork worker (itself one task) forks until refused.
fn run(case: &PidsCase, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
    let Ctx {
        scope, layout, exe, ..
    } = ctx;
    let mut result = Measured::new(Pids::ID, &case.id, case);
    if layout.placement(Controller::Pids).version.is_none() {
        result.judge(Verdict::skip(layout.absence(Controller::Pids)));
        return Ok(result.finish());
    }
    let cg = scope.create(&format!("pids-{}", case.id))?;
    let outcome = (|| -> Result<Result<ForkOutcome, String>, ProbeError> {
        if let Err(e) = cg.set_pids_max(case.max) {
            return Ok(Err(format!("set pids.max: {e}")));
        }
        let events_before = cg.pids_max_events()?;
        let mut cmd = Command::new(exe);
        // Its own process group: a Ctrl-C at the terminal interrupts the harness,
        // which stops the case; the worker must not die of it and be judged.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // Ask for more than the limit allows: the kernel must stop it.
        cmd.args(["worker", "fork", "--max", &(case.max + 10).to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = spawn_in(&mut cmd, &cg)?;
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let current = cg.pids_current()?;
        let events = cg.pids_max_events()?.saturating_sub(events_before);
        drop(child.stdin.take());
        let _ = child.wait();
        let mut f = line.split_whitespace().skip(1);
        let forked = f.next().and_then(|v| v.parse().ok());
        let errno = f.next().and_then(|v| v.parse().ok());
        match (forked, errno) {
            (Some(n), Some(e)) => Ok(Ok((n, e, current, events))),
            _ => Ok(Err(format!(
                "the fork worker did not report (got {line:?})"
            ))),
        }
    })();
    scope.remove(&cg)?;
    match outcome? {
        Err(e) => result.judge(Verdict::fail(e)),
        Ok((forked, errno, current, events)) => {
            result.series = vec![
                Series::new("forks_reached", Unit::Count, vec![forked]),
                Series::new("tasks_at_limit", Unit::Count, vec![current]),
                Series::new("max_events", Unit::Count, vec![events]),
            ];
            let name = nix::errno::Errno::from_raw(errno);
            let facts = format!("{forked} forks succeeded besides the worker ({} tasks, pids.max {}), then {name}; pids.events max +{events}", forked + 1, case.max);
            result.judge(
                if forked + 1 == case.max && errno == libc::EAGAIN && events > 0 {
                    Verdict::pass(format!("fork failed exactly at pids.max: {facts}"))
                } else {
                    Verdict::fail(format!(
                        "expected {} forks then EAGAIN and a max event: {facts}",
                        case.max - 1
                    ))
                },
            );
        }
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}

fn report(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("pids.max", Align::Right),
        ("forks", Align::Right),
        ("tasks at the limit", Align::Right),
        ("pids.events max", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        t.row(vec![
            c.case.clone(),
            c.case
                .strip_prefix("max")
                .map_or("—".into(), str::to_string),
            value(c, "forks_reached"),
            value(c, "tasks_at_limit"),
            value(c, "max_events"),
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "A worker (itself one task) forks until refused: K−1 forks must succeed under pids.max K.\n\n{}\n",
        t.render()
    )
}
