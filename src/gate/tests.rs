//! The gate on synthetic runs: what must regress, what must not.

use super::*;
use crate::record::{Series, Verdict};

/// A run of `reps` repetitions of one latency case (`ns_latency/mnt-clone`)
/// whose repetition `r` has 50 latencies around `base_ns × scale × (1 ± a
/// little)`, plus one fidelity case with verdict `pids`.
fn run(reps: u32, base_ns: f64, scale: f64, pids: Verdict) -> Run {
    let mut r = crate::sink::fixture::run();
    r.cases.clear();
    for k in 1..=reps {
        // A repetition's own luck: ±3 % around the centre, the same pattern in every run.
        let luck = 1.0 + 0.03 * (((k * 7) % 5) as f64 - 2.0) / 2.0;
        let values: Vec<u64> = (0..50)
            .map(|i| (base_ns * scale * luck * (1.0 + (i % 10) as f64 / 100.0)) as u64)
            .collect();
        let mut c = CaseResult::measured(
            "ns_latency",
            "mnt-clone",
            (),
            vec![Series::new("latency", Unit::Ns, values)],
            Verdict::pass("fine"),
        );
        c.repetition = (reps > 1).then_some(k);
        r.cases.push(c);
    }
    r.cases.push(CaseResult::new("pids", "max16", (), pids));
    r
}

fn gate(base: &Run, cur: &Run) -> GateReport {
    compare(("base", base), ("cur", cur), &GateOptions::default())
}

fn latency(r: &GateReport) -> &MetricRow {
    r.metrics.iter().find(|m| m.metric == "latency").unwrap()
}

#[test]
fn identical_runs_regress_nothing() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let r = gate(&a, &a.clone());
    assert_eq!(r.regressions(), 0);
    assert_eq!(
        latency(&r).outcome,
        Outcome::WithinNoise,
        "{}",
        latency(&r).reason
    );
    assert_eq!(r.exit_code(false), 0);
    assert!(r.verdicts.is_empty());
}

#[test]
fn thirty_percent_slower_over_five_repetitions_regresses() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let b = run(5, 100_000.0, 1.3, Verdict::pass("ok"));
    let r = gate(&a, &b);
    let m = latency(&r);
    assert_eq!(m.outcome, Outcome::Regressed, "{}", m.reason);
    assert!(!m.weak);
    let (lo, hi) = (m.ratio_lo.unwrap(), m.ratio_hi.unwrap());
    assert!(lo <= 1.3 && 1.3 <= hi, "{lo} … {hi}");
    assert_eq!(r.exit_code(false), 1);
    // The other way round it is an improvement, and nothing fails.
    let back = gate(&b, &a);
    assert_eq!(latency(&back).outcome, Outcome::Improved);
    assert_eq!(back.exit_code(false), 0);
}

#[test]
fn three_percent_under_a_ten_percent_threshold_is_noise() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let b = run(5, 100_000.0, 1.03, Verdict::pass("ok"));
    let m = gate(&a, &b);
    assert_eq!(
        latency(&m).outcome,
        Outcome::WithinNoise,
        "{}",
        latency(&m).reason
    );
}

#[test]
fn one_repetition_a_side_is_weak_and_never_fails_the_gate() {
    let a = run(1, 100_000.0, 1.0, Verdict::pass("ok"));
    let b = run(1, 100_000.0, 1.3, Verdict::pass("ok"));
    let r = gate(&a, &b);
    let m = latency(&r);
    assert!(m.weak);
    assert_eq!(m.outcome, Outcome::Inconclusive);
    assert!(m.reason.contains("weak evidence"), "{}", m.reason);
    assert_eq!(r.exit_code(false), 0);
    assert_eq!(r.exit_code(true), 1, "--strict fails what it cannot decide");
}

#[test]
fn a_verdict_that_becomes_fail_is_a_regression() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let b = run(5, 100_000.0, 1.0, Verdict::fail("pids.max ignored"));
    let r = gate(&a, &b);
    assert_eq!(r.verdicts.len(), 1);
    assert!(r.verdicts[0].regressed);
    assert_eq!(r.exit_code(false), 1);
    // pass → inconclusive is listed, not a regression.
    let c = run(5, 100_000.0, 1.0, Verdict::inconclusive("busy"));
    let r = gate(&a, &c);
    assert_eq!(r.verdicts.len(), 1);
    assert!(!r.verdicts[0].regressed);
    assert_eq!(r.exit_code(false), 0);
}

#[test]
fn cases_in_one_run_only_are_listed() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let mut b = a.clone();
    b.cases.retain(|c| c.probe != "pids");
    let r = gate(&a, &b);
    assert_eq!(r.verdicts.len(), 1);
    assert_eq!(
        (r.verdicts[0].base, r.verdicts[0].cur),
        (Some(Status::Pass), None)
    );
    let r = gate(&b, &a);
    assert_eq!(
        (r.verdicts[0].base, r.verdicts[0].cur),
        (None, Some(Status::Pass))
    );
}

#[test]
fn another_kernel_or_a_busy_host_is_inconclusive() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let mut b = run(5, 100_000.0, 1.3, Verdict::pass("ok"));
    b.host.kernel_release = "7.2.0".into();
    let r = gate(&a, &b);
    assert_eq!(latency(&r).outcome, Outcome::Inconclusive);
    assert!(
        r.incomparable.as_deref().unwrap().contains("kernel"),
        "{:?}",
        r.incomparable
    );
    assert_eq!(r.exit_code(false), 0);
    // Judged by the run's own CPU sample: a high load average alone (a run
    // just before) is no busy host…
    let mut c = run(5, 100_000.0, 1.3, Verdict::pass("ok"));
    c.host.load_avg_1m = 2.0 * c.host.cpus_online_count as f64 + 1.0;
    assert!(gate(&a, &c).incomparable.is_none());
    // …the CPUs busy when the run started are.
    c.host.busy = true;
    let r = gate(&a, &c);
    assert_eq!(latency(&r).outcome, Outcome::Inconclusive);
    let why = r.incomparable.as_deref().unwrap();
    assert!(
        why.contains("busy (CPUs 4 % busy and a task waiting"),
        "{why}"
    );
    // A run recorded before the sample existed: by its load average.
    c.host.busy = false;
    c.host.cpu_sample = None;
    let r = gate(&a, &c);
    let why = r.incomparable.as_deref().unwrap();
    assert!(
        why.contains("(load 5.00 on 2 CPUs (1-minute load average)"),
        "{why}"
    );
}

#[test]
fn per_metric_thresholds_apply() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let b = run(5, 100_000.0, 1.3, Verdict::pass("ok"));
    let opts = GateOptions {
        metric_thresholds: vec![("latency".into(), 50.0)],
        ..GateOptions::default()
    };
    let r = compare(("a", &a), ("b", &b), &opts);
    assert_ne!(
        latency(&r).outcome,
        Outcome::Regressed,
        "{}",
        latency(&r).reason
    );
    assert_eq!(latency(&r).threshold_pct, 50.0);
}

#[test]
fn the_outputs_name_every_figure() {
    let a = run(5, 100_000.0, 1.0, Verdict::pass("ok"));
    let b = run(5, 100_000.0, 1.3, Verdict::fail("x"));
    let r = gate(&a, &b);
    let md = render::markdown(&r);
    assert!(md.contains("mnt-clone") && md.contains("regressed"), "{md}");
    let ktap = render::ktap(&r);
    assert!(ktap.starts_with("KTAP version 1\n1..2\n"), "{ktap}");
    assert!(
        ktap.contains("not ok 2 ns_latency/mnt-clone/latency"),
        "{ktap}"
    );
    let junit = render::junit(&r);
    assert!(junit.contains("failures=\"2\""), "{junit}");
    let csv = String::from_utf8(render::csv(&r).unwrap()).unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("ns_latency,mnt-clone,latency,ns,lower_is_better,5,5,"),
        "{csv}"
    );
}
