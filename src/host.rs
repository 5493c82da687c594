//! The host fingerprint: everything about the machine that changes what the
//! numbers mean — kernel, CONFIG_HZ, CPUs, cgroup layout, scheduler knobs,
//! virtualisation, swap, pressure and load. Stored in every run, so a result
//! folder can be compared across kernels without asking where it came from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cgroup::{Controller, Layout, Manager, Standing};
use crate::cpulist::CpuList;

/// Where each controller lives, as recorded in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerPlace {
    pub controller: String,
    /// `v1`, `v2`, or `none`.
    pub version: String,
    /// The harness's own cgroup directory in that hierarchy.
    pub own_dir: Option<String>,
}

/// Where the harness's own cgroup stands in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchyPlace {
    /// `v1 /sys/fs/cgroup/memory`, `v2 /sys/fs/cgroup`.
    pub hierarchy: String,
    /// The own cgroup as /proc/self/cgroup gives it.
    pub own_cgroup: String,
    pub standing: Standing,
    pub read_only: bool,
}

/// The environment variable a run re-executed in its own systemd scope
/// carries: the scope's unit name.
pub const SYSTEMD_SCOPE_ENV: &str = "ISOBENCH_SYSTEMD_SCOPE";

/// Pressure stall averages (%, over 10 s) where the kernel has PSI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Pressure {
    pub cpu_some_avg10_pct: Option<f64>,
    pub memory_some_avg10_pct: Option<f64>,
    pub io_some_avg10_pct: Option<f64>,
}

/// A description of the host, taken once per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: String,
    pub kernel_release: String,
    pub kernel_version: String,
    pub kernel_cmdline: String,
    /// CONFIG_HZ from the kernel config, where one can be found.
    pub config_hz: Option<u32>,
    /// Preemption model as the kernel version string or config says (`PREEMPT_DYNAMIC`, `PREEMPT_RT`, ...).
    pub preemption: Option<String>,
    pub arch: String,
    pub cpu_model: String,
    pub cpus_online: String,
    pub cpus_online_count: usize,
    pub memory_total_bytes: u64,
    pub swap_total_bytes: u64,
    /// e.g. `kvm`, `qemu (tcg)`, `none`, from the hypervisor CPU flag and DMI.
    pub virtualization: String,
    pub cgroup_layout: String,
    pub controllers: Vec<ControllerPlace>,
    /// Scheduler knobs that shape results (sched_cfs_bandwidth_slice_us, ...).
    pub sched: BTreeMap<String, String>,
    pub pressure: Pressure,
    /// A recorded fact, not what `busy` is judged by (a minute's average
    /// still counts a run that ended seconds ago).
    pub load_avg_1m: f64,
    /// What the CPUs did in the second before the run (absent in folders of
    /// runs that judged `busy` by the load average).
    #[serde(default)]
    pub cpu_sample: Option<CpuSample>,
    /// Other tasks kept the CPUs busy when the run started ([`busy`]): results
    /// are noisier.
    pub busy: bool,
    pub is_root: bool,
    /// Where the own cgroup stands in each hierarchy (absent in folders of
    /// earlier versions).
    #[serde(default)]
    pub cgroup_places: Vec<HierarchyPlace>,
    /// Who manages the cgroup tree above the harness (systemd or nobody).
    #[serde(default)]
    pub cgroup_manager: Option<Manager>,
    /// The transient systemd scope the run made for itself (`Delegate=yes`).
    #[serde(default)]
    pub systemd_scope: Option<String>,
}

/// How busy the online CPUs were over a short window in which the harness
/// itself slept: what [`Host::busy`] is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuSample {
    pub window_ms: u64,
    /// The share of the CPUs' time that was not idle (user, system, irq,
    /// steal), /proc/stat.
    pub busy_pct: f64,
    /// The share of the window in which some task waited for a CPU (PSI cpu
    /// "some"), where the kernel has PSI.
    pub wait_pct: Option<f64>,
}

/// How long the CPUs are watched before a run (and by `check`).
pub const BUSY_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// Busy when other tasks used more than half the CPUs' time…
pub const BUSY_CPU_PCT: f64 = 50.0;

/// …or a task waited for a CPU more than a quarter of the window (contention
/// on some CPUs that the overall share hides: two tasks pinned to one CPU of
/// two are 50 % busy).
pub const BUSY_WAIT_PCT: f64 = 25.0;

/// Whether the host is busy: by the CPU sample where there is one, else
/// (no /proc/stat) by the load average above half the CPUs.
pub fn busy(sample: Option<&CpuSample>, load_avg_1m: f64, cpus: usize) -> bool {
    match sample {
        Some(s) => s.busy_pct > BUSY_CPU_PCT || s.wait_pct.is_some_and(|w| w > BUSY_WAIT_PCT),
        None => load_avg_1m > cpus as f64 * 0.5,
    }
}

/// `total=` of the `some` line of a /proc/pressure file: µs stalled so far.
pub fn parse_psi_some_total_us(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("total="))?
        .parse()
        .ok()
}

/// The sample's figures from the counters before and after a window of
/// `window` (the CPU share from the ticks, which count the CPUs' time whatever
/// their number; the wait from PSI's µs).
pub fn cpu_sample_of(
    times: CpuTimes,
    psi_us: Option<(u64, u64)>,
    window: std::time::Duration,
) -> Option<CpuSample> {
    let total = times.busy + times.idle + times.steal;
    if total.is_zero() {
        return None;
    }
    let busy_pct = (times.busy + times.steal).as_secs_f64() / total.as_secs_f64() * 100.0;
    let wait_pct = psi_us.map(|(a, b)| {
        (b.saturating_sub(a) as f64 / window.as_micros().max(1) as f64 * 100.0).min(100.0)
    });
    Some(CpuSample {
        window_ms: window.as_millis() as u64,
        busy_pct,
        wait_pct,
    })
}

/// Watches `cpus` for `window`, sleeping meanwhile so the harness is not what
/// it sees; `None` without /proc/stat.
pub fn sample_cpus(cpus: &CpuList, window: std::time::Duration) -> Option<CpuSample> {
    let psi = || read("/proc/pressure/cpu").and_then(|t| parse_psi_some_total_us(&t));
    let (t0, p0) = (cpu_times(cpus)?, psi());
    let start = std::time::Instant::now();
    std::thread::sleep(window);
    let (t1, p1) = (cpu_times(cpus)?, psi());
    let elapsed = start.elapsed();
    cpu_sample_of(t1.since(&t0), p0.zip(p1), elapsed)
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The value of `key: value` lines such as /proc/cpuinfo and /proc/meminfo.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// `some avg10=1.23 ...` of a /proc/pressure file.
pub fn parse_psi_some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// CONFIG_HZ in a kernel config text.
pub fn parse_config_hz(config: &str) -> Option<u32> {
    config
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG_HZ="))
        .and_then(|v| v.trim().parse().ok())
}

/// The kernel's build configuration: /boot/config-<release>, else /proc/config.gz.
fn kernel_config(release: &str) -> Option<String> {
    use std::io::Read;
    if let Some(c) = read(&format!("/boot/config-{release}")) {
        return Some(c);
    }
    let gz = std::fs::File::open("/proc/config.gz").ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

fn kb_field(text: &str, key: &str) -> u64 {
    field(text, key)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The kernel's current clocksource (`tsc`, `kvm-clock`, `hpet`, …).
pub fn clocksource() -> Option<String> {
    read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .map(|s| s.trim().to_string())
}

/// Whether user space reads the clock without entering the kernel (the
/// vDSO) on this clocksource; on others (hpet, acpi_pm, jiffies) every
/// clock_gettime is a system call.
pub fn clocksource_has_vdso(name: &str) -> bool {
    matches!(
        name,
        "tsc" | "kvm-clock" | "hyperv_clocksource_tsc_page" | "arch_sys_counter"
    )
}

/// (major, minor) of a kernel release string: `5.10.0-46-cloud-amd64` → (5, 10).
pub fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The online CPUs of this host.
pub fn online_cpus() -> CpuList {
    read("/sys/devices/system/cpu/online")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            CpuList::new(0..n as u32)
        })
}

/// Where the time of some CPUs went, as the kernel saw it (/proc/stat, in
/// USER_HZ ticks: 10 ms steps at 100 Hz).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq.
    pub busy: std::time::Duration,
    /// idle + iowait.
    pub idle: std::time::Duration,
    /// steal: what a hypervisor that says so took away.
    pub steal: std::time::Duration,
}

impl CpuTimes {
    /// What the counters moved since `earlier`.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            busy: self.busy.saturating_sub(earlier.busy),
            idle: self.idle.saturating_sub(earlier.idle),
            steal: self.steal.saturating_sub(earlier.steal),
        }
    }
}

/// The `cpuN` lines of /proc/stat for `cpus`, summed; `user_hz` ticks a second.
pub fn parse_cpu_times(text: &str, cpus: &CpuList, user_hz: u64) -> CpuTimes {
    let tick =
        |t: u64| std::time::Duration::from_nanos(t.saturating_mul(1_000_000_000) / user_hz.max(1));
    let mut sum = [0u64; 8];
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(cpu) = f
            .next()
            .and_then(|c| c.strip_prefix("cpu"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if !cpus.contains(cpu) {
            continue;
        }
        for (s, v) in sum.iter_mut().zip(f) {
            *s += v.parse::<u64>().unwrap_or(0);
        }
    }
    // user nice system idle iowait irq softirq steal
    CpuTimes {
        busy: tick(sum[0] + sum[1] + sum[2] + sum[5] + sum[6]),
        idle: tick(sum[3] + sum[4]),
        steal: tick(sum[7]),
    }
}

/// Where the time of `cpus` went so far (None without /proc/stat).
pub fn cpu_times(cpus: &CpuList) -> Option<CpuTimes> {
    Some(parse_cpu_times(
        &read("/proc/stat")?,
        cpus,
        crate::cgroup::v1::user_hz(),
    ))
}

/// The online memory nodes (a host without NUMA has node 0).
pub fn online_mems() -> CpuList {
    read("/sys/devices/system/node/online")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| CpuList::new([0]))
}

fn virtualization(cpuinfo: &str) -> String {
    let hypervisor =
        field(cpuinfo, "flags").is_some_and(|f| f.split_whitespace().any(|x| x == "hypervisor"));
    let vendor = read("/sys/class/dmi/id/sys_vendor").unwrap_or_default();
    let product = read("/sys/class/dmi/id/product_name").unwrap_or_default();
    let dmi = format!("{vendor} {product}").trim().to_string();
    let kind = match hypervisor_signature().as_deref() {
        Some("TCGTCGTCGTCG") => "tcg".to_string(),
        Some(s) if s.starts_with("KVMKVMKVM") => "kvm".to_string(),
        Some(s) => format!("hypervisor {s}"),
        None => "hypervisor".to_string(),
    };
    match (hypervisor, dmi.is_empty()) {
        (false, true) if Path::new("/sys/hypervisor/type").exists() => {
            read("/sys/hypervisor/type").unwrap_or_else(|| "unknown".into())
        }
        (false, _) if dmi.to_lowercase().contains("qemu") => format!("tcg ({dmi})"),
        (false, _) => "none".into(),
        (true, true) => format!("{kind} (unknown)"),
        (true, false) => format!("{kind} ({dmi})"),
    }
}

/// The hypervisor's CPUID signature (leaf 0x4000_0000): `TCGTCGTCGTCG` under
/// QEMU's emulation, `KVMKVMKVM` under KVM. The DMI strings are QEMU's in
/// both, so this is what tells an emulated CPU (whose timings are indicative
/// only) from a virtualised one.
#[cfg(target_arch = "x86_64")]
fn hypervisor_signature() -> Option<String> {
    let r = std::arch::x86_64::__cpuid(0x4000_0000);
    let bytes: Vec<u8> = [r.ebx, r.ecx, r.edx]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let s = String::from_utf8_lossy(&bytes)
        .trim_end_matches('\0')
        .to_string();
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_graphic())).then_some(s)
}

#[cfg(not(target_arch = "x86_64"))]
fn hypervisor_signature() -> Option<String> {
    None
}

impl Host {
    /// What `busy` was judged by, with its numbers: `CPUs 63 % busy and a
    /// task waiting for one 40 % of the time, over 1 s (/proc/stat, PSI)`, or
    /// the load average for a run recorded before the sample existed.
    pub fn busy_basis(&self) -> String {
        match &self.cpu_sample {
            Some(s) => {
                let secs = s.window_ms as f64 / 1000.0;
                match s.wait_pct {
                    Some(w) => format!(
                        "CPUs {:.0} % busy and a task waiting for one {w:.0} % of the time, over {secs} s (/proc/stat, PSI)",
                        s.busy_pct
                    ),
                    None => format!("CPUs {:.0} % busy over {secs} s (/proc/stat)", s.busy_pct),
                }
            }
            None => format!(
                "load {:.2} on {} CPUs (1-minute load average)",
                self.load_avg_1m, self.cpus_online_count
            ),
        }
    }

    /// Whether the CPU was emulated (QEMU's TCG): fidelity verdicts hold there,
    /// but timings are indicative only, comparable with other emulated runs at best.
    pub fn emulated(&self) -> bool {
        self.virtualization.starts_with("tcg")
    }

    /// Reads the fingerprint of the running host; missing files give empty fields.
    pub fn probe(layout: Option<&Layout>) -> Host {
        let uts = nix::sys::utsname::uname().ok();
        let s = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
            uts.as_ref()
                .map(|u| f(u).to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let release = s(|u| u.release());
        let version = s(|u| u.version());
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let meminfo = read("/proc/meminfo").unwrap_or_default();
        let config = kernel_config(&release);
        let preemption = config
            .as_deref()
            .and_then(|c| {
                [
                    "CONFIG_PREEMPT_RT=y",
                    "CONFIG_PREEMPT_DYNAMIC=y",
                    "CONFIG_PREEMPT=y",
                    "CONFIG_PREEMPT_VOLUNTARY=y",
                    "CONFIG_PREEMPT_NONE=y",
                ]
                .into_iter()
                .find(|k| c.lines().any(|l| l == *k))
                .map(|k| {
                    k.trim_start_matches("CONFIG_")
                        .trim_end_matches("=y")
                        .to_string()
                })
            })
            .or_else(|| {
                ["PREEMPT_RT", "PREEMPT_DYNAMIC", "PREEMPT"]
                    .into_iter()
                    .find(|k| version.contains(k))
                    .map(str::to_string)
            });
        let online = online_cpus();
        let mut sched = BTreeMap::new();
        for knob in [
            "sched_cfs_bandwidth_slice_us",
            "sched_autogroup_enabled",
            "sched_rt_runtime_us",
            "sched_rt_period_us",
        ] {
            if let Some(v) = read(&format!("/proc/sys/kernel/{knob}")) {
                sched.insert(knob.to_string(), v);
            }
        }
        if let Some(v) = read("/sys/kernel/debug/sched/preempt") {
            sched.insert("debug_sched_preempt".into(), v);
        }
        let load_avg_1m = read("/proc/loadavg")
            .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0.0);
        let psi =
            |f: &str| read(&format!("/proc/pressure/{f}")).and_then(|t| parse_psi_some_avg10(&t));
        // Before anything else of the run, and with the harness asleep.
        let cpu_sample = sample_cpus(&online, BUSY_WINDOW);
        let controllers = match layout {
            Some(l) => Controller::ALL
                .iter()
                .map(|&c| {
                    let p = l.placement(c);
                    ControllerPlace {
                        controller: c.to_string(),
                        version: p.version.map_or("none".into(), |v| v.to_string()),
                        own_dir: p
                            .hierarchy
                            .and_then(|i| l.hierarchies[i].own_dir.as_ref())
                            .map(|d| d.display().to_string()),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        let cgroup_places = layout.map_or(Vec::new(), |l| {
            l.hierarchies
                .iter()
                .map(|h| HierarchyPlace {
                    hierarchy: format!("{} {}", h.version, h.mount_point.display()),
                    own_cgroup: h.own_path.clone(),
                    standing: h.standing,
                    read_only: h.read_only,
                })
                .collect()
        });
        let cgroup_manager = layout.map(crate::cgroup::manager::detect);
        // Only our own re-execution sets the variable; it names the unit the
        // own cgroup must then be in.
        let systemd_scope = std::env::var(SYSTEMD_SCOPE_ENV).ok().filter(|u| {
            cgroup_manager
                .as_ref()
                .is_some_and(|m| m.unit.as_deref() == Some(u.as_str()))
        });
        Host {
            cgroup_places,
            cgroup_manager,
            systemd_scope,
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            kernel_cmdline: read("/proc/cmdline").unwrap_or_default(),
            config_hz: config.as_deref().and_then(parse_config_hz),
            preemption,
            arch: s(|u| u.machine()),
            cpu_model: field(&cpuinfo, "model name")
                .unwrap_or("unknown")
                .to_string(),
            cpus_online: online.to_string(),
            cpus_online_count: online.len(),
            memory_total_bytes: kb_field(&meminfo, "MemTotal"),
            swap_total_bytes: kb_field(&meminfo, "SwapTotal"),
            virtualization: virtualization(&cpuinfo),
            cgroup_layout: layout.map_or("none".into(), |l| format!("{:?}", l.kind).to_lowercase()),
            controllers,
            sched,
            pressure: Pressure {
                cpu_some_avg10_pct: psi("cpu"),
                memory_some_avg10_pct: psi("memory"),
                io_some_avg10_pct: psi("io"),
            },
            busy: busy(cpu_sample.as_ref(), load_avg_1m, online.len()),
            cpu_sample,
            load_avg_1m,
            is_root: nix::unistd::geteuid().is_root(),
            kernel_release: release,
            kernel_version: version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_versions() {
        assert_eq!(release_version("5.10.0-46-cloud-amd64"), Some((5, 10)));
        assert_eq!(release_version("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(release_version("7.2.13+deb14-cloud-amd64"), Some((7, 2)));
        assert_eq!(release_version("x"), None);
    }

    #[test]
    fn cpu_times_sum_the_cpus_asked_for() {
        let text = "cpu  10 0 5 100 1 0 0 0 0 0\ncpu0 4 0 2 50 1 0 0 0 0 0\ncpu1 6 1 3 50 0 2 1 7 0 0\nintr 1\n";
        let t = parse_cpu_times(text, &CpuList::new([1]), 100);
        let ms = std::time::Duration::from_millis;
        assert_eq!(
            t,
            CpuTimes {
                busy: ms(130),
                idle: ms(500),
                steal: ms(70)
            }
        );
        let t = parse_cpu_times(text, &CpuList::new([0, 1]), 100);
        assert_eq!(t.idle, ms(1010));
    }

    #[test]
    fn busy_is_judged_by_the_cpu_sample_not_the_load() {
        let sample = |busy_pct, wait_pct| CpuSample {
            window_ms: 1000,
            busy_pct,
            wait_pct,
        };
        // A load of 3 on 2 CPUs from a run that just ended: the CPUs are idle now.
        assert!(!busy(Some(&sample(4.0, Some(0.0))), 3.0, 2));
        assert!(busy(Some(&sample(63.0, None)), 0.1, 2));
        assert!(!busy(Some(&sample(50.0, Some(25.0))), 0.1, 2));
        // Two tasks on one CPU of two: half busy, but a task always waits.
        assert!(busy(Some(&sample(50.0, Some(90.0))), 0.1, 2));
        // No /proc/stat: the load average above half the CPUs.
        assert!(busy(None, 1.1, 2));
        assert!(!busy(None, 0.9, 2));
    }

    #[test]
    fn a_cpu_sample_from_two_readings() {
        let ms = std::time::Duration::from_millis;
        let t = CpuTimes {
            busy: ms(1100),
            idle: ms(800),
            steal: ms(100),
        };
        let s = cpu_sample_of(t, Some((1_000, 301_000)), ms(1000)).unwrap();
        assert_eq!(s.window_ms, 1000);
        assert!((s.busy_pct - 60.0).abs() < 1e-9, "{s:?}");
        assert!((s.wait_pct.unwrap() - 30.0).abs() < 1e-9, "{s:?}");
        assert_eq!(cpu_sample_of(CpuTimes::default(), None, ms(1000)), None);
        let psi = "some avg10=1.50 avg60=0.20 avg300=0.00 total=123\nfull avg10=0.00 total=0\n";
        assert_eq!(parse_psi_some_total_us(psi), Some(123));
        assert_eq!(parse_psi_some_total_us("full total=1\n"), None);
    }

    #[test]
    fn a_host_recorded_before_the_sample_loads_and_says_it_was_the_load() {
        let mut json = serde_json::to_value(crate::sink::fixture::host()).unwrap();
        json.as_object_mut().unwrap().remove("cpu_sample");
        let h: Host = serde_json::from_value(json).unwrap();
        assert_eq!(h.cpu_sample, None);
        assert_eq!(
            h.busy_basis(),
            "load 0.38 on 2 CPUs (1-minute load average)"
        );
    }

    #[test]
    fn psi_and_config_parsers() {
        let psi = "some avg10=1.50 avg60=0.20 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(parse_psi_some_avg10(psi), Some(1.5));
        assert_eq!(parse_psi_some_avg10(""), None);
        assert_eq!(
            parse_config_hz("# c\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"),
            Some(250)
        );
        assert_eq!(parse_config_hz("CONFIG_HZ_1000=y\n"), None);
    }

    #[test]
    fn fields_of_proc_files() {
        let meminfo = "MemTotal:       24683652 kB\nSwapTotal:             0 kB\n";
        assert_eq!(kb_field(meminfo, "MemTotal"), 24_683_652 * 1024);
        assert_eq!(kb_field(meminfo, "SwapTotal"), 0);
        assert_eq!(
            field("model name\t: AMD EPYC\n", "model name"),
            Some("AMD EPYC")
        );
    }
}
