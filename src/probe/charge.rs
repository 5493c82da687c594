//! The CPU-charge witness shared by the probes that hold the kernel's CPU
//! accounting against the spinners' own clocks (`cpuacct`, `perf_event`,
//! `cpu_weight`): a kernel read bracketed by CLOCK_MONOTONIC times, the
//! spinners' own on-CPU time over the window such reads pin down (as bounds),
//! and the time taken from under the kernel that it charged anyway. Each
//! probe keeps its own reads and its own verdict; only these measures are
//! shared, so that all three judge the same window the same way.

use std::time::Duration;

use crate::host::CpuTimes;
use crate::ns::now_ns;
use crate::workload::cpuspin::ThreadReport;

/// How far a charge may be off whatever its size: about two scheduler ticks
/// at 250 Hz, the charge in flight at each end of the window. A 300 ms
/// cpu_weight run in the TCG guest charged both groups ~13 ms over their own
/// clocks: +17.8 % of the light group's 71 ms, +6.1 % of the heavy one's 229.
pub const CHARGE_SLACK: Duration = Duration::from_millis(10);

/// A duration in ms, for the numbers of a reason.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A read of the kernel's accounting (cpu.stat, cpuacct files, perf counters:
/// whatever `T` the probe reads) and the CLOCK_MONOTONIC times around it. The
/// read is a moment somewhere inside its syscalls, and on a busy host the
/// harness may wait tens of ms in one.
pub struct Bracketed<T> {
    pub start_ns: u64,
    pub read: T,
    pub end_ns: u64,
}

/// `read`, bracketed by the clock.
pub fn bracketed<T, E>(read: impl FnOnce() -> Result<T, E>) -> Result<Bracketed<T>, E> {
    let start_ns = now_ns();
    let read = read()?;
    Ok(Bracketed {
        start_ns,
        read,
        end_ns: now_ns(),
    })
}

/// The spinners' own on-CPU time within `[from, to]`.
pub fn own_between(reports: &[ThreadReport], from: u64, to: u64) -> Duration {
    Duration::from_nanos(reports.iter().map(|r| r.oncpu_between(from, to)).sum())
}

/// The spinners' own on-CPU time over the window two reads charged, as far as
/// the reads pin it down: at least what they ran between the reads, at most
/// from the start of the first read to the end of the second.
pub fn own_bounds<A, B>(
    reports: &[ThreadReport],
    before: &Bracketed<A>,
    after: &Bracketed<B>,
) -> (Duration, Duration) {
    (
        own_between(reports, before.end_ns, after.start_ns),
        own_between(reports, before.start_ns, after.end_ns),
    )
}

/// The middle of such bounds.
pub fn mid(bounds: (Duration, Duration)) -> Duration {
    (bounds.0 + bounds.1) / 2
}

/// Where the CPUs' time went between two /proc/stat reads (`None` where
/// either could not be read).
pub fn cpu_times_since(before: Option<CpuTimes>, after: Option<CpuTimes>) -> Option<CpuTimes> {
    match (after, before) {
        (Some(a), Some(b)) => Some(a.since(&b)),
        _ => None,
    }
}

/// Time the spinners saw themselves away from their CPUs that the kernel saw
/// neither idle nor used by anything but the charged cgroups: the (virtual)
/// CPU itself was taken away, under a hypervisor that does not report steal
/// time (QEMU TCG), and the kernel charged it as theirs.
///
/// `charged`: what the kernel charged the cgroups holding the spinners;
/// `own_least`: what the spinners ran at least (between the reads); `window`:
/// the wall time times the CPUs they could use. `None` without /proc/stat
/// (`cpu_times`), when the charge exceeds what the kernel saw the CPUs busy
/// with, or when the kernel saw them idle or used by others more than a tenth
/// of the window.
pub fn unseen(
    cpu_times: Option<CpuTimes>,
    charged: Duration,
    own_least: Duration,
    window: Duration,
) -> Option<Duration> {
    let t = cpu_times?;
    if charged > t.busy + CHARGE_SLACK {
        return None;
    }
    let gaps = window.saturating_sub(own_least);
    let away = t.idle + t.busy.saturating_sub(charged);
    // Only where the kernel saw the cgroups alone on their CPUs: a charge
    // inflated by a fault shrinks what seems to be the others' time, and must
    // not pass for stolen time beside a busy neighbour.
    (away <= window / 10 + CHARGE_SLACK).then(|| gaps.saturating_sub(away))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_between_and_around_the_reads() {
        let r = ThreadReport {
            oncpu: vec![(0, 100), (150, 300)],
            ..ThreadReport::default()
        };
        let at = |start_ns, end_ns| Bracketed {
            start_ns,
            read: (),
            end_ns,
        };
        let b = own_bounds(std::slice::from_ref(&r), &at(50, 80), &at(200, 250));
        assert_eq!(b, (Duration::from_nanos(70), Duration::from_nanos(150)));
        assert_eq!(mid(b), Duration::from_nanos(110));
    }

    #[test]
    fn time_the_kernel_saw_busy_with_the_cgroups_alone_is_unseen() {
        let d = Duration::from_millis;
        let busy = |b| {
            Some(CpuTimes {
                busy: d(b),
                idle: d(0),
                steal: d(0),
            })
        };
        assert_eq!(unseen(busy(1000), d(1000), d(578), d(1004)), Some(d(426)));
        // Charged more than the CPU was busy with: not stolen time.
        assert_eq!(unseen(busy(1000), d(1238), d(990), d(1000)), None);
        // Others ran in the gaps.
        assert_eq!(unseen(busy(1000), d(313), d(250), d(1000)), None);
        assert_eq!(unseen(None, d(1000), d(578), d(1004)), None);
    }
}
