//! Privileged end-to-end tests of the `io` probe, through the real binary:
//! throttled IO on the probe's loop device is clearly slower than unthrottled,
//! the loop device is detached afterwards, and `isobench clean` detaches it
//! after a harness killed mid-IO.

mod common;

use std::process::Command;

use common::{bin, dirs_of, mean, privileged, row, run_scenario, serial};

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
