//! Measuring a `memory` case: the worker touches memory in its cgroup and
//! reports its progress; how it ended (exit, OOM kill, the harness's kill), the
//! OOM counter, the peak and the allocation over time decide the verdict.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{MemoryCase, MemoryKind, PROBE};
use crate::cgroup::{Controller, Layout, Scope, Version};
use crate::ns::now_ns;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::spawn_in;

use crate::probe::ProbeError;
use crate::units::Unit;

/// How far the memory.high case goes over memory.high.
const HIGH_OVERSHOOT_BYTES: u64 = 1 << 20;

/// The least slowdown that shows memory.high at work: past it with no swap, the
/// kernel makes the worker sleep on every return to user space (2.6–2.9× seen in
/// a 6.12 guest for 1 MiB over).
const MIN_HIGH_SLOWDOWN: f64 = 1.5;

/// Slower than this per MiB, the run without memory.high was starved of CPU
/// by the host (touching memory takes ~1–5 ms a MiB here and in the TCG
/// guest; beside a heavy competing cgroup the guest took 75 ms a MiB), and a
/// slowdown against it measures the neighbours, not memory.high.
const STARVED_NS_PER_MIB: u64 = 25_000_000;

/// Why the run without memory.high cannot serve as the reference, if so.
fn starved(baseline_ns: u64, touched_bytes: u64) -> Option<String> {
    let mib = (touched_bytes >> 20).max(1);
    (baseline_ns / mib > STARVED_NS_PER_MIB).then(|| {
        format!(
            "the run without memory.high took {} ms for {mib} MiB ({} ms a MiB, more than {}): the host starved it of CPU",
            baseline_ns / 1_000_000,
            baseline_ns / mib / 1_000_000,
            STARVED_NS_PER_MIB / 1_000_000
        )
    })
}

/// What the memory worker reported before it finished or died.
#[derive(Debug, Default)]
struct MemReport {
    touched: u64,
    last_touch_ns: u64,
    done: bool,
    /// (bytes touched, ns since the worker was started) after every MiB.
    trace: Vec<(u64, u64)>,
}

/// Runs one memory case.
pub fn run_memory(
    scope: &mut Scope,
    layout: &Layout,
    case: &MemoryCase,
    exe: &Path,
    host_swap_bytes: u64,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    let version = layout.placement(Controller::Memory).version;
    if version.is_none() {
        result.judge(Verdict::skip(
            "the memory controller is not available on this host",
        ));
        return Ok(result.finish());
    }
    if case.kind == MemoryKind::High && version == Some(Version::V1) {
        result.judge(Verdict::skip(
            "memory.high exists only on cgroup v2; this host's memory controller is v1",
        ));
        return Ok(result.finish());
    }
    let l = case.limit_bytes;
    let (max, high, bytes) = match case.kind {
        MemoryKind::Below | MemoryKind::Killed => (l, None, l / 2),
        MemoryKind::Above => (l, None, 2 * l),
        // A little over memory.high: with no swap to reclaim into, every MiB over it
        // is throttled hard (the kernel sleeps up to 2 s per return to user space).
        MemoryKind::High => (2 * l, Some(l / 2), l / 2 + HIGH_OVERSHOOT_BYTES),
    };
    // Over a limit, a worker that can swap is reclaimed, not killed or slowed.
    let swap = Swap {
        host_bytes: host_swap_bytes,
        matters: matches!(case.kind, MemoryKind::Above | MemoryKind::High),
    };
    // memory.high: the same allocation without it first, to say how much it slowed.
    let baseline_ns = if high.is_some() {
        let cg = scope.create(&format!("mem-{}-base", case.id))?;
        let r = touch(&cg, exe, max, bytes, None, false, swap);
        scope.remove(&cg)?;
        r?.map(|(_, _, t)| t).ok()
    } else {
        None
    };
    let cg = scope.create(&format!("mem-{}", case.id))?;
    let run = touch(
        &cg,
        exe,
        max,
        bytes,
        high,
        case.kind == MemoryKind::Killed,
        swap,
    );
    scope.remove(&cg)?;
    let (mut rep, status, elapsed_ns) = match run? {
        Ok(r) => r,
        Err(v) => {
            result.judge(v);
            return Ok(result.finish());
        }
    };
    let Ending {
        signal,
        oom_kills,
        peak,
        current,
        sampled,
        death_ns,
        high_events,
    } = status;
    result.series = vec![
        Series::new("limit_bytes", Unit::Bytes, vec![max]),
        Series::new("touched_bytes", Unit::Bytes, vec![rep.touched]),
        Series::new(
            "oom_killed",
            Unit::Count,
            vec![u64::from(signal == Some(libc::SIGKILL) && oom_kills > 0)],
        ),
        Series::new("oom_kill_events", Unit::Count, vec![oom_kills]),
    ];
    if let Some(h) = high {
        result
            .series
            .push(Series::new("high_bytes", Unit::Bytes, vec![h]));
    }
    if let Some(p) = peak {
        result
            .series
            .push(Series::new("peak_bytes", Unit::Bytes, vec![p]));
    }
    result
        .series
        .push(Series::new("current_bytes", Unit::Bytes, vec![current]));
    // The allocation over time, for the chart (a trace: raw samples, no summary).
    let trace = std::mem::take(&mut rep.trace);
    let peak_ok = peak.is_none_or(|p| p <= max + case.slack_bytes);
    let peak_text = peak.map_or("peak n/a".to_string(), |p| format!("peak {} MiB", p >> 20));
    let mib = |b: u64| b >> 20;
    if let Some(n) = high_events.filter(|_| high.is_some()) {
        result
            .series
            .push(Series::new("high_events", Unit::Count, vec![n]));
    }
    let slowdown = baseline_ns.map(|base| elapsed_ns as f64 / base.max(1) as f64);
    if let Some(slow) = slowdown {
        result.series.push(Series::new(
            "slowdown",
            Unit::X100,
            vec![(slow * 100.0).round() as u64],
        ));
    }
    let mut judge_kind = || {
        match case.kind {
        MemoryKind::Below | MemoryKind::High if signal.is_none() && rep.done && oom_kills == 0 && peak_ok => {
            let mut reason = format!("touched {} MiB under memory.max {} MiB and survived; {peak_text}, {} MiB charged at the end", mib(rep.touched), mib(max), mib(current));
            if let (Some(h), Some(base), Some(slow)) = (high, baseline_ns, slowdown) {
                reason.push_str(&format!("; memory.high {} MiB slowed it {slow:.1}× ({} ms vs {} ms unthrottled), no OOM kill", mib(h), elapsed_ns / 1_000_000, base / 1_000_000));
            }
            Verdict::pass(reason)
        }
        MemoryKind::Above if signal == Some(libc::SIGKILL) && oom_kills > 0 && peak_ok => {
            let ttk = death_ns.saturating_sub(rep.last_touch_ns);
            result.series.push(Series::new("time_to_kill", Unit::Ns, vec![ttk]));
            Verdict::pass(format!(
                "OOM-killed (SIGKILL, oom_kill +{oom_kills}) after touching {} MiB of {} MiB asked, memory.max {} MiB; {peak_text}; killed {} after its last progress report",
                mib(rep.touched),
                mib(bytes),
                mib(max),
                crate::units::human_u64(ttk, &Unit::Ns)
            ))
        }
        MemoryKind::Killed if signal == Some(libc::SIGKILL) && oom_kills == 0 => {
            Verdict::pass(format!("the harness's SIGKILL after {} MiB was not counted as an OOM kill (oom_kill +0)", mib(rep.touched)))
        }
        _ => Verdict::fail(format!(
            "{:?} case: touched {} MiB of {} MiB, memory.max {} MiB, ended by {}, oom_kill +{oom_kills}, {peak_text}{}",
            case.kind,
            mib(rep.touched),
            mib(bytes),
            mib(max),
            signal.map_or("exit".to_string(), |s| format!("signal {s}")),
            if peak_ok { String::new() } else { format!(" (over the limit by more than the {} MiB slack)", mib(case.slack_bytes)) }
        )),
    }
    };
    // Facts the worker's own count and clock establish, judged before the
    // kernel's own story: the cgroup must have charged what the worker touched
    // (or it was not in it), and the kill must not come after the limit.
    // Without a peak file (v2 before 5.19) an OOM-killed worker's memory is
    // uncharged before it can be read: the charge sampled while it ran, against
    // what it had touched by then, is the witness.
    let (charged, against) = match (peak, sampled) {
        (Some(p), _) => (p.max(current), rep.touched),
        (None, Some((c, t))) if c >= current => (c, t),
        (None, _) => (current, rep.touched),
    };
    let verdict = if case.kind == MemoryKind::Above && rep.touched > max + case.slack_bytes {
        Verdict::fail(format!(
            "the worker touched {} MiB, more than memory.max {} MiB + {} MiB slack, and {}; oom_kill +{oom_kills}, {peak_text}",
            mib(rep.touched),
            mib(max),
            mib(case.slack_bytes),
            if signal == Some(libc::SIGKILL) { "was killed only then" } else { "survived" }
        ))
    } else if against > 4 << 20 && (charged + (1 << 20)) as f64 <= 0.9 * against as f64 {
        Verdict::fail(format!(
            "the cgroup was charged {} MiB ({}) while the worker touched {} MiB: the memory was not charged to it",
            mib(charged),
            if peak.is_some() { peak_text.clone() } else { "no peak file: memory.current read while the worker ran".into() },
            mib(against)
        ))
    } else if let (MemoryKind::High, Some(h)) = (case.kind, high) {
        match (high_events, slowdown) {
            (Some(0), _) | (None, _) => Verdict::fail(format!(
                "memory.high {} MiB: the worker touched {} MiB but memory.events high did not move{}",
                mib(h),
                mib(rep.touched),
                if high_events.is_none() { " (no high counter)" } else { "" }
            )),
            (_, Some(s)) if s < MIN_HIGH_SLOWDOWN => {
                let text = format!(
                    "memory.high {} MiB did not slow the worker: {s:.2}× ({} ms vs {} ms without it) over {} MiB touched",
                    mib(h),
                    elapsed_ns / 1_000_000,
                    baseline_ns.unwrap_or(0) / 1_000_000,
                    mib(rep.touched)
                );
                match starved(baseline_ns.unwrap_or(0), rep.touched) {
                    Some(why) => Verdict::inconclusive(format!("{why}; {text}")),
                    None => Verdict::fail(text),
                }
            }
            _ => judge_kind(),
        }
    } else {
        judge_kind()
    };
    result.judge(verdict);
    result.series.push(Series::new(
        "trace_touched",
        Unit::Bytes,
        trace.iter().map(|t| t.0).collect(),
    ));
    result.series.push(Series::new(
        "trace_time",
        Unit::Ns,
        trace.iter().map(|t| t.1).collect(),
    ));
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}

/// How the worker ended, and what the cgroup counted.
struct Ending {
    /// The signal that ended it (None: it exited).
    signal: Option<i32>,
    oom_kills: u64,
    /// memory.peak / max_usage_in_bytes (None on a v2 kernel before 5.19).
    peak: Option<u64>,
    /// Charged when the worker reported done (or died).
    current: u64,
    /// Where there is no peak file: the highest memory.current read while
    /// the worker ran, with what the worker had reported touching by then.
    sampled: Option<(u64, u64)>,
    death_ns: u64,
    /// memory.events `high` during the run (None on v1).
    high_events: Option<u64>,
}

/// The host's swap, and whether the case's verdict depends on the worker not
/// being able to use it.
#[derive(Debug, Clone, Copy)]
struct Swap {
    host_bytes: u64,
    matters: bool,
}

/// Why a verdict over a memory limit cannot be reached: the host has swap and
/// the kernel no swap accounting for the group (no memory.memsw.* on v1, no
/// memory.swap.max on v2: `swapaccount=0`, or built without it), so swap
/// cannot be turned off for the group and a worker over memory.max may be
/// swapped out instead of killed. None when swap is off for the group or the
/// host has none.
pub fn swap_escape(swap_off: bool, host_swap_bytes: u64) -> Option<String> {
    (!swap_off && host_swap_bytes > 0).then(|| {
        format!(
            "this host has {} MiB of swap and the kernel no swap accounting for the group \
             (no memory.memsw.limit_in_bytes / memory.swap.max): swap cannot be turned off for it, \
             so a worker over the limit may be swapped out instead of killed; \
             hint: boot with swapaccount=1, or swapoff -a",
            host_swap_bytes >> 20
        )
    })
}

/// Runs the memory worker in `cg` with memory.max = `max` (and memory.high),
/// swap off; `kill`: the harness SIGKILLs it once it is done. `Ok(Err(v))`:
/// the case ends with verdict `v` before the worker ran.
fn touch(
    cg: &crate::cgroup::Cgroup,
    exe: &Path,
    max: u64,
    bytes: u64,
    high: Option<u64>,
    kill: bool,
    swap: Swap,
) -> Result<Result<(MemReport, Ending, u64), Verdict>, ProbeError> {
    match cg.set_memory_max(max).and_then(|_| cg.disable_swap()) {
        Err(e) => return Ok(Err(Verdict::fail(format!("set memory.max: {e}")))),
        Ok(swap_off) => {
            if let Some(why) = swap_escape(swap_off, swap.host_bytes).filter(|_| swap.matters) {
                return Ok(Err(Verdict::skip(why)));
            }
        }
    }
    if let Some(h) = high {
        if let Err(e) = cg.set_memory_high(h) {
            return Ok(Err(Verdict::fail(format!("set memory.high: {e}"))));
        }
    }
    let before = cg.memory_stat()?;
    let mut cmd = Command::new(exe);
    // Its own process group: a Ctrl-C at the terminal interrupts the harness,
    // which stops the case; the worker must not die of it and be judged.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args(["worker", "mem", "--bytes", &bytes.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let start = Instant::now();
    let start_ns = now_ns();
    let mut child = spawn_in(&mut cmd, cg)?;
    let mut rep = MemReport::default();
    // No peak file: read memory.current after each report instead (the worker
    // reports every MiB; a read costs microseconds).
    let sample = before.peak_bytes.is_none();
    let mut sampled: Option<(u64, u64)> = None;
    let out = BufReader::new(child.stdout.take().expect("piped stdout"));
    for line in out.lines() {
        let Ok(line) = line else { break };
        let mut f = line.split_whitespace();
        let kind = f.next().unwrap_or("");
        let (Some(b), Some(t)) = (
            f.next().and_then(|v| v.parse().ok()),
            f.next().and_then(|v| v.parse().ok()),
        ) else {
            continue;
        };
        rep.touched = b;
        rep.last_touch_ns = t;
        if sample {
            if let Ok(s) = cg.memory_stat() {
                if sampled.is_none_or(|(c, _)| s.current_bytes > c) {
                    sampled = Some((s.current_bytes, b));
                }
            }
        }
        rep.trace.push((b, t.saturating_sub(start_ns)));
        if kind == "done" {
            rep.done = true;
            break;
        }
    }
    let elapsed = start.elapsed().as_nanos() as u64;
    let stat = cg.memory_stat()?;
    if kill {
        let _ = child.kill();
    }
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(b"x");
    }
    let status = child.wait().map_err(|source| ProbeError::Spawn {
        path: exe.to_path_buf(),
        source,
    })?;
    let death = now_ns();
    let after = cg.memory_stat()?;
    Ok(Ok((
        rep,
        Ending {
            signal: status.signal(),
            oom_kills: after.oom_kill.saturating_sub(before.oom_kill),
            peak: after.peak_bytes.or(stat.peak_bytes),
            current: stat.current_bytes,
            sampled,
            death_ns: death,
            high_events: after
                .high_events
                .zip(before.high_events)
                .map(|(a, b)| a.saturating_sub(b)),
        },
        elapsed,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starved_reference_cannot_judge_a_slowdown() {
        // Beside a heavy competing cgroup in the TCG guest: 2466 ms for 33 MiB.
        assert!(starved(2_466_000_000, 33 << 20).is_some());
        // A quiet host: 60 ms for 33 MiB.
        assert_eq!(starved(60_000_000, 33 << 20), None);
    }

    #[test]
    fn swap_the_group_cannot_turn_off_is_an_escape() {
        assert_eq!(swap_escape(true, 8 << 30), None);
        assert_eq!(swap_escape(false, 0), None);
        let why = swap_escape(false, 8 << 30).unwrap();
        assert!(
            why.contains("8192 MiB of swap") && why.contains("swapaccount=1"),
            "{why}"
        );
    }
}
