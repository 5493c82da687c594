//! Privileged end-to-end tests of the `cpuset` probe, through the real binary:
//! a pinned spinner is only ever seen on its CPU, and a cpuset change moves
//! every thread (facts, never timings).

mod common;

use common::{privileged, row, run, serial};

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
