//! A fixed run for the sinks' snapshot tests: a fixed host, and a few cases of
//! every probe with each verdict, numbers shaped like real ones, and reasons
//! with characters that Markdown, XML and KTAP must escape.

use std::collections::BTreeMap;

use crate::chart::Chart;
use crate::host::{ControllerPlace, CpuSample, Host, Pressure};
use crate::record::{CaseResult, Run, Series, Status, Verdict};

pub fn host() -> Host {
    Host {
        hostname: "testbox".into(),
        kernel_release: "6.18.0-test".into(),
        kernel_version: "#1 SMP PREEMPT_DYNAMIC".into(),
        kernel_cmdline: "console=ttyS0 psi=1".into(),
        config_hz: Some(250),
        preemption: Some("PREEMPT_DYNAMIC".into()),
        arch: "x86_64".into(),
        cpu_model: "AMD EPYC".into(),
        cpus_online: "0-1".into(),
        cpus_online_count: 2,
        memory_total_bytes: 25_276_059_648,
        swap_total_bytes: 0,
        virtualization: "kvm".into(),
        cgroup_layout: "hybrid".into(),
        controllers: ["cpu", "cpuset", "memory", "pids", "freezer"]
            .iter()
            .map(|c| ControllerPlace {
                controller: c.to_string(),
                version: "v1".into(),
                own_dir: Some(format!("/sys/fs/cgroup/{c}")),
            })
            .chain([ControllerPlace {
                controller: "io".into(),
                version: "none".into(),
                own_dir: None,
            }])
            .collect(),
        sched: BTreeMap::from([("sched_cfs_bandwidth_slice_us".into(), "5000".into())]),
        pressure: Pressure {
            cpu_some_avg10_pct: Some(1.08),
            memory_some_avg10_pct: Some(0.0),
            io_some_avg10_pct: None,
        },
        load_avg_1m: 0.38,
        cpu_sample: Some(CpuSample {
            window_ms: 1000,
            busy_pct: 4.0,
            wait_pct: Some(1.2),
        }),
        busy: false,
        is_root: true,
        cgroup_places: Vec::new(),
        cgroup_manager: None,
        systemd_scope: None,
    }
}

/// A case with `series` (metric, unit, values) summarised as the probes do.
fn case(probe: &str, id: &str, series: &[(&str, &str, Vec<u64>)], verdict: Verdict) -> CaseResult {
    let series: Vec<Series> = series
        .iter()
        .map(|(m, u, v)| Series::new(m, crate::units::Unit::from_id(u), v.clone()))
        .collect();
    CaseResult {
        samples_file: (!series.is_empty()).then(|| format!("samples/{probe}-{id}.csv")),
        elapsed_ns: Some(1_234_567_890),
        ..CaseResult::measured(probe, id, serde_json::json!({ "id": id }), series, verdict)
    }
}

/// `n` latencies spread evenly around `base` ns (deterministic).
fn spread(base: u64, n: u64) -> Vec<u64> {
    (0..n).map(|i| base + base * i / n / 2).collect()
}

fn inconclusive(reason: &str) -> Verdict {
    Verdict {
        status: Status::Inconclusive,
        reason: reason.into(),
    }
}

pub fn run() -> Run {
    let lc = "5 cycle(s): every limit read back as written";
    let mut mnt_clone = case(
        "ns_latency",
        "mnt-clone",
        &[
            ("latency", "ns", spread(180_000, 40)),
            ("baseline_latency", "ns", spread(100_000, 40)),
        ],
        Verdict::pass("40 samples after 4 warm-up; p50 225.0 µs"),
    );
    let base = case(
        "ns_latency",
        "none-clone",
        &[("latency", "ns", spread(100_000, 40))],
        Verdict::pass("40 samples after 4 warm-up; p50 125.0 µs"),
    );
    mnt_clone
        .estimates
        .extend(crate::probe::ns_latency::cost_over(
            mnt_clone.values("latency"),
            mnt_clone.values("baseline_latency"),
        ));
    let cases = vec![
        case(
            "cgroup_lifecycle",
            "cpu",
            &[
                ("create", "ns", spread(250_000, 5)),
                ("attach", "ns", spread(10_000_000, 5)),
                ("set_cpu_max", "ns", spread(77_000, 5)),
                ("memory_current", "bytes", vec![1_310_720; 5]),
                ("remove", "ns", spread(700_000, 5)),
            ],
            Verdict::pass(lc),
        ),
        case(
            "cgroup_lifecycle",
            "memory-high",
            &[],
            Verdict::skip("memory.high exists only on cgroup v2; this host's memory controller is v1"),
        ),
        case(
            "ns_latency",
            "noop",
            &[("latency", "ns", vec![20; 40])],
            Verdict::pass("40 samples after 4 warm-up; p50 20 ns"),
        ),
        base,
        mnt_clone,
        case(
            "ns_latency",
            "none-setns",
            &[],
            Verdict::skip("there is no namespace to join without a namespace"),
        ),
        case(
            "ns_latency",
            "net-clone-c2",
            &[
                ("latency", "ns", spread(500_000, 40)),
                ("throughput", "ops_per_s", vec![1274, 1507]),
                ("aggregate_throughput", "ops_per_s", vec![2549]),
                ("backlog", "count", vec![210]),
                ("drain", "ns", vec![81_272_355]),
                ("drain_residual", "count", vec![85]),
            ],
            Verdict::fail("net-clone failed: Cannot allocate memory (os error 12) after 38 | 40"),
        ),
        case(
            "ns_latency",
            "uts-isolation",
            &[],
            Verdict::pass("hostname inside \"isobench-1\", outside \"testbox\""),
        ),
        case(
            "cgroup_ops",
            "s100",
            &[
                ("mkdir_latency", "ns", spread(220_000, 20)),
                ("attach_latency", "ns", spread(130_000, 20)),
            ],
            Verdict::pass("20 cycles with 99 siblings"),
        ),
        case(
            "cpuset",
            "pin-0_1",
            &[
                ("on_allowed_pct", "pct", vec![100]),
                ("samples", "count", vec![346_432_768]),
                ("off_allowed", "count", vec![0]),
            ],
            Verdict::pass("346432768 sched_getcpu() samples from 2 threads, 100% on CPUs 0,1"),
        ),
        case(
            "cpuset",
            "move-0-1",
            &[("migrate_latency", "ns", spread(1_800_000, 10))],
            Verdict::pass("10 cpuset changes between 0 and 1"),
        ),
        case(
            "cpu_quota",
            "q25000-p100000-t1",
            &[
                ("achieved_pct", "pct_x100", vec![2501]),
                ("expected_pct", "pct_x100", vec![2500]),
                ("error_pct", "pct_x100", vec![2]),
                ("periods", "count", vec![19]),
                ("throttled_periods", "count", vec![19]),
                ("available_pct", "pct_x100", vec![9934, 9931]),
            ],
            Verdict::pass("achieved 25.01% of a CPU, expected 25.00%, error +0.02%; within ±5%"),
        ),
        case(
            "cpu_quota",
            "q5000-p10000-t2",
            &[
                ("achieved_pct", "pct_x100", vec![3012]),
                ("expected_pct", "pct_x100", vec![5000]),
                ("error_pct", "pct_x100", vec![3976]),
                ("periods", "count", vec![199]),
                ("throttled_periods", "count", vec![190]),
                ("available_pct", "pct_x100", vec![19500, 19400]),
            ],
            Verdict::fail("throttled while under quota: achieved 30.12% < expected 50.00% & 95% of periods throttled"),
        ),
        case(
            "cpu_quota",
            "q10000-p100000-t1",
            &[
                ("achieved_pct", "pct_x100", vec![812]),
                ("expected_pct", "pct_x100", vec![1000]),
                ("error_pct", "pct_x100", vec![1880]),
                ("periods", "count", vec![19]),
                ("throttled_periods", "count", vec![3]),
                ("available_pct", "pct_x100", vec![6012, 9900]),
            ],
            inconclusive("an unlimited spinner got 60.12% < 100%: the host is busy"),
        ),
        case(
            "cpu_weight",
            "w100-300",
            &[
                ("share_pct", "pct_x100", vec![2519, 7481]),
                ("expected_share_pct", "pct_x100", vec![2500, 7500]),
                ("share_ratio_error_pct", "pct_x100", vec![77]),
            ],
            Verdict::pass("weight 100: 25.2% (expected 25.0%), weight 300: 74.8%; within ±10%"),
        ),
        case(
            "pids",
            "max16",
            &[
                ("forks_reached", "count", vec![15]),
                ("tasks_at_limit", "count", vec![16]),
                ("max_events", "count", vec![1]),
            ],
            Verdict::pass("fork failed exactly at pids.max"),
        ),
        case(
            "memory",
            "above-64MiB",
            &[
                ("limit_bytes", "bytes", vec![67_108_864]),
                ("touched_bytes", "bytes", vec![66_060_288]),
                ("oom_killed", "count", vec![1]),
                ("oom_kill_events", "count", vec![1]),
                ("peak_bytes", "bytes", vec![67_108_864]),
                ("current_bytes", "bytes", vec![225_280]),
                ("time_to_kill", "ns", vec![10_028_208]),
            ],
            Verdict::pass("OOM-killed (SIGKILL, oom_kill +1) after touching 63 MiB"),
        ),
        case(
            "memory",
            "high-64MiB",
            &[],
            Verdict::skip("memory.high exists only on cgroup v2"),
        ),
        case(
            "io",
            "read-bps-8MiB",
            &[
                ("rate", "bytes_per_s", vec![8_100_000, 8_400_000, 8_300_000, 8_388_608]),
                ("achieved", "bytes_per_s", vec![8_300_000]),
                ("limit", "bytes_per_s", vec![8_388_608]),
                ("unthrottled", "bytes_per_s", vec![1_200_000_000]),
                ("error_pct", "pct_x100", vec![105]),
            ],
            Verdict::pass("read 8.0 MiB/s under an 8 MiB/s limit: error −1.05%, within ±10%"),
        ),
        case(
            "freezer",
            "t2-q20",
            &[
                ("freeze_latency", "ns", spread(16_000_000, 20)),
                ("thaw_latency", "ns", spread(200_000, 20)),
            ],
            Verdict::pass("20 freeze/thaw cycles: no progress while frozen <ok>"),
        ),
        case(
            "future_probe",
            "x1",
            &[("widgets", "count", vec![3, 4])],
            Verdict::pass("a probe this build has no table for"),
        ),
    ];
    Run {
        schema_version: crate::record::SCHEMA_VERSION,
        isobench_version: "0.1.0".into(),
        run_id: "20260101T000000Z-1".into(),
        started_utc: "2026-01-01T00:00:00Z".into(),
        finished_utc: Some("2026-01-01T00:01:00Z".into()),
        scenarios: vec![("<default scenario>".into(), serde_json::json!({}))],
        quick: false,
        host: host(),
        cases,
        stale_removed: vec![],
        interrupted: false,
        interface_files: Vec::new(),
    }
}

/// Charts as the renderer would list them, one of a probe the run lacks.
pub fn charts() -> Vec<Chart> {
    let chart = |id: &str, probe: &str| Chart {
        id: id.into(),
        title: format!("{id} chart"),
        probe: probe.into(),
        svg: format!("charts/{id}.svg"),
        png: format!("charts/{id}.png"),
    };
    vec![
        chart("ns-latency-cdf", "ns_latency"),
        chart("cpu-quota-achieved", "cpu_quota"),
        chart("overview", ""),
    ]
}
