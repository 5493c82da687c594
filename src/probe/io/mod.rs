//! `io`: does io.max (v2) / blkio.throttle.* (v1) hold a cgroup's O_DIRECT IO
//! to the configured bytes/s or IO/s?
//!
//! Each case makes its own loop device (memfd-backed, so no user disk is ever
//! throttled or written), runs the IO worker unthrottled for a reference rate,
//! sets the one limit of the case and runs it again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{boxed, Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::chart::Figure;
use crate::record::{CaseResult, Run};
use crate::spec::{Bytes, Checked, HostLimits, Keys};

mod chart;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "io";

/// Length of one rate window of the worker.
pub const WINDOW_MS: u64 = 250;

/// The probe measures its rate in windows of [`WINDOW_MS`]; a limit must allow
/// a few IOs per window for the rate to mean anything.
pub const IO_MIN_IOS_PER_S: u64 = 20;

/// The probe.
pub struct Io;

/// The `io` section: IO throttling on a loop device of the harness's own
/// (memfd-backed, detached afterwards), with O_DIRECT reads or writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoProbeSpec {
    /// The device to throttle: only `loop` (a device the harness makes), so a
    /// scenario can never throttle or write to a disk anyone uses.
    #[serde(default = "default_io_device")]
    pub device: String,
    /// Read bandwidth limits, one case each (`read-bps-<size>`).
    #[serde(default)]
    pub read_bps: Vec<Bytes>,
    /// Write bandwidth limits (`write-bps-<size>`).
    #[serde(default)]
    pub write_bps: Vec<Bytes>,
    /// Read IO/s limits (`read-iops-<N>`).
    #[serde(default)]
    pub read_iops: Vec<u64>,
    /// Write IO/s limits (`write-iops-<N>`).
    #[serde(default)]
    pub write_iops: Vec<u64>,
    /// Block size of the bandwidth cases.
    #[serde(default = "default_bps_block")]
    pub bps_block: Bytes,
    /// Block size of the IO/s cases.
    #[serde(default = "default_iops_block")]
    pub iops_block: Bytes,
    /// How long each throttled measurement runs, ms.
    #[serde(default = "default_io_duration_ms")]
    pub duration_ms: u64,
    /// How long the unthrottled reference run of each case lasts, ms.
    #[serde(default = "default_io_baseline_ms")]
    pub baseline_ms: u64,
    /// Allowed deviation of the achieved rate from the limit, %.
    #[serde(default = "default_io_tolerance")]
    pub tolerance_pct: f64,
    /// Size of the device (RAM, freed afterwards).
    #[serde(default = "default_io_size")]
    pub size: Bytes,
}

fn default_io_device() -> String {
    "loop".into()
}
fn default_bps_block() -> Bytes {
    Bytes(64 << 10)
}
fn default_iops_block() -> Bytes {
    Bytes(4 << 10)
}
fn default_io_duration_ms() -> u64 {
    5000
}
fn default_io_baseline_ms() -> u64 {
    1000
}
fn default_io_tolerance() -> f64 {
    10.0
}
fn default_io_size() -> Bytes {
    Bytes(64 << 20)
}

/// What an io case limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IoKind {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
}

impl IoKind {
    /// The scenario key (`read_bps`, ...); the case id starts with it, dashed.
    pub fn key(self) -> &'static str {
        match self {
            IoKind::ReadBps => "read_bps",
            IoKind::WriteBps => "write_bps",
            IoKind::ReadIops => "read_iops",
            IoKind::WriteIops => "write_iops",
        }
    }
    pub fn is_write(self) -> bool {
        matches!(self, IoKind::WriteBps | IoKind::WriteIops)
    }
    pub fn is_bps(self) -> bool {
        matches!(self, IoKind::ReadBps | IoKind::WriteBps)
    }
}

/// One io case: one limit on the harness's loop device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IoCase {
    /// `read-bps-<size>`, `write-bps-<size>`, `read-iops-<N>`, `write-iops-<N>`.
    pub id: String,
    pub kind: IoKind,
    /// Bytes/s or IO/s, as the kind says.
    pub limit: u64,
    pub block_bytes: u64,
    pub device_bytes: u64,
    pub duration: Duration,
    pub baseline: Duration,
    pub tolerance_pct: f64,
}

impl Probe for Io {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "IO limits (io.max, blkio.throttle)";
    const GROUP: Group = Group::Fidelity;
    type Section = IoProbeSpec;

    fn validate(io: &IoProbeSpec, host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        if io.device != "loop" {
            return Err(k
                .invalid(
                    "device",
                    format!("{:?}", io.device),
                    "the io probe only throttles a loop device it makes itself",
                )
                .hint("use device = \"loop\"; it never touches a disk that holds data"));
        }
        if !host.loop_control {
            return Err(k
                .invalid(
                    "device",
                    "\"loop\"",
                    format!(
                        "{} does not exist on this host",
                        crate::loopdev::LOOP_CONTROL
                    ),
                )
                .hint("loop devices need CONFIG_BLK_DEV_LOOP (modprobe loop)"));
        }
        if io.read_bps.is_empty()
            && io.write_bps.is_empty()
            && io.read_iops.is_empty()
            && io.write_iops.is_empty()
        {
            return Err(k
                .invalid("read_bps", "[]", "the io section names no limit")
                .hint("set read_bps, write_bps, read_iops or write_iops"));
        }
        let device_block = u64::from(crate::loopdev::BLOCK_BYTES);
        for (key, b) in [("bps_block", io.bps_block), ("iops_block", io.iops_block)] {
            k.ensure(
                b.0 >= device_block && b.0.is_multiple_of(device_block) && b.0 <= 4 << 20,
                key,
                b,
                format!(
                    "must be a multiple of {device_block} bytes (the device's block size), at most 4MiB"
                ),
            )?;
        }
        let min = IO_MIN_IOS_PER_S * io.bps_block.0;
        for (key, limits) in [("read_bps", &io.read_bps), ("write_bps", &io.write_bps)] {
            if let Some(l) = limits.iter().find(|l| l.0 < min) {
                return Err(k
                    .invalid(
                        key,
                        l,
                        format!(
                            "allows fewer than {IO_MIN_IOS_PER_S} blocks of {} a second (at least {} is needed to measure a rate)",
                            io.bps_block,
                            Bytes(min)
                        ),
                    )
                    .hint("raise the limit or lower io.bps_block"));
            }
        }
        for (key, limits) in [("read_iops", &io.read_iops), ("write_iops", &io.write_iops)] {
            k.each_range_says(
                key,
                limits,
                IO_MIN_IOS_PER_S..=u64::MAX,
                format!("must be at least {IO_MIN_IOS_PER_S} IO/s to measure a rate"),
            )?;
        }
        let largest = io.bps_block.0.max(io.iops_block.0);
        if io.size.0 < 16 * largest || !io.size.0.is_multiple_of(largest) || io.size.0 > 1 << 30 {
            return Err(k
                .invalid(
                    "size",
                    io.size,
                    format!(
                        "must be a multiple of the block size, 16 blocks ({}) … 1GiB",
                        Bytes(16 * largest)
                    ),
                )
                .hint("the device is RAM, freed afterwards"));
        }
        k.range("duration_ms", io.duration_ms, 1000..=600_000)?;
        k.range("baseline_ms", io.baseline_ms, 200..=60_000)?;
        k.tolerance_pct("tolerance_pct", io.tolerance_pct, 100.0)
    }

    fn expand(io: &IoProbeSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        boxed(cases(io, env))
    }

    fn readiness(host: &HostFacts) -> Readiness {
        let device = if std::path::Path::new(crate::loopdev::LOOP_CONTROL).exists() {
            Readiness::new(true, "loop devices available")
        } else {
            Readiness::new(
                false,
                "no /dev/loop-control to make a test device (modprobe loop)",
            )
        };
        host.cgroups(host.controller(Controller::Io).and(device))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::io(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        chart::figures(run)
    }
}

/// One case per limit: bandwidth limits first, then IO/s limits.
fn cases(io: &IoProbeSpec, env: &PlanEnv) -> Vec<IoCase> {
    // Quick runs shorten the measurement (the verdict states its window).
    let duration = env.millis(io.duration_ms, 2000);
    let case = |kind: IoKind, limit: u64, shown: String, block: Bytes| -> IoCase {
        IoCase {
            id: format!("{}-{shown}", kind.key().replace('_', "-")),
            kind,
            limit,
            block_bytes: block.0,
            device_bytes: io.size.0,
            duration,
            baseline: Duration::from_millis(io.baseline_ms),
            tolerance_pct: io.tolerance_pct,
        }
    };
    let mut out = Vec::new();
    for (kind, limits) in [
        (IoKind::ReadBps, &io.read_bps),
        (IoKind::WriteBps, &io.write_bps),
    ] {
        out.extend(
            limits
                .iter()
                .map(|l| case(kind, l.0, l.to_string(), io.bps_block)),
        );
    }
    for (kind, limits) in [
        (IoKind::ReadIops, &io.read_iops),
        (IoKind::WriteIops, &io.write_iops),
    ] {
        out.extend(
            limits
                .iter()
                .map(|&l| case(kind, l, l.to_string(), io.iops_block)),
        );
    }
    out
}

impl Case for IoCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(self.baseline + self.duration)
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run(ctx.scope, ctx.layout, self, ctx.exe, ctx.host.config_hz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str, quick: bool) -> Vec<IoCase> {
        let s: IoProbeSpec = toml::from_str(text).unwrap();
        let env = PlanEnv {
            quick,
            online_cpus: "0-1".parse().unwrap(),
        };
        cases(&s, &env)
    }

    #[test]
    fn io_cases_get_kind_and_limit_in_their_ids() {
        let text =
            "read_bps = [\"8MiB\"]\nwrite_bps = [\"1GiB\"]\nread_iops = [200]\nwrite_iops = [50]\n";
        let p = expand(text, false);
        let ids: Vec<&str> = p.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "read-bps-8MiB",
                "write-bps-1GiB",
                "read-iops-200",
                "write-iops-50"
            ]
        );
        assert_eq!(p[0].block_bytes, 64 << 10);
        assert_eq!(p[2].block_bytes, 4 << 10);
        assert_eq!(p[3].limit, 50);
        assert!(p[1].kind.is_write() && p[1].kind.is_bps());
        assert_eq!(p[0].duration, Duration::from_secs(5));
        assert_eq!(expand(text, true)[0].duration, Duration::from_secs(2));
    }
}
