//! The verdicts proven against injected kernel faults: with the `failpoints`
//! feature, `FAILPOINTS='cgroup-ignore=return(FILE[*F])'` makes the cgroup layer
//! leave a limit unenforced (or enforce the wrong amount) while reading back as
//! written. Every row of the fault matrix must make its probe's cases *fail*,
//! with the discrepancy in numbers — never pass, never inconclusive, never a
//! crash — on this host and in the v2 guest; and without FAILPOINTS the same
//! runs pass. Built only with `--features failpoints` (the README's test command).
#![cfg(feature = "failpoints")]

mod common;

use std::process::Command;

use common::{bin, dirs_of, privileged, serial};

/// One case's verdict in a run.
#[derive(Debug)]
struct Verdict {
    probe: String,
    case: String,
    status: String,
    reason: String,
}

/// Runs `isobench run` on `body` with FAILPOINTS set to `fault` (none for
/// `""`); returns the exit code and every case's verdict. Nothing may be left behind.
fn run(fault: &str, body: &str) -> (i32, Vec<Verdict>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let path = common::scenario(
        tmp.path(),
        "s.toml",
        &format!("schema = 1\nname = \"fault\"\n{body}\n"),
    );
    let out_dir = tmp.path().join("out");
    let mut cmd = Command::new(bin());
    cmd.arg("run").arg(&path).arg("--out").arg(&out_dir);
    if !fault.is_empty() {
        cmd.env("FAILPOINTS", format!("cgroup-ignore=return({fault})"));
    }
    let (out, pid) = common::output_and_pid(&mut cmd);
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let run: serde_json::Value = match std::fs::read(out_dir.join("run.json")) {
        Ok(b) => serde_json::from_slice(&b).unwrap(),
        Err(_) => return (code, Vec::new(), stderr),
    };
    let verdicts = run["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Verdict {
            probe: c["probe"].as_str().unwrap().into(),
            case: c["case"].as_str().unwrap().into(),
            status: c["verdict"]["status"].as_str().unwrap().into(),
            reason: c["verdict"]["reason"].as_str().unwrap().into(),
        })
        .collect();
    (code, verdicts, stderr)
}

/// Every case of `probe` whose id starts with `case` failed, with numbers in
/// its reason; the run exited 1 (a failed verdict), not 2 or a crash.
fn assert_fails(
    fault: &str,
    (code, verdicts, stderr): &(i32, Vec<Verdict>, String),
    cases: &[(&str, &str)],
) {
    assert_eq!(*code, 1, "{fault}: exit {code}: {stderr}");
    for (probe, case) in cases {
        let hits: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| v.probe == *probe && v.case.starts_with(case))
            .collect();
        assert!(
            !hits.is_empty(),
            "{fault}: no case {probe}/{case}: {verdicts:#?}"
        );
        for v in hits {
            assert_eq!(
                v.status, "fail",
                "{fault} must fail {}/{}, got {}: {}",
                v.probe, v.case, v.status, v.reason
            );
            assert!(
                v.reason.chars().any(|c| c.is_ascii_digit()),
                "{fault}: {}/{} fails without numbers: {}",
                v.probe,
                v.case,
                v.reason
            );
            eprintln!("{fault:>16}  {}/{}: {}", v.probe, v.case, v.reason);
        }
    }
}

/// Whether this host's memory controller is cgroup v1 (no memory.high there).
fn memory_on_v1() -> bool {
    isobench::cgroup::Layout::detect()
        .ok()
        .and_then(|l| l.placement(isobench::cgroup::Controller::Memory).version)
        == Some(isobench::cgroup::Version::V1)
}

/// The life-cycle hold is 4 s: its bound allows a quota per period touched,
/// +5 % and two ticks (20 ms), and ×1.2 (~960 ms against at most ~903 ms)
/// must stand clear of it. The quota case runs 6 s at ±10 %: in the v2 guest under TCG a healthy 2 s run measured
/// 24.04 ± 0.87 % of a CPU for a 25 % quota, and ×1.2 measured 28.63 ± 1.48 %:
/// neither decides in 2 s (inconclusive, honestly). Three times the periods
/// shrink the intervals by √3. Too low is ×0.8, twice the tolerance; too high
/// is ×1.5: in the 5.10 v1 guest (clocksource hpet) the kernel counts 16–27 %
/// more than an unlimited spinner sees itself run (the known finding), so the
/// calibrated witness is that uncertain there, and ×1.2 (26.8–27.1 % seen,
/// 29.9 % counted) came out inconclusive three times in a row.
const QUOTA: &str = "[cgroup_lifecycle]\nrepeat = 1\nhold_ms = 4000\n[[cgroup_lifecycle.case]]\nname = \"cpu\"\ncpu_quota_us = 20000\ncpu_period_us = 100000\n[cpu_quota]\nquota_pct = [25]\nperiod_us = [100000]\nthreads = [1]\nduration_ms = 6000\ntolerance_pct = 10.0\nfibtest = false\n";
const CPUSET: &str =
    "[cpuset]\nsets = [\"1\"]\nmoves = [[\"0\", \"1\"]]\nduration_ms = 300\nmigrations = 4\n";
const MEMORY: &str = "[memory]\nlimits = [\"64MiB\"]\n";
const PIDS: &str = "[pids]\nmax = [16]\n";
const FREEZER: &str = "[cgroup_lifecycle]\nrepeat = 1\nhold_ms = 100\n[[cgroup_lifecycle.case]]\nname = \"freezer\"\nfreeze = true\n[freezer]\nrepeat = 3\nquota_pct = [0, 20]\n";
const IO: &str = "[io]\nread_iops = [200]\nduration_ms = 2000\n";
/// Two seconds: in the busy TCG guest one second (10 slices) left a ±2.7-point
/// interval that crossed the ±10 % band three times running ("run longer: 2 s").
const WEIGHT: &str = "[cpu_weight]\nweights = [[100, 300]]\nduration_ms = 2000\n";
/// The accounting cases: one thread pinned (where there are two CPUs) and two
/// threads; ×1.25 is more than twice the ±10 % tolerance, ×0.5 below.
const ACCT: &str = "[cpuacct]\nduration_ms = 1000\n";
/// perf's cgroup mode beside an unlimited spinner outside the cgroup.
const PERF: &str = "[perf_event]\nduration_ms = 1500\n";

const QUOTA_CASES: &[(&str, &str)] = &[("cpu_quota", "q"), ("cgroup_lifecycle", "cpu")];

macro_rules! fault_test {
    ($name:ident, $fault:expr, $body:expr, $cases:expr) => {
        #[test]
        fn $name() {
            if !privileged(stringify!($name)) {
                return;
            }
            let _g = serial();
            assert_fails($fault, &run_until_decided($fault, $body, $cases), $cases);
        }
    };
}

/// Runs a fault up to three times while a targeted case is `inconclusive`:
/// the host could not measure (in the TCG guest a neighbour on the physical
/// machine once made the kernel count 68 % more CPU than a spinner saw itself
/// run, and both quota faults came out "time stolen by the host"). A `pass`
/// ends it at once: a fault must never pass. The last run is judged.
fn run_until_decided(
    fault: &str,
    body: &str,
    cases: &[(&str, &str)],
) -> (i32, Vec<Verdict>, String) {
    let targeted = |v: &Verdict| {
        cases
            .iter()
            .any(|(p, c)| v.probe == *p && v.case.starts_with(c))
    };
    let mut last = run(fault, body);
    for attempt in 2..=3 {
        let undecided: Vec<&Verdict> = last
            .1
            .iter()
            .filter(|v| targeted(v) && v.status == "inconclusive")
            .collect();
        if undecided.is_empty() || last.1.iter().any(|v| targeted(v) && v.status == "pass") {
            break;
        }
        for v in undecided {
            eprintln!(
                "{fault}: {}/{} inconclusive, attempt {attempt} of 3: {}",
                v.probe, v.case, v.reason
            );
        }
        last = run(fault, body);
    }
    last
}

fault_test!(cpu_max_ignored, "cpu.max", QUOTA, QUOTA_CASES);
fault_test!(cpu_max_too_high, "cpu.max*1.5", QUOTA, QUOTA_CASES);
fault_test!(cpu_max_too_low, "cpu.max*0.8", QUOTA, QUOTA_CASES);
fault_test!(
    cpuset_cpus_ignored,
    "cpuset.cpus",
    CPUSET,
    &[("cpuset", "pin"), ("cpuset", "move")]
);
fault_test!(
    memory_max_ignored,
    "memory.max",
    MEMORY,
    &[("memory", "above")]
);
fault_test!(
    memory_max_too_high,
    "memory.max*1.25",
    MEMORY,
    &[("memory", "above")]
);
fault_test!(pids_max_ignored, "pids.max", PIDS, &[("pids", "max")]);
fault_test!(pids_max_too_high, "pids.max*1.1", PIDS, &[("pids", "max")]);
fault_test!(
    freeze_ignored,
    "cgroup.freeze",
    FREEZER,
    &[("freezer", "t"), ("cgroup_lifecycle", "freezer")]
);
fault_test!(io_max_ignored, "io.max", IO, &[("io", "read-iops")]);
fault_test!(io_max_too_high, "io.max*1.2", IO, &[("io", "read-iops")]);
fault_test!(
    cpu_weight_ignored,
    "cpu.weight",
    WEIGHT,
    &[("cpu_weight", "w")]
);

#[test]
fn memory_high_ignored() {
    if !privileged("memory_high_ignored") {
        return;
    }
    let _g = serial();
    let r = run("memory.high", MEMORY);
    if memory_on_v1() {
        // memory.high does not exist on v1: the case says so and is not run.
        let v = r.1.iter().find(|v| v.case.starts_with("high")).unwrap();
        assert_eq!(v.status, "skip", "{}", v.reason);
        eprintln!("memory.high on a v1 host: {}", v.reason);
        return;
    }
    assert_fails("memory.high", &r, &[("memory", "high")]);
}

/// No process is ever moved into a cgroup: every cgroup probe fails (or the run
/// stops with a clear error); none passes.
#[test]
fn cgroup_procs_ignored() {
    if !privileged("cgroup_procs_ignored") {
        return;
    }
    let _g = serial();
    let body = [QUOTA, CPUSET, MEMORY, PIDS, IO, WEIGHT, ACCT, PERF].concat()
        + "[freezer]\nrepeat = 3\nquota_pct = [0, 20]\n";
    let (code, verdicts, stderr) = run("cgroup.procs", &body);
    if code == 2 {
        let line = stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "not one clear line: {stderr}");
        return;
    }
    assert_eq!(code, 1, "{stderr}");
    for v in &verdicts {
        let v1_high = v.probe == "memory" && v.case.starts_with("high") && memory_on_v1();
        assert!(
            v.status == "fail" || (v1_high && v.status == "skip"),
            "cgroup.procs ignored must fail {}/{}, got {}: {}",
            v.probe,
            v.case,
            v.status,
            v.reason
        );
        eprintln!("    cgroup.procs  {}/{}: {}", v.probe, v.case, v.reason);
    }
}

/// The control: built with the fault code, but no fault set, the same runs pass.
/// A case the host could not measure cleanly (inconclusive) is run again, up to
/// three times in all, as the faults are: in the TCG guest a busy physical
/// machine once made the kernel count 85 % more CPU than a spinner saw.
#[test]
fn without_a_fault_the_same_runs_pass() {
    if !privileged("without_a_fault_the_same_runs_pass") {
        return;
    }
    let _g = serial();
    for body in [
        QUOTA, CPUSET, MEMORY, PIDS, HUGETLB, FREEZER, IO, WEIGHT, DEVICES, ACCT, PERF,
    ] {
        let mut verdicts = run("", body).1;
        for _ in 2..=3 {
            if !verdicts.iter().any(|v| v.status == "inconclusive") {
                break;
            }
            verdicts = run("", body).1;
        }
        assert!(!verdicts.is_empty(), "no case ran for {body}");
        for v in &verdicts {
            let v1_high = v.probe == "memory" && v.case.starts_with("high") && memory_on_v1();
            // A `bpf-` devices case runs on hybrid hosts only: elsewhere it says why it skips.
            let no_mirror = v.probe == "devices" && v.case.starts_with("bpf-");
            // A known finding (a guest kernel's, named by scripts/vm/test) fails
            // or, where it inflates the calibration, is inconclusive.
            let known = matches!(v.status.as_str(), "fail" | "inconclusive")
                && common::known_finding(&v.probe, &v.case, &v.reason);
            assert!(
                v.status == "pass" || ((v1_high || no_mirror) && v.status == "skip") || known,
                "without a fault {}/{} must pass, got {}: {}",
                v.probe,
                v.case,
                v.status,
                v.reason
            );
        }
    }
}

/// 2 MiB pages, the pool grown for each case by the harness (and set back).
/// The limit is 4 pages: 1.5 times it is 6, so `above` touches 6 pages before
/// its SIGBUS and `rsvd`'s 5-page mmap fits.
const HUGETLB: &str = "[hugetlb]\nsizes = [\"2MB\"]\nreserve_pages = 8\n";
const HUGETLB_CASES: &[(&str, &str)] = &[("hugetlb", "above"), ("hugetlb", "rsvd")];

fault_test!(hugetlb_max_ignored, "hugetlb.max", HUGETLB, HUGETLB_CASES);
fault_test!(
    hugetlb_max_too_high,
    "hugetlb.max*1.5",
    HUGETLB,
    HUGETLB_CASES
);
fault_test!(
    hugetlb_rsvd_max_ignored,
    "hugetlb.rsvd.max",
    HUGETLB,
    &[("hugetlb", "rsvd")]
);

const DEVICES: &str = "[devices]\n";

/// The devices controller's version here, and whether a cgroup2 tree is there
/// (a hybrid host's mirror, or a v2 host).
fn devices_layout() -> (Option<isobench::cgroup::Version>, bool) {
    let l = isobench::cgroup::Layout::detect().unwrap();
    let cgroup2 = l
        .hierarchies
        .iter()
        .any(|h| h.version == isobench::cgroup::Version::V2 && h.own_dir.is_some());
    (
        l.placement(isobench::cgroup::Controller::Devices).version,
        cgroup2,
    )
}

/// devices.deny (and its alias devices.allow) ignored: a v1 device cgroup
/// denies nothing, so both rule sets fail. v2 has no such files (its rules are
/// the program: `devices_bpf_skipped`).
#[test]
fn devices_deny_ignored() {
    if !privileged("devices_deny_ignored") {
        return;
    }
    let _g = serial();
    if devices_layout().0 != Some(isobench::cgroup::Version::V1) {
        eprintln!(
            "devices.deny: the devices controller is not on v1 here; devices_bpf_skipped covers v2"
        );
        return;
    }
    let r = run("devices.deny", DEVICES);
    assert_fails(
        "devices.deny",
        &r,
        &[("devices", "deny-one"), ("devices", "allow-list")],
    );
}

/// The device program's attach skipped (reported done): on v2 the plain
/// cases fail, on a hybrid host the `bpf-` ones.
#[test]
fn devices_bpf_skipped() {
    if !privileged("devices_bpf_skipped") {
        return;
    }
    let _g = serial();
    let cases: &[(&str, &str)] = match devices_layout() {
        (Some(isobench::cgroup::Version::V2), _) => {
            &[("devices", "deny-one"), ("devices", "allow-list")]
        }
        (Some(isobench::cgroup::Version::V1), true) => &[("devices", "bpf-")],
        _ => {
            eprintln!("devices.bpf: no cgroup2 tree here to attach a device program to");
            return;
        }
    };
    let r = run("devices.bpf", DEVICES);
    assert_fails("devices.bpf", &r, cases);
}

/// Whether this host has controller `c` on a v1 hierarchy (net_cls, net_prio:
/// nowhere else); where it has not, the case is a skip naming why, fault or not.
fn on_v1(c: isobench::cgroup::Controller) -> bool {
    isobench::cgroup::Layout::detect()
        .ok()
        .and_then(|l| l.placement(c).version)
        == Some(isobench::cgroup::Version::V1)
}

const NET: &str =
    "[net_cls]\nclasses = [3]\npackets = 50\n[net_prio]\npriorities = [6]\npackets = 50\n";

/// `net_cls.classid` / `net_prio.ifpriomap` ignored (not written, reading back
/// as written): the cgroup's packets carry no mark, and the verdict fails where
/// the controller is mounted; elsewhere the case is the precise skip. The
/// control run (no fault) passes, or skips the same way.
fn net_fault(fault: &str, c: isobench::cgroup::Controller, probe: &str) {
    let r = run(fault, NET);
    if !on_v1(c) {
        for v in r.1.iter().filter(|v| v.probe == probe) {
            assert_eq!(v.status, "skip", "{}", v.reason);
            eprintln!("{fault} where {c} is not mounted: {}", v.reason);
        }
        return;
    }
    assert_fails(fault, &r, &[(probe, "")]);
    let control = run("", NET);
    for v in control.1.iter().filter(|v| v.probe == probe) {
        assert_eq!(v.status, "pass", "without a fault: {}", v.reason);
    }
}

#[test]
fn net_cls_classid_ignored() {
    if !privileged("net_cls_classid_ignored") {
        return;
    }
    let _g = serial();
    net_fault(
        "net_cls.classid",
        isobench::cgroup::Controller::NetCls,
        "net_cls",
    );
}

#[test]
fn net_prio_ifpriomap_ignored() {
    if !privileged("net_prio_ifpriomap_ignored") {
        return;
    }
    let _g = serial();
    net_fault(
        "net_prio.ifpriomap",
        isobench::cgroup::Controller::NetPrio,
        "net_prio",
    );
}

// The accounting read fault: the charge read from cpuacct.usage (and its
// per-CPU split and user/system ticks; cpu.stat's usage keys on v2) scaled.
// Halved, not ×0.8: the 5.10 TCG guest over-charges by 16 % itself (the known
// finding), and a ×0.8 read came out 7.4 % under the spinners: a pass.
fault_test!(
    cpuacct_usage_too_low,
    "cpuacct.usage*0.5",
    ACCT,
    &[("cpuacct", "t")]
);
fault_test!(
    cpuacct_usage_too_high,
    "cpuacct.usage*1.25",
    ACCT,
    &[("cpuacct", "t")]
);
// The spinner never moved into the cgroup: perf counts an empty cgroup.
fault_test!(
    perf_event_spinner_outside,
    "cgroup.procs",
    PERF,
    &[("perf_event", "q")]
);
