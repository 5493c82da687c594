//! Privileged end-to-end test of the `pids` probe, through the real binary:
//! fork fails with EAGAIN exactly at pids.max, and the max events counter moves.

mod common;

use common::{p50, privileged, row, run, serial};

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
