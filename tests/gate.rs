//! The regression gate end to end: a baseline saved by one run, a second run
//! compared with it (`run --baseline`), and `isobench compare` on a copy of the
//! second run whose namespace latencies were all made 3× slower.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bin, privileged, serial};

/// A few namespace cases, five interleaved repetitions: seconds, not minutes.
const SCENARIO: &str = "schema = 1\nname = \"gate\"\nrepeat = 5\n[ns_latency]\nkinds = [\"uts\", \"mnt\"]\nmethods = [\"clone\", \"unshare\"]\niterations = 100\nwarmup = 10\nconcurrency = [1]\nverify = false\nnoop = false\nrate_ms = 0\n";

/// Multiplies every `latency_ns` value in `dir`'s samples files by `factor`.
fn scale_latencies(dir: &Path, factor: f64) {
    for e in std::fs::read_dir(dir.join("samples")).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let col = header.split(',').position(|h| h == "latency_ns").unwrap();
        let mut out = format!("{header}\n");
        for l in lines {
            let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
            if let Ok(v) = cells[col].parse::<f64>() {
                cells[col] = ((v * factor).round() as u64).to_string();
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        std::fs::write(&path, out).unwrap();
    }
}

/// Marks the run's host quiet when it started in its run.json (the shared
/// test host may be busy: the gate would then rightly call the runs
/// incomparable, which is not what these tests are about).
fn quiet_host(dir: &Path) {
    let path = dir.join("run.json");
    let mut run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    run["host"]["load_avg_1m"] = serde_json::json!(0.0);
    run["host"]["busy"] = serde_json::json!(false);
    std::fs::write(&path, serde_json::to_vec_pretty(&run).unwrap()).unwrap();
}

#[test]
fn a_run_compares_clean_with_its_baseline_and_a_slowdown_regresses() {
    if !privileged("a_run_compares_clean_with_its_baseline_and_a_slowdown_regresses") {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario(tmp.path(), "gate.toml", SCENARIO);
    // In a scratch working directory: baselines live under ./results/baselines/.
    let isobench = |args: &[&str]| {
        Command::new(bin())
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let s = s.to_str().unwrap();
    let a = isobench(&["run", s, "--out", "a", "--save-baseline", "main"]);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    assert!(tmp.path().join("results/baselines/main/run.json").is_file());
    assert!(tmp
        .path()
        .join("results/baselines/main/samples/ns_latency-mnt-clone.r5.csv")
        .is_file());

    let b = isobench(&["run", s, "--out", "b", "--baseline", "main"]);
    assert_eq!(
        b.status.code(),
        Some(0),
        "back to back, nothing regressed:\n{}",
        text(&b)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("b/compare/compare.json")).unwrap())
            .unwrap();
    let metrics = json["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 4, "{json}");
    for m in metrics {
        assert_eq!(m["base_repetitions"], 5);
        assert_ne!(m["outcome"], "regressed", "{m}");
    }

    // The same run, every namespace latency 3× slower: regressed, exit 1.
    // (×3, not a subtle ×1.3: in the TCG guest beside a busy host, five
    // repetitions spread ×1.02 … ×1.65 and more, and every ×1.3 figure was
    // "slower, but not clearly"; how small a change the gate resolves is
    // unit-tested in src/gate/tests.rs.)
    isobench::gate::baseline::copy_dir(&tmp.path().join("b"), &tmp.path().join("slow")).unwrap();
    scale_latencies(&tmp.path().join("slow"), 3.0);
    // What is tested here is the statistics, not the host: a load left by the
    // tests before this one (faults, contention) would make the gate call the
    // runs incomparable (unit-tested in src/gate/tests.rs).
    for d in ["b", "slow"] {
        quiet_host(&tmp.path().join(d));
    }
    let c = isobench(&["compare", "b", "slow", "--out", "cmp"]);
    assert_eq!(c.status.code(), Some(1), "{}", text(&c));
    assert!(text(&c).contains("regressed: ns_latency/"), "{}", text(&c));
    // Every figure is the same repetitions ×3, so its estimate is exactly
    // ×3; whether each interval clears +10 % still depends on how far the
    // repetitions spread. None may read as noise or better, and at least one
    // must regress.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("cmp/compare.json")).unwrap())
            .unwrap();
    let metrics = json["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 4, "{json}");
    for m in metrics {
        assert!((m["ratio"].as_f64().unwrap() - 3.0).abs() < 1e-3, "{m}");
        assert!(
            m["outcome"] == "regressed" || m["outcome"] == "inconclusive",
            "{m}"
        );
    }
    assert!(
        metrics.iter().any(|m| m["outcome"] == "regressed"),
        "{json}"
    );
    for f in ["compare.md", "compare.json", "junit.xml", "results.ktap"] {
        assert!(tmp.path().join("cmp").join(f).is_file(), "{f}");
    }
    // And the other way round: faster, nothing fails.
    let d = isobench(&["compare", "slow", "b", "--out", "cmp2"]);
    assert_eq!(d.status.code(), Some(0), "{}", text(&d));
}

#[test]
fn bad_gate_input_is_exit_2_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap()
    };
    let no_base = run(&["compare", "nope", "nada"]);
    assert_eq!(no_base.status.code(), Some(2));
    let err = String::from_utf8_lossy(&no_base.stderr);
    assert!(
        err.contains("\"nope\"") && err.contains("--save-baseline"),
        "{err}"
    );
    for args in [
        &["run", "--repeat", "0", "--out", "x"][..],
        &["run", "--baseline", "missing", "--out", "x"],
        &["run", "--save-baseline", "../up", "--out", "x"],
        &["run", "--threshold=-5", "--out", "x"],
        &["run", "--metric-threshold", "latency", "--out", "x"],
    ] {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).lines().count(),
            1,
            "{args:?}"
        );
        assert!(
            !tmp.path().join("x").exists(),
            "{args:?} created its folder"
        );
    }
}
