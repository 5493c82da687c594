//! Parsers for the statistics files of both cgroup versions, and the typed
//! values the [`super::Cgroup`] readers return. Pure text → values, tested
//! against fixtures of real hosts.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// CPU time used and CFS bandwidth throttling of a cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuStat {
    /// Total CPU time consumed (v1 cpuacct.usage, v2 cpu.stat usage_usec).
    pub usage: Duration,
    /// Enforcement periods that elapsed while the group was runnable.
    pub nr_periods: u64,
    /// Periods in which the group was throttled.
    pub nr_throttled: u64,
    /// Total time throttled.
    pub throttled: Duration,
    /// Whether the kernel reported bandwidth statistics (nr_periods) at all: a
    /// missing key is no evidence of zero periods.
    pub has_periods: bool,
}

impl CpuStat {
    /// What the counters moved since `earlier`.
    pub fn since(&self, earlier: &CpuStat) -> CpuStat {
        CpuStat {
            usage: self.usage.saturating_sub(earlier.usage),
            nr_periods: self.nr_periods.saturating_sub(earlier.nr_periods),
            nr_throttled: self.nr_throttled.saturating_sub(earlier.nr_throttled),
            throttled: self.throttled.saturating_sub(earlier.throttled),
            has_periods: self.has_periods && earlier.has_periods,
        }
    }
}

/// CPU time the kernel charged to a cgroup, as its accounting files split it
/// (v1 cpuacct.usage, .usage_percpu, .stat; v2 cpu.stat's usage, user and
/// system keys, which every cgroup2 directory has, with or without the cpu
/// controller).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuAcct {
    /// Total CPU time consumed.
    pub usage: Duration,
    /// Of it in user mode (v1: USER_HZ ticks, so 10 ms steps at 100 Hz).
    pub user: Duration,
    /// Of it in the kernel on the tasks' behalf.
    pub system: Duration,
    /// Per CPU, indexed by CPU number (v1 cpuacct.usage_percpu); `None` on
    /// v2, which has no per-CPU file.
    pub per_cpu: Option<Vec<Duration>>,
}

impl CpuAcct {
    /// What the counters moved since `earlier`.
    pub fn since(&self, earlier: &CpuAcct) -> CpuAcct {
        CpuAcct {
            usage: self.usage.saturating_sub(earlier.usage),
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
            per_cpu: match (&self.per_cpu, &earlier.per_cpu) {
                (Some(a), Some(b)) => Some(
                    a.iter()
                        .enumerate()
                        .map(|(i, x)| x.saturating_sub(b.get(i).copied().unwrap_or_default()))
                        .collect(),
                ),
                _ => None,
            },
        }
    }
}

/// v2 cpu.stat's accounting keys (µs).
pub fn cpu_acct_v2(text: &str) -> CpuAcct {
    let m = flat_keyed(text);
    let us = |k: &str| Duration::from_micros(m.get(k).copied().unwrap_or(0));
    CpuAcct {
        usage: us("usage_usec"),
        user: us("user_usec"),
        system: us("system_usec"),
        per_cpu: None,
    }
}

/// v1 cpuacct: usage (ns), usage_percpu (ns per CPU, space separated), and
/// cpuacct.stat (`user N` / `system N` in USER_HZ ticks, `user_hz` a second).
pub fn cpu_acct_v1(usage_ns: u64, percpu: &str, stat: &str, user_hz: u64) -> CpuAcct {
    let m = flat_keyed(stat);
    let ticks = |k: &str| {
        let t = m.get(k).copied().unwrap_or(0);
        Duration::from_nanos(t.saturating_mul(1_000_000_000) / user_hz.max(1))
    };
    CpuAcct {
        usage: Duration::from_nanos(usage_ns),
        user: ticks("user"),
        system: ticks("system"),
        per_cpu: Some(
            percpu
                .split_whitespace()
                .map(|v| Duration::from_nanos(v.parse().unwrap_or(0)))
                .collect(),
        ),
    }
}

/// Memory use and OOM counters of a cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStat {
    pub current_bytes: u64,
    /// High-water mark (v1 max_usage_in_bytes; v2 memory.peak, kernel ≥ 5.19).
    pub peak_bytes: Option<u64>,
    /// Processes killed by the OOM killer in this cgroup (v1 oom_control, v2 memory.events).
    pub oom_kill: u64,
    /// Times the limit was hit (v1 failcnt, v2 memory.events max).
    pub max_events: u64,
    /// Times usage went over memory.high (v2 memory.events high; v1 has none).
    pub high_events: Option<u64>,
}

/// IO done by a cgroup on one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IoStat {
    pub major: u32,
    pub minor: u32,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ios: u64,
    pub write_ios: u64,
}

/// `key value` lines (cpu.stat, memory.events, memory.oom_control, cgroup.events).
/// Lines that do not have that shape are skipped: kernels add keys over time.
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse().ok()?;
            it.next().is_none().then(|| (k.to_string(), v))
        })
        .collect()
}

/// v2 cpu.stat: usage in µs; throttling keys exist only with the cpu controller.
pub fn cpu_stat_v2(text: &str) -> CpuStat {
    let m = flat_keyed(text);
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    CpuStat {
        usage: Duration::from_micros(get("usage_usec")),
        nr_periods: get("nr_periods"),
        nr_throttled: get("nr_throttled"),
        throttled: Duration::from_micros(get("throttled_usec")),
        has_periods: m.contains_key("nr_periods"),
    }
}

/// v1 cpu.stat (throttling, throttled_time in ns) plus cpuacct.usage (ns).
pub fn cpu_stat_v1(cpu_stat: &str, cpuacct_usage_ns: u64) -> CpuStat {
    let m = flat_keyed(cpu_stat);
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    CpuStat {
        usage: Duration::from_nanos(cpuacct_usage_ns),
        nr_periods: get("nr_periods"),
        nr_throttled: get("nr_throttled"),
        throttled: Duration::from_nanos(get("throttled_time")),
        has_periods: m.contains_key("nr_periods"),
    }
}

/// v2 io.stat: `MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..`.
pub fn io_stat_v2(text: &str) -> Vec<IoStat> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(parse_dev) else {
            continue;
        };
        let mut s = IoStat {
            major,
            minor,
            ..IoStat::default()
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let v: u64 = v.parse().unwrap_or(0);
            match k {
                "rbytes" => s.read_bytes = v,
                "wbytes" => s.write_bytes = v,
                "rios" => s.read_ios = v,
                "wios" => s.write_ios = v,
                _ => {}
            }
        }
        out.push(s);
    }
    out
}

/// v1 blkio.throttle.io_service_bytes and io_serviced:
/// `MAJ:MIN Read|Write|Sync|Async|Discard|Total N` lines and a final `Total N`.
pub fn io_stat_v1(service_bytes: &str, serviced: &str) -> Vec<IoStat> {
    let mut by_dev: BTreeMap<(u32, u32), IoStat> = BTreeMap::new();
    let mut fold = |text: &str, bytes: bool| {
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [dev, op, n] = f[..] else { continue };
            let Some((major, minor)) = parse_dev(dev) else {
                continue;
            };
            let n: u64 = n.parse().unwrap_or(0);
            let s = by_dev.entry((major, minor)).or_insert(IoStat {
                major,
                minor,
                ..IoStat::default()
            });
            match (op, bytes) {
                ("Read", true) => s.read_bytes = n,
                ("Write", true) => s.write_bytes = n,
                ("Read", false) => s.read_ios = n,
                ("Write", false) => s.write_ios = n,
                _ => {}
            }
        }
    };
    fold(service_bytes, true);
    fold(serviced, false);
    by_dev.into_values().collect()
}

/// `MAJ:MIN` → numbers.
pub fn parse_dev(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn v2_cpu_stat() {
        let s = cpu_stat_v2(&fixture("v2/cpu.stat"));
        assert_eq!(s.usage, Duration::from_micros(2_514_321));
        assert_eq!(s.nr_periods, 52);
        assert_eq!(s.nr_throttled, 47);
        assert_eq!(s.throttled, Duration::from_micros(2_200_118));
    }

    #[test]
    fn v2_cpu_stat_without_cpu_controller() {
        let s = cpu_stat_v2("usage_usec 10\nuser_usec 5\nsystem_usec 5\n");
        assert_eq!(s.usage, Duration::from_micros(10));
        assert_eq!(s.nr_periods, 0);
    }

    #[test]
    fn v1_cpu_stat() {
        let s = cpu_stat_v1(&fixture("v1/cpu.stat"), 1_234_567_890);
        assert_eq!(s.usage, Duration::from_nanos(1_234_567_890));
        assert_eq!(s.nr_periods, 20);
        assert_eq!(s.nr_throttled, 19);
        assert_eq!(s.throttled, Duration::from_nanos(1_602_170_516));
    }

    #[test]
    fn cpu_accounting_of_both_versions() {
        let v2 = cpu_acct_v2(&fixture("v2/cpu.stat"));
        assert_eq!(v2.usage, Duration::from_micros(2_514_321));
        assert_eq!(v2.user, Duration::from_micros(2_510_000));
        assert_eq!(v2.system, Duration::from_micros(4_321));
        assert_eq!(v2.per_cpu, None);
        // This host: 100 ticks a second.
        let v1 = cpu_acct_v1(
            34_529_000_000_000,
            &fixture("v1/cpuacct.usage_percpu"),
            &fixture("v1/cpuacct.stat"),
            100,
        );
        assert_eq!(
            v1.user,
            Duration::from_secs(31_671) + Duration::from_millis(240)
        );
        assert_eq!(
            v1.system,
            Duration::from_secs(2_876) + Duration::from_millis(780)
        );
        assert_eq!(
            v1.per_cpu,
            Some(vec![
                Duration::from_nanos(17_784_647_056_042),
                Duration::from_nanos(16_763_390_581_099)
            ])
        );
        let later = CpuAcct {
            usage: v1.usage + Duration::from_millis(5),
            user: v1.user + Duration::from_millis(10),
            system: v1.system,
            per_cpu: Some(vec![
                Duration::from_nanos(17_784_647_056_042),
                Duration::from_nanos(16_763_390_581_099 + 5_000_000),
            ]),
        };
        let d = later.since(&v1);
        assert_eq!(d.usage, Duration::from_millis(5));
        assert_eq!(d.user, Duration::from_millis(10));
        assert_eq!(
            d.per_cpu,
            Some(vec![Duration::ZERO, Duration::from_millis(5)])
        );
    }

    #[test]
    fn v2_memory_events_and_v1_oom_control() {
        let ev = flat_keyed(&fixture("v2/memory.events"));
        assert_eq!(ev["oom_kill"], 1);
        assert_eq!(ev["max"], 418);
        let oc = flat_keyed(&fixture("v1/memory.oom_control"));
        assert_eq!(oc["oom_kill"], 1);
        assert_eq!(oc["under_oom"], 0);
    }

    #[test]
    fn io_stats_of_both_versions() {
        let v2 = io_stat_v2(&fixture("v2/io.stat"));
        assert_eq!(v2.len(), 2);
        assert_eq!((v2[1].major, v2[1].minor), (7, 0));
        assert_eq!(v2[1].read_bytes, 52_428_800);
        assert_eq!(v2[1].read_ios, 12_800);
        assert_eq!(v2[1].write_ios, 0);
        let v1 = io_stat_v1(
            &fixture("v1/blkio.throttle.io_service_bytes"),
            &fixture("v1/blkio.throttle.io_serviced"),
        );
        assert_eq!(v1.len(), 1);
        assert_eq!(v1[0].read_bytes, 10_485_760);
        assert_eq!(v1[0].write_bytes, 4096);
        assert_eq!(v1[0].read_ios, 2560);
        assert_eq!(v1[0].write_ios, 1);
    }

    #[test]
    fn dev_numbers() {
        assert_eq!(parse_dev("259:0"), Some((259, 0)));
        assert_eq!(parse_dev("Total"), None);
        assert_eq!(parse_dev("1"), None);
        assert_eq!(parse_dev("a:1"), None);
    }
}
