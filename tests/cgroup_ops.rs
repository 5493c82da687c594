//! Privileged end-to-end tests of the `cgroup_ops` probe, through the real
//! binary: every cgroup operation (mkdir, attach, clone3 attach on unified
//! hosts, rmdir, set limit) succeeds at each sibling count.

mod common;

use common::{privileged, row, run, serial};

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
