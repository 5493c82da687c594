//! A validated scenario expanded into concrete cases: every sweep becomes one
//! case per combination, with typed values (durations, device numbers) and a
//! stable case id.

use std::time::Duration;

use serde::Serialize;

use crate::cgroup::{CpuMax, IoLimit};
use crate::cpulist::CpuList;
use crate::ns::{Method, NsKind};
use crate::scenario::{resolve_device, Bytes, LifecycleCaseSpec, NsSpec, Scenario, Sweep};

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

/// One namespace-latency case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NsCase {
    /// `noop`, `<kind>-<method>`, or `<kind>-<method>-c<N>` for N parallel workers.
    pub id: String,
    /// `None` for the noop case.
    pub kind: Option<NsKind>,
    pub method: Option<Method>,
    pub workers: u32,
    pub iterations: u64,
    pub warmup: u64,
    /// Sustained create+destroy loop length (serial cases of kinds with a network namespace).
    pub rate: Option<Duration>,
    pub drain_timeout: Duration,
}

/// One cpuset case: spinners pinned to `cpus`, or moved between `cpus` and `move_to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpusetCase {
    /// `pin-<set>` or `move-<from>-<to>` (`,` in a set becomes `_`).
    pub id: String,
    pub cpus: CpuList,
    pub move_to: Option<CpuList>,
    pub threads: u32,
    pub duration: Duration,
    pub migrations: u32,
}

/// One cgroup-operations case: the operated cgroup has `siblings - 1` siblings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpsCase {
    /// `s<N>`.
    pub id: String,
    pub siblings: u32,
    pub repeat: u32,
}

/// One CPU-quota case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaCase {
    /// `q<quota_us>-p<period_us>-t<threads>`, or `fibtest`.
    pub id: String,
    pub quota: Duration,
    pub period: Duration,
    pub threads: u32,
    /// Mostly idle extra threads (the fibtest case).
    pub idle_threads: u32,
    pub duration: Duration,
    pub tolerance_pct: f64,
}

/// One CPU-weight case: sibling groups sharing `cpus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightCase {
    /// `w<w1>-<w2>...`.
    pub id: String,
    pub weights: Vec<u64>,
    pub cpus: CpuList,
    pub threads: u32,
    pub duration: Duration,
    pub tolerance_pct: f64,
}

/// One pids case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PidsCase {
    /// `max<N>`.
    pub id: String,
    pub max: u64,
}

/// What a memory case does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryKind {
    /// Touch half the limit: must survive.
    Below,
    /// Touch twice the limit: must be OOM-killed.
    Above,
    /// Touch half the limit, then the harness SIGKILLs it: not an OOM.
    Killed,
    /// memory.high at half the limit, touch 1 MiB past it (v2): slowed, not killed.
    High,
}

/// One memory case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryCase {
    /// `<kind>-<limit>`, e.g. `above-64MiB`.
    pub id: String,
    pub kind: MemoryKind,
    pub limit_bytes: u64,
    pub slack_bytes: u64,
}

/// One freezer case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FreezerCase {
    /// `t<threads>` or `t<threads>-q<pct>`.
    pub id: String,
    pub threads: u32,
    pub repeat: u32,
    /// CPU quota per 100 ms period, if any.
    pub quota: Option<Duration>,
}

/// What an io case limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Everything one run will do, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub lifecycle: Vec<LifecycleCase>,
    pub ns: Vec<NsCase>,
    /// Kinds whose isolation is verified.
    pub ns_verify: Vec<NsKind>,
    pub cpuset: Vec<CpusetCase>,
    pub ops: Vec<OpsCase>,
    pub quota: Vec<QuotaCase>,
    pub weight: Vec<WeightCase>,
    pub pids: Vec<PidsCase>,
    pub memory: Vec<MemoryCase>,
    pub freezer: Vec<FreezerCase>,
    pub io: Vec<IoCase>,
}

impl Plan {
    /// The first case id that two cases of one section share, with the section:
    /// a run folder keeps one samples file and one set of charts per case, so
    /// every id must be unique (a value repeated in a list, or a scenario given twice).
    pub fn duplicate(&self) -> Option<(&'static str, String)> {
        fn first_dup<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
            let mut seen = std::collections::BTreeSet::new();
            ids.into_iter()
                .find(|id| !seen.insert(*id))
                .map(str::to_string)
        }
        let verify: Vec<String> = self
            .ns_verify
            .iter()
            .map(|k| format!("{k}-isolation"))
            .collect();
        [
            (
                "cgroup_lifecycle",
                first_dup(self.lifecycle.iter().map(|c| c.id.as_str())),
            ),
            (
                "ns_latency",
                first_dup(self.ns.iter().map(|c| c.id.as_str())),
            ),
            ("ns_latency", first_dup(verify.iter().map(String::as_str))),
            (
                "cpuset",
                first_dup(self.cpuset.iter().map(|c| c.id.as_str())),
            ),
            (
                "cgroup_ops",
                first_dup(self.ops.iter().map(|c| c.id.as_str())),
            ),
            (
                "cpu_quota",
                first_dup(self.quota.iter().map(|c| c.id.as_str())),
            ),
            (
                "cpu_weight",
                first_dup(self.weight.iter().map(|c| c.id.as_str())),
            ),
            ("pids", first_dup(self.pids.iter().map(|c| c.id.as_str()))),
            (
                "memory",
                first_dup(self.memory.iter().map(|c| c.id.as_str())),
            ),
            (
                "freezer",
                first_dup(self.freezer.iter().map(|c| c.id.as_str())),
            ),
            ("io", first_dup(self.io.iter().map(|c| c.id.as_str()))),
        ]
        .into_iter()
        .find_map(|(section, dup)| dup.map(|d| (section, d)))
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

fn bytes(s: &Option<Sweep<crate::scenario::Bytes>>) -> Option<Sweep<u64>> {
    s.as_ref().map(|s| match s {
        Sweep::One(b) => Sweep::One(b.0),
        Sweep::Many(v) => Sweep::Many(v.iter().map(|b| b.0).collect()),
    })
}

fn expand(
    spec: &LifecycleCaseSpec,
    repeat: u32,
    hold: Duration,
    quick: bool,
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
            repeat: if quick { 1 } else { repeat },
            hold: if quick {
                hold.min(Duration::from_millis(10))
            } else {
                hold
            },
        })
        .collect()
}

/// The namespace cases of one `ns_latency` section: noop, the `none-clone`
/// baseline first (the namespace cost of the clone cases is measured against
/// it), every kind × method serially, then the concurrency levels.
fn expand_ns(spec: &NsSpec, quick: bool, online_cpus: u32) -> (Vec<NsCase>, Vec<NsKind>) {
    let mut kinds: Vec<NsKind> = spec.kinds.iter().filter_map(|k| k.parse().ok()).collect();
    // The baseline first.
    kinds.sort_by_key(|k| *k != NsKind::None);
    kinds.dedup();
    let methods: Vec<Method> = spec.methods.iter().filter_map(|m| m.parse().ok()).collect();
    let iterations = if quick {
        spec.iterations.min(20)
    } else {
        spec.iterations
    };
    let warmup = if quick {
        spec.warmup.min(2)
    } else {
        spec.warmup
    };
    let levels: Vec<u32> = spec
        .concurrency
        .clone()
        .unwrap_or_else(|| vec![online_cpus.max(1)]);
    let drain_timeout = Duration::from_millis(spec.drain_timeout_ms);
    let rate = (spec.rate_ms > 0).then(|| {
        Duration::from_millis(if quick {
            spec.rate_ms.min(200)
        } else {
            spec.rate_ms
        })
    });
    let case = |kind: Option<NsKind>, method: Option<Method>, workers: u32, id: String| NsCase {
        id,
        kind,
        method,
        workers,
        iterations,
        warmup,
        rate: match (kind, method) {
            (Some(k), Some(Method::Clone | Method::Unshare)) if k.has_net() && workers == 1 => rate,
            _ => None,
        },
        drain_timeout,
    };
    let mut out = Vec::new();
    if spec.noop {
        out.push(case(None, None, 1, "noop".into()));
    }
    for &k in &kinds {
        for &m in &methods {
            out.push(case(Some(k), Some(m), 1, format!("{k}-{m}")));
        }
    }
    for &n in levels.iter().filter(|&&n| n > 1) {
        for &k in &kinds {
            for &m in &methods {
                out.push(case(Some(k), Some(m), n, format!("{k}-{m}-c{n}")));
            }
        }
    }
    let verify = if spec.verify {
        kinds.into_iter().filter(|k| *k != NsKind::None).collect()
    } else {
        Vec::new()
    };
    (out, verify)
}

/// Quota × period × threads, quotas under the kernel's 1 ms minimum left out
/// (they cannot be set), then the fibtest case.
fn expand_quota(spec: &crate::scenario::QuotaSpec, quick: bool, cpus: u32) -> Vec<QuotaCase> {
    let mut threads = spec
        .threads
        .clone()
        .unwrap_or_else(|| vec![1, 2, cpus.max(1)]);
    threads.sort_unstable();
    threads.dedup();
    let duration = Duration::from_millis(if quick {
        spec.duration_ms.min(300)
    } else {
        spec.duration_ms
    });
    let mut out = Vec::new();
    for &period_us in &spec.period_us {
        for &pct in &spec.quota_pct {
            let quota_us = period_us * pct as u64 / 100;
            if quota_us < 1000 {
                continue;
            }
            for &t in &threads {
                out.push(QuotaCase {
                    id: format!("q{quota_us}-p{period_us}-t{t}"),
                    quota: Duration::from_micros(quota_us),
                    period: Duration::from_micros(period_us),
                    threads: t,
                    idle_threads: 0,
                    duration,
                    tolerance_pct: spec.tolerance_pct,
                });
            }
        }
    }
    if spec.fibtest {
        out.push(QuotaCase {
            id: "fibtest".into(),
            quota: Duration::from_millis(10),
            period: Duration::from_millis(100),
            threads: 1,
            idle_threads: 4 * cpus.max(1),
            duration: Duration::from_millis(if quick {
                spec.fibtest_ms.min(500)
            } else {
                spec.fibtest_ms
            }),
            tolerance_pct: spec.tolerance_pct,
        });
    }
    out
}

/// `0,1` → `0_1`: a set as a case-id part.
fn set_id(l: &CpuList) -> String {
    l.to_string().replace(',', "_")
}

fn expand_cpuset(spec: &crate::scenario::CpusetSpec, quick: bool) -> Vec<CpusetCase> {
    let online = crate::host::online_cpus();
    let sets: Vec<CpuList> = match &spec.sets {
        Some(v) => v.iter().filter_map(|s| s.parse().ok()).collect(),
        None => {
            let mut v: Vec<CpuList> = online.iter().map(|c| CpuList::new([c])).collect();
            if online.len() > 1 {
                v.push(online.clone());
            }
            v
        }
    };
    let moves: Vec<(CpuList, CpuList)> = match &spec.moves {
        Some(v) => v
            .iter()
            .filter_map(|[a, b]| Some((a.parse().ok()?, b.parse().ok()?)))
            .collect(),
        None => {
            let cpus: Vec<u32> = online.iter().take(2).collect();
            match cpus[..] {
                [a, b] => vec![(CpuList::new([a]), CpuList::new([b]))],
                _ => Vec::new(),
            }
        }
    };
    let duration = Duration::from_millis(if quick {
        spec.duration_ms.min(200)
    } else {
        spec.duration_ms
    });
    let migrations = if quick {
        spec.migrations.min(4)
    } else {
        spec.migrations
    };
    let case = |id: String, cpus: CpuList, move_to: Option<CpuList>| CpusetCase {
        id,
        cpus,
        move_to,
        threads: spec.threads,
        duration,
        migrations,
    };
    let mut out: Vec<CpusetCase> = sets
        .into_iter()
        .map(|s| case(format!("pin-{}", set_id(&s)), s, None))
        .collect();
    out.extend(
        moves
            .into_iter()
            .map(|(a, b)| case(format!("move-{}-{}", set_id(&a), set_id(&b)), a, Some(b))),
    );
    out
}

impl Plan {
    /// Expands validated scenarios; `quick` runs one repetition with a short hold.
    pub fn build(scenarios: &[Scenario], quick: bool) -> Plan {
        let mut plan = Plan::default();
        let cpus = crate::host::online_cpus().len() as u32;
        for s in scenarios {
            if let Some(c) = &s.cpuset {
                plan.cpuset.extend(expand_cpuset(c, quick));
            }
            if let Some(q) = &s.cpu_quota {
                plan.quota.extend(expand_quota(q, quick, cpus));
            }
            if let Some(w) = &s.cpu_weight {
                let duration = Duration::from_millis(if quick {
                    w.duration_ms.min(300)
                } else {
                    w.duration_ms
                });
                plan.weight.extend(w.weights.iter().map(|ws| WeightCase {
                    id: format!(
                        "w{}",
                        ws.iter().map(u64::to_string).collect::<Vec<_>>().join("-")
                    ),
                    weights: ws.clone(),
                    cpus: w.cpus.parse().unwrap_or_default(),
                    threads: w.threads,
                    duration,
                    tolerance_pct: w.tolerance_pct,
                }));
            }
            if let Some(f) = &s.freezer {
                plan.freezer
                    .extend(f.quota_pct.iter().map(|&q| FreezerCase {
                        id: if q == 0 {
                            format!("t{}", f.threads)
                        } else {
                            format!("t{}-q{q}", f.threads)
                        },
                        threads: f.threads,
                        repeat: if quick { f.repeat.min(3) } else { f.repeat },
                        quota: (q > 0).then(|| Duration::from_millis(q as u64)),
                    }));
            }
            if let Some(p) = &s.pids {
                plan.pids.extend(p.max.iter().map(|&m| PidsCase {
                    id: format!("max{m}"),
                    max: m,
                }));
            }
            if let Some(m) = &s.memory {
                for l in &m.limits {
                    for kind in [
                        MemoryKind::Below,
                        MemoryKind::Above,
                        MemoryKind::Killed,
                        MemoryKind::High,
                    ] {
                        let name = serde_json::to_value(kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default();
                        plan.memory.push(MemoryCase {
                            id: format!("{name}-{l}"),
                            kind,
                            limit_bytes: l.0,
                            slack_bytes: m.slack.0,
                        });
                    }
                }
            }
            if let Some(io) = &s.io {
                // Quick runs shorten the measurement (the verdict states its window).
                let duration = Duration::from_millis(if quick {
                    io.duration_ms.min(2000)
                } else {
                    io.duration_ms
                });
                let case = |kind: IoKind, id: String, limit: u64, block: Bytes| IoCase {
                    id,
                    kind,
                    limit,
                    block_bytes: block.0,
                    device_bytes: io.size.0,
                    duration,
                    baseline: Duration::from_millis(io.baseline_ms),
                    tolerance_pct: io.tolerance_pct,
                };
                let bps = [
                    (IoKind::ReadBps, &io.read_bps),
                    (IoKind::WriteBps, &io.write_bps),
                ];
                for (kind, limits) in bps {
                    for l in limits {
                        let id = format!("{}-{l}", kind.key().replace('_', "-"));
                        plan.io.push(case(kind, id, l.0, io.bps_block));
                    }
                }
                let iops = [
                    (IoKind::ReadIops, &io.read_iops),
                    (IoKind::WriteIops, &io.write_iops),
                ];
                for (kind, limits) in iops {
                    for &l in limits {
                        let id = format!("{}-{l}", kind.key().replace('_', "-"));
                        plan.io.push(case(kind, id, l, io.iops_block));
                    }
                }
            }
            if let Some(o) = &s.cgroup_ops {
                plan.ops.extend(o.siblings.iter().map(|&n| OpsCase {
                    id: format!("s{n}"),
                    siblings: n,
                    repeat: if quick { o.repeat.min(5) } else { o.repeat },
                }));
            }
            if let Some(ns) = &s.ns_latency {
                let (cases, verify) = expand_ns(ns, quick, cpus);
                plan.ns.extend(cases);
                plan.ns_verify.extend(verify);
            }
            if let Some(lc) = &s.cgroup_lifecycle {
                let hold = Duration::from_millis(lc.hold_ms);
                for c in &lc.cases {
                    plan.lifecycle.extend(expand(c, lc.repeat, hold, quick));
                }
            }
        }
        plan
    }

    /// Number of cases.
    pub fn len(&self) -> usize {
        self.lifecycle.len()
            + self.ns.len()
            + self.ns_verify.len()
            + self.cpuset.len()
            + self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(body: &str) -> Plan {
        let text = format!("schema = 1\nname = \"t\"\n[cgroup_lifecycle]\nrepeat = 3\n[[cgroup_lifecycle.case]]\nname = \"c\"\n{body}\n");
        Plan::build(&[Scenario::parse(&text, "t").unwrap()], false)
    }

    #[test]
    fn io_cases_get_kind_and_limit_in_their_ids() {
        let text = "schema = 1\nname = \"t\"\n[io]\nread_bps = [\"8MiB\"]\nwrite_bps = [\"1GiB\"]\nread_iops = [200]\nwrite_iops = [50]\n";
        let s = Scenario::parse(text, "t").unwrap();
        let p = Plan::build(std::slice::from_ref(&s), false);
        let ids: Vec<&str> = p.io.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "read-bps-8MiB",
                "write-bps-1GiB",
                "read-iops-200",
                "write-iops-50"
            ]
        );
        assert_eq!(p.io[0].block_bytes, 64 << 10);
        assert_eq!(p.io[2].block_bytes, 4 << 10);
        assert_eq!(p.io[3].limit, 50);
        assert!(p.io[1].kind.is_write() && p.io[1].kind.is_bps());
        assert_eq!(p.io[0].duration, Duration::from_secs(5));
        let quick = Plan::build(&[s], true);
        assert_eq!(quick.io[0].duration, Duration::from_secs(2));
    }

    #[test]
    fn sweeps_expand_to_the_cartesian_product() {
        let p = plan("cpu_quota_us = [10000, 50000]\ncpu_period_us = [10000, 100000]\nmemory_max = \"64MiB\"");
        let ids: Vec<&str> = p.lifecycle.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "c-q10000-p10000",
                "c-q10000-p100000",
                "c-q50000-p10000",
                "c-q50000-p100000"
            ]
        );
        assert_eq!(
            p.lifecycle[1].cpu_max.unwrap().quota,
            Some(Duration::from_millis(10))
        );
        assert_eq!(p.lifecycle[1].memory_max_bytes, Some(64 << 20));
        assert!(p.lifecycle[0].swap_off);
        assert_eq!(p.lifecycle[0].repeat, 3);
    }

    #[test]
    fn quota_alone_gets_the_default_period_and_cpus_ids_stay_valid() {
        let p = plan("cpu_quota_us = 20000\ncpus = [\"0\", \"0,1\"]");
        assert_eq!(
            p.lifecycle[0].cpu_max.unwrap().period,
            Duration::from_micros(DEFAULT_PERIOD_US)
        );
        assert_eq!(p.lifecycle[1].id, "c-cpus0_1");
        for c in &p.lifecycle {
            crate::cgroup::validate_name(&c.id).unwrap();
        }
    }

    #[test]
    fn ns_cases_put_the_baseline_first_and_add_concurrency() {
        let text = "schema = 1\nname = \"n\"\n[ns_latency]\nkinds = [\"net\", \"none\"]\nmethods = [\"clone\", \"setns\"]\nconcurrency = [1, 2]\n";
        let p = Plan::build(&[Scenario::parse(text, "n").unwrap()], false);
        let ids: Vec<&str> = p.ns.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "noop",
                "none-clone",
                "none-setns",
                "net-clone",
                "net-setns",
                "none-clone-c2",
                "none-setns-c2",
                "net-clone-c2",
                "net-setns-c2"
            ]
        );
        assert!(
            p.ns[3].rate.is_some(),
            "net-clone gets the sustained-rate loop"
        );
        assert!(p.ns[4].rate.is_none() && p.ns[7].rate.is_none());
        assert_eq!(p.ns[7].workers, 2);
        assert_eq!(p.ns_verify, vec![NsKind::Net]);
    }

    #[test]
    fn quick_shortens_the_run() {
        let text = "schema = 1\nname = \"t\"\n[cgroup_lifecycle]\nrepeat = 9\nhold_ms = 500\n[[cgroup_lifecycle.case]]\nname = \"c\"\n";
        let p = Plan::build(&[Scenario::parse(text, "t").unwrap()], true);
        assert_eq!(p.lifecycle[0].repeat, 1);
        assert_eq!(p.lifecycle[0].hold, Duration::from_millis(10));
    }
}
