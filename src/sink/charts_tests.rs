//! Tests of the chart sink: every probe's charts of a hand-built run, a large
//! synthetic run, degenerate records, comparisons, and byte-identical output.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::chart::{draw, figure};
use crate::record::{CaseResult, Series, Verdict};
use crate::units::Unit;

/// Deterministic noise: `n` values spread around `base` (±`spread` of it), with a tail.
fn noisy(n: usize, base: f64, spread: f64, seed: u64) -> Vec<u64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let tail = if i % 50 == 0 { 3.0 } else { 1.0 };
            (base * (1.0 + spread * (2.0 * u - 1.0)) * tail) as u64
        })
        .collect()
}

fn case(probe: &str, id: &str, config: serde_json::Value, series: Vec<Series>) -> CaseResult {
    CaseResult::measured(probe, id, config, series, Verdict::pass(""))
}

fn run_of(cases: Vec<CaseResult>) -> Run {
    Run {
        schema_version: crate::record::SCHEMA_VERSION,
        isobench_version: "test".into(),
        run_id: "r".into(),
        started_utc: "t".into(),
        finished_utc: None,
        scenarios: vec![],
        quick: false,
        host: crate::sink::fixture::host(),
        cases,
        stale_removed: vec![],
        interrupted: false,
        interface_files: Vec::new(),
    }
}

fn dur(ns: u64) -> serde_json::Value {
    json!({"secs": ns / 1_000_000_000, "nanos": ns % 1_000_000_000})
}

fn ns_cases(scale: f64) -> Vec<CaseResult> {
    let mut out = vec![case(
        "ns_latency",
        "noop",
        json!({"kind": null, "method": null, "workers": 1}),
        vec![Series::new("latency", Unit::Ns, vec![20; 100])],
    )];
    let base = [
        ("none", 100_000.0, 4_000.0, 0.0),
        ("mnt", 170_000.0, 25_000.0, 7_000.0),
        ("net", 450_000.0, 300_000.0, 6_000.0),
    ];
    for workers in [1u64, 2] {
        for (i, (kind, clone, unshare, setns)) in base.iter().enumerate() {
            for (method, lat) in [("clone", clone), ("unshare", unshare), ("setns", setns)] {
                let id = if workers == 1 {
                    format!("{kind}-{method}")
                } else {
                    format!("{kind}-{method}-c{workers}")
                };
                let config = json!({"id": id, "kind": kind, "method": method, "workers": workers});
                if *lat == 0.0 {
                    let mut c = case("ns_latency", &id, config, vec![]);
                    c.verdict = Verdict::skip("setns into the initial namespace is a no-op");
                    out.push(c);
                    continue;
                }
                let v = noisy(
                    200,
                    lat * scale * workers as f64,
                    0.2,
                    i as u64 * 7 + workers,
                );
                out.push(case(
                    "ns_latency",
                    &id,
                    config,
                    vec![Series::new("latency", Unit::Ns, v)],
                ));
            }
        }
    }
    out.push(case(
        "ns_latency",
        "net-isolation",
        json!({"kind": "net"}),
        vec![],
    ));
    out
}

fn quota_cases(scale: f64) -> Vec<CaseResult> {
    [(5_000_000u64, 10_000_000u64, 1u64, 5_010u64, 5_000u64), (15_000_000, 10_000_000, 1, 10_004, 10_000), (25_000_000, 100_000_000, 2, 2_497, 2_500)]
        .iter()
        .map(|&(q, p, t, achieved, expected)| {
            let id = format!("q{}-p{}-t{t}", q / 1000, p / 1000);
            case(
                "cpu_quota",
                &id,
                json!({"id": id, "quota": dur(q), "period": dur(p), "threads": t, "idle_threads": 0, "tolerance_pct": 5.0}),
                vec![
                    Series::new("achieved_pct", Unit::PctX100, vec![(achieved as f64 * scale) as u64]),
                    Series::new("expected_pct", Unit::PctX100, vec![expected]),
                    Series::new("period_usage", Unit::Ns, noisy(19, (q / 10) as f64, 0.1, 3)),
                ],
            )
        })
        .collect()
}

fn cpuset_cases() -> Vec<CaseResult> {
    let pin = case(
        "cpuset",
        "pin-0",
        json!({"id": "pin-0", "cpus": "0", "move_to": null, "threads": 2, "duration": dur(300_000_000), "migrations": 10}),
        vec![
            Series::new("on_allowed_pct", Unit::Pct, vec![100]),
            Series::new("samples", Unit::Count, vec![1_000_000]),
            Series::new("off_allowed", Unit::Count, vec![0]),
            Series::new("trace_thread", Unit::Index, vec![0, 1]),
            Series::new("trace_time", Unit::Ns, vec![50_000, 52_000]),
            Series::new("trace_cpu", Unit::Cpu, vec![0, 0]),
        ],
    );
    let (mut th, mut t, mut cpu) = (vec![], vec![], vec![]);
    for thread in 0..2u64 {
        for k in 0..11u64 {
            th.push(thread);
            t.push(k * 200_000_000 + 40_000 + thread * 1_000_000);
            cpu.push(k % 2);
        }
    }
    let mv = case(
        "cpuset",
        "move-0-1",
        json!({"id": "move-0-1", "cpus": "0", "move_to": "1", "threads": 2, "duration": dur(300_000_000), "migrations": 10}),
        vec![
            Series::new("migrate_latency", Unit::Ns, noisy(10, 2_000_000.0, 0.5, 9)),
            Series::new("trace_thread", Unit::Index, th),
            Series::new("trace_time", Unit::Ns, t),
            Series::new("trace_cpu", Unit::Cpu, cpu),
        ],
    );
    vec![pin, mv]
}

fn memory_case(kind: &str, traced: bool) -> CaseResult {
    const MIB: u64 = 1 << 20;
    let limit = 64 * MIB;
    let touched = match kind {
        "above" => 63 * MIB,
        _ => 32 * MIB,
    };
    let id = format!("{kind}-64MiB");
    let mut series = vec![
        Series::new("limit_bytes", Unit::Bytes, vec![limit]),
        Series::new("touched_bytes", Unit::Bytes, vec![touched]),
        Series::new("oom_killed", Unit::Count, vec![u64::from(kind == "above")]),
        Series::new(
            "oom_kill_events",
            Unit::Count,
            vec![u64::from(kind == "above")],
        ),
        Series::new(
            "peak_bytes",
            Unit::Bytes,
            vec![touched.max(limit.min(touched + MIB))],
        ),
        Series::new("current_bytes", Unit::Bytes, vec![200_000]),
    ];
    if kind == "above" {
        series.push(Series::new("time_to_kill", Unit::Ns, vec![10_000_000]));
    }
    if traced {
        let n = touched / MIB;
        series.push(Series::new(
            "trace_touched",
            Unit::Bytes,
            (1..=n).map(|m| m * MIB).collect(),
        ));
        series.push(Series::new(
            "trace_time",
            Unit::Ns,
            (1..=n)
                .map(|m| m * if kind == "above" { 400_000 } else { 700_000 } + m * m * 1_000)
                .collect(),
        ));
    }
    case(
        "memory",
        &id,
        json!({"id": id, "kind": kind, "limit_bytes": limit, "slack_bytes": 2 * MIB}),
        series,
    )
}

fn io_cases() -> Vec<CaseResult> {
    const MIB: u64 = 1 << 20;
    vec![
        case(
            "io",
            "read-bps-10MiB",
            json!({"id": "read-bps-10MiB"}),
            vec![
                Series::new(
                    "rate",
                    Unit::BytesPerS,
                    noisy(40, 10.0 * MIB as f64, 0.05, 5),
                ),
                Series::new("limit", Unit::BytesPerS, vec![10 * MIB]),
                Series::new("unthrottled", Unit::BytesPerS, vec![2048 * MIB]),
                Series::new("achieved", Unit::BytesPerS, vec![10 * MIB - 20_000]),
            ],
        ),
        case(
            "io",
            "write-iops-100",
            json!({"id": "write-iops-100"}),
            vec![
                Series::new("rate", Unit::OpsPerS, noisy(40, 100.0, 0.1, 6)),
                Series::new("limit", Unit::OpsPerS, vec![100]),
                Series::new("unthrottled", Unit::OpsPerS, vec![900]),
                Series::new("achieved", Unit::OpsPerS, vec![99]),
            ],
        ),
    ]
}

fn ops_cases(scale: f64) -> Vec<CaseResult> {
    [1u64, 10, 100]
        .iter()
        .map(|&n| {
            let id = format!("s{n}");
            let grow = 1.0 + n as f64 / 200.0;
            case(
                "cgroup_ops",
                &id,
                json!({"id": id, "siblings": n, "repeat": 20}),
                vec![
                    Series::new(
                        "mkdir_latency",
                        Unit::Ns,
                        noisy(20, 200_000.0 * grow * scale, 0.1, n),
                    ),
                    Series::new(
                        "set_limit_latency",
                        Unit::Ns,
                        noisy(20, 16_000.0 * scale, 0.1, n + 1),
                    ),
                    Series::new(
                        "attach_latency",
                        Unit::Ns,
                        noisy(20, 130_000.0 * scale, 0.1, n + 2),
                    ),
                    Series::new(
                        "rmdir_latency",
                        Unit::Ns,
                        noisy(20, 125_000.0 * grow * scale, 0.1, n + 3),
                    ),
                ],
            )
        })
        .collect()
}

fn freezer_case() -> CaseResult {
    case(
        "freezer",
        "t2",
        json!({"id": "t2", "threads": 2, "repeat": 20, "quota": null}),
        vec![
            Series::new("freeze_latency", Unit::Ns, noisy(20, 240_000.0, 0.15, 11)),
            Series::new("thaw_latency", Unit::Ns, noisy(20, 210_000.0, 0.15, 12)),
        ],
    )
}

/// A run with data for every charted probe.
fn full_run(scale: f64) -> Run {
    let mut cases = ns_cases(scale);
    cases.extend(quota_cases(scale));
    cases.extend(cpuset_cases());
    cases.push(memory_case("below", true));
    cases.push(memory_case("above", true));
    cases.push(memory_case("killed", false));
    let mut high = case(
        "memory",
        "high-64MiB",
        json!({"id": "high-64MiB", "kind": "high"}),
        vec![],
    );
    high.verdict = Verdict::skip("memory.high exists only on cgroup v2");
    cases.push(high);
    cases.extend(io_cases());
    cases.extend(ops_cases(scale));
    cases.push(freezer_case());
    run_of(cases)
}

/// A long run: 10 kinds × 3 methods × 4 worker levels of 10 000 samples,
/// 1 000 cpuset changes, a 4 GiB memory trace, 2 400 io windows.
fn big_run() -> Run {
    const MIB: u64 = 1 << 20;
    let mut cases = Vec::new();
    let kinds = [
        "none", "mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time", "all",
    ];
    for workers in [1u64, 2, 4, 8] {
        for (i, kind) in kinds.iter().enumerate() {
            for method in ["clone", "unshare", "setns"] {
                let id = format!("{kind}-{method}-c{workers}");
                let v = noisy(
                    10_000,
                    10_000.0 * (i + 1) as f64 * workers as f64,
                    0.3,
                    i as u64 + workers,
                );
                cases.push(case(
                    "ns_latency",
                    &id,
                    json!({"kind": kind, "method": method, "workers": workers}),
                    vec![Series::new("latency", Unit::Ns, v)],
                ));
            }
        }
    }
    let (mut th, mut t, mut cpu) = (vec![], vec![], vec![]);
    for thread in 0..4u64 {
        for k in 0..1_000u64 {
            th.push(thread);
            t.push(k * 200_000_000 + thread * 1_000_000);
            cpu.push((k + thread) % 4);
        }
    }
    cases.push(case(
        "cpuset",
        "move-0_1-2_3",
        json!({"cpus": "0-1", "move_to": "2-3"}),
        vec![
            Series::new(
                "migrate_latency",
                Unit::Ns,
                noisy(1_000, 2_000_000.0, 0.5, 1),
            ),
            Series::new("trace_thread", Unit::Index, th),
            Series::new("trace_time", Unit::Ns, t),
            Series::new("trace_cpu", Unit::Cpu, cpu),
        ],
    ));
    cases.push(case(
        "memory",
        "above-4GiB",
        json!({"kind": "above", "limit_bytes": 4096 * MIB}),
        vec![
            Series::new("limit_bytes", Unit::Bytes, vec![4096 * MIB]),
            Series::new("oom_killed", Unit::Count, vec![1]),
            Series::new(
                "trace_touched",
                Unit::Bytes,
                (1..=4096).map(|m| m * MIB).collect(),
            ),
            Series::new(
                "trace_time",
                Unit::Ns,
                (1..=4096).map(|m| m * 300_000).collect(),
            ),
        ],
    ));
    cases.push(case(
        "io",
        "read-bps-10MiB",
        json!({}),
        vec![
            Series::new(
                "rate",
                Unit::BytesPerS,
                noisy(2_400, 10.0 * MIB as f64, 0.05, 2),
            ),
            Series::new("limit", Unit::BytesPerS, vec![10 * MIB]),
        ],
    ));
    cases.extend(quota_cases(1.0));
    cases.extend(ops_cases(1.0));
    cases.push(freezer_case());
    run_of(cases)
}

fn ids(charts: &[Chart]) -> Vec<&str> {
    charts.iter().map(|c| c.id.as_str()).collect()
}

/// The SVG is non-empty and holds the title; the PNG decodes to the chart size
/// and is not blank.
fn check_files(dir: &Path, c: &Chart) {
    let svg = std::fs::read_to_string(dir.join(&c.svg)).unwrap();
    assert!(svg.starts_with("<svg"), "{}", c.svg);
    assert!(
        svg.contains(&c.title),
        "{} lacks its title {:?}",
        c.svg,
        c.title
    );
    assert!(svg.contains("<text"), "{} has no text", c.svg);
    let file = std::fs::File::open(dir.join(&c.png)).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        (draw::WIDTH, draw::HEIGHT),
        "{}",
        c.png
    );
    let colours: BTreeSet<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    assert!(
        colours.len() > 10,
        "{} looks blank ({} colours)",
        c.png,
        colours.len()
    );
}

#[test]
fn degenerate_records_draw_without_panicking() {
    // A 100 % tolerance (valid in a scenario) and a case that owed nothing
    // (an infinite error) once made the axis code overflow.
    let id = "q1000-p10000-t1";
    let c = case(
        "cpu_quota",
        id,
        json!({"id": id, "quota": dur(1_000_000), "period": dur(10_000_000), "threads": 1, "idle_threads": 0, "tolerance_pct": 100.0}),
        vec![
            Series::new("achieved_pct", Unit::PctX100, vec![1000]),
            Series::new("expected_pct", Unit::PctX100, vec![0]),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let charts = render_run(&run_of(vec![c]), tmp.path()).unwrap();
    assert!(charts.iter().any(|c| c.id == "cpu-quota"), "{charts:?}");
}

#[test]
fn every_probe_gets_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let charts = render_run(&full_run(1.0), dir.path()).unwrap();
    assert_eq!(
        ids(&charts),
        [
            "cgroup-ops-siblings",
            "cpuset-placement-pin-0",
            "cpuset-placement-move-0-1",
            "cpuset-migrate-latency",
            "cpu-quota",
            "cpu-quota-error",
            "memory-usage-64MiB",
            "memory-peak",
            "freezer-latency",
            "io-read-bps-10MiB",
            "io-write-iops-100",
            "ns-latency-cdf-clone",
            "ns-latency-cdf-unshare",
            "ns-latency-cdf-setns",
            "ns-latency-methods",
            "ns-latency-concurrency-clone",
            "ns-latency-concurrency-unshare",
            "ns-latency-concurrency-setns",
        ]
    );
    for c in &charts {
        assert_eq!(c.svg, format!("charts/{}.svg", c.id));
        assert_eq!(c.png, format!("charts/{}.png", c.id));
        check_files(dir.path(), c);
    }
    let probes: BTreeSet<&str> = charts.iter().map(|c| c.probe.as_str()).collect();
    assert_eq!(
        probes.into_iter().collect::<Vec<_>>(),
        [
            "cgroup_ops",
            "cpu_quota",
            "cpuset",
            "freezer",
            "io",
            "memory",
            "ns_latency"
        ]
    );
}

#[test]
fn charts_hold_what_the_run_measured() {
    let figs = figures(&full_run(1.0));
    let fig = |id: &str| figs.iter().find(|f| f.id == id).unwrap();
    let legend =
        |id: &str| -> Vec<String> { fig(id).legend.iter().map(|e| e.label.clone()).collect() };
    // noop and the isolation checks are not latency lines; a skipped case has none.
    let setns = legend("ns-latency-cdf-setns");
    assert_eq!(setns.len(), 2, "{setns:?}");
    assert!(setns[0].starts_with("mnt (p50 ") && setns[1].starts_with("net (p50 "));
    assert!(legend("ns-latency-cdf-clone")[0].starts_with("none"));
    // The kill is marked on the traced case that was OOM-killed.
    let usage = fig("memory-usage-64MiB");
    assert!(usage
        .layers
        .iter()
        .any(|l| matches!(l, figure::Layer::Label { text, .. } if text == "OOM kill")));
    assert!(legend("memory-usage-64MiB").contains(&"memory.max 64 MiB".to_string()));
    // The io limit is a line; an unthrottled rate 200× above it is only named.
    let read = legend("io-read-bps-10MiB");
    assert!(read.contains(&"limit 10 MiB/s".to_string()), "{read:?}");
    assert!(
        read.contains(&"unthrottled: 2 GiB/s (off the scale)".to_string()),
        "{read:?}"
    );
    let write = legend("io-write-iops-100");
    assert!(
        write.contains(&"unthrottled 900/s".to_string()),
        "{write:?}"
    );
    // A quota the single thread cannot use shows what it was owed.
    assert!(legend("cpu-quota").contains(&"expected (capped by the threads)".to_string()));
    assert_eq!(fig("cgroup-ops-siblings").x.scale, figure::Scale::Log);
}

#[test]
fn absent_probes_give_no_chart() {
    let dir = tempfile::tempdir().unwrap();
    assert!(render_run(&run_of(vec![]), dir.path()).unwrap().is_empty());
    assert!(!dir.path().join(CHARTS_DIR).exists());
    let only_ops = render_run(&run_of(ops_cases(1.0)), dir.path()).unwrap();
    assert_eq!(ids(&only_ops), ["cgroup-ops-siblings"]);
    // Skipped cases are no data either.
    let mut skipped = quota_cases(1.0);
    for c in &mut skipped {
        c.verdict = Verdict::skip("no cpu controller");
        c.series.clear();
        c.summaries.clear();
    }
    assert!(render_run(&run_of(skipped), dir.path()).unwrap().is_empty());
}

#[test]
fn memory_without_traces_still_gets_the_peak_chart() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_of(vec![
        memory_case("below", false),
        memory_case("above", false),
    ]);
    let charts = render_run(&run, dir.path()).unwrap();
    assert_eq!(ids(&charts), ["memory-peak"]);
    check_files(dir.path(), &charts[0]);
}

#[test]
fn a_run_read_back_without_samples_uses_its_summaries() {
    let mut run = run_of(ops_cases(1.0));
    for c in &mut run.cases {
        c.series.clear();
    }
    let figs = figures(&run);
    assert_eq!(figs.len(), 1);
    assert!(figs[0].has_data());
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run = full_run(1.0);
    let charts = render_run(&run, a.path()).unwrap();
    render_run(&run, b.path()).unwrap();
    for c in &charts {
        for rel in [&c.svg, &c.png] {
            let (x, y) = (
                std::fs::read(a.path().join(rel)).unwrap(),
                std::fs::read(b.path().join(rel)).unwrap(),
            );
            assert!(x == y, "{rel} differs between two renderings");
        }
    }
}

#[test]
fn compare_overlays_the_runs_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let runs = vec![
        ("kernel-6.1".to_string(), full_run(1.0)),
        ("kernel-6.12".to_string(), full_run(1.3)),
    ];
    let charts = render_compare(&runs, dir.path()).unwrap();
    let got = ids(&charts);
    for want in [
        "compare-ns-latency-cdf-none",
        "compare-ns-latency-cdf-mnt",
        "compare-ns-latency-cdf-net",
        "compare-ns-latency-clone",
        "compare-ns-latency-unshare",
        "compare-ns-latency-setns",
        "compare-cpu-quota",
        "compare-cpu-quota-error",
        "compare-cgroup-ops-mkdir",
        "compare-cgroup-ops-set-limit",
        "compare-cgroup-ops-attach",
        "compare-cgroup-ops-rmdir",
    ] {
        assert!(got.contains(&want), "{want} missing from {got:?}");
    }
    for c in &charts {
        check_files(dir.path(), c);
        let svg = std::fs::read_to_string(dir.path().join(&c.svg)).unwrap();
        assert!(
            svg.contains("kernel-6.1") && svg.contains("kernel-6.12"),
            "{} does not name both runs",
            c.svg
        );
    }
    // One run without a probe adds nothing for it.
    let runs = vec![
        ("a".to_string(), run_of(ops_cases(1.0))),
        ("b".to_string(), run_of(vec![])),
    ];
    let charts = render_compare(&runs, dir.path()).unwrap();
    assert!(ids(&charts)
        .iter()
        .all(|id| id.starts_with("compare-cgroup-ops-")));
}

/// Reads a result folder: run.json and the raw series from samples/*.csv
/// (a column `<metric>_<unit>` per series; empty cells end a shorter series).
fn load(dir: &Path) -> Run {
    const UNITS: [&str; 10] = [
        "bytes_per_s",
        "ops_per_s",
        "pct_x100",
        "bytes",
        "count",
        "index",
        "x100",
        "cpu",
        "pct",
        "ns",
    ];
    let mut run: Run =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    for c in &mut run.cases {
        let Some(rel) = &c.samples_file else { continue };
        let mut r = ::csv::Reader::from_path(dir.join(rel)).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows: Vec<::csv::StringRecord> = r.records().map(Result::unwrap).collect();
        for (i, name) in header.iter().enumerate().skip(1) {
            let unit = UNITS
                .iter()
                .find(|u| name.ends_with(&format!("_{u}")))
                .unwrap_or(&"");
            let metric = &name[..name.len() - unit.len() - 1];
            let values = rows
                .iter()
                .filter_map(|row| row.get(i).and_then(|v| v.parse().ok()))
                .collect();
            c.series
                .push(Series::new(metric, Unit::from_id(unit), values));
        }
    }
    run
}

/// Renders charts for a person to look at: the hand-built run of these tests
/// (every chart kind) and the result folders in `ISOBENCH_CHART_RUNS`:
/// `ISOBENCH_CHART_RUNS=dir1:dir2 cargo test --lib chart -- --ignored --nocapture`.
/// Writes to `$ISOBENCH_CHART_OUT` (default: the temp dir) and prints the time taken.
#[test]
#[ignore = "writes charts for a person to look at"]
fn renders_result_folders() {
    let out = std::env::var_os("ISOBENCH_CHART_OUT").map_or_else(
        || std::env::temp_dir().join("isobench-charts"),
        PathBuf::from,
    );
    let t = std::time::Instant::now();
    let charts = render_run(&full_run(1.0), &out.join("hand-built")).unwrap();
    println!("hand-built: {} charts in {:?}", charts.len(), t.elapsed());
    let big = big_run();
    let t = std::time::Instant::now();
    let charts = render_run(&big, &out.join("big")).unwrap();
    println!(
        "big (every kind × method × 4 levels × 10k samples, long traces): {} charts in {:?}",
        charts.len(),
        t.elapsed()
    );
    let Ok(list) = std::env::var("ISOBENCH_CHART_RUNS") else {
        println!("ISOBENCH_CHART_RUNS is not set: no result folder rendered");
        return;
    };
    let mut runs = Vec::new();
    for d in list.split(':') {
        let dir = PathBuf::from(d);
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let run = load(&dir);
        let t = std::time::Instant::now();
        let charts = render_run(&run, &out.join(&name)).unwrap();
        println!("{name}: {} charts in {:?}", charts.len(), t.elapsed());
        runs.push((name, run));
    }
    let t = std::time::Instant::now();
    let charts = render_compare(&runs, &out.join("compare")).unwrap();
    println!("compare: {} charts in {:?}", charts.len(), t.elapsed());
    println!("written under {}", out.display());
}
