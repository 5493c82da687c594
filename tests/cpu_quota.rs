//! Privileged end-to-end tests of the `cpu_quota` probe, through the real
//! binary: a 25 % quota really throttles, and a host too busy to give an
//! unlimited spinner what the quota allows makes the case inconclusive, not failed.

mod common;

use common::{p50, privileged, row, run, run_scenario, serial};

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
fn a_contended_host_makes_a_quota_case_inconclusive() {
    if !privileged("a_contended_host_makes_a_quota_case_inconclusive") {
        return;
    }
    let _g = serial();
    let cpus = isobench::host::online_cpus().len();
    // Twice as many busy loops as CPUs: an unlimited spinner then gets far less
    // than the 150 % of a CPU the quota allows.
    let _busy = common::BusyLoops::start(2 * cpus);
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
