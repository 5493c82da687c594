//! Privileged end-to-end test of the `freezer` probe, through the real binary:
//! a frozen cgroup makes no progress and runs again after thaw.

mod common;

use common::{privileged, row, run, serial};

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
