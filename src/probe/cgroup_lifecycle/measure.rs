//! `cgroup_lifecycle`: the full life of a limited cgroup, timed step by step —
//! create, attach a worker, set each limit and read it back, let the worker run,
//! read the counters, freeze and thaw, kill and remove. The verdict states the
//! facts that must hold (values kept as written, the worker counted, frozen,
//! killed, the directories gone).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{LifecycleCase, PROBE};
use crate::cgroup::{Cgroup, CgroupError, Controller, Scope, Version};
use crate::interrupt;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::units::Unit;
use crate::workload::allowed_cpus;
use crate::workload::{run_time_ns, Worker};

use crate::probe::ProbeError;

/// Raw samples of a case, one value per repetition for each metric.
#[derive(Default)]
struct Samples(Vec<Series>);

impl Samples {
    fn push(&mut self, metric: &str, unit: Unit, value: u64) {
        match self.0.iter_mut().find(|s| s.metric == metric) {
            Some(s) => s.values.push(value),
            None => self.0.push(Series::new(metric, unit, vec![value])),
        }
    }
    fn time<T>(&mut self, metric: &str, mut f: impl FnMut() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.push(metric, Unit::Ns, t.elapsed().as_nanos() as u64);
        r
    }
}

/// What the case needs that this host lacks, if anything.
fn missing(case: &LifecycleCase, layout: &crate::cgroup::Layout) -> Option<String> {
    let cg_has = |c| layout.placement(c).version;
    let needs = [
        (
            case.cpus.is_some() || case.mems.is_some(),
            Controller::Cpuset,
        ),
        (
            case.cpu_max.is_some() || case.cpu_weight.is_some(),
            Controller::Cpu,
        ),
        (
            case.memory_max_bytes.is_some() || case.memory_high_bytes.is_some(),
            Controller::Memory,
        ),
        (case.pids_max.is_some(), Controller::Pids),
        (case.io.is_some(), Controller::Io),
        (case.freeze, Controller::Freezer),
    ];
    for (wanted, c) in needs {
        if wanted && cg_has(c).is_none() {
            return Some(layout.absence(c));
        }
    }
    if case.memory_high_bytes.is_some() && cg_has(Controller::Memory) == Some(Version::V1) {
        return Some(
            "memory.high exists only on cgroup v2; this host's memory controller is v1".into(),
        );
    }
    None
}

/// Runs one case. `exe` is the harness binary (re-executed as the worker).
pub fn run(
    scope: &mut Scope,
    layout: &crate::cgroup::Layout,
    case: &LifecycleCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if let Some(why) = missing(case, layout) {
        result.judge(Verdict::skip(why));
        return Ok(result.finish());
    }
    let mut samples = Samples::default();
    let mut failures: Vec<String> = Vec::new();
    let mut undecided: Option<String> = None;
    for _ in 0..case.repeat {
        interrupt::check()?;
        undecided = cycle(scope, case, exe, &mut samples, &mut failures)?;
        if !failures.is_empty() || undecided.is_some() {
            break;
        }
    }
    result.summaries = samples.0.iter().filter_map(Summary::of).collect();
    result.series = samples.0;
    result.judge(if failures.is_empty() {
        Verdict::pass(format!(
            "{} cycle(s): every limit read back as written, the worker was counted in the cgroup, {}killed and the directories removed",
            case.repeat,
            if case.freeze { "froze without progress, " } else { "" }
        ))
    } else {
        Verdict::fail(failures.join("; "))
    });
    if failures.is_empty() {
        if let Some(why) = undecided {
            result.judge(Verdict::inconclusive(why));
        }
    }
    Ok(result.finish())
}

/// One create → … → remove cycle. Kernel refusals become `failures`; a check
/// the host gave no chance to decide is the returned reason (inconclusive);
/// only environment errors (cannot create a cgroup at all) and interrupts are
/// `Err`.
fn cycle(
    scope: &mut Scope,
    case: &LifecycleCase,
    exe: &Path,
    s: &mut Samples,
    failures: &mut Vec<String>,
) -> Result<Option<String>, ProbeError> {
    let cg = s.time("create", || scope.create(&case.id))?;
    let worker_max = case.hold + Duration::from_secs(60);
    let mut worker = Worker::spawn(exe, worker_max).map_err(|source| ProbeError::Spawn {
        path: exe.to_path_buf(),
        source,
    })?;
    let pid = worker.pid();
    match s.time("attach", || cg.attach(pid)) {
        Ok(true) => {}
        Ok(false) => failures.push(format!(
            "attach: worker {pid} vanished before it was attached"
        )),
        Err(e) => failures.push(format!("attach: {e}")),
    }
    // Each limit the case names: timed as `set_<limit>`, a refusal is a failure.
    let mut set = |metric: &str, r: &mut dyn FnMut() -> Result<(), CgroupError>| {
        if let Err(e) = s.time(metric, r) {
            failures.push(format!("{metric}: {e}"));
        }
    };
    if let Some(cpus) = &case.cpus {
        set("set_cpus", &mut || cg.set_cpus(cpus));
    }
    if let Some(mems) = &case.mems {
        set("set_mems", &mut || cg.set_mems(mems));
    }
    if let Some(m) = &case.cpu_max {
        set("set_cpu_max", &mut || cg.set_cpu_max(m));
    }
    if let Some(w) = case.cpu_weight {
        set("set_cpu_weight", &mut || cg.set_cpu_weight(w).map(drop));
    }
    let mut kept = None;
    let mut swap_off = None;
    if let Some(b) = case.memory_max_bytes {
        set("set_memory_max", &mut || {
            cg.set_memory_max(b).map(|k| kept = Some(k))
        });
        if case.swap_off {
            // Whether swap could be turned off is a stated fact, not dropped: a
            // kernel without swap accounting has no file for it.
            set("disable_swap", &mut || {
                cg.disable_swap().map(|o| swap_off = Some(o))
            });
        }
    }
    if let Some(b) = case.memory_high_bytes {
        set("set_memory_high", &mut || cg.set_memory_high(b).map(drop));
    }
    if let Some(p) = case.pids_max {
        set("set_pids_max", &mut || cg.set_pids_max(p));
    }
    if let Some(io) = &case.io {
        set("set_io_max", &mut || cg.set_io_max(io));
    }
    if let Some(k) = kept {
        s.push("memory_max_kept", Unit::Bytes, k);
    }
    if let Some(o) = swap_off {
        s.push("swap_off", Unit::Count, u64::from(o));
    }
    let before = cg.cpu_stat().ok();
    let go = worker.go(WORKER_START_TIMEOUT);
    // The worker's own run time (the scheduler's per-task clock, not the cgroup's
    // accounting under test) over a wall time the harness measures.
    let ran = (run_time_ns(pid), Instant::now());
    let slept = interrupt::sleep(case.hold);
    if let Err(e) = go {
        failures.push(format!("worker {pid}: {e}"));
    }
    check_counters(&cg, case, pid, before, s, failures);
    if let (Some(m), Some(q), (Some(r0), t0)) =
        (&case.cpu_max, case.cpu_max.and_then(|m| m.quota), ran)
    {
        match (run_time_ns(pid), cg.cpu_stat()) {
            (Some(r1), Ok(after)) => {
                let ran_ns = r1.saturating_sub(r0);
                s.push("worker_run_time", Unit::Ns, ran_ns);
                let throttled = before.map_or(0, |b| after.since(&b).nr_throttled);
                failures.extend(quota_fact(q, m.period, t0.elapsed(), ran_ns, throttled));
            }
            (None, _) => failures.push(format!("cannot read the run time of worker {pid}")),
            (_, Err(e)) => failures.push(format!("read cpu.stat: {e}")),
        }
    }
    let mut undecided = None;
    if slept.is_ok() && case.freeze {
        undecided = check_freezer(&cg, case, s, failures);
    }
    let removed = s.time("remove", || scope.remove(&cg));
    if let Err(e) = removed {
        failures.push(format!("remove: {e}"));
    }
    match worker.try_wait() {
        Ok(Some(st))
            if std::os::unix::process::ExitStatusExt::signal(&st) == Some(libc::SIGKILL) => {}
        Ok(Some(st)) => failures.push(format!(
            "worker {pid} ended with {st}, not killed by the cgroup kill"
        )),
        Ok(None) => match worker.wait() {
            Ok(st) if std::os::unix::process::ExitStatusExt::signal(&st) == Some(libc::SIGKILL) => {
            }
            Ok(st) => failures.push(format!(
                "worker {pid} ended with {st}, not killed by the cgroup kill"
            )),
            Err(e) => failures.push(format!("reap worker {pid}: {e}")),
        },
        Err(e) => failures.push(format!("reap worker {pid}: {e}")),
    }
    if let Some(d) = cg.dirs.iter().find(|d| d.path.exists()) {
        failures.push(format!("{} still exists after remove", d.path.display()));
    }
    slept?;
    Ok(undecided)
}

/// Whether a worker that ran `ran_ns` of `wall` kept to `quota` per `period`.
///
/// Upper bound: a wall window touches at most ⌈wall/period⌉ + 1 periods and
/// each can hand out one whole quota (a fresh group spends its quota at once,
/// and a window that starts late in one period and ends early in the next gets
/// both: 39.6 ms of a 50 ms hold at 20 ms / 100 ms was seen in CI, which a
/// bound of "the pro-rata share plus one quota" wrongly failed); plus 5 % (the
/// kernel throttles at its next tick: +2 … +4 % seen at 20 ms / 100 ms) and a
/// millisecond. Lower bound, only over at least five periods in which the
/// cgroup throttled it (so the host did give it the CPU it could use): the
/// pro-rata share less one quota, 5 % and a millisecond. A hold of 2 s or more
/// tells ±20 % apart.
/// The kernel throttles a group at a tick, so a period can overrun its quota
/// by up to one tick: two ticks at CONFIG_HZ=100 (the coarsest common one)
/// for the first and last period of a hold (44.0 ms of a 50.3 ms hold at 20 ms
/// / 100 ms was seen: two quotas and 4 ms). Over many periods the overrun
/// averages +2 … +4 % (the 5 %).
const OVERRUN_NS: f64 = 20e6;

pub fn quota_fact(
    quota: Duration,
    period: Duration,
    wall: Duration,
    ran_ns: u64,
    throttled_periods: u64,
) -> Option<String> {
    let quota_ns = quota.as_secs_f64() * 1e9;
    let periods = wall.as_secs_f64() / period.as_secs_f64();
    let allowed = periods * quota_ns;
    let touched = periods.ceil() + 1.0;
    let most = touched * quota_ns * 1.05 + 1e6 + OVERRUN_NS;
    let slack = quota_ns + 0.05 * allowed + 1e6;
    let ms = |ns: f64| format!("{:.1} ms", ns / 1e6);
    if ran_ns as f64 > most {
        Some(format!(
            "the worker ran {} of a {} hold under a quota allowing {} ({} at most: {touched} periods of {} each, +5%, two ticks and 1 ms): more than the quota",
            ms(ran_ns as f64),
            ms(wall.as_nanos() as f64),
            ms(allowed),
            ms(most),
            ms(quota_ns)
        ))
    } else if periods >= 5.0
        && throttled_periods as f64 >= periods / 2.0
        && (ran_ns as f64) < allowed - slack
    {
        Some(format!(
            "the worker ran {} of a {} hold, throttled in {throttled_periods} periods, under a quota allowing {}: less than the quota",
            ms(ran_ns as f64),
            ms(wall.as_nanos() as f64),
            ms(allowed)
        ))
    } else {
        None
    }
}

/// Reads the counters after the worker ran and checks the facts behind them.
fn check_counters(
    cg: &Cgroup,
    case: &LifecycleCase,
    pid: i32,
    before: Option<crate::cgroup::CpuStat>,
    s: &mut Samples,
    failures: &mut Vec<String>,
) {
    match cg.procs() {
        Ok(p) if p.contains(&pid) => {}
        Ok(p) => failures.push(format!(
            "worker {pid} is not in the cgroup (cgroup.procs: {p:?})"
        )),
        Err(e) => failures.push(format!("read procs: {e}")),
    }
    if let (Ok(after), Some(before)) = (cg.cpu_stat(), before) {
        let used = after.usage.saturating_sub(before.usage);
        s.push("cpu_usage", Unit::Ns, used.as_nanos() as u64);
        if case.hold >= Duration::from_millis(10) && used.is_zero() {
            failures.push(format!(
                "cpu usage did not move while the worker spun for {:?}",
                case.hold
            ));
        }
    }
    if cg.has(Controller::Memory) {
        match cg.memory_stat() {
            Ok(m) => {
                s.push("memory_current", Unit::Bytes, m.current_bytes);
                if m.current_bytes == 0 {
                    failures.push("memory usage is 0 with the worker attached".into());
                }
                if let Some(limit) = case.memory_max_bytes {
                    if m.current_bytes > limit {
                        failures.push(format!(
                            "memory usage {} bytes is above memory.max {limit}",
                            m.current_bytes
                        ));
                    }
                }
            }
            Err(e) => failures.push(format!("read memory stats: {e}")),
        }
    }
    if cg.has(Controller::Pids) {
        match cg.pids_current() {
            Ok(n) => {
                s.push("pids_current", Unit::Count, n);
                if n == 0 {
                    failures.push("pids.current is 0 with the worker attached".into());
                }
            }
            Err(e) => failures.push(format!("read pids.current: {e}")),
        }
    }
    if let Some(cpus) = &case.cpus {
        match allowed_cpus(pid) {
            Some(allowed) if &allowed == cpus => {}
            Some(allowed) => failures.push(format!(
                "worker {pid} may run on CPUs {allowed}, cpuset.cpus is {cpus}"
            )),
            None => failures.push(format!("cannot read Cpus_allowed_list of worker {pid}")),
        }
    }
}

/// Freeze (timed until the kernel reports frozen), check the worker made no
/// progress, thaw (timed until thawed). Returns why it could not decide, if
/// the host never ran the worker before the freeze.
fn check_freezer(
    cg: &Cgroup,
    case: &LifecycleCase,
    s: &mut Samples,
    failures: &mut Vec<String>,
) -> Option<String> {
    // Under a quota the worker may sit throttled for a period less the quota:
    // watch one whole period plus the quota, or "no progress" means nothing.
    let watch = case
        .cpu_max
        .map_or(FROZEN_WATCH, |m| m.watch_at_least(FROZEN_WATCH));
    // The positive control: the worker runs before it is frozen, watched in
    // steps up to a second (a busy host may keep it waiting); a worker that
    // never ran leaves the freezer check undecided, not failed.
    let Ok((ran, (t0, t1))) = crate::workload::cgroup_ran_within(cg, watch, |d| {
        std::thread::sleep(d);
        Ok::<_, std::convert::Infallible>(())
    });
    match ran {
        Some(true) => {}
        Some(false) => {
            return Some(format!(
                "the host did not run the worker in the {} ms before the freeze, so 'no progress while frozen' would show nothing",
                (t1 - t0) / 1_000_000
            ))
        }
        None => {
            failures.push("cannot read the worker's schedstat before the freeze".into());
            return None;
        }
    }
    if let Err(e) = s.time("freeze", || cg.set_frozen(true)) {
        failures.push(format!("freeze: {e}"));
        return None;
    }
    // A panic from here on must not leave the worker frozen for its kill-and-wait.
    let _thaw = cg.thaw_on_drop();
    // Progress is the tasks' own run time (schedstat), not the cgroup's usage
    // counter. It is judged after a short settle: on 6.12 (v2, with cpu.max) a
    // task was seen to add up to ~5 ms of run time just after cgroup.events said
    // "frozen" — kept as `run_after_frozen`, data for the freezer probe.
    let at_frozen = crate::workload::cgroup_run_time_ns(cg);
    std::thread::sleep(FROZEN_SETTLE);
    let a = crate::workload::cgroup_run_time_ns(cg);
    let usage_a = cg.cpu_stat().map(|c| c.usage).ok();
    std::thread::sleep(watch);
    let b = crate::workload::cgroup_run_time_ns(cg);
    let usage_b = cg.cpu_stat().map(|c| c.usage).ok();
    if let (Some(f), Some(a)) = (at_frozen, a) {
        s.push("run_after_frozen", Unit::Ns, a.saturating_sub(f));
    }
    if let (Some(a), Some(b)) = (usage_a, usage_b) {
        // The cgroup's usage counter, for comparison (it may fold in time late).
        s.push(
            "usage_while_frozen",
            Unit::Ns,
            b.saturating_sub(a).as_nanos() as u64,
        );
    }
    match (a, b) {
        (Some(a), Some(b)) if b > a => failures.push(format!(
            "the frozen worker ran {} µs in {} ms, {} ms after the kernel reported it frozen",
            (b - a) / 1000,
            watch.as_millis(),
            FROZEN_SETTLE.as_millis()
        )),
        (Some(_), Some(_)) => {}
        _ => failures.push("cannot read the frozen tasks' schedstat".into()),
    }
    if let Err(e) = s.time("thaw", || cg.set_frozen(false)) {
        failures.push(format!("thaw: {e}"));
    }
    None
}

/// How long a worker may take to start spinning after `go` before the case fails.
const WORKER_START_TIMEOUT: Duration = Duration::from_secs(5);

/// How long after "frozen" progress starts to count.
const FROZEN_SETTLE: Duration = Duration::from_millis(20);

/// How long a frozen cgroup is watched for progress.
const FROZEN_WATCH: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_kept_within_one_quota() {
        let ms = Duration::from_millis;
        // 20 ms / 100 ms over a 2 s hold: 400 ms allowed; at most 21 quotas
        // (+5 %, two ticks, 1 ms) = 462 ms (×1.2 ran 482 ms); at least 359 ms
        // when throttled.
        assert_eq!(quota_fact(ms(20), ms(100), ms(2000), 430_000_000, 20), None);
        assert!(quota_fact(ms(20), ms(100), ms(2000), 480_000_000, 20)
            .unwrap()
            .contains("more than the quota"));
        assert!(quota_fact(ms(20), ms(100), ms(2000), 336_000_000, 20)
            .unwrap()
            .contains("less than the quota"));
        // Not throttled: the host, not the kernel, held it back.
        assert_eq!(quota_fact(ms(20), ms(100), ms(2000), 336_000_000, 0), None);
        // A 50 ms hold cannot tell: one quota of slack covers it.
        assert_eq!(quota_fact(ms(50), ms(100), ms(50), 50_000_000, 0), None);
        // A 50 ms hold across a period boundary may get two quotas and a tick
        // (seen: 39.6 and 44.0 ms of 50 ms at 20 ms / 100 ms), not the whole hold.
        assert_eq!(quota_fact(ms(20), ms(100), ms(50), 39_600_000, 0), None);
        assert_eq!(quota_fact(ms(20), ms(100), ms(50), 44_000_000, 0), None);
        assert!(quota_fact(ms(20), ms(100), ms(100), 90_000_000, 0)
            .unwrap()
            .contains("more than the quota"));
    }
}
