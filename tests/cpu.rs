//! Privileged tests of the CPU placement and cgroup-operation probes, through
//! the real binary: facts (where the threads ran, that every change took
//! effect, that every operation succeeded), never timings.

mod common;

use std::process::Command;

use common::{bin, dirs_of, privileged, serial};

/// Runs a scenario body and returns summary.csv (asserting exit 0 and nothing left).
fn run(body: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = common::scenario(
        tmp.path(),
        "s.toml",
        &format!("schema = 1\nname = \"t\"\n{body}\n"),
    );
    let child = Command::new(bin())
        .args(["run", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap()
}

fn row<'a>(csv: &'a str, prefix: &str) -> &'a str {
    csv.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row {prefix}:\n{csv}"))
}

#[test]
fn a_pinned_spinner_is_only_seen_on_its_cpu() {
    if !privileged("a_pinned_spinner_is_only_seen_on_its_cpu") {
        return;
    }
    let _g = serial();
    let last = isobench::host::online_cpus().iter().last().unwrap();
    let csv = run(&format!(
        "[cpuset]\nsets = [\"{last}\"]\nmoves = []\nduration_ms = 200\n"
    ));
    let r = row(
        &csv,
        &format!("cpuset,pin-{last},off_allowed,count,1,0.0,0,"),
    );
    assert!(r.contains(",pass,"), "{r}");
    assert!(row(
        &csv,
        &format!("cpuset,pin-{last},on_allowed_pct,pct,1,100.0,")
    )
    .contains(",pass,"));
}

#[test]
fn a_cpuset_change_moves_every_thread() {
    if !privileged("a_cpuset_change_moves_every_thread") {
        return;
    }
    let cpus: Vec<u32> = isobench::host::online_cpus().iter().collect();
    if cpus.len() < 2 {
        assert!(
            !common::strict(),
            "moving between CPUs needs two online CPUs"
        );
        eprintln!("a_cpuset_change_moves_every_thread: skipped: one CPU");
        return;
    }
    let _g = serial();
    let (a, b) = (cpus[0], cpus[1]);
    let csv = run(&format!(
        "[cpuset]\nsets = []\nmoves = [[\"{a}\", \"{b}\"]]\nmigrations = 6\nthreads = 2\n"
    ));
    let r = row(&csv, &format!("cpuset,move-{a}-{b},migrate_latency,ns,6,"));
    assert!(r.contains(",pass,"), "{r}");
}

#[test]
fn every_cgroup_operation_succeeds_at_each_sibling_count() {
    if !privileged("every_cgroup_operation_succeeds_at_each_sibling_count") {
        return;
    }
    let _g = serial();
    let csv = run("[cgroup_ops]\nsiblings = [1, 20]\nrepeat = 3\n");
    for case in ["s1", "s20"] {
        for metric in [
            "mkdir_latency",
            "attach_latency",
            "rmdir_latency",
            "set_limit_latency",
        ] {
            let r = row(&csv, &format!("cgroup_ops,{case},{metric},ns,3,"));
            assert!(r.contains(",pass,"), "{r}");
        }
        let layout = isobench::cgroup::Layout::detect().unwrap();
        let clone3 = csv.contains(&format!("cgroup_ops,{case},attach_clone3_latency,ns,3,"));
        assert_eq!(
            clone3,
            layout.kind == isobench::cgroup::LayoutKind::Unified,
            "clone3 attach is measured exactly on unified hosts"
        );
    }
}
