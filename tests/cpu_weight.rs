//! Privileged end-to-end test of the `cpu_weight` probe, through the real
//! binary: of two competing cgroups, the heavier weight gets more CPU.

mod common;

use common::{privileged, run_scenario, serial};

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
