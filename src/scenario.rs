//! Scenario files: the TOML a user writes, its defaults, and validation.
//!
//! Validation happens before anything touches a cgroup: an unknown key, a wrong
//! type or an impossible value is a [`ScenarioError`] naming the file, the key
//! and the value. A default scenario is compiled into the binary.

use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroup::{validate_name, DevId};
use crate::cpulist::CpuList;

/// The scenario schema this build reads.
pub const SCHEMA: u32 = 1;

/// The default scenario, compiled in so `isobench run` works with no file.
pub const DEFAULT_TOML: &str = include_str!("../scenarios/default.toml");

/// A value or a list of values to sweep over.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Sweep<T> {
    One(T),
    Many(Vec<T>),
}

/// By hand rather than `#[serde(untagged)]`, whose error ("data did not match any
/// variant") would hide what is wrong with the value.
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Sweep<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let one = |v: toml::Value| v.try_into::<T>().map_err(|e| D::Error::custom(e.message()));
        match toml::Value::deserialize(d)? {
            toml::Value::Array(items) => items
                .into_iter()
                .map(one)
                .collect::<Result<_, _>>()
                .map(Sweep::Many),
            v => one(v).map(Sweep::One),
        }
    }
}

impl<T: Clone> Sweep<T> {
    pub fn values(&self) -> Vec<T> {
        match self {
            Sweep::One(v) => vec![v.clone()],
            Sweep::Many(v) => v.clone(),
        }
    }
}

/// A byte count: an integer, or a string with a binary suffix (`64MiB`, `1G`, `512k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u64")]
pub struct Bytes(pub u64);

impl From<Bytes> for u64 {
    fn from(b: Bytes) -> u64 {
        b.0
    }
}

/// Parses `64MiB`, `64M`, `64m`, `1G`, `4096`: suffixes are binary (×1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (use bytes or a suffix: 64MiB, 1G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        "t" | "tib" | "tb" => 1 << 40,
        _ => return Err(format!("`{s}` has an unknown unit (use K, M, G, T)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(n) if n >= 0 => Ok(Bytes(n as u64)),
            toml::Value::String(s) => parse_bytes(&s).map(Bytes).map_err(D::Error::custom),
            v => Err(D::Error::custom(format!(
                "expected a size in bytes or a string such as \"64MiB\", found {v}"
            ))),
        }
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
            write!(f, "{}GiB", b >> 30)
        } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", b >> 20)
        } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", b >> 10)
        } else {
            write!(f, "{b}")
        }
    }
}

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

/// The `ns_latency` section: namespace creation latency per kind and method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NsSpec {
    /// Namespace kinds: mnt pid net ipc uts user cgroup time, all (every flag at
    /// once) and none (a plain process, the baseline). Default: every kind.
    #[serde(default = "default_kinds")]
    pub kinds: Vec<String>,
    /// clone, unshare, setns. Default: all three.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Timed operations per case and worker.
    #[serde(default = "default_iterations")]
    pub iterations: u64,
    /// Operations run and discarded before timing starts.
    #[serde(default = "default_warmup")]
    pub warmup: u64,
    /// Parallel workers for the scaling cases (`-c<N>`); 1 is the serial case, which
    /// always runs. Default: the number of online CPUs.
    pub concurrency: Option<Vec<u32>>,
    /// Length of the sustained create+destroy loop for kinds with a network
    /// namespace, ms (0: off).
    #[serde(default = "default_rate_ms")]
    pub rate_ms: u64,
    /// How long to wait for network namespace teardown after a case, ms.
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
    /// Verify the isolation each kind gives.
    #[serde(default = "default_true")]
    pub verify: bool,
    /// Include the `noop` case (an empty timed operation: the measurement floor).
    #[serde(default = "default_true")]
    pub noop: bool,
}

/// The `cpuset` section: placement accuracy and migration latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpusetSpec {
    /// Sets to pin spinners to, one case each (`pin-<set>`). Default: every
    /// online CPU alone, then all of them.
    pub sets: Option<Vec<String>>,
    /// Pairs of sets to move spinners between (`move-<from>-<to>`), alternating.
    /// Default: the first two online CPUs, where there are two.
    pub moves: Option<Vec<[String; 2]>>,
    /// Spinning threads, each sampling sched_getcpu().
    #[serde(default = "default_cpuset_threads")]
    pub threads: u32,
    /// How long each pinned case samples, ms.
    #[serde(default = "default_sample_ms")]
    pub duration_ms: u64,
    /// cpuset changes per move case (the migration latency distribution).
    #[serde(default = "default_migrations")]
    pub migrations: u32,
}

fn default_cpuset_threads() -> u32 {
    2
}
fn default_sample_ms() -> u64 {
    1000
}
fn default_migrations() -> u32 {
    20
}

/// The `cgroup_ops` section: latency of the cgroup operations themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSpec {
    /// Sibling counts to measure at (`s<N>`): the operated cgroup has N-1 siblings.
    #[serde(default = "default_siblings")]
    pub siblings: Vec<u32>,
    /// Operations timed per sibling count.
    #[serde(default = "default_ops_repeat")]
    pub repeat: u32,
}

/// The `cpu_quota` section: CFS bandwidth fidelity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Quotas as a percentage of one CPU per period.
    #[serde(default = "default_quota_pct")]
    pub quota_pct: Vec<u32>,
    /// Periods, µs (1000 … 1000000).
    #[serde(default = "default_period_us")]
    pub period_us: Vec<u64>,
    /// Spinning threads per case; default 1, 2 and the online CPUs.
    pub threads: Option<Vec<u32>>,
    /// Length of each case, ms (the tolerance applies from 2000 ms).
    #[serde(default = "default_quota_ms")]
    pub duration_ms: u64,
    /// Allowed |achieved − expected| / expected, %.
    #[serde(default = "default_quota_tol")]
    pub tolerance_pct: f64,
    /// Add the fibtest-like case: 10 % of a CPU for `fibtest_ms`, one busy
    /// thread plus mostly idle ones.
    #[serde(default = "default_true")]
    pub fibtest: bool,
    #[serde(default = "default_fibtest_ms")]
    pub fibtest_ms: u64,
}

fn default_quota_pct() -> Vec<u32> {
    vec![5, 10, 25, 50, 100, 150]
}
fn default_period_us() -> Vec<u64> {
    vec![10_000, 100_000]
}
fn default_quota_ms() -> u64 {
    2000
}
fn default_quota_tol() -> f64 {
    5.0
}
fn default_fibtest_ms() -> u64 {
    5000
}

/// The `cpu_weight` section: CPU split between sibling groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSpec {
    /// Each list is one case: sibling groups with these weights (v2 scale).
    #[serde(default = "default_weights")]
    pub weights: Vec<Vec<u64>>,
    /// The CPUs every group's spinners share (default: CPU 0).
    #[serde(default = "default_weight_cpus")]
    pub cpus: String,
    /// Spinning threads per group.
    #[serde(default = "default_one")]
    pub threads: u32,
    #[serde(default = "default_quota_ms")]
    pub duration_ms: u64,
    /// Allowed |share − expected share| / expected share, %.
    #[serde(default = "default_weight_tol")]
    pub tolerance_pct: f64,
}

fn default_weights() -> Vec<Vec<u64>> {
    vec![vec![100, 200], vec![100, 300, 600]]
}
fn default_weight_cpus() -> String {
    "0".into()
}
fn default_one() -> u32 {
    1
}
fn default_weight_tol() -> f64 {
    10.0
}

/// The `pids` section: does fork fail exactly at pids.max?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PidsSpec {
    /// pids.max values, one case each (`max<N>`).
    #[serde(default = "default_pids_max")]
    pub max: Vec<u64>,
}

fn default_pids_max() -> Vec<u64> {
    vec![1, 16, 128]
}

/// The `memory` section: memory.max enforced, OOM recognised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    /// memory.max values; each gets the cases `below-`, `above-`, `killed-` and
    /// (v2) `high-<limit>`.
    #[serde(default = "default_memory_limits")]
    pub limits: Vec<Bytes>,
    /// Slack allowed above the limit for the peak (the per-CPU charge batch).
    #[serde(default = "default_memory_slack")]
    pub slack: Bytes,
}

fn default_memory_limits() -> Vec<Bytes> {
    vec![Bytes(64 << 20)]
}
fn default_memory_slack() -> Bytes {
    Bytes(2 << 20)
}

/// The `freezer` section: freeze and thaw latency, no progress while frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezerSpec {
    /// Spinning threads in the frozen cgroup.
    #[serde(default = "default_cpuset_threads")]
    pub threads: u32,
    /// Freeze/thaw cycles per case.
    #[serde(default = "default_freeze_repeat")]
    pub repeat: u32,
    /// CPU quotas (% of a CPU per 100 ms) to freeze under, one case each; 0: none.
    /// A throttled task must run to freeze, so a quota shows in the latency.
    #[serde(default = "default_freeze_quota")]
    pub quota_pct: Vec<u32>,
}

fn default_freeze_repeat() -> u32 {
    20
}
fn default_freeze_quota() -> Vec<u32> {
    vec![0, 20]
}

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

/// The IO probe measures its rate in windows of this length; a limit must allow a
/// few IOs per window for the rate to mean anything.
pub const IO_MIN_IOS_PER_S: u64 = 20;

/// The smallest memory limit the memory probe accepts: the worker process
/// itself needs a few MiB before it touches anything.
pub const MIN_MEMORY_PROBE_BYTES: u64 = 16 << 20;

fn default_siblings() -> Vec<u32> {
    vec![1, 10, 100, 1000]
}
fn default_ops_repeat() -> u32 {
    50
}

fn default_kinds() -> Vec<String> {
    crate::ns::NsKind::EVERY
        .iter()
        .map(|k| k.to_string())
        .collect()
}
fn default_methods() -> Vec<String> {
    crate::ns::Method::ALL
        .iter()
        .map(|m| m.to_string())
        .collect()
}
fn default_iterations() -> u64 {
    200
}
fn default_warmup() -> u64 {
    20
}
fn default_rate_ms() -> u64 {
    1000
}
fn default_drain_timeout_ms() -> u64 {
    30_000
}
fn default_true() -> bool {
    true
}

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub schema: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub cgroup_lifecycle: Option<LifecycleSpec>,
    pub ns_latency: Option<NsSpec>,
    pub cpuset: Option<CpusetSpec>,
    pub cgroup_ops: Option<OpsSpec>,
    pub cpu_quota: Option<QuotaSpec>,
    pub cpu_weight: Option<WeightSpec>,
    pub pids: Option<PidsSpec>,
    pub memory: Option<MemorySpec>,
    pub freezer: Option<FreezerSpec>,
    pub io: Option<IoProbeSpec>,
}

/// A scenario that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{reason}{}", subject(key, value), hint.as_ref().map(|h| format!("; hint: {h}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub key: String,
    pub value: String,
    pub reason: String,
    pub hint: Option<String>,
}

/// `key = value: `, `key: ` or nothing, for the one-line message.
fn subject(key: &str, value: &str) -> String {
    match (key.is_empty(), value.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!("{key}: "),
        (false, false) => format!("{key} = {value}: "),
    }
}

/// What validation needs to know about the host.
#[derive(Debug, Clone)]
pub struct HostLimits {
    pub online_cpus: CpuList,
    pub online_mems: CpuList,
    pub page_size_bytes: u64,
}

impl HostLimits {
    pub fn probe() -> HostLimits {
        HostLimits {
            online_cpus: crate::host::online_cpus(),
            online_mems: crate::host::online_mems(),
            page_size_bytes: nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
                .ok()
                .flatten()
                .map_or(4096, |v| v as u64),
        }
    }
}

/// Where a scenario came from, for messages.
pub const EMBEDDED: &str = "<default scenario>";

impl Scenario {
    /// Reads and parses a scenario file (not yet validated against the host).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let err = |reason: String, hint: Option<&str>| ScenarioError {
            file: file.clone(),
            key: String::new(),
            value: String::new(),
            reason,
            hint: hint.map(str::to_string),
        };
        if path.is_dir() {
            return Err(err("is a directory".into(), Some("pass a .toml file")));
        }
        let bytes = std::fs::read(path).map_err(|e| {
            err(
                format!("cannot read the scenario: {}", io_text(&e)),
                Some("scenarios/ holds the shipped scenarios"),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            err(
                format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
                None,
            )
        })?;
        Scenario::parse(&text, &file)
    }

    /// The compiled-in default scenario.
    pub fn embedded() -> Scenario {
        Scenario::parse(DEFAULT_TOML, EMBEDDED).expect("the embedded default scenario parses")
    }

    /// Parses TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        toml::from_str(text).map_err(|e| toml_error(&e, text, file))
    }

    /// Checks every value against the rules and the host. Returns the first problem.
    pub fn validate(&self, file: &str, host: &HostLimits) -> Result<(), ScenarioError> {
        let err =
            |key: String, value: String, reason: String, hint: Option<String>| ScenarioError {
                file: file.to_string(),
                key,
                value,
                reason,
                hint,
            };
        if self.schema != SCHEMA {
            return Err(err(
                "schema".into(),
                self.schema.to_string(),
                format!("this isobench reads schema {SCHEMA}"),
                None,
            ));
        }
        if let Some(ns) = &self.ns_latency {
            validate_ns(ns, &err)?;
        }
        if let Some(c) = &self.cpuset {
            let key = |k: &str| format!("cpuset.{k}");
            let list = |k: String, v: &str| {
                check_list(v, &host.online_cpus, "CPU")
                    .map(|_| ())
                    .map_err(|(r, h)| err(k, format!("{v:?}"), r, h))
            };
            for v in c.sets.iter().flatten() {
                list(key("sets"), v)?;
            }
            for [a, b] in c.moves.iter().flatten() {
                list(key("moves"), a)?;
                list(key("moves"), b)?;
                if a == b {
                    return Err(err(
                        key("moves"),
                        format!("[{a:?}, {b:?}]"),
                        "a move needs two different sets".into(),
                        None,
                    ));
                }
            }
            if !(1..=256).contains(&c.threads) {
                return Err(err(
                    key("threads"),
                    c.threads.to_string(),
                    "must be 1 … 256".into(),
                    None,
                ));
            }
            if !(10..=600_000).contains(&c.duration_ms) {
                return Err(err(
                    key("duration_ms"),
                    c.duration_ms.to_string(),
                    "must be 10 … 600000".into(),
                    None,
                ));
            }
            if !(1..=10_000).contains(&c.migrations) {
                return Err(err(
                    key("migrations"),
                    c.migrations.to_string(),
                    "must be 1 … 10000".into(),
                    None,
                ));
            }
        }
        if let Some(q) = &self.cpu_quota {
            let key = |k: &str| format!("cpu_quota.{k}");
            if q.quota_pct.is_empty() || q.quota_pct.iter().any(|&p| p == 0 || p > 100_000) {
                return Err(err(
                    key("quota_pct"),
                    format!("{:?}", q.quota_pct),
                    "every quota must be 1 … 100000 % of a CPU".into(),
                    None,
                ));
            }
            if let Some(p) = q
                .period_us
                .iter()
                .find(|p| !(1000..=1_000_000).contains(*p))
            {
                return Err(err(
                    key("period_us"),
                    p.to_string(),
                    "a CFS period must be 1000 … 1000000 µs (1 ms … 1 s)".into(),
                    None,
                ));
            }
            if q.period_us.is_empty() {
                return Err(err(
                    key("period_us"),
                    "[]".into(),
                    "names no period".into(),
                    None,
                ));
            }
            if let Some(t) = q.threads.iter().flatten().find(|t| !(1..=256).contains(*t)) {
                return Err(err(
                    key("threads"),
                    t.to_string(),
                    "must be 1 … 256".into(),
                    None,
                ));
            }
            if !(100..=600_000).contains(&q.duration_ms) {
                return Err(err(
                    key("duration_ms"),
                    q.duration_ms.to_string(),
                    "must be 100 … 600000".into(),
                    None,
                ));
            }
            if !(q.tolerance_pct > 0.0 && q.tolerance_pct <= 100.0) {
                return Err(err(
                    key("tolerance_pct"),
                    q.tolerance_pct.to_string(),
                    "must be above 0 and at most 100".into(),
                    None,
                ));
            }
        }
        if let Some(w) = &self.cpu_weight {
            let key = |k: &str| format!("cpu_weight.{k}");
            check_list(&w.cpus, &host.online_cpus, "CPU")
                .map_err(|(r, h)| err(key("cpus"), format!("{:?}", w.cpus), r, h))?;
            for case in &w.weights {
                if case.len() < 2 || case.iter().any(|&x| !(1..=10_000).contains(&x)) {
                    return Err(err(
                        key("weights"),
                        format!("{case:?}"),
                        "a case needs at least two weights, each 1 … 10000".into(),
                        None,
                    ));
                }
            }
            if !(1..=64).contains(&w.threads) {
                return Err(err(
                    key("threads"),
                    w.threads.to_string(),
                    "must be 1 … 64".into(),
                    None,
                ));
            }
            if !(100..=600_000).contains(&w.duration_ms) {
                return Err(err(
                    key("duration_ms"),
                    w.duration_ms.to_string(),
                    "must be 100 … 600000".into(),
                    None,
                ));
            }
            if !(w.tolerance_pct > 0.0 && w.tolerance_pct <= 100.0) {
                return Err(err(
                    key("tolerance_pct"),
                    w.tolerance_pct.to_string(),
                    "must be above 0 and at most 100".into(),
                    None,
                ));
            }
        }
        if let Some(p) = &self.pids {
            if p.max.is_empty() {
                return Err(err(
                    "pids.max".into(),
                    "[]".into(),
                    "names no limit".into(),
                    None,
                ));
            }
            if let Some(m) = p.max.iter().find(|&&m| !(1..=100_000).contains(&m)) {
                return Err(err(
                    "pids.max".into(),
                    m.to_string(),
                    "pids.max must be 1 … 100000 (the worker itself is a task)".into(),
                    None,
                ));
            }
        }
        if let Some(m) = &self.memory {
            if m.limits.is_empty() {
                return Err(err(
                    "memory.limits".into(),
                    "[]".into(),
                    "names no limit".into(),
                    None,
                ));
            }
            if let Some(l) = m.limits.iter().find(|l| l.0 < MIN_MEMORY_PROBE_BYTES) {
                return Err(err(
                    "memory.limits".into(),
                    l.to_string(),
                    format!(
                        "a memory limit for this probe must be at least {}",
                        Bytes(MIN_MEMORY_PROBE_BYTES)
                    ),
                    Some("the workload process itself needs a few MiB".into()),
                ));
            }
        }
        if let Some(io) = &self.io {
            validate_io(io, &err)?;
        }
        if let Some(f) = &self.freezer {
            if !(1..=64).contains(&f.threads) {
                return Err(err(
                    "freezer.threads".into(),
                    f.threads.to_string(),
                    "must be 1 … 64".into(),
                    None,
                ));
            }
            if !(1..=1000).contains(&f.repeat) {
                return Err(err(
                    "freezer.repeat".into(),
                    f.repeat.to_string(),
                    "must be 1 … 1000".into(),
                    None,
                ));
            }
            if f.quota_pct.is_empty() || f.quota_pct.iter().any(|&q| q > 100 || (q > 0 && q < 1)) {
                return Err(err(
                    "freezer.quota_pct".into(),
                    format!("{:?}", f.quota_pct),
                    "each must be 0 (no quota) … 100".into(),
                    None,
                ));
            }
        }
        if let Some(o) = &self.cgroup_ops {
            if o.siblings.is_empty() {
                return Err(err(
                    "cgroup_ops.siblings".into(),
                    "[]".into(),
                    "names no sibling count".into(),
                    None,
                ));
            }
            for &n in &o.siblings {
                if !(1..=10_000).contains(&n) {
                    return Err(err(
                        "cgroup_ops.siblings".into(),
                        n.to_string(),
                        "must be 1 … 10000".into(),
                        None,
                    ));
                }
            }
            if !(1..=100_000).contains(&o.repeat) {
                return Err(err(
                    "cgroup_ops.repeat".into(),
                    o.repeat.to_string(),
                    "must be 1 … 100000".into(),
                    None,
                ));
            }
        }
        let Some(lc) = &self.cgroup_lifecycle else {
            return Ok(());
        };
        if !(1..=10_000).contains(&lc.repeat) {
            return Err(err(
                "cgroup_lifecycle.repeat".into(),
                lc.repeat.to_string(),
                "must be 1 … 10000".into(),
                None,
            ));
        }
        if lc.hold_ms > 600_000 {
            return Err(err(
                "cgroup_lifecycle.hold_ms".into(),
                lc.hold_ms.to_string(),
                "must be at most 600000 (10 min)".into(),
                None,
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, c) in lc.cases.iter().enumerate() {
            let key = |k: &str| format!("cgroup_lifecycle.case[{i}].{k}");
            if validate_name(&c.name).is_err() {
                return Err(err(
                    key("name"),
                    format!("{:?}", c.name),
                    "not a valid case id".into(),
                    Some(
                        "use 1-200 characters of a-z A-Z 0-9 _ . - (no `/`, not `.` or `..`)"
                            .into(),
                    ),
                ));
            }
            if seen.contains(&c.name.as_str()) {
                return Err(err(
                    key("name"),
                    format!("{:?}", c.name),
                    "duplicate case id".into(),
                    None,
                ));
            }
            seen.push(&c.name);
            let empty = |k: &str| {
                err(
                    key(k),
                    "[]".into(),
                    "an empty list sweeps nothing".into(),
                    None,
                )
            };
            for_each(
                &c.cpus,
                || empty("cpus"),
                |v| {
                    check_list(v, &host.online_cpus, "CPU")
                        .map(|_| ())
                        .map_err(|(r, h)| err(key("cpus"), format!("{v:?}"), r, h))
                },
            )?;
            if let Some(m) = &c.mems {
                check_list(m, &host.online_mems, "memory node")
                    .map_err(|(r, h)| err(key("mems"), format!("{m:?}"), r, h))?;
            }
            for_each(
                &c.cpu_quota_us,
                || empty("cpu_quota_us"),
                |&q| {
                    if q < 1000 {
                        return Err(err(
                            key("cpu_quota_us"),
                            q.to_string(),
                            "a CFS quota must be at least 1000 µs (1 ms)".into(),
                            None,
                        ));
                    }
                    Ok(())
                },
            )?;
            for_each(
                &c.cpu_period_us,
                || empty("cpu_period_us"),
                |&p| {
                    if !(1000..=1_000_000).contains(&p) {
                        return Err(err(
                            key("cpu_period_us"),
                            p.to_string(),
                            "a CFS period must be 1000 … 1000000 µs (1 ms … 1 s)".into(),
                            None,
                        ));
                    }
                    Ok(())
                },
            )?;
            for_each(
                &c.cpu_weight,
                || empty("cpu_weight"),
                |&w| {
                    if !(1..=10_000).contains(&w) {
                        return Err(err(
                            key("cpu_weight"),
                            w.to_string(),
                            "a CPU weight must be 1 … 10000".into(),
                            None,
                        ));
                    }
                    Ok(())
                },
            )?;
            for (k, sweep) in [
                ("memory_max", &c.memory_max),
                ("memory_high", &c.memory_high),
            ] {
                for_each(
                    sweep,
                    || empty(k),
                    |b| {
                        if b.0 < host.page_size_bytes {
                            return Err(err(
                                key(k),
                                b.to_string(),
                                format!(
                                    "a memory limit must be at least one page ({} bytes)",
                                    host.page_size_bytes
                                ),
                                None,
                            ));
                        }
                        Ok(())
                    },
                )?;
            }
            for_each(
                &c.pids_max,
                || empty("pids_max"),
                |&p| {
                    if p == 0 {
                        return Err(err(
                            key("pids_max"),
                            "0".into(),
                            "pids.max must be at least 1 (the worker itself is a task)".into(),
                            None,
                        ));
                    }
                    Ok(())
                },
            )?;
            if let Some(io) = &c.io {
                resolve_device(&io.device)
                    .map_err(|(r, h)| err(key("io.device"), format!("{:?}", io.device), r, h))?;
                let limits = [
                    ("read_bps", io.read_bps),
                    ("write_bps", io.write_bps),
                    ("read_iops", io.read_iops),
                    ("write_iops", io.write_iops),
                ];
                if limits.iter().all(|(_, v)| v.is_none()) {
                    return Err(err(
                        key("io"),
                        format!("{{ device = {:?} }}", io.device),
                        "names no limit".into(),
                        Some("set read_bps, write_bps, read_iops or write_iops".into()),
                    ));
                }
                for (k, v) in limits {
                    if v == Some(0) {
                        return Err(err(
                            key(&format!("io.{k}")),
                            "0".into(),
                            "an IO limit must be at least 1".into(),
                            None,
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks the `io` section.
fn validate_io(
    io: &IoProbeSpec,
    err: &impl Fn(String, String, String, Option<String>) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let key = |k: &str| format!("io.{k}");
    if io.device != "loop" {
        return Err(err(
            key("device"),
            format!("{:?}", io.device),
            "the io probe only throttles a loop device it makes itself".into(),
            Some("use device = \"loop\"; it never touches a disk that holds data".into()),
        ));
    }
    if !Path::new(crate::loopdev::LOOP_CONTROL).exists() {
        return Err(err(
            key("device"),
            "\"loop\"".into(),
            format!(
                "{} does not exist on this host",
                crate::loopdev::LOOP_CONTROL
            ),
            Some("loop devices need CONFIG_BLK_DEV_LOOP (modprobe loop)".into()),
        ));
    }
    if io.read_bps.is_empty()
        && io.write_bps.is_empty()
        && io.read_iops.is_empty()
        && io.write_iops.is_empty()
    {
        return Err(err(
            key("read_bps"),
            "[]".into(),
            "the io section names no limit".into(),
            Some("set read_bps, write_bps, read_iops or write_iops".into()),
        ));
    }
    for (k, b) in [("bps_block", io.bps_block), ("iops_block", io.iops_block)] {
        let block = u64::from(crate::loopdev::BLOCK_BYTES);
        if b.0 < block || !b.0.is_multiple_of(block) || b.0 > 4 << 20 {
            return Err(err(
                key(k),
                b.to_string(),
                format!(
                    "must be a multiple of {block} bytes (the device's block size), at most 4MiB"
                ),
                None,
            ));
        }
    }
    for (k, limits) in [("read_bps", &io.read_bps), ("write_bps", &io.write_bps)] {
        let min = IO_MIN_IOS_PER_S * io.bps_block.0;
        if let Some(l) = limits.iter().find(|l| l.0 < min) {
            return Err(err(
                key(k),
                l.to_string(),
                format!(
                    "allows fewer than {IO_MIN_IOS_PER_S} blocks of {} a second (at least {} is needed to measure a rate)",
                    io.bps_block,
                    Bytes(min)
                ),
                Some("raise the limit or lower io.bps_block".into()),
            ));
        }
    }
    for (k, limits) in [("read_iops", &io.read_iops), ("write_iops", &io.write_iops)] {
        if let Some(l) = limits.iter().find(|&&l| l < IO_MIN_IOS_PER_S) {
            return Err(err(
                key(k),
                l.to_string(),
                format!("must be at least {IO_MIN_IOS_PER_S} IO/s to measure a rate"),
                None,
            ));
        }
    }
    let largest = io.bps_block.0.max(io.iops_block.0);
    if io.size.0 < 16 * largest || !io.size.0.is_multiple_of(largest) || io.size.0 > 1 << 30 {
        return Err(err(
            key("size"),
            io.size.to_string(),
            format!(
                "must be a multiple of the block size, 16 blocks ({}) … 1GiB",
                Bytes(16 * largest)
            ),
            Some("the device is RAM, freed afterwards".into()),
        ));
    }
    if !(1000..=600_000).contains(&io.duration_ms) {
        return Err(err(
            key("duration_ms"),
            io.duration_ms.to_string(),
            "must be 1000 … 600000".into(),
            None,
        ));
    }
    if !(200..=60_000).contains(&io.baseline_ms) {
        return Err(err(
            key("baseline_ms"),
            io.baseline_ms.to_string(),
            "must be 200 … 60000".into(),
            None,
        ));
    }
    if !(io.tolerance_pct > 0.0 && io.tolerance_pct <= 100.0) {
        return Err(err(
            key("tolerance_pct"),
            io.tolerance_pct.to_string(),
            "must be above 0 and at most 100".into(),
            None,
        ));
    }
    Ok(())
}

/// Checks the `ns_latency` section.
fn validate_ns(
    ns: &NsSpec,
    err: &impl Fn(String, String, String, Option<String>) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let key = |k: &str| format!("ns_latency.{k}");
    if ns.kinds.is_empty() {
        return Err(err(key("kinds"), "[]".into(), "names no kind".into(), None));
    }
    for k in &ns.kinds {
        k.parse::<crate::ns::NsKind>()
            .map_err(|e| err(key("kinds"), format!("{k:?}"), e, None))?;
    }
    if ns.methods.is_empty() {
        return Err(err(
            key("methods"),
            "[]".into(),
            "names no method".into(),
            None,
        ));
    }
    for m in &ns.methods {
        m.parse::<crate::ns::Method>()
            .map_err(|e| err(key("methods"), format!("{m:?}"), e, None))?;
    }
    if !(1..=1_000_000).contains(&ns.iterations) {
        return Err(err(
            key("iterations"),
            ns.iterations.to_string(),
            "must be 1 … 1000000".into(),
            None,
        ));
    }
    if ns.warmup > 100_000 {
        return Err(err(
            key("warmup"),
            ns.warmup.to_string(),
            "must be at most 100000".into(),
            None,
        ));
    }
    for &c in ns.concurrency.iter().flatten() {
        if !(1..=1024).contains(&c) {
            return Err(err(
                key("concurrency"),
                c.to_string(),
                "must be 1 … 1024 workers".into(),
                None,
            ));
        }
    }
    if ns.rate_ms > 60_000 {
        return Err(err(
            key("rate_ms"),
            ns.rate_ms.to_string(),
            "must be at most 60000".into(),
            None,
        ));
    }
    if ns.drain_timeout_ms > 600_000 {
        return Err(err(
            key("drain_timeout_ms"),
            ns.drain_timeout_ms.to_string(),
            "must be at most 600000".into(),
            None,
        ));
    }
    Ok(())
}

/// Runs `f` on every value of a sweep; an empty list is an error of its own
/// (it would silently drop the case).
fn for_each<T: Clone>(
    s: &Option<Sweep<T>>,
    empty: impl FnOnce() -> ScenarioError,
    mut f: impl FnMut(&T) -> Result<(), ScenarioError>,
) -> Result<(), ScenarioError> {
    match s {
        Some(Sweep::Many(v)) if v.is_empty() => Err(empty()),
        Some(s) => s.values().iter().try_for_each(&mut f),
        None => Ok(()),
    }
}

/// A cpus/mems value must parse, be non-empty and name only online ids.
fn check_list(v: &str, online: &CpuList, what: &str) -> Result<CpuList, (String, Option<String>)> {
    let list: CpuList = v.parse().map_err(|e| {
        (
            format!("{e}"),
            Some("use the kernel list format, e.g. \"0-1,3\"".into()),
        )
    })?;
    if list.is_empty() {
        return Err((format!("the {what} list is empty"), None));
    }
    let off = list.difference(online);
    if !off.is_empty() {
        return Err((
            format!("{what} {off} is not online (online: {online})"),
            None,
        ));
    }
    Ok(list)
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

/// An IO error as the kernel's lower-case errno text, without Rust's "(os error N)".
fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let d = nix::errno::Errno::from_raw(n).desc();
            let mut c = d.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        }
        None => e.to_string(),
    }
}

/// A TOML or serde error as one line: file, line, the key on that line, and the message.
fn toml_error(e: &toml::de::Error, text: &str, file: &str) -> ScenarioError {
    // The key and value come from the line the error points at, so an unknown key
    // shows what was written there rather than the key twice.
    let (line_no, key, value) = match e.span() {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("");
            match line.split_once('=') {
                Some((k, v)) => (line_no, k.trim().to_string(), v.trim().to_string()),
                None => (line_no, line.trim().to_string(), String::new()),
            }
        }
        None => (0, String::new(), String::new()),
    };
    ScenarioError {
        file: if line_no > 0 {
            format!("{file}:{line_no}")
        } else {
            file.to_string()
        },
        key,
        value,
        reason: e.message().trim().replace('\n', " "),
        hint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostLimits {
        HostLimits {
            online_cpus: "0-1".parse().unwrap(),
            online_mems: "0".parse().unwrap(),
            page_size_bytes: 4096,
        }
    }

    fn check(body: &str) -> Result<Scenario, ScenarioError> {
        let text = format!("schema = 1\nname = \"t\"\n[cgroup_lifecycle]\n[[cgroup_lifecycle.case]]\nname = \"c\"\n{body}\n");
        let s = Scenario::parse(&text, "t.toml")?;
        s.validate("t.toml", &host())?;
        Ok(s)
    }

    fn msg(body: &str) -> String {
        check(body).unwrap_err().to_string()
    }

    #[test]
    fn embedded_default_is_valid() {
        let s = Scenario::embedded();
        s.validate(EMBEDDED, &HostLimits::probe()).unwrap();
        assert!(!s.cgroup_lifecycle.unwrap().cases.is_empty());
    }

    #[test]
    fn good_values_pass() {
        check("cpus = [\"0\", \"0-1\"]\ncpu_quota_us = 50000\ncpu_period_us = [10000, 100000]\nmemory_max = \"64MiB\"\npids_max = 10").unwrap();
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let m = msg("cpus = \"5\"");
        assert_eq!(
            m,
            "t.toml: cgroup_lifecycle.case[0].cpus = \"5\": CPU 5 is not online (online: 0-1)"
        );
        assert!(msg("cpus = \"\"").contains("list is empty"));
        assert!(msg("cpus = \"1-0\"").contains("runs backwards"));
        assert!(msg("cpu_quota_us = 999")
            .contains("cpu_quota_us = 999: a CFS quota must be at least 1000"));
        assert!(msg("cpu_period_us = 2000000").contains("cpu_period_us = 2000000"));
        assert!(msg("cpu_period_us = [100000, 500]").contains("cpu_period_us = 500"));
        assert!(msg("memory_max = 0")
            .contains("memory_max = 0: a memory limit must be at least one page"));
        assert!(msg("pids_max = 0").contains("pids_max = 0"));
        assert!(msg("cpu_weight = 0").contains("cpu_weight = 0"));
        assert!(
            msg("io = { device = \"/dev/does-not-exist\", read_bps = 1 }")
                .contains("io.device = \"/dev/does-not-exist\": no such file")
        );
        assert!(
            msg("io = { device = \"999:999\", read_bps = 1 }").contains("no block device 999:999")
        );
        assert!(msg("io = { device = \"/dev/null\", read_bps = 1 }").contains("not a block device"));
        assert!(msg("cpus = []").contains("cpus = []: an empty list sweeps nothing"));
        check("").unwrap();
    }

    #[test]
    fn names_cannot_escape() {
        let text = "schema = 1\nname = \"t\"\n[cgroup_lifecycle]\n[[cgroup_lifecycle.case]]\nname = \"../x\"\n";
        let e = Scenario::parse(text, "t.toml")
            .unwrap()
            .validate("t.toml", &host())
            .unwrap_err();
        assert_eq!(e.key, "cgroup_lifecycle.case[0].name");
        assert!(e.to_string().contains("\"../x\""));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_parse_errors() {
        let e = check("cpu_qouta_us = 5").unwrap_err();
        assert_eq!(e.file, "t.toml:6");
        assert!(e.reason.contains("unknown field `cpu_qouta_us`"), "{e}");
        let e = check("pids_max = \"many\"").unwrap_err();
        assert_eq!(e.key, "pids_max");
        assert!(!e.to_string().contains('\n'));
        let e = check("memory_max = \"12XB\"").unwrap_err();
        assert!(e.reason.contains("unknown unit"), "{e}");
        let e = Scenario::parse("schema = 1\nname = \"x\"\nname = \"y\"\n", "d.toml").unwrap_err();
        assert!(e.file.starts_with("d.toml:"), "{e}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("x").is_err());
        assert!(parse_bytes("99999999999T").is_err());
        assert_eq!(Bytes(64 << 20).to_string(), "64MiB");
        assert_eq!(Bytes(1000).to_string(), "1000");
    }

    #[test]
    fn schema_version_is_checked() {
        let s = Scenario::parse("schema = 2\nname = \"x\"\n", "s.toml").unwrap();
        assert!(s
            .validate("s.toml", &host())
            .unwrap_err()
            .to_string()
            .contains("schema = 2"));
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// Every scenario under scenarios/ parses and validates on this host.
    #[test]
    fn shipped_scenarios_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let s = Scenario::load(&p).unwrap();
                s.validate(&p.display().to_string(), &HostLimits::probe())
                    .unwrap();
                n += 1;
            }
        }
        assert!(n >= 2);
    }
}
