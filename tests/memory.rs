//! Privileged end-to-end test of the `memory` probe, through the real binary:
//! going over memory.max is an OOM kill (recognised as such), staying under it
//! survives, a SIGKILL from the harness is not an OOM kill, and memory.high
//! slows (v2) or is skipped (v1).

mod common;

use common::{p50, privileged, row, run, serial};

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
