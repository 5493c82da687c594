//! `isobench report` end to end on two saved real runs (tests/fixtures/runs/:
//! `default-trimmed`, a default run cut to a few cases of each probe and written
//! before run.json named the samples columns; and a run of `fixture.toml`).
//! Needs no root: report only reads folders and writes files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::bin;

const OLD: &str = "default-trimmed";
const NEW: &str = "20261129T071645Z-6.18.44-fc-v857";
const RELEASE: &str = "6.18.44-fc-v857";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs")
        .join(name)
}

fn report(args: &[&Path]) -> Output {
    Command::new(bin())
        .arg("report")
        .args(args)
        .output()
        .unwrap()
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A copy of a fixture folder, to write into.
fn copy(name: &str, to: &Path) -> PathBuf {
    let dst = to.join(name);
    std::fs::create_dir_all(dst.join("samples")).unwrap();
    let src = fixture(name);
    std::fs::copy(src.join("run.json"), dst.join("run.json")).unwrap();
    for e in std::fs::read_dir(src.join("samples")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join("samples").join(e.file_name())).unwrap();
    }
    dst
}

/// The trimmed cells of a Markdown table line.
fn cells_of(line: &str) -> Vec<&str> {
    line.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(str::trim)
        .collect()
}

/// The first table row of `md` whose first cell is `first`.
fn row<'a>(md: &'a str, first: &str) -> Option<Vec<&'a str>> {
    md.lines()
        .filter(|l| l.starts_with('|'))
        .map(cells_of)
        .find(|c| c[0] == first)
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout {}\nstderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_runs_give_a_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("cmp");
    let out = report(&[&fixture(OLD), &fixture(NEW), Path::new("--out"), &out_dir]);
    assert_exit(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cmp/report.md"), "{stdout}");
    let md = text(&out_dir.join("report.md"));
    let old_label = format!("{RELEASE} {OLD}");
    // Both runs are columns (A, B, labelled in the runs table), with the change against A.
    assert!(md.contains("# isobench comparison of 2 runs"), "{md}");
    let labels = row(&md, "label").unwrap_or_else(|| panic!("no label row in\n{md}"));
    assert_eq!(labels[1..], [old_label.as_str(), NEW], "{md}");
    let kernels = row(&md, "kernel").unwrap();
    assert_eq!(kernels[1..], [RELEASE, RELEASE]);
    for section in ["## `ns_latency`", "## `cpu_quota`", "#### `latency` (ns)"] {
        assert!(md.contains(section), "no {section} in\n{md}");
    }
    // A case both runs have: two values and a change.
    let latency = md
        .split("#### `latency` (ns)")
        .nth(1)
        .unwrap_or_else(|| panic!("no latency table in\n{md}"));
    assert!(latency.starts_with("\n\n| case "), "{latency}");
    let cells = row(latency, "mnt-clone").unwrap();
    assert!(
        cells[1].ends_with(" µs)") && cells[2].ends_with(" µs)"),
        "{cells:?}"
    );
    // The change, its interval and the gate's mark: `+97.3% (+90 … +116%) ?`.
    assert!(
        cells[3].contains("% (") && ["▲", "▼", "≈", "?"].iter().any(|m| cells[3].ends_with(m)),
        "{cells:?}"
    );
    // A case only the new run has: the old run's cell says so.
    let cells = row(latency, "mnt-clone-c2").unwrap();
    assert_eq!(cells[1], "—", "{cells:?}");
    // The verdicts that differ include the skips of both.
    let verdicts = md.split("## Verdicts").nth(1).unwrap();
    assert!(
        verdicts
            .lines()
            .any(|l| cells_of(l) == ["ns_latency", "none-setns", "skip", "skip"]),
        "{verdicts}"
    );
    // Overlay charts: one line per run, embedded in the report.
    let cdf = out_dir.join("charts/compare-ns-latency-cdf-mnt.svg");
    let svg = text(&cdf);
    assert!(
        svg.contains(OLD) && svg.contains(NEW),
        "both runs in {}",
        cdf.display()
    );
    assert!(
        md.contains("](charts/compare-ns-latency-cdf-mnt.svg)"),
        "{md}"
    );
    assert!(out_dir
        .join("charts/compare-ns-latency-cdf-mnt.png")
        .is_file());
    // Nothing but the report (and charts) in the output folder.
    assert!(!out_dir.join("run.json").exists());
}

#[test]
fn one_run_into_a_new_folder_is_a_whole_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("one");
    let out = report(&[&fixture(OLD), Path::new("--out"), &out_dir]);
    assert_exit(&out, 0);
    for f in [
        "run.json",
        "summary.csv",
        "report.md",
        "junit.xml",
        "results.ktap",
        "samples/ns_latency-mnt-clone.csv",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // The copy names its samples columns, so it loads back the same.
    let run = isobench::folder::load(&out_dir).unwrap();
    let orig = isobench::folder::load(&fixture(OLD)).unwrap();
    assert_eq!(run.cases.len(), orig.cases.len());
    for (a, b) in run.cases.iter().zip(&orig.cases) {
        assert_eq!(a.series, b.series);
    }
    let md = text(&out_dir.join("report.md"));
    for s in [
        "# isobench report: Linux 6.18.44-fc-v857 on vm",
        "### Namespace creation (`ns_latency`)",
        "### CPU quota",
        "| w100-300 |",
    ] {
        assert!(md.contains(s), "no {s} in\n{md}");
    }
    let ktap = text(&out_dir.join("results.ktap"));
    assert!(ktap.starts_with("KTAP version 1\n"), "{ktap}");
    assert!(ktap.contains("ok 4 none-setns # SKIP "), "{ktap}");
}

#[test]
fn one_run_in_place_keeps_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy(NEW, tmp.path());
    let before = text(&dir.join("run.json"));
    let out = report(&[&dir]);
    assert_exit(&out, 0);
    assert_eq!(
        text(&dir.join("run.json")),
        before,
        "run.json was rewritten"
    );
    let junit = text(&dir.join("junit.xml"));
    assert!(
        junit.contains("tests=\"35\" failures=\"0\" errors=\"0\" skipped=\"4\""),
        "{junit}"
    );
    let csv = text(&dir.join("summary.csv"));
    assert!(csv.starts_with("probe,case,metric,unit,n,mean,p50,p90,p99,max,verdict,reason\n"));
}

/// Exit 2, one line naming `needle`, and no output folder.
fn rejected(args: &[&Path], needle: &str, out_dir: &Path) {
    let out = report(args);
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.starts_with("isobench: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!out_dir.exists(), "bad input created {}", out_dir.display());
}

#[test]
fn bad_input_exits_2_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let o = Path::new("--out");
    let missing = tmp.path().join("no-such-run");
    rejected(
        &[&fixture(OLD), &missing, o, &out_dir],
        "no-such-run",
        &out_dir,
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    rejected(&[&empty, o, &out_dir], "not a result folder", &out_dir);
    let future = copy(NEW, &tmp.path().join("future"));
    let json = text(&future.join("run.json")).replacen(
        "\"schema_version\": 1",
        "\"schema_version\": 99",
        1,
    );
    std::fs::write(future.join("run.json"), json).unwrap();
    rejected(
        &[&fixture(NEW), &future, o, &out_dir],
        "schema version 99",
        &out_dir,
    );
    let broken = copy(NEW, &tmp.path().join("broken"));
    std::fs::remove_file(broken.join("samples/ns_latency-mnt-clone.csv")).unwrap();
    rejected(
        &[&broken, o, &out_dir],
        "ns_latency-mnt-clone.csv",
        &out_dir,
    );
    // An output folder holding another run is not overwritten.
    let other = copy(OLD, &tmp.path().join("other"));
    let before = text(&other.join("run.json"));
    let out = report(&[&fixture(NEW), o, &other]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a run"));
    assert_eq!(text(&other.join("run.json")), before);
}

/// A folder of boots (as scripts/compare-kernels writes) is one column whose
/// boots are repetitions; a boot that did not finish is listed with its console.
#[test]
fn a_folder_of_boots_is_one_column_with_its_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let boots = tmp.path().join("6.18-v1");
    std::fs::create_dir_all(&boots).unwrap();
    for k in 1..=3 {
        let d = copy(NEW, tmp.path());
        std::fs::rename(&d, boots.join(format!("boot-{k}"))).unwrap();
    }
    std::fs::write(
        boots.join("boot-4.failed"),
        "hung: no completion within 1800 s\nrcu: INFO: rcu_sched self-detected stall\n",
    )
    .unwrap();
    let none = tmp.path().join("7.2-v2");
    std::fs::create_dir_all(&none).unwrap();
    std::fs::write(none.join("boot-1.failed"), "the guest died: Kernel panic\n").unwrap();
    let out_dir = tmp.path().join("cmp");
    let out = report(&[&fixture(OLD), &boots, &none, Path::new("--out"), &out_dir]);
    assert_exit(&out, 0);
    let md = text(&out_dir.join("report.md"));
    assert!(md.contains("# isobench comparison of 2 runs"), "{md}");
    let b = row(&md, "boots").unwrap_or_else(|| panic!("no boots row in\n{md}"));
    assert_eq!(b[1..], ["1", "3 of 4"], "{md}");
    for s in [
        "**B, boot-4**: hung: no completion within 1800 s",
        "rcu: INFO: rcu_sched self-detected stall",
        "**7.2-v2**: 1 boot(s), none finished",
        "**7.2-v2, boot-1**: the guest died: Kernel panic",
    ] {
        assert!(md.contains(s), "no {s:?} in\n{md}");
    }
    // B's change against A carries its interval.
    let latency = md.split("#### `latency` (ns)").nth(1).unwrap();
    let cells = row(latency, "mnt-clone").unwrap();
    assert!(cells[3].contains("% ("), "{cells:?}");
    // compare.csv: a row per run, case and metric, with the change and the call.
    let csv = text(&out_dir.join("compare.csv"));
    let header = csv.lines().next().unwrap();
    for col in [
        "column",
        "kernel",
        "timings",
        "verdicts",
        "change_pct",
        "call",
    ] {
        assert!(header.split(',').any(|c| c == col), "{header}");
    }
    assert!(
        csv.lines()
            .any(|l| l.starts_with("B,") && l.contains(",ns_latency,mnt-clone,latency,")),
        "{csv}"
    );
    // Nothing finished anywhere: no report, exit 2, nothing written.
    let out_dir = tmp.path().join("cmp2");
    let out = report(&[&none, Path::new("--out"), &out_dir]);
    assert_exit(&out, 2);
    assert!(!out_dir.exists());
}

/// scripts/lava/summary-to-lava maps every case of a summary.csv onto one
/// lava-test-case line (printed outside LAVA), inconclusive as `unknown`.
#[test]
fn lava_lines_from_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("summary.csv");
    std::fs::write(
        &csv,
        "probe,case,metric,unit,n,mean,p50,p90,p99,max,verdict,reason\n\
         ns_latency,mnt-clone,latency,ns,10,1.0,7458,8000,9000,9500,pass,\"ok, fast\"\n\
         ns_latency,mnt-clone,ns_cost,ns,10,1.0,,,,,pass,\"ok, fast\"\n\
         cpu_quota,q25#2,,,,,,,,,inconclusive,\"host busy\"\n\
         memory,high,,,,,,,,,skip,v2 only\n\
         pids,max16,,,,,,,,,fail,\"26 forks\"\n",
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lava/summary-to-lava"))
        .arg(&csv)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "lava-test-case ns_latency.mnt-clone --result pass --measurement 7458 --units ns",
            "lava-test-case cpu_quota.q25_2 --result unknown",
            "lava-test-case memory.high --result skip",
            "lava-test-case pids.max16 --result fail",
        ]
    );
}

/// scripts/compare-kernels refuses bad arguments with one line and exit 2,
/// before it builds or boots anything.
#[test]
fn compare_kernels_refuses_bad_arguments() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/compare-kernels");
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("kernels");
    std::fs::write(
        &list,
        "5.10 linux-image-5.10.0-46-cloud-amd64 bullseye-security v2,v4\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--boots", "0"], "--boots wants a whole number"),
        (&["--layout", "v3"], "--layout wants v2, v1 or hybrid"),
        (&["--only", "9.9"], "no kernel named 9.9"),
        (&["no-such.toml"], "no such scenario file: no-such.toml"),
        (
            &["--kernels", list.to_str().unwrap()],
            "layout v4 is not v2, v1 or hybrid",
        ),
    ];
    for (args, want) in cases {
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(want) && stderr.trim_end().lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
}

/// `report --out` and `compare --out` refuse what `run --out` refuses: a folder
/// with other files in it, and a file, leaving them as they were; a folder
/// re-rendered into itself is not refused.
#[test]
fn an_out_folder_must_be_new_or_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "a file").unwrap();
    let (old, new) = (fixture(OLD), fixture(NEW));
    let o = Path::new("--out");
    for (out, needle) in [
        (&mine, "not empty and not a run folder"),
        (&file, "is a file, not a folder"),
    ] {
        let runs: [&[&Path]; 2] = [&[&old, o, out], &[&old, &new, o, out]];
        for args in runs {
            let r = report(args);
            assert_exit(&r, 2);
            let err = String::from_utf8_lossy(&r.stderr);
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(
                err.starts_with(&format!("isobench: error: --out {}: ", out.display())),
                "{err}"
            );
            assert!(err.contains(needle), "{err}");
        }
        let c = Command::new(bin())
            .arg("compare")
            .args([&old, &new, o, out])
            .output()
            .unwrap();
        assert_exit(&c, 2);
        assert!(
            String::from_utf8_lossy(&c.stderr).contains(needle),
            "{}",
            String::from_utf8_lossy(&c.stderr)
        );
    }
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
    assert_eq!(text(&mine.join("notes.txt")), "keep me");
    assert_eq!(text(&file), "a file");
    // `--out` naming the folder itself re-renders it in place.
    let dir = copy(NEW, tmp.path());
    assert_exit(&report(&[&dir, o, &dir]), 0);
    assert!(dir.join("report.md").is_file());
}
