//! Privileged end-to-end test of the `perf_event` probe, through the real
//! binary: perf's cgroup mode counts the cgroup's spinner and not the one
//! outside it; the record says whether the machine has a hardware PMU.

mod common;

use common::{known_case, privileged, run_scenario, serial};

#[test]
fn perf_counts_the_cgroup_and_nothing_else() {
    if !privileged("perf_counts_the_cgroup_and_nothing_else") {
        return;
    }
    let _g = serial();
    let (out, tmp) = run_scenario("[perf_event]\nduration_ms = 1500\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out/run.json")).unwrap()).unwrap();
    let c = &run["cases"][0];
    assert_eq!(c["case"], "q50");
    let (status, reason) = (
        c["verdict"]["status"].as_str().unwrap(),
        c["verdict"]["reason"].as_str().unwrap(),
    );
    eprintln!("perf_event/q50: {status}: {reason}");
    // The PMU is reported either way, never judged.
    assert!(
        status == "skip" || reason.contains("hardware PMU"),
        "{reason}"
    );
    match status {
        "pass" => assert!(reason.contains("counted/(inside+outside)"), "{reason}"),
        // A host without perf events or cgroup mode says so precisely; under
        // ISOBENCH_STRICT=1 (CI, root) perf must be there.
        "skip" => {
            assert!(
                reason.starts_with("perf_event cgroup mode is not available here"),
                "{reason}"
            );
            assert!(!common::strict(), "{reason}");
        }
        "inconclusive" => assert!(
            reason.contains("too busy to judge")
                || reason.contains("the outside spinner ran under")
                || reason.starts_with("stolen time:"),
            "{reason}"
        ),
        _ => assert!(known_case(c), "{status}: {reason}"),
    }
}
