//! `cgroup_lifecycle`: the full life of a limited cgroup, timed step by step —
//! create, attach a worker, set each limit and read it back, let the worker run,
//! read the counters, freeze and thaw, kill and remove. The verdict states the
//! facts that must hold (values kept as written, the worker counted, frozen,
//! killed, the directories gone). A case may sweep its limits (a list of values
//! is one case per value, and the product of several lists).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::{CpuMax, DevId, IoLimit};
use crate::cpulist::CpuList;
use crate::record::CaseResult;
use crate::spec::{io_text, is_valid_name, Bytes, Checked, HostLimits, Keys, Sweep};

mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "cgroup_lifecycle";

/// The probe.
pub struct CgroupLifecycle;

/// IO throttling of one block device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoSpec {
    /// `/dev/NAME`, `MAJ:MIN`, or `auto` (the first block device in /sys/block,
    /// loop devices first, so a test never throttles a disk anyone uses).
    pub device: String,
    pub read_bps: Option<u64>,
    pub write_bps: Option<u64>,
    pub read_iops: Option<u64>,
    pub write_iops: Option<u64>,
}

/// One case of the cgroup life-cycle check: the limits to set on a fresh cgroup
/// holding a worker. Any numeric limit or `cpus` may be a list to sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleCaseSpec {
    /// Case id: a-z A-Z 0-9 _ . - (sweeps append the swept values).
    pub name: String,
    pub cpus: Option<Sweep<String>>,
    pub mems: Option<String>,
    /// CFS quota per period, µs (≥ 1000).
    pub cpu_quota_us: Option<Sweep<u64>>,
    /// CFS period, µs (1000 … 1000000); default 100000.
    pub cpu_period_us: Option<Sweep<u64>>,
    /// v2 scale, 1 … 10000 (v1: cpu.shares = weight × 1024 / 100).
    pub cpu_weight: Option<Sweep<u64>>,
    pub memory_max: Option<Sweep<Bytes>>,
    /// v2 only; the case is skipped on v1.
    pub memory_high: Option<Sweep<Bytes>>,
    /// Allow swap for the group (default: swap off, so memory limits mean what they say).
    #[serde(default)]
    pub swap: bool,
    pub pids_max: Option<Sweep<u64>>,
    pub io: Option<IoSpec>,
    /// Freeze and thaw the worker (latency of both is recorded).
    #[serde(default)]
    pub freeze: bool,
}

/// The `cgroup_lifecycle` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSpec {
    /// Repetitions of create → attach → set → read back → remove per case.
    #[serde(default = "default_repeat")]
    pub repeat: u32,
    /// How long the attached worker spins under the limits before counters are read, ms.
    #[serde(default = "default_hold_ms")]
    pub hold_ms: u64,
    #[serde(default, rename = "case")]
    pub cases: Vec<LifecycleCaseSpec>,
}

fn default_repeat() -> u32 {
    5
}

fn default_hold_ms() -> u64 {
    50
}

/// One life-cycle case, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifecycleCase {
    /// `<name>` plus `-<key><value>` for each swept key.
    pub id: String,
    pub cpus: Option<CpuList>,
    pub mems: Option<CpuList>,
    pub cpu_max: Option<CpuMax>,
    pub cpu_weight: Option<u64>,
    pub memory_max_bytes: Option<u64>,
    pub memory_high_bytes: Option<u64>,
    pub swap_off: bool,
    pub pids_max: Option<u64>,
    pub io: Option<IoLimit>,
    pub freeze: bool,
    pub repeat: u32,
    pub hold: Duration,
}

impl Probe for CgroupLifecycle {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Cgroup life cycle";
    const GROUP: Group = Group::Latency;
    type Section = LifecycleSpec;

    fn validate(lc: &LifecycleSpec, host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.range("repeat", lc.repeat, 1..=10_000)?;
        k.at_most("hold_ms", lc.hold_ms, 600_000, " (10 min)")?;
        let mut seen: Vec<&str> = Vec::new();
        for (i, c) in lc.cases.iter().enumerate() {
            let k = Keys::new(format!("{PROBE}.case[{i}]"));
            let name = format!("{:?}", c.name);
            if !is_valid_name(&c.name) {
                return Err(k
                    .invalid("name", name, "not a valid case id")
                    .hint("use 1-200 characters of a-z A-Z 0-9 _ . - (no `/`, not `.` or `..`)"));
            }
            k.ensure(
                !seen.contains(&c.name.as_str()),
                "name",
                name,
                "duplicate case id",
            )?;
            seen.push(&c.name);
            k.sweep("cpus", &c.cpus, |v| {
                k.cpu_list("cpus", v, &host.online_cpus, "CPU").map(drop)
            })?;
            if let Some(m) = &c.mems {
                k.cpu_list("mems", m, &host.online_mems, "memory node")?;
            }
            k.sweep("cpu_quota_us", &c.cpu_quota_us, |&q| {
                k.ensure(
                    q >= 1000,
                    "cpu_quota_us",
                    q,
                    "a CFS quota must be at least 1000 µs (1 ms)",
                )
            })?;
            k.sweep("cpu_period_us", &c.cpu_period_us, |&p| {
                k.range_says(
                    "cpu_period_us",
                    p,
                    crate::probe::cpu_quota::PERIOD_US,
                    crate::probe::cpu_quota::PERIOD_REASON,
                )
            })?;
            k.sweep("cpu_weight", &c.cpu_weight, |&w| {
                k.range_says(
                    "cpu_weight",
                    w,
                    1..=10_000,
                    "a CPU weight must be 1 … 10000",
                )
            })?;
            for (key, sweep) in [
                ("memory_max", &c.memory_max),
                ("memory_high", &c.memory_high),
            ] {
                k.sweep(key, sweep, |b| {
                    k.ensure(
                        b.0 >= host.page_size_bytes,
                        key,
                        b,
                        format!(
                            "a memory limit must be at least one page ({} bytes)",
                            host.page_size_bytes
                        ),
                    )
                })?;
            }
            k.sweep("pids_max", &c.pids_max, |&p| {
                k.ensure(
                    p >= 1,
                    "pids_max",
                    p,
                    "pids.max must be at least 1 (the worker itself is a task)",
                )
            })?;
            if let Some(io) = &c.io {
                resolve_device(&io.device).map_err(|(r, h)| {
                    k.invalid("io.device", format!("{:?}", io.device), r)
                        .maybe_hint(h)
                })?;
                let limits = [
                    ("read_bps", io.read_bps),
                    ("write_bps", io.write_bps),
                    ("read_iops", io.read_iops),
                    ("write_iops", io.write_iops),
                ];
                if limits.iter().all(|(_, v)| v.is_none()) {
                    return Err(k
                        .invalid(
                            "io",
                            format!("{{ device = {:?} }}", io.device),
                            "names no limit",
                        )
                        .hint("set read_bps, write_bps, read_iops or write_iops"));
                }
                for (key, v) in limits {
                    k.ensure(
                        v != Some(0),
                        &format!("io.{key}"),
                        0,
                        "an IO limit must be at least 1",
                    )?;
                }
            }
        }
        Ok(())
    }

    fn expand(lc: &LifecycleSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let hold = Duration::from_millis(lc.hold_ms);
        super::boxed(
            lc.cases
                .iter()
                .flat_map(|c| expand(c, lc.repeat, hold, env))
                .collect(),
        )
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(Readiness::new(
            host.layout.is_some(),
            host.layout
                .as_ref()
                .map_or("no cgroups".into(), |l| l.kind.to_string()),
        ))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::lifecycle(cases)
    }
}

impl Case for LifecycleCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(self.hold * self.repeat)
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run(ctx.scope, ctx.layout, self, ctx.exe)
    }
}

/// The default CFS period when only a quota is given.
pub const DEFAULT_PERIOD_US: u64 = 100_000;

/// One point of a sweep: the value chosen for every sweepable key, and its case id.
#[derive(Debug, Clone, Default)]
struct Point {
    id: String,
    cpus: Option<String>,
    quota_us: Option<u64>,
    period_us: Option<u64>,
    weight: Option<u64>,
    memory_max: Option<u64>,
    memory_high: Option<u64>,
    pids_max: Option<u64>,
}

/// Multiplies `points` by the values of one key. A swept key (a list) appends
/// `-<tag><value>` to the case id; a single value does not.
fn sweep<T: Clone + ToString>(
    points: Vec<Point>,
    tag: &str,
    values: Option<Sweep<T>>,
    set: impl Fn(&mut Point, T),
) -> Vec<Point> {
    let Some(values) = values else { return points };
    let swept = matches!(values, Sweep::Many(_));
    let mut out = Vec::new();
    for p in points {
        for v in values.values() {
            let mut q = p.clone();
            if swept {
                q.id.push_str(&format!("-{tag}{}", v.to_string().replace(',', "_")));
            }
            set(&mut q, v);
            out.push(q);
        }
    }
    out
}

fn bytes(s: &Option<Sweep<Bytes>>) -> Option<Sweep<u64>> {
    s.as_ref().map(|s| match s {
        Sweep::One(b) => Sweep::One(b.0),
        Sweep::Many(v) => Sweep::Many(v.iter().map(|b| b.0).collect()),
    })
}

/// One `[[cgroup_lifecycle.case]]` as cases: the cartesian product of its swept keys.
fn expand(
    spec: &LifecycleCaseSpec,
    repeat: u32,
    hold: Duration,
    env: &PlanEnv,
) -> Vec<LifecycleCase> {
    let io = spec.io.as_ref().and_then(|io| {
        Some(IoLimit {
            device: resolve_device(&io.device).ok()?,
            read_bps: io.read_bps,
            write_bps: io.write_bps,
            read_iops: io.read_iops,
            write_iops: io.write_iops,
        })
    });
    let mut points = vec![Point {
        id: spec.name.clone(),
        ..Point::default()
    }];
    points = sweep(points, "cpus", spec.cpus.clone(), |p, v| p.cpus = Some(v));
    points = sweep(points, "q", spec.cpu_quota_us.clone(), |p, v| {
        p.quota_us = Some(v)
    });
    points = sweep(points, "p", spec.cpu_period_us.clone(), |p, v| {
        p.period_us = Some(v)
    });
    points = sweep(points, "w", spec.cpu_weight.clone(), |p, v| {
        p.weight = Some(v)
    });
    points = sweep(points, "mem", bytes(&spec.memory_max), |p, v| {
        p.memory_max = Some(v)
    });
    points = sweep(points, "high", bytes(&spec.memory_high), |p, v| {
        p.memory_high = Some(v)
    });
    points = sweep(points, "pids", spec.pids_max.clone(), |p, v| {
        p.pids_max = Some(v)
    });
    points
        .into_iter()
        .map(|p| LifecycleCase {
            cpu_max: match (p.quota_us, p.period_us) {
                (None, None) => None,
                (q, per) => Some(CpuMax {
                    quota: q.map(Duration::from_micros),
                    period: Duration::from_micros(per.unwrap_or(DEFAULT_PERIOD_US)),
                }),
            },
            id: p.id,
            cpus: p.cpus.and_then(|c| c.parse().ok()),
            mems: spec.mems.as_ref().and_then(|m| m.parse().ok()),
            cpu_weight: p.weight,
            memory_max_bytes: p.memory_max,
            memory_high_bytes: p.memory_high,
            swap_off: !spec.swap,
            pids_max: p.pids_max,
            io,
            freeze: spec.freeze,
            repeat: env.shorten(repeat, 1),
            hold: env.shorten(hold, Duration::from_millis(10)),
        })
        .collect()
}

/// `/dev/NAME`, `MAJ:MIN` or `auto` → the device number, checked to exist.
pub fn resolve_device(spec: &str) -> Result<DevId, (String, Option<String>)> {
    let hint = Some("name a block device: /dev/loop0, 7:0, or auto".to_string());
    if spec == "auto" {
        return auto_device().ok_or_else(|| ("no block device found in /sys/block".into(), None));
    }
    if let Some((a, b)) = crate::cgroup::stats::parse_dev(spec) {
        if Path::new(&format!("/sys/dev/block/{a}:{b}")).exists() {
            return Ok(DevId { major: a, minor: b });
        }
        return Err((format!("no block device {a}:{b} on this host"), hint));
    }
    let meta = std::fs::metadata(spec).map_err(|e| (io_text(&e), hint.clone()))?;
    if !meta.file_type().is_block_device() {
        return Err(("not a block device".into(), hint));
    }
    let rdev = meta.rdev();
    Ok(DevId {
        major: libc::major(rdev),
        minor: libc::minor(rdev),
    })
}

/// The first whole disk in /sys/block, preferring loop devices.
fn auto_device() -> Option<DevId> {
    let mut names: Vec<(bool, String, PathBuf)> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (!n.starts_with("loop"), n, e.path())
        })
        .collect();
    names.sort();
    names.into_iter().find_map(|(_, _, p)| {
        let dev = std::fs::read_to_string(p.join("dev")).ok()?;
        let (major, minor) = crate::cgroup::stats::parse_dev(dev.trim())?;
        Some(DevId { major, minor })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(body: &str, quick: bool) -> Vec<LifecycleCase> {
        let text = format!("repeat = 3\n[[case]]\nname = \"c\"\n{body}\n");
        let s: LifecycleSpec = toml::from_str(&text).unwrap();
        let env = PlanEnv {
            quick,
            online_cpus: "0-1".parse().unwrap(),
        };
        expand(
            &s.cases[0],
            s.repeat,
            Duration::from_millis(s.hold_ms),
            &env,
        )
    }

    #[test]
    fn sweeps_expand_to_the_cartesian_product() {
        let p = plan("cpu_quota_us = [10000, 50000]\ncpu_period_us = [10000, 100000]\nmemory_max = \"64MiB\"", false);
        let ids: Vec<&str> = p.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "c-q10000-p10000",
                "c-q10000-p100000",
                "c-q50000-p10000",
                "c-q50000-p100000"
            ]
        );
        assert_eq!(p[1].cpu_max.unwrap().quota, Some(Duration::from_millis(10)));
        assert_eq!(p[1].memory_max_bytes, Some(64 << 20));
        assert!(p[0].swap_off);
        assert_eq!(p[0].repeat, 3);
    }

    #[test]
    fn quota_alone_gets_the_default_period_and_cpus_ids_stay_valid() {
        let p = plan("cpu_quota_us = 20000\ncpus = [\"0\", \"0,1\"]", false);
        assert_eq!(
            p[0].cpu_max.unwrap().period,
            Duration::from_micros(DEFAULT_PERIOD_US)
        );
        assert_eq!(p[1].id, "c-cpus0_1");
        for c in &p {
            assert!(is_valid_name(&c.id), "{}", c.id);
        }
    }

    #[test]
    fn quick_shortens_the_run() {
        let p = plan("", true);
        assert_eq!(p[0].repeat, 1);
        assert!(p[0].hold <= Duration::from_millis(10));
    }
}
