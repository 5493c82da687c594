//! `ns_latency`: what each namespace costs to create and enter, per kind and
//! method, serially and from N parallel workers; how fast network namespaces
//! can be created and destroyed for a sustained period (their teardown is
//! asynchronous); and whether each kind isolates what it should.
//!
//! The timing happens in re-executed single-threaded workers
//! (`isobench worker ns-bench`); this module starts them, collects their
//! samples and judges.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::interrupt;
use crate::ns::{self, Method, NsKind};
use super::{NsCase, PROBE};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::nsverify::Check;

use crate::probe::ProbeError;
use crate::units::Unit;


/// What one worker reported.
#[derive(Debug, Default)]
struct Report {
    samples: Vec<u64>,
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
fn run_workers(
    exe: &Path,
    op: &str,
    workers: u32,
    iterations: u64,
    warmup: u64,
    duration: Option<Duration>,
) -> Result<Result<Vec<Report>, String>, ProbeError> {
    let mut args = vec![
        "worker".to_string(),
        "ns-bench".into(),
        "--op".into(),
        op.into(),
        "--warmup".into(),
        warmup.to_string(),
    ];
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
            } else if let Some(v) = line.strip_prefix("elapsed ") {
                rep.elapsed_ns = v.parse().unwrap_or(0);
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
    match run_workers(exe, op, 1, iterations, warmup, None) {
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

/// Operations per second of one worker.
fn rate(samples: usize, elapsed_ns: u64) -> u64 {
    if elapsed_ns == 0 {
        return 0;
    }
    (samples as f64 * 1e9 / elapsed_ns as f64).round() as u64
}

/// The namespace's own cost of a clone case: its quantiles minus the
/// `none-clone` baseline's, floored at 0 (a namespace never makes clone
/// cheaper; a negative difference is noise).
pub fn cost_over(case: &Summary, base: &Summary) -> Summary {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    Summary {
        metric: "ns_cost".into(),
        unit: Unit::Ns,
        n: case.n.min(base.n),
        mean: (case.mean - base.mean).max(0.0),
        min: d(case.min, base.min),
        p50: d(case.p50, base.p50),
        p90: d(case.p90, base.p90),
        p99: d(case.p99, base.p99),
        p999: d(case.p999, base.p999),
        max: d(case.max, base.max),
    }
}

/// Runs one latency case. `baseline` is the latency of `none-clone` at the same
/// concurrency, once measured.
pub fn run_case(
    case: &NsCase,
    exe: &Path,
    baseline: Option<&Summary>,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
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
    let reports = match run_workers(exe, &op, case.workers, case.iterations, case.warmup, None)? {
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
    result.series.push(Series::new("latency", Unit::Ns, latency));
    if case.workers > 1 {
        let per_worker = reports
            .iter()
            .map(|r| rate(r.samples.len(), r.elapsed_ns))
            .collect();
        result
            .series
            .push(Series::new("throughput", Unit::OpsPerS, per_worker));
        // All workers together: every operation over the longest worker's loop.
        let slowest = reports.iter().map(|r| r.elapsed_ns).max().unwrap_or(0);
        result.series.push(Series::new(
            "aggregate_throughput",
            Unit::OpsPerS,
            vec![rate(n, slowest)],
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
            match run_workers(exe, &op, 1, 0, 0, Some(len))? {
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
    if let (Some(base), Some(Method::Clone), Some(k)) = (baseline, case.method, case.kind) {
        if k != NsKind::None {
            if let Some(lat) = result.summaries.first().cloned() {
                result.summaries.insert(1, cost_over(&lat, base));
            }
        }
    }
    let p50 = result.summaries.first().map_or(0, |s| s.p50);
    let mut reason = format!(
        "{n} samples after {} warm-up; p50 {}",
        case.warmup * case.workers as u64,
        crate::units::human_u64(p50, &Unit::Ns)
    );
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

/// Runs the isolation check of `kind` in a fresh worker.
pub fn run_verify(kind: NsKind, exe: &Path) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(
        PROBE,
        &format!("{kind}-isolation"),
        serde_json::json!({ "kind": kind }),
    );
    if let Some(name) = kind.proc_name() {
        if !Path::new(&format!("/proc/self/ns/{name}")).exists() {
            result.judge(Verdict::skip(format!("this kernel has no {name} namespaces")));
            return Ok(result.finish());
        }
    }
    let out = Command::new(exe)
        .process_group(0)
        .args(["worker", "ns-verify", "--kind", &kind.to_string()])
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

    fn summary(p50: u64, p99: u64) -> Summary {
        Summary {
            metric: "latency".into(),
            unit: Unit::Ns,
            n: 10,
            mean: p50 as f64,
            min: p50 / 2,
            p50,
            p90: p99,
            p99,
            p999: p99,
            max: p99,
        }
    }

    #[test]
    fn namespace_cost_is_the_difference_over_the_baseline() {
        let c = cost_over(&summary(1000, 3000), &summary(200, 500));
        assert_eq!((c.metric.as_str(), c.p50, c.p99), ("ns_cost", 800, 2500));
        let noise = cost_over(&summary(100, 100), &summary(200, 500));
        assert_eq!(noise.p50, 0);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(1000, 1_000_000_000), 1000);
        assert_eq!(rate(3, 0), 0);
    }
}
