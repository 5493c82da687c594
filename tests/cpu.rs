//! Privileged tests of the CPU placement and cgroup-operation probes, through
//! the real binary: facts (where the threads ran, that every change took
//! effect, that every operation succeeded), never timings.

mod common;

use std::process::Command;

use common::{bin, dirs_of, privileged, serial};

/// Runs `isobench run` on a scenario body in a fresh folder (results in
/// `<dir>/out`), asserting it left no cgroup behind.
fn run_scenario(body: &str) -> (std::process::Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let path = common::scenario(
        tmp.path(),
        "s.toml",
        &format!("schema = 1\nname = \"t\"\n{body}\n"),
    );
    let (out, pid) = common::run_out(&path, &tmp.path().join("out"));
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    (out, tmp)
}

/// Runs a scenario body and returns summary.csv (asserting exit 0 and nothing left).
fn run(body: &str) -> String {
    let (out, tmp) = run_scenario(body);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

/// The value column `p50` of a summary.csv row.
fn p50(row: &str) -> u64 {
    row.split(',')
        .nth(6)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no p50 in {row}"))
}

#[test]
fn a_quota_of_25_percent_really_throttles() {
    if !privileged("a_quota_of_25_percent_really_throttles") {
        return;
    }
    let _g = serial();
    let csv = run("[cpu_quota]\nquota_pct = [25]\nperiod_us = [100000]\nthreads = [1]\nduration_ms = 1000\nfibtest = false\n");
    let case = "cpu_quota,q25000-p100000-t1";
    assert!(
        p50(row(&csv, &format!("{case},throttled_periods,count,"))) > 0,
        "nr_throttled did not grow"
    );
    let achieved = p50(row(&csv, &format!("{case},achieved_pct,pct_x100,")));
    assert!(
        achieved > 0 && achieved < 6_000,
        "usage should be well under a CPU: {achieved} (hundredths of %)"
    );
}

#[test]
fn a_heavier_weight_gets_more_cpu() {
    if !privileged("a_heavier_weight_gets_more_cpu") {
        return;
    }
    let _g = serial();
    let (out, tmp) = run_scenario("[cpu_weight]\nweights = [[100, 400]]\nduration_ms = 500\n");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples =
        std::fs::read_to_string(tmp.path().join("out/samples/cpu_weight-w100-400.csv")).unwrap();
    let header: Vec<&str> = samples.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "usage_ns").unwrap();
    let usage: Vec<u64> = samples
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(col)?.parse().ok())
        .collect();
    assert_eq!(usage.len(), 2);
    assert!(
        usage[1] > usage[0],
        "weight 400 got {} ns, weight 100 got {} ns",
        usage[1],
        usage[0]
    );
}

/// Busy-loop processes this test started, killed (by pid) however it ends.
struct Competitors(Vec<std::process::Child>);

impl Drop for Competitors {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_contended_host_makes_a_quota_case_inconclusive() {
    if !privileged("a_contended_host_makes_a_quota_case_inconclusive") {
        return;
    }
    let _g = serial();
    let cpus = isobench::host::online_cpus().len();
    // Twice as many busy loops as CPUs: an unlimited spinner then gets far less
    // than the 150 % of a CPU the quota allows.
    let _busy = Competitors(
        (0..2 * cpus)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .unwrap()
            })
            .collect(),
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (out, tmp) = run_scenario(&format!("[cpu_quota]\nquota_pct = [150]\nperiod_us = [100000]\nthreads = [{cpus}]\nduration_ms = 500\nfibtest = false\n"));
    let csv = std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap();
    let r = row(
        &csv,
        &format!("cpu_quota,q150000-p100000-t{cpus},achieved_pct,"),
    );
    assert!(
        r.contains(",inconclusive,") && r.contains("the host gave an unlimited spinner only"),
        "{r}"
    );
    assert_eq!(out.status.code(), Some(0), "inconclusive is not a failure");
}

#[test]
fn fork_fails_with_eagain_exactly_at_pids_max() {
    if !privileged("fork_fails_with_eagain_exactly_at_pids_max") {
        return;
    }
    let _g = serial();
    let csv = run("[pids]\nmax = [1, 8]\n");
    for (case, forks) in [("max1", 0), ("max8", 7)] {
        let r = row(&csv, &format!("pids,{case},forks_reached,count,1,"));
        assert_eq!(p50(r), forks, "{r}");
        assert!(r.contains(",pass,") && r.contains("EAGAIN"), "{r}");
        assert!(
            p50(row(&csv, &format!("pids,{case},max_events,count,"))) > 0,
            "pids.events max did not move"
        );
    }
}

#[test]
fn over_limit_is_oom_killed_and_recognised_and_a_harness_kill_is_not() {
    if !privileged("over_limit_is_oom_killed_and_recognised_and_a_harness_kill_is_not") {
        return;
    }
    let _g = serial();
    let csv = run("[memory]\nlimits = [\"32MiB\"]\n");
    let oom = |case: &str| p50(row(&csv, &format!("memory,{case},oom_killed,count,1,")));
    assert_eq!(
        oom("above-32MiB"),
        1,
        "over the limit: killed by the OOM killer"
    );
    assert_eq!(oom("below-32MiB"), 0, "under the limit: survives");
    assert_eq!(
        oom("killed-32MiB"),
        0,
        "a SIGKILL from the harness is not an OOM kill"
    );
    for case in ["above-32MiB", "below-32MiB", "killed-32MiB"] {
        assert!(
            row(&csv, &format!("memory,{case},oom_killed,")).contains(",pass,"),
            "{case}"
        );
    }
    let peak = p50(row(&csv, "memory,above-32MiB,touched_bytes,bytes,"));
    assert!(
        peak <= 34 << 20,
        "touched {peak} bytes with memory.max 32 MiB"
    );
    let layout = isobench::cgroup::Layout::detect().unwrap();
    let high = row(&csv, "memory,high-32MiB,");
    if layout
        .placement(isobench::cgroup::Controller::Memory)
        .version
        == Some(isobench::cgroup::Version::V2)
    {
        assert!(high.contains(",pass,") && high.contains("slowed"), "{high}");
    } else {
        assert!(high.contains(",skip,"), "{high}");
    }
}

#[test]
fn a_frozen_cgroup_makes_no_progress_and_runs_again_after_thaw() {
    if !privileged("a_frozen_cgroup_makes_no_progress_and_runs_again_after_thaw") {
        return;
    }
    let _g = serial();
    let csv = run("[freezer]\nthreads = 2\nrepeat = 3\nquota_pct = [0]\n");
    let r = row(&csv, "freezer,t2,freeze_latency,ns,3,");
    assert!(
        r.contains(",pass,") && r.contains("no progress while frozen"),
        "{r}"
    );
    assert!(row(&csv, "freezer,t2,thaw_latency,ns,3,").contains(",pass,"));
}

/// The mean column of a summary.csv row.
fn mean(r: &str) -> f64 {
    r.split(',').nth(5).unwrap().parse().unwrap()
}

#[test]
fn throttled_io_is_clearly_slower_and_the_loop_device_is_detached() {
    if !privileged("throttled_io_is_clearly_slower_and_the_loop_device_is_detached") {
        return;
    }
    let _g = serial();
    let (out, tmp) = run_scenario(
        "[io]\nread_bps = [\"4MiB\"]\nwrite_iops = [100]\nduration_ms = 2000\nbaseline_ms = 500\n",
    );
    assert!(
        isobench::loopdev::harness_devices().is_empty(),
        "loop devices left attached: {:?}",
        isobench::loopdev::harness_devices()
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap();
    for (case, unit, limit) in [
        ("read-bps-4MiB", "bytes_per_s", 4.0 * 1024.0 * 1024.0),
        ("write-iops-100", "ops_per_s", 100.0),
    ] {
        let achieved = mean(row(&csv, &format!("io,{case},achieved,{unit},1,")));
        let free = mean(row(&csv, &format!("io,{case},unthrottled,{unit},1,")));
        assert!(
            achieved * 4.0 < free,
            "{case}: {achieved} with the limit, {free} without: not clearly slower"
        );
        assert_eq!(
            mean(row(&csv, &format!("io,{case},limit,{unit},1,"))),
            limit
        );
        assert!(
            mean(row(&csv, &format!("io,{case},charged_bytes,bytes,1,"))) > 0.0,
            "{case}: the cgroup's IO statistics saw nothing"
        );
    }
}

#[test]
fn a_harness_killed_mid_io_leaves_no_loop_device_after_clean() {
    if !privileged("a_harness_killed_mid_io_leaves_no_loop_device_after_clean") {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let path = common::scenario(
        tmp.path(),
        "s.toml",
        "schema = 1\nname = \"t\"\n[io]\nread_iops = [100]\nduration_ms = 30000\n",
    );
    let mut child = Command::new(bin())
        .args(["run", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let attached = common::eventually(20, || !isobench::loopdev::harness_devices().is_empty());
    let workers: Vec<i32> = dirs_of(pid)
        .iter()
        .flat_map(|d| isobench::cgroup::read_procs(d).unwrap_or_default())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(attached, "the run never attached its loop device");
    let out = Command::new(bin()).arg("clean").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    assert!(
        workers
            .iter()
            .all(|&w| common::eventually(5, || common::process_gone(w))),
        "an IO worker survived"
    );
    assert!(
        common::eventually(5, || isobench::loopdev::harness_devices().is_empty()),
        "loop devices left attached: {:?}",
        isobench::loopdev::harness_devices()
    );
}
