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

use crate::cgroup::{Cgroup, Controller, DevId, IoLimit, Layout, Scope};
use crate::interrupt::{self, Interrupted};
use crate::loopdev::LoopDevice;
use super::{IoCase, IoKind, PROBE, WINDOW_MS};
use crate::record::{CaseResult, Measured, Series, Status, Summary, Verdict};
use crate::workload::io::{parse_output, IoOutcome, IoPoint};
use crate::workload::spawn_in;

use crate::probe::ProbeError;
use crate::units::Unit;

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
    charged: u64,
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
        result.judge(Verdict::skip("the io (blkio) controller is not available on this host"));
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
        charged: after.saturating_sub(before),
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
    /// Per window within the span.
    windows: Vec<u64>,
    span_ns: u64,
    ios: u64,
    bytes: u64,
}

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
        .map(|(a, b)| per_s(a, b).round() as u64)
        .collect();
    Some(Rate {
        overall: per_s(&first, &last),
        windows,
        span_ns: last.t_ns - first.t_ns,
        ios: last.ios - first.ios,
        bytes: last.bytes - first.bytes,
    })
}

/// Sets the series and the verdict from the two runs.
fn judge(
    result: &mut Measured,
    case: &IoCase,
    baseline: &[IoPoint],
    throttled: &[IoPoint],
    charged: u64,
    config_hz: Option<u32>,
) {
    let bps = case.kind.is_bps();
    let unit = if bps { Unit::BytesPerS } else { Unit::OpsPerS };
    let fmt_rate = |v: f64| crate::units::human(v, &unit);
    let (Some(base), Some(got)) = (rate(baseline, bps, false), rate(throttled, bps, true)) else {
        result.judge(Verdict::fail("the IO worker reported no progress"));
        return;
    };
    let limit = case.limit as f64;
    let error_pct = (got.overall - limit) / limit * 100.0;
    let done_bytes =
        baseline.last().map_or(0, |p| p.bytes) + throttled.last().map_or(0, |p| p.bytes);
    let unthrottled = Series::new("unthrottled", unit.clone(), vec![base.overall.round() as u64]);
    result.series = vec![
        Series::new("rate", unit.clone(), got.windows.clone()),
        Series::new("achieved", unit.clone(), vec![got.overall.round() as u64]),
        Series::new("limit", unit.clone(), vec![case.limit]),
        unthrottled,
        Series::new(
            "error_pct",
            Unit::PctX100,
            vec![(error_pct.abs() * 100.0).round() as u64],
        ),
        Series::new("window", Unit::Ns, vec![got.span_ns]),
        Series::new("ios", Unit::Count, vec![got.ios]),
        Series::new("bytes", Unit::Bytes, vec![got.bytes]),
        Series::new("charged_bytes", Unit::Bytes, vec![charged]),
    ];
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    let dir = if case.kind.is_write() {
        "write"
    } else {
        "read"
    };
    let what = case.kind.key();
    let charged_pct = charged as f64 * 100.0 / done_bytes.max(1) as f64;
    let facts = format!(
        "{} against {what} {} ({error_pct:+.1}%, tolerance ±{}%) over {:.2} s of {} KiB O_DIRECT {dir}s ({} IOs); unthrottled {}; the cgroup was charged {charged_pct:.0}% of the bytes; CONFIG_HZ={}",
        fmt_rate(got.overall),
        fmt_rate(limit),
        case.tolerance_pct,
        got.span_ns as f64 / 1e9,
        case.block_bytes / 1024,
        got.ios,
        fmt_rate(base.overall),
        config_hz.map_or("unknown".to_string(), |h| h.to_string()),
    );
    // The first window (the throttle's first slice may let a burst through),
    // judged loosely: at most twice the limit.
    let first = rate(&throttled[..throttled.len().min(1)], bps, false).map(|r| r.overall);
    if let Some(f) = first {
        result
            .series
            .push(Series::new("first_window", unit.clone(), vec![f.round() as u64]));
    }
    let first_over = first.filter(|&f| f > FIRST_WINDOW_FACTOR * limit);
    let (status, lead) = if (charged as f64) < CHARGED_FRACTION * done_bytes as f64 {
        (
            Status::Fail,
            "the cgroup's IO statistics did not see the IO the worker did",
        )
    } else if let Some(f) = first_over {
        result.judge(Verdict::fail(format!(
            "the first {WINDOW_MS} ms let {} through, more than {FIRST_WINDOW_FACTOR}× the limit: {facts}",
            fmt_rate(f)
        )));
        return;
    } else if error_pct.abs() <= case.tolerance_pct {
        (Status::Pass, "throttled to the limit")
    } else if error_pct > 0.0 {
        (Status::Fail, "the throttle let more through than the limit")
    } else if base.overall < HEADROOM * limit {
        (
            Status::Inconclusive,
            "below the limit, but the device is not much faster than the limit unthrottled",
        )
    } else {
        (Status::Fail, "held well below the limit")
    };
    result.judge(Verdict {
        status,
        reason: format!("{lead}: {facts}"),
    });
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
        assert_eq!(r.windows, vec![48, 51]);
        assert_eq!(r.ios, 50);
        let all = rate(&pts, false, false).unwrap();
        assert!((all.overall - 120.0).abs() < 1e-9);
    }

    #[test]
    fn verdicts_tell_a_leak_a_slow_device_and_a_pass_apart() {
        let base = [p(1000, 100_000, 4096)];
        let at = |ios_per_s: u64| {
            [
                p(250, ios_per_s / 4, 4096),
                p(5250, ios_per_s / 4 + ios_per_s * 5, 4096),
            ]
        };
        // The cgroup charged every byte the worker did.
        let all = |base: &[IoPoint], thr: &[IoPoint]| {
            base.last().map_or(0, |p| p.bytes) + thr.last().map_or(0, |p| p.bytes)
        };
        let status = |base: &[IoPoint], thr: &[IoPoint]| {
            let mut r = Measured::new(PROBE, "x", ());
            judge(
                &mut r,
                &case(IoKind::ReadIops, 200),
                base,
                thr,
                all(base, thr),
                Some(250),
            );
            r.verdict.unwrap()
        };
        assert_eq!(status(&base, &at(205)).status, Status::Pass);
        // A first window far over the limit (the throttle started late).
        let burst = [p(250, 400, 4096), p(5250, 400 + 1000, 4096)];
        let v = status(&base, &burst);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("first 250 ms"), "{}", v.reason);
        assert_eq!(status(&base, &at(260)).status, Status::Fail);
        assert_eq!(status(&base, &at(100)).status, Status::Fail);
        // The device itself could do only 300 IO/s.
        let slow = [p(1000, 300, 4096)];
        let v = status(&slow, &at(100));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(v.reason.contains("CONFIG_HZ=250"), "{}", v.reason);
        // The cgroup charged half of what the worker did: it was not throttling it.
        let mut r = Measured::new(PROBE, "x", ());
        judge(
            &mut r,
            &case(IoKind::ReadIops, 200),
            &base,
            &at(200),
            all(&base, &at(200)) / 2,
            None,
        );
        let v = r.verdict.unwrap();
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("did not see"), "{}", v.reason);
    }
}
