//! Measuring an `io` case and judging it. Each case makes its own loop device (memfd-backed, so no user disk is ever
//! throttled or written), runs the IO worker unthrottled for a reference rate,
//! sets the one limit of the case and runs it again. The rate is measured from
//! the end of the first window to the end of the run, so the start-up of the
//! throttle's time slice does not count; the verdict compares it with the limit.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{IoCase, IoKind, PROBE, WINDOW_MS};
use crate::cgroup::{Cgroup, Controller, DevId, IoLimit, Layout, Scope};
use crate::interrupt::{self, Interrupted};
use crate::loopdev::LoopDevice;
use crate::record::{CaseResult, Measured, Series, Status, Summary, Verdict};
use crate::stats::{run_longer, Band, Decision, MeanCi};
use crate::workload::io::{parse_output, IoOutcome, IoPoint};
use crate::workload::spawn_in;

use crate::probe::ProbeError;
use crate::units::{pct_x100 as x100, Unit};

/// How long a worker may overrun its run before it is killed as hung.
const GRACE: Duration = Duration::from_secs(10);
/// Below this multiple of the limit, an unthrottled device cannot show the throttle.
const HEADROOM: f64 = 2.0;
/// The least share of the bytes the worker did (its own count) that the cgroup's
/// IO statistics must have charged (100 % seen here and in the v2 guest).
const CHARGED_FRACTION: f64 = 0.9;
/// The first window may carry the throttle's first slice: at most this multiple of the limit.
const FIRST_WINDOW_FACTOR: f64 = 2.0;

/// One run of the worker: its progress points, or why it gave none.
type WorkerRun = Result<Vec<IoPoint>, String>;

/// Both runs of a case and the bytes the cgroup was charged for them.
struct Runs {
    baseline: Vec<IoPoint>,
    throttled: Vec<IoPoint>,
    charged: Charged,
}

/// The bytes the cgroup's IO statistics charged in each run, read before,
/// between and after them: a kernel that counts only while a limit is set
/// (blk-throttle's v1 files on 6.1) is told apart from one that counts nothing.
#[derive(Debug, Clone, Copy)]
struct Charged {
    baseline: u64,
    throttled: u64,
}

pub fn run(
    scope: &mut Scope,
    layout: &Layout,
    case: &IoCase,
    exe: &Path,
    config_hz: Option<u32>,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if layout.placement(Controller::Io).version.is_none() {
        result.judge(Verdict::skip(layout.absence(Controller::Io)));
        return Ok(result.finish());
    }
    let dev = match LoopDevice::create(case.device_bytes) {
        Ok(d) => d,
        Err(e) => {
            result.judge(Verdict::fail(format!("could not make a loop device: {e}")));
            return Ok(result.finish());
        }
    };
    let cg = match scope.create(&format!("io-{}", case.id)) {
        Ok(cg) => cg,
        Err(e) => {
            dev.detach(Duration::from_secs(2));
            return Err(e.into());
        }
    };
    let measured = measure(&cg, &dev, case, exe);
    let removed = scope.remove(&cg);
    let sys_dir = dev.sys_dir();
    let detached = dev.detach(Duration::from_secs(5));
    removed?;
    let m = match measured? {
        Ok(m) => m,
        Err(e) => {
            result.judge(Verdict::fail(e));
            return Ok(result.finish());
        }
    };
    if !detached {
        result.judge(Verdict::fail(format!(
            "{} is still attached after the case",
            sys_dir.display()
        )));
        return Ok(result.finish());
    }
    judge(
        &mut result,
        case,
        &m.baseline,
        &m.throttled,
        m.charged,
        config_hz,
    );
    Ok(result.finish())
}

/// Reference run, limit, throttled run; then the bytes io.stat charged for both.
fn measure(
    cg: &Cgroup,
    dev: &LoopDevice,
    case: &IoCase,
    exe: &Path,
) -> Result<Result<Runs, String>, ProbeError> {
    let before = charged_bytes(cg, dev.dev(), case.kind)?;
    let baseline = match run_worker(cg, dev, case, case.baseline, exe)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("unthrottled run: {e}"))),
    };
    let between = charged_bytes(cg, dev.dev(), case.kind)?;
    let mut limit = IoLimit {
        device: dev.dev(),
        read_bps: None,
        write_bps: None,
        read_iops: None,
        write_iops: None,
    };
    *match case.kind {
        IoKind::ReadBps => &mut limit.read_bps,
        IoKind::WriteBps => &mut limit.write_bps,
        IoKind::ReadIops => &mut limit.read_iops,
        IoKind::WriteIops => &mut limit.write_iops,
    } = Some(case.limit);
    if let Err(e) = cg.set_io_max(&limit) {
        return Ok(Err(format!("set the IO limit: {e}")));
    }
    let throttled = match run_worker(cg, dev, case, case.duration, exe)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("throttled run: {e}"))),
    };
    let after = charged_bytes(cg, dev.dev(), case.kind)?;
    Ok(Ok(Runs {
        baseline,
        throttled,
        charged: Charged {
            baseline: between.saturating_sub(before),
            throttled: after.saturating_sub(between),
        },
    }))
}

/// Bytes the cgroup's io.stat (v2) or blkio.throttle.io_service_bytes (v1)
/// counts for `dev` in the case's direction.
fn charged_bytes(cg: &Cgroup, dev: DevId, kind: IoKind) -> Result<u64, ProbeError> {
    let stat = cg.io_stat()?;
    Ok(stat
        .iter()
        .find(|s| s.major == dev.major && s.minor == dev.minor)
        .map_or(0, |s| {
            if kind.is_write() {
                s.write_bytes
            } else {
                s.read_bytes
            }
        }))
}

/// Runs the IO worker in `cg` for `length` and collects its progress.
fn run_worker(
    cg: &Cgroup,
    dev: &LoopDevice,
    case: &IoCase,
    length: Duration,
    exe: &Path,
) -> Result<WorkerRun, ProbeError> {
    let mut cmd = Command::new(exe);
    // Its own process group: a Ctrl-C at the terminal interrupts the harness,
    // which stops the case; the worker must not die of it and be judged.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args(["worker", "io", "--dev"])
        .arg(dev.path())
        .args([
            "--block-bytes",
            &case.block_bytes.to_string(),
            "--region-bytes",
            &dev.size_bytes().to_string(),
            "--ms",
            &length.as_millis().to_string(),
            "--window-ms",
            &WINDOW_MS.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if case.kind.is_write() {
        cmd.arg("--write");
    }
    let mut child = spawn_in(&mut cmd, cg)?;
    let read = read_until_eof(&mut child, length + GRACE);
    let status = child.wait().map_err(|source| ProbeError::Spawn {
        path: exe.to_path_buf(),
        source,
    })?;
    let lines = match read {
        Ok(Ok(lines)) => lines,
        Ok(Err(e)) => return Ok(Err(e)),
        Err(i) => return Err(i.into()),
    };
    Ok(match parse_output(&lines) {
        Some(IoOutcome::Done(points)) => Ok(points),
        Some(IoOutcome::Error(errno, points)) => Err(format!(
            "IO failed with {} after {} IOs",
            nix::errno::Errno::from_raw(errno),
            points.last().map_or(0, |p| p.ios)
        )),
        None => Err(format!(
            "the IO worker ended without reporting ({})",
            status
                .signal()
                .map_or_else(|| status.to_string(), |s| format!("signal {s}"))
        )),
    })
}

/// Starts the worker (one byte on stdin) once it is ready and reads its output
/// to EOF; kills it if it outlives `limit` or the run is interrupted.
fn read_until_eof(
    child: &mut Child,
    limit: Duration,
) -> Result<Result<Vec<String>, String>, Interrupted> {
    let mut out = child.stdout.take().expect("piped stdout");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let start = Instant::now();
    let mut text = Vec::new();
    let mut started = false;
    let mut buf = [0u8; 4096];
    loop {
        if interrupt::requested() || start.elapsed() > limit {
            let _ = child.kill();
            interrupt::check()?;
            return Ok(Err(format!(
                "the IO worker was still running after {} s (killed)",
                limit.as_secs()
            )));
        }
        let fd = std::os::fd::AsFd::as_fd(&out);
        let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        // Every early return kills the worker: the caller waits for it next.
        match nix::poll::poll(&mut fds, 100u16) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                return Ok(Err(format!("poll the IO worker: {e}")));
            }
        }
        let n = match out.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = child.kill();
                return Ok(Err(format!("read the IO worker: {e}")));
            }
        };
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        if !started && text.starts_with(b"ready\n") {
            started = true;
            if stdin.write_all(b"g").is_err() {
                let _ = child.kill();
                return Ok(Err("the IO worker died before it started".into()));
            }
        }
    }
    Ok(Ok(String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect()))
}

/// What a run achieved, in the case's unit.
#[derive(Debug, Clone, PartialEq)]
struct Rate {
    /// Over the measured span.
    overall: f64,
    /// Per whole window within the span.
    windows: Vec<f64>,
    span_ns: u64,
    ios: u64,
    bytes: u64,
}

/// One window as the worker reports it.
const WINDOW: Duration = Duration::from_millis(WINDOW_MS);

/// A window shorter than this (the last one, when the run is not a whole
/// number of windows) is left out of the per-window rates: a few IOs in a few
/// ms say little of a rate, and would widen the interval for nothing.
const SHORTEST_WINDOW_NS: u64 = WINDOW_MS * 1_000_000 / 2;

/// The rate from the end of the first window (or from the start when `skip_first`
/// is false) to the last point.
fn rate(points: &[IoPoint], bps: bool, skip_first: bool) -> Option<Rate> {
    let origin = IoPoint {
        t_ns: 0,
        ios: 0,
        bytes: 0,
    };
    let last = *points.last()?;
    let (first, rest) = match points {
        [first, rest @ ..] if skip_first && !rest.is_empty() => (*first, rest),
        _ => (origin, points),
    };
    let amount = |a: &IoPoint, b: &IoPoint| {
        if bps {
            b.bytes - a.bytes
        } else {
            b.ios - a.ios
        }
    };
    let per_s = |a: &IoPoint, b: &IoPoint| {
        amount(a, b) as f64 * 1e9 / b.t_ns.saturating_sub(a.t_ns).max(1) as f64
    };
    let windows = std::iter::once(&first)
        .chain(rest)
        .zip(rest)
        .filter(|(a, b)| b.t_ns.saturating_sub(a.t_ns) >= SHORTEST_WINDOW_NS)
        .map(|(a, b)| per_s(a, b))
        .collect();
    Some(Rate {
        overall: per_s(&first, &last),
        windows,
        span_ns: last.t_ns - first.t_ns,
        ios: last.ios - first.ios,
        bytes: last.bytes - first.bytes,
    })
}

impl Rate {
    /// The windows' mean rate with its 95 % interval; none with fewer than two
    /// windows (IOs so slow that the worker hardly reported), where no
    /// interval can be had.
    fn window_ci(&self) -> Option<MeanCi> {
        MeanCi::of(&self.windows).filter(|c| c.n >= 2)
    }

    /// What the verdict decides on: the windows' interval or, without one,
    /// the rate over the span as a point (a starved run must still fail).
    fn decided_on(&self) -> MeanCi {
        self.window_ci().unwrap_or(MeanCi {
            mean: self.overall,
            half_width: 0.0,
            n: self.windows.len(),
        })
    }
}

/// Both runs of a case as the verdict sees them, in the case's unit.
struct Evidence {
    /// The unthrottled run, from its start.
    base: Rate,
    /// The throttled run, after its first window.
    got: Rate,
    /// The throttled run's first window.
    first_per_s: Option<f64>,
    /// What the cgroup's IO statistics charged in each run.
    charged: Charged,
    /// What the worker did in each run, by its own count.
    done: Charged,
}

impl Evidence {
    /// The share of the worker's bytes the cgroup was charged, per run.
    fn charged_pct(&self) -> (f64, f64) {
        let pct = |c: u64, d: u64| c as f64 * 100.0 / d.max(1) as f64;
        (
            pct(self.charged.baseline, self.done.baseline),
            pct(self.charged.throttled, self.done.throttled),
        )
    }
}

/// Sets the series and the verdict from the two runs.
fn judge(
    result: &mut Measured,
    case: &IoCase,
    baseline: &[IoPoint],
    throttled: &[IoPoint],
    charged: Charged,
    config_hz: Option<u32>,
) {
    let bps = case.kind.is_bps();
    let (Some(base), Some(got)) = (rate(baseline, bps, false), rate(throttled, bps, true)) else {
        result.judge(Verdict::fail("the IO worker reported no progress"));
        return;
    };
    let ev = Evidence {
        base,
        got,
        first_per_s: rate(&throttled[..throttled.len().min(1)], bps, false).map(|r| r.overall),
        charged,
        done: Charged {
            baseline: baseline.last().map_or(0, |p| p.bytes),
            throttled: throttled.last().map_or(0, |p| p.bytes),
        },
    };
    result.series = series(case, &ev);
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(verdict(case, &ev, config_hz));
}

/// Bytes/s or IO/s, as the case limits.
fn rate_unit(case: &IoCase) -> Unit {
    if case.kind.is_bps() {
        Unit::BytesPerS
    } else {
        Unit::OpsPerS
    }
}

/// `v` relative to the case's limit, %.
fn of_limit_pct(case: &IoCase, v: f64) -> f64 {
    v / case.limit as f64 * 100.0
}

/// What an io case records.
fn series(case: &IoCase, ev: &Evidence) -> Vec<Series> {
    let unit = rate_unit(case);
    let one = |metric: &str, v: f64| Series::new(metric, unit.clone(), vec![v.round() as u64]);
    let error_pct = of_limit_pct(case, ev.got.overall) - 100.0;
    let mut out = vec![
        Series::new(
            "rate",
            unit.clone(),
            ev.got.windows.iter().map(|w| w.round() as u64).collect(),
        ),
        one("achieved", ev.got.overall),
        Series::new("limit", unit.clone(), vec![case.limit]),
        one("unthrottled", ev.base.overall),
        Series::new("error_pct", Unit::PctX100, vec![x100(error_pct.abs())]),
    ];
    if let Some(ci) = ev.got.window_ci() {
        out.push(Series::new(
            "rate_ci_pct",
            Unit::PctX100,
            vec![x100(of_limit_pct(case, ci.half_width))],
        ));
    }
    out.extend([
        Series::new("window", Unit::Ns, vec![ev.got.span_ns]),
        Series::new("ios", Unit::Count, vec![ev.got.ios]),
        Series::new("bytes", Unit::Bytes, vec![ev.got.bytes]),
        Series::new(
            "charged_bytes",
            Unit::Bytes,
            vec![ev.charged.baseline + ev.charged.throttled],
        ),
    ]);
    out.extend(ev.first_per_s.map(|f| one("first_window", f)));
    out
}

/// The verdict: the cgroup must have charged the IO, the first window must
/// stay under its loose bound, then the rate decides ([`rate_call`]).
fn verdict(case: &IoCase, ev: &Evidence, config_hz: Option<u32>) -> Verdict {
    let facts = facts(case, ev, config_hz);
    let limit = case.limit as f64;
    let least_pct = CHARGED_FRACTION * 100.0;
    match ev.charged_pct() {
        (b, t) if b < least_pct && t >= least_pct => {
            return Verdict::fail(format!(
                "the cgroup's IO statistics missed the IO it did without a limit (they counted only while one was set): {facts}"
            ));
        }
        (b, t) if b < least_pct || t < least_pct => {
            return Verdict::fail(format!(
                "the cgroup's IO statistics did not see the IO the worker did: {facts}"
            ));
        }
        _ => {}
    }
    // The first window (the throttle's first slice may let a burst through),
    // judged loosely: at most twice the limit.
    if let Some(f) = ev.first_per_s.filter(|&f| f > FIRST_WINDOW_FACTOR * limit) {
        return Verdict::fail(format!(
            "the first {WINDOW_MS} ms let {} through, more than {FIRST_WINDOW_FACTOR}× the limit: {facts}",
            crate::units::human(f, &rate_unit(case))
        ));
    }
    let (status, lead) = rate_call(
        &ev.got.decided_on(),
        limit,
        case.tolerance_pct,
        ev.base.overall,
    );
    Verdict {
        status,
        reason: format!("{lead}: {facts}"),
    }
}

/// Where the rate lies against limit × (1 ± tolerance): inside passes, wholly
/// above fails (more got through than the limit), wholly below fails only when
/// the device could do at least [`HEADROOM`]× the limit unthrottled (else the
/// device, not the throttle, may have held it), across an edge the measurement
/// cannot decide and says how long a run would.
fn rate_call(ci: &MeanCi, limit: f64, tolerance_pct: f64, unthrottled: f64) -> (Status, String) {
    match Band::around(limit, tolerance_pct).decide(ci) {
        Decision::Inside => (Status::Pass, "throttled to the limit".into()),
        Decision::Above => (
            Status::Fail,
            "the throttle let more through than the limit".into(),
        ),
        Decision::Below if unthrottled < HEADROOM * limit => (
            Status::Inconclusive,
            "below the limit, but the device is not much faster than the limit unthrottled".into(),
        ),
        Decision::Below => (Status::Fail, "held well below the limit".into()),
        // The first window is not counted, but a run spends it.
        Decision::Undecided { n_needed } => (
            Status::Inconclusive,
            format!(
                "the measurement cannot decide (its interval crosses the tolerance): {}",
                run_longer(n_needed, WINDOW, WINDOW)
            ),
        ),
    }
}

/// "+1.2%", and "+0.0%" for a value that rounds to nothing (never "-0.0%").
fn signed_pct(v: f64) -> String {
    format!("{:+.1}%", if v.abs() < 0.05 { 0.0 } else { v })
}

/// The numbers every io verdict states.
fn facts(case: &IoCase, ev: &Evidence, config_hz: Option<u32>) -> String {
    let fmt_rate = |v: f64| crate::units::human(v, &rate_unit(case));
    let error_pct = of_limit_pct(case, ev.got.overall) - 100.0;
    let dir = if case.kind.is_write() {
        "write"
    } else {
        "read"
    };
    let (base_pct, thr_pct) = ev.charged_pct();
    format!(
        "{} against {} {} ({}, tolerance ±{}%) over {:.2} s of {} KiB O_DIRECT {dir}s ({} IOs); {}; unthrottled {}; the cgroup was charged {base_pct:.0}% of the unthrottled run's bytes and {thr_pct:.0}% of the throttled run's; CONFIG_HZ={}",
        fmt_rate(ev.got.overall),
        case.kind.key(),
        fmt_rate(case.limit as f64),
        signed_pct(error_pct),
        case.tolerance_pct,
        ev.got.span_ns as f64 / 1e9,
        case.block_bytes / 1024,
        ev.got.ios,
        windows_text(case, &ev.got),
        fmt_rate(ev.base.overall),
        config_hz.map_or("unknown".to_string(), |h| h.to_string()),
    )
}

/// "per 250 ms window 4 MiB/s (+0.1%, 95% CI ±0.8% over 19 windows)", both
/// percentages of the limit, as the tolerance is.
fn windows_text(case: &IoCase, got: &Rate) -> String {
    match got.window_ci() {
        Some(ci) => format!(
            "per {WINDOW_MS} ms window {} ({}, 95% CI ±{:.1}% over {} windows)",
            crate::units::human(ci.mean, &rate_unit(case)),
            signed_pct(of_limit_pct(case, ci.mean) - 100.0),
            of_limit_pct(case, ci.half_width),
            ci.n
        ),
        None => format!(
            "{} whole {WINDOW_MS} ms window(s) after the first: no interval, the rate over the span decides",
            got.windows.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t_ms: u64, ios: u64, block: u64) -> IoPoint {
        IoPoint {
            t_ns: t_ms * 1_000_000,
            ios,
            bytes: ios * block,
        }
    }

    fn case(kind: IoKind, limit: u64) -> IoCase {
        IoCase {
            id: "x".into(),
            kind,
            limit,
            block_bytes: 4096,
            device_bytes: 1 << 20,
            duration: Duration::from_secs(5),
            baseline: Duration::from_secs(1),
            tolerance_pct: 10.0,
        }
    }

    #[test]
    fn the_first_window_is_left_out_of_the_rate() {
        // A burst of 100 IOs in the first window, then 50 IO/s.
        let pts = [p(250, 100, 4096), p(500, 112, 4096), p(1250, 150, 4096)];
        let r = rate(&pts, false, true).unwrap();
        assert!((r.overall - 50.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.windows, vec![48.0, 38.0 / 0.75]);
        assert_eq!(r.ios, 50);
        let all = rate(&pts, false, false).unwrap();
        assert!((all.overall - 120.0).abs() < 1e-9);
        // A last window of 10 ms (a run of 1260 ms) is in the rate, not in the windows.
        let tail = [
            p(250, 100, 4096),
            p(500, 112, 4096),
            p(750, 125, 4096),
            p(760, 127, 4096),
        ];
        let r = rate(&tail, false, true).unwrap();
        assert_eq!(r.windows, vec![48.0, 52.0]);
        assert_eq!(r.ios, 27);
    }

    #[test]
    fn signed_percentages_never_read_minus_zero() {
        assert_eq!(signed_pct(-0.01), "+0.0%");
        assert_eq!(signed_pct(-1.26), "-1.3%");
        assert_eq!(signed_pct(0.3), "+0.3%");
    }

    /// limit 200 IO/s ± 10 %: 180 … 220.
    fn call(mean: f64, half_width: f64, unthrottled: f64) -> (Status, String) {
        let ci = MeanCi {
            mean,
            half_width,
            n: 19,
        };
        rate_call(&ci, 200.0, 10.0, unthrottled)
    }

    #[test]
    fn a_rate_wholly_inside_the_band_passes() {
        assert_eq!(call(201.0, 2.0, 100_000.0).0, Status::Pass);
        // On the edge, wholly inside still.
        assert_eq!(call(218.0, 2.0, 100_000.0).0, Status::Pass);
    }

    #[test]
    fn a_rate_wholly_above_the_band_fails_whatever_the_device() {
        let (status, lead) = call(240.0, 3.0, 300.0);
        assert_eq!(status, Status::Fail);
        assert!(lead.contains("more through than the limit"), "{lead}");
    }

    #[test]
    fn a_rate_wholly_below_the_band_fails_only_on_a_fast_device() {
        assert_eq!(call(100.0, 3.0, 100_000.0).0, Status::Fail);
        // The device itself did 300 IO/s, under 2 × 200: it may have held the rate.
        let (status, lead) = call(100.0, 3.0, 300.0);
        assert_eq!(status, Status::Inconclusive);
        assert!(lead.contains("not much faster"), "{lead}");
    }

    #[test]
    fn a_rate_straddling_the_band_asks_for_a_longer_run() {
        // 215 ± 8 crosses 220; it decides at ±5: 19 × (8/5)² = 48.6 → 49
        // windows, and the first: 12.5 s.
        let (status, lead) = call(215.0, 8.0, 100_000.0);
        assert_eq!(status, Status::Inconclusive);
        assert!(lead.ends_with("run longer: 13 s"), "{lead}");
    }

    /// A throttled run: a first window of `first` IOs, then 19 windows of
    /// 250 ms with `per_window` IOs each, cycled.
    fn run(first: u64, per_window: &[u64]) -> Vec<IoPoint> {
        let mut ios = first;
        let mut pts = vec![p(250, ios, 4096)];
        for (k, n) in per_window.iter().cycle().take(19).enumerate() {
            ios += n;
            pts.push(p(250 * (k as u64 + 2), ios, 4096));
        }
        pts
    }

    /// The verdict of a 200 IO/s case; the cgroup charged every byte the worker did.
    fn judged(base: &[IoPoint], thr: &[IoPoint]) -> Verdict {
        let mut r = Measured::new(PROBE, "x", ());
        judge(
            &mut r,
            &case(IoKind::ReadIops, 200),
            base,
            thr,
            all_of(base, thr),
            Some(250),
        );
        r.verdict.unwrap()
    }

    /// Every byte the worker did in both runs, charged.
    fn all_of(base: &[IoPoint], thr: &[IoPoint]) -> Charged {
        Charged {
            baseline: base.last().map_or(0, |p| p.bytes),
            throttled: thr.last().map_or(0, |p| p.bytes),
        }
    }

    #[test]
    fn verdicts_judge_the_windows_mean_with_its_interval() {
        let base = [p(1000, 100_000, 4096)];
        // 200, 204, 196, 200 IO/s: 200.0 ± 1.4.
        let v = judged(&base, &run(50, &[50, 51, 49, 50]));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason
                .contains("per 250 ms window 200/s (+0.0%, 95% CI ±0.7% over 19 windows)"),
            "{}",
            v.reason
        );
        // 1.2 × the limit.
        let v = judged(&base, &run(60, &[60, 61, 59, 60]));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        // Half the limit on a fast device; on one that did 300 IO/s unthrottled.
        assert_eq!(judged(&base, &run(25, &[25, 26, 24])).status, Status::Fail);
        let slow = [p(1000, 300, 4096)];
        let v = judged(&slow, &run(25, &[25, 26, 24]));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(v.reason.contains("CONFIG_HZ=250"), "{}", v.reason);
        // 208, 232, 200, 224 IO/s: 216 ± 7, across 220.
        let v = judged(&base, &run(52, &[52, 58, 50, 56]));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(v.reason.contains("run longer: "), "{}", v.reason);
    }

    #[test]
    fn the_first_window_and_the_charged_bytes_are_judged_too() {
        let base = [p(1000, 100_000, 4096)];
        // A first window far over the limit (the throttle started late).
        let v = judged(&base, &run(400, &[50]));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("first 250 ms"), "{}", v.reason);
        // The cgroup charged half of what the worker did: it was not throttling it.
        let thr = run(50, &[50]);
        let all = all_of(&base, &thr);
        let charged = |baseline, throttled| {
            let mut r = Measured::new(PROBE, "x", ());
            let c = Charged {
                baseline,
                throttled,
            };
            judge(&mut r, &case(IoKind::ReadIops, 200), &base, &thr, c, None);
            r.verdict.unwrap()
        };
        let v = charged(all.baseline / 2, all.throttled / 2);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("did not see"), "{}", v.reason);
        assert!(
            v.reason.contains(
                "charged 50% of the unthrottled run's bytes and 50% of the throttled run's"
            ),
            "{}",
            v.reason
        );
        // Counted only under the limit (6.1's v1 blkio files): a fail that says so.
        let v = charged(all.baseline / 25, all.throttled);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("only while one was set"), "{}", v.reason);
        // Charged in the unthrottled run only: not throttled through the cgroup.
        let v = charged(all.baseline, 0);
        assert!(v.reason.contains("did not see"), "{}", v.reason);
        assert_eq!(charged(all.baseline, all.throttled).status, Status::Pass);
    }

    #[test]
    fn without_two_windows_the_rate_over_the_span_decides() {
        // One IO in 5 s after the first window: starved, on a fast device.
        let starved = [p(250, 0, 4096), p(5250, 1, 4096)];
        let v = judged(&[p(1000, 100_000, 4096)], &starved);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("no interval"), "{}", v.reason);
        // 205 IO/s over one long window: within the band as a point.
        let v = judged(
            &[p(1000, 100_000, 4096)],
            &[p(250, 50, 4096), p(5250, 1075, 4096)],
        );
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
    }

    #[test]
    fn the_record_carries_the_interval_and_the_first_window() {
        let base = [p(1000, 100_000, 4096)];
        let thr = run(50, &[50, 51, 49, 50]);
        let mut r = Measured::new(PROBE, "x", ());
        let all = all_of(&base, &thr);
        judge(&mut r, &case(IoKind::ReadIops, 200), &base, &thr, all, None);
        let summary = |m: &str| r.summaries.iter().find(|s| s.metric == m).map(|s| s.max);
        // ±1.437 IO/s of 200: 0.72 %.
        assert_eq!(summary("rate_ci_pct"), Some(72));
        assert_eq!(summary("first_window"), Some(200));
        assert_eq!(summary("achieved"), Some(200));
    }
}
