//! `ns_latency`: what each namespace costs to create and enter, per kind and
//! method, serially and from N parallel workers; how fast network namespaces
//! can be created and destroyed for a sustained period (their teardown is
//! asynchronous); and whether each kind isolates what it should.
//!
//! The timing happens in re-executed single-threaded workers
//! (`isobench worker ns-bench`); this module starts them, collects their
//! samples and judges.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{NsCase, PROBE};
use crate::interrupt;
use crate::ns::{self, Method, NsKind};
use crate::record::{CaseResult, Estimate, Measured, Series, Summary, Verdict};
use crate::workload::nsverify::Check;

use crate::probe::ProbeError;
use crate::units::Unit;

/// What one worker reported.
#[derive(Debug, Default)]
struct Report {
    samples: Vec<u64>,
    /// The clones without a namespace timed beside `samples` (`--paired`).
    baseline: Vec<u64>,
    /// CLOCK_MONOTONIC at the start and end of its loop.
    start_ns: u64,
    end_ns: u64,
    elapsed_ns: u64,
}

fn spawn(exe: &Path, args: &[String]) -> Result<Child, ProbeError> {
    Command::new(exe)
        // Its own process group: a Ctrl-C at the terminal is the harness's to handle.
        .process_group(0)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| ProbeError::Spawn {
            path: exe.to_path_buf(),
            source,
        })
}

/// Starts `workers` timing workers, releases them together once all are
/// ready, and collects their reports. `Ok(Err(msg))`: a worker failed (a verdict).
#[allow(clippy::too_many_arguments)]
fn run_workers(
    exe: &Path,
    userns: bool,
    op: &str,
    workers: u32,
    iterations: u64,
    warmup: u64,
    duration: Option<Duration>,
    paired: bool,
) -> Result<Result<Vec<Report>, String>, ProbeError> {
    let mut args = vec![
        "worker".to_string(),
        "ns-bench".into(),
        "--op".into(),
        op.into(),
        "--warmup".into(),
        warmup.to_string(),
    ];
    if paired {
        args.push("--paired".into());
    }
    if userns {
        args.push("--userns".into());
    }
    match duration {
        Some(d) => args.extend(["--duration-ms".to_string(), d.as_millis().to_string()]),
        None => args.extend(["--iterations".to_string(), iterations.to_string()]),
    }
    let mut children = Vec::new();
    for _ in 0..workers {
        children.push(spawn(exe, &args)?);
    }
    // Dropping a Child does not kill it: do it here on every path out.
    let result = collect(&mut children);
    for c in &mut children {
        if let Ok(None) = c.try_wait() {
            let _ = c.kill();
        }
        let _ = c.wait();
    }
    Ok(result)
}

fn collect(children: &mut [Child]) -> Result<Vec<Report>, String> {
    let mut readers = Vec::new();
    for c in children.iter_mut() {
        let out = c.stdout.take().ok_or("worker without stdout")?;
        let mut r = BufReader::new(out);
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| e.to_string())?;
        match line.trim() {
            "ready" => readers.push(r),
            l => return Err(l.strip_prefix("error ").unwrap_or(l).to_string()),
        }
    }
    // Every worker is set up: start them together.
    for c in children.iter_mut() {
        if let Some(mut stdin) = c.stdin.take() {
            stdin
                .write_all(b"g")
                .map_err(|e| format!("start worker: {e}"))?;
        }
    }
    let mut reports = Vec::new();
    for r in readers {
        let mut rep = Report::default();
        let mut done = false;
        for line in r.lines() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(v) = line.strip_prefix("s ") {
                rep.samples
                    .push(v.parse().map_err(|_| format!("bad sample {v:?}"))?);
            } else if let Some(v) = line.strip_prefix("b ") {
                rep.baseline.push(
                    v.parse()
                        .map_err(|_| format!("bad baseline sample {v:?}"))?,
                );
            } else if let Some(v) = line.strip_prefix("start ") {
                rep.start_ns = v.parse().map_err(|_| format!("bad start {v:?}"))?;
            } else if let Some(v) = line.strip_prefix("end ") {
                rep.end_ns = v.parse().map_err(|_| format!("bad end {v:?}"))?;
            } else if let Some(v) = line.strip_prefix("elapsed ") {
                rep.elapsed_ns = v.parse().map_err(|_| format!("bad elapsed {v:?}"))?;
            } else if let Some(e) = line.strip_prefix("error ") {
                return Err(e.to_string());
            } else if line == "done" {
                done = true;
            }
        }
        if !done {
            return Err("a worker ended without finishing".into());
        }
        reports.push(rep);
    }
    Ok(reports)
}

/// How long the namespace count must stay unchanged to count as settled.
const SETTLED: Duration = Duration::from_millis(300);

/// Times `op` (`noop` or `<kind>-<method>`) `iterations` times in one fresh
/// worker after `warmup` discarded runs; returns the samples in ns. For
/// benchmarks that drive the same workers as the probe.
pub fn sample(exe: &Path, op: &str, iterations: u64, warmup: u64) -> Result<Vec<u64>, String> {
    match run_workers(exe, false, op, 1, iterations, warmup, None, false) {
        Ok(Ok(mut r)) => Ok(r.pop().map(|r| r.samples).unwrap_or_default()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(e.to_string()),
    }
}

/// Waits for network namespace teardown: until no more are alive than
/// `baseline`, or the count has stopped falling for [`SETTLED`] (SLUB keeps
/// freed objects cached per CPU, so the slab count may never reach the
/// baseline), up to `timeout`. Returns the time until the last change and the
/// count left then, or why there is none (timed out; slabinfo unreadable — an
/// unreadable count is never taken as "drained").
fn drain(baseline: u64, timeout: Duration) -> Result<Result<(Duration, u64), String>, ProbeError> {
    const UNREADABLE: &str = "the net_namespace count in /proc/slabinfo became unreadable";
    let start = Instant::now();
    let Some(mut last) = ns::net_namespaces_alive() else {
        return Ok(Err(UNREADABLE.into()));
    };
    let mut last_change = start.elapsed();
    loop {
        if last <= baseline {
            return Ok(Ok((last_change, 0)));
        }
        if start.elapsed() - last_change >= SETTLED {
            return Ok(Ok((last_change, last - baseline)));
        }
        if start.elapsed() >= timeout {
            return Ok(Err(format!(
                "not drained within {} ms ({} left)",
                timeout.as_millis(),
                last - baseline
            )));
        }
        interrupt::sleep(Duration::from_millis(5))?;
        let Some(now) = ns::net_namespaces_alive() else {
            return Ok(Err(UNREADABLE.into()));
        };
        if now != last {
            last = now;
            last_change = start.elapsed();
        }
    }
}

/// From the first worker's start to the last one's end, in ns.
fn span_ns(reports: &[Report]) -> u64 {
    let start = reports.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = reports.iter().map(|r| r.end_ns).max().unwrap_or(0);
    end.saturating_sub(start)
}

/// Operations per second of one worker.
fn rate(samples: usize, elapsed_ns: u64) -> u64 {
    if elapsed_ns == 0 {
        return 0;
    }
    (samples as f64 * 1e9 / elapsed_ns as f64).round() as u64
}

/// What `ns_cost` says of how it was computed.
pub const COST_METHOD: &str = "median(clone with the namespace) - median(clone without), \
     interleaved in the same workers; percentile bootstrap 95% CI";

/// The namespace's own cost of a clone: the signed difference of the medians
/// of the clones with and without it, timed alternately by the same workers,
/// with a bootstrap interval. Not floored: a negative or unresolved cost is
/// what was measured.
pub fn cost_over(with: &[u64], without: &[u64]) -> Option<Estimate> {
    let d = crate::bootstrap::median_difference(with, without)?;
    Some(Estimate {
        metric: "ns_cost".into(),
        unit: Unit::Ns,
        value: d.value,
        ci_lo: d.lo,
        ci_hi: d.hi,
        n: with.len().min(without.len()) as u64,
        method: COST_METHOD.into(),
    })
}

/// `ns_cost` in words: "+41.2 µs (95% CI +38.0 … +44.9 µs)", or "not resolved"
/// when the interval spans 0.
pub fn cost_words(e: &Estimate) -> String {
    let h = |v: f64| crate::units::signed(v, &e.unit);
    let ci = format!("95% CI {} … {}", h(e.ci_lo), h(e.ci_hi));
    if e.resolved() {
        format!("{} ({ci})", h(e.value))
    } else {
        format!("not resolved: {} ({ci} spans 0)", h(e.value))
    }
}

/// Why namespaces cannot be made through a user namespace of the harness's
/// own, asked once a run (a forked try; the answer does not change mid-run).
fn userns_blocked() -> Option<String> {
    static BLOCKED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BLOCKED.get_or_init(ns::user_namespaces_blocked).clone()
}

/// A case run without root goes through a user namespace of its workers' own:
/// said in its config (a figure measured so is not one measured as root), and
/// skipped with the one precise reason where user namespaces are blocked.
fn through_userns(result: &mut Measured, userns: bool) -> Result<(), String> {
    if !userns {
        return Ok(());
    }
    if let Some(obj) = result.config.as_object_mut() {
        obj.insert("user_namespace".into(), serde_json::Value::Bool(true));
    }
    userns_blocked().map_or(Ok(()), Err)
}

/// Runs one latency case; `userns`: its workers first enter a user namespace
/// of their own (a run without root).
pub fn run_case(case: &NsCase, exe: &Path, userns: bool) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if let Err(why) = through_userns(&mut result, userns) {
        result.judge(Verdict::skip(why));
        return Ok(result.finish());
    }
    let op = match (case.kind, case.method) {
        (Some(k), Some(m)) => {
            if let Some(why) = ns::unsupported(k, m) {
                result.judge(Verdict::skip(why));
                return Ok(result.finish());
            }
            if let Some(name) = k.proc_name() {
                if !Path::new(&format!("/proc/self/ns/{name}")).exists() {
                    result.judge(Verdict::skip(format!(
                        "this kernel has no {name} namespaces (/proc/self/ns/{name} is missing)"
                    )));
                    return Ok(result.finish());
                }
            }
            format!("{k}-{m}")
        }
        _ => "noop".to_string(),
    };
    let has_net = case.kind.is_some_and(NsKind::has_net);
    let before = if has_net {
        ns::net_namespaces_alive()
    } else {
        None
    };
    // A clone with a namespace is timed beside one without, so its cost is a
    // difference under the same conditions (not over a baseline case measured
    // first, on a colder or quieter machine).
    let paired = case.method == Some(Method::Clone) && case.kind.is_some_and(|k| k != NsKind::None);
    let reports = match run_workers(
        exe,
        userns,
        &op,
        case.workers,
        case.iterations,
        case.warmup,
        None,
        paired,
    )? {
        Ok(r) => r,
        Err(e) => {
            result.judge(Verdict::fail(format!("{op} failed: {e}")));
            return Ok(result.finish());
        }
    };
    let latency: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.samples.iter().copied())
        .collect();
    let n = latency.len();
    let baseline: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.baseline.iter().copied())
        .collect();
    if paired {
        result.estimates.extend(cost_over(&latency, &baseline));
    }
    result
        .series
        .push(Series::new("latency", Unit::Ns, latency));
    if paired {
        result
            .series
            .push(Series::new("baseline_latency", Unit::Ns, baseline));
    }
    if case.workers > 1 {
        let per_worker = reports
            .iter()
            .map(|r| rate(r.samples.len(), r.elapsed_ns))
            .collect();
        result
            .series
            .push(Series::new("throughput", Unit::OpsPerS, per_worker));
        // All workers together: every operation over the span from the first
        // worker's start to the last one's end (they are released together but
        // do not start in the same nanosecond).
        result.series.push(Series::new(
            "aggregate_throughput",
            Unit::OpsPerS,
            vec![rate(n, span_ns(&reports))],
        ));
    }
    let mut notes = Vec::new();
    if let Some(base) = before {
        let peak = ns::net_namespaces_alive().unwrap_or(base);
        result.series.push(Series::new(
            "backlog",
            Unit::Count,
            vec![peak.saturating_sub(base)],
        ));
        match drain(base, case.drain_timeout)? {
            Ok((d, residual)) => {
                result
                    .series
                    .push(Series::new("drain", Unit::Ns, vec![d.as_nanos() as u64]));
                result
                    .series
                    .push(Series::new("drain_residual", Unit::Count, vec![residual]));
            }
            Err(e) => notes.push(format!("teardown backlog: {e}")),
        }
        if let Some(len) = case.rate {
            match run_workers(exe, userns, &op, 1, 0, 0, Some(len), false)? {
                Ok(r) => {
                    let r = &r[0];
                    let after = ns::net_namespaces_alive().unwrap_or(base);
                    result.series.push(Series::new(
                        "sustained_rate",
                        Unit::OpsPerS,
                        vec![rate(r.samples.len(), r.elapsed_ns)],
                    ));
                    result.series.push(Series::new(
                        "sustained_backlog",
                        Unit::Count,
                        vec![after.saturating_sub(base)],
                    ));
                    match drain(base, case.drain_timeout)? {
                        Ok((d, _)) => result.series.push(Series::new(
                            "sustained_drain",
                            Unit::Ns,
                            vec![d.as_nanos() as u64],
                        )),
                        Err(e) => notes.push(format!("sustained-loop backlog: {e}")),
                    }
                }
                Err(e) => notes.push(format!("sustained loop failed: {e}")),
            }
        }
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    let p50 = result.summaries.first().map_or(0, |s| s.p50);
    let mut reason = format!(
        "{}{n} samples after {} warm-up; p50 {}",
        if userns {
            "through a user namespace of its own (not root): "
        } else {
            ""
        },
        case.warmup * case.workers as u64,
        crate::units::human_u64(p50, &Unit::Ns)
    );
    if let Some(e) = result.estimates.iter().find(|e| e.metric == "ns_cost") {
        reason.push_str(&format!("; the namespace's own cost {}", cost_words(e)));
    }
    for note in &notes {
        reason.push_str("; ");
        reason.push_str(note);
    }
    result.judge(if notes.iter().any(|n| n.contains("failed")) {
        Verdict::fail(reason)
    } else {
        Verdict::pass(reason)
    });
    Ok(result.finish())
}

/// Runs the isolation check of `kind` in a fresh worker (`userns`: as [`run_case`]).
pub fn run_verify(kind: NsKind, exe: &Path, userns: bool) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(
        PROBE,
        &format!("{kind}-isolation"),
        serde_json::json!({ "kind": kind }),
    );
    if let Err(why) = through_userns(&mut result, userns) {
        result.judge(Verdict::skip(why));
        return Ok(result.finish());
    }
    if let Some(name) = kind.proc_name() {
        if !Path::new(&format!("/proc/self/ns/{name}")).exists() {
            result.judge(Verdict::skip(format!(
                "this kernel has no {name} namespaces"
            )));
            return Ok(result.finish());
        }
    }
    let out = Command::new(exe)
        .process_group(0)
        .args(["worker", "ns-verify", "--kind", &kind.to_string()])
        .args(userns.then_some("--userns"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| ProbeError::Spawn {
            path: exe.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    result.judge(match serde_json::from_str::<Check>(text.trim()) {
        Ok(c) if c.pass => Verdict::pass(c.observed),
        Ok(c) => Verdict::fail(c.observed),
        Err(_) => Verdict::fail(format!(
            "the check did not report (exit {}): {}",
            out.status,
            text.trim()
        )),
    });
    Ok(result.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_cost_is_a_signed_median_difference() {
        let with: Vec<u64> = (0..200).map(|i| 1000 + i % 50).collect();
        let without: Vec<u64> = (0..200).map(|i| 200 + i % 50).collect();
        let c = cost_over(&with, &without).unwrap();
        assert_eq!((c.metric.as_str(), c.value, c.n), ("ns_cost", 800.0, 200));
        assert!(
            c.resolved() && c.ci_lo <= 800.0 && c.ci_hi >= 800.0,
            "{c:?}"
        );
        assert!(
            cost_words(&c).starts_with("+800 ns (95% CI"),
            "{}",
            cost_words(&c)
        );
        // Cheaper with the namespace: kept negative, not floored at 0.
        let neg = cost_over(&without, &with).unwrap();
        assert_eq!(neg.value, -800.0);
        // The same distribution: the interval spans 0.
        let same = cost_over(&with, &with).unwrap();
        assert!(!same.resolved());
        assert!(
            cost_words(&same).starts_with("not resolved"),
            "{}",
            cost_words(&same)
        );
        assert!(cost_over(&[], &with).is_none());
    }

    #[test]
    fn aggregate_span_is_first_start_to_last_end() {
        let r = |start_ns, end_ns| Report {
            start_ns,
            end_ns,
            elapsed_ns: end_ns - start_ns,
            ..Report::default()
        };
        assert_eq!(span_ns(&[r(100, 1100), r(150, 1300)]), 1200);
        assert_eq!(span_ns(&[]), 0);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(1000, 1_000_000_000), 1000);
        assert_eq!(rate(3, 0), 0);
    }
}
