//! Privileged tests of the namespace probe against the real kernel: every
//! isolation fact, every method's mechanics (the `/proc/<pid>/ns` links really
//! change), and a run of the namespace scenario that leaves no process behind.
//! They run on this host and inside the cgroup v2 VM; under ISOBENCH_STRICT=1 an
//! unmet requirement fails.

mod common;

use std::process::Command;

use common::{bin, privileged, serial};

#[derive(serde::Deserialize, Debug)]
struct Check {
    pass: bool,
    observed: String,
}

fn verify(args: &[&str]) -> Check {
    let out = Command::new(bin())
        .args(["worker", "ns-verify"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Processes running an isobench namespace worker (timing workers and their keepers).
fn ns_workers() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains("worker ns-") {
                out.push(format!("{}: {cmd}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

macro_rules! isolation {
    ($($name:ident: $kind:literal, $fact:literal;)*) => {$(
        #[test]
        fn $name() {
            if !privileged(stringify!($name)) {
                return;
            }
            let c = verify(&["--kind", $kind]);
            assert!(c.pass, "{} isolation: {}", $kind, c.observed);
            assert!(c.observed.contains($fact), "{}", c.observed);
        }
    )*};
}

isolation! {
    pid_is_1_and_the_next_child_2: "pid", "getpid() = 1, its first child = 2";
    hostname_set_inside_is_not_seen_outside: "uts", "hostname inside \"isobench-";
    new_net_namespace_has_only_lo_down: "net", "interfaces [lo], lo down";
    mount_inside_is_not_seen_outside: "mnt", "visible inside: true, outside: false";
    sysv_queue_outside_is_invisible_inside: "ipc", "msgget inside: No such file";
    uid_0_inside_is_the_mapped_uid_outside: "user", "uid inside 0, seen from outside 65534";
    cgroup_namespace_root_is_slash: "cgroup", "/proc/self/cgroup paths: /";
    time_offset_is_seen_by_the_first_child: "time", "offset seen by the first child: 86400.";
    all_at_once_isolates_each_kind: "all", "pid=1; uid=0; ifs=lo; lo=down; cgroup=/";
}

#[test]
fn every_method_really_moves_the_process() {
    if !privileged("every_method_really_moves_the_process") {
        return;
    }
    let mut failures = Vec::new();
    for kind in ["mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"] {
        for method in ["clone", "unshare", "setns"] {
            let c = verify(&["--kind", kind, "--method", method]);
            if !c.pass {
                failures.push(format!("{kind}-{method}: {}", c.observed));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn namespace_run_covers_every_kind_and_method_and_leaves_nothing() {
    if !privileged("namespace_run_covers_every_kind_and_method_and_leaves_nothing") {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/namespaces.toml");
    // In the test VM the scenario files are not there: fall back to an equivalent one.
    let scenario = if scenario.exists() {
        scenario
    } else {
        common::scenario(
            tmp.path(),
            "ns.toml",
            "schema = 1\nname = \"ns\"\n[ns_latency]\nconcurrency = [1, 2]\n",
        )
    };
    let out = Command::new(bin())
        .args(["run", "--quick", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap();
    for kind in [
        "none", "mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time", "all",
    ] {
        for method in ["clone", "unshare", "setns"] {
            let row = csv
                .lines()
                .find(|l| l.starts_with(&format!("ns_latency,{kind}-{method},")))
                .unwrap_or_else(|| panic!("no row for {kind}-{method}"));
            if kind == "none" && method == "setns" {
                assert!(row.contains(",skip,"), "{row}");
            } else {
                assert!(
                    row.starts_with(&format!("ns_latency,{kind}-{method},latency,ns,")),
                    "{row}"
                );
                assert!(row.contains(",pass,"), "{row}");
                assert!(tmp
                    .path()
                    .join(format!("out/samples/ns_latency-{kind}-{method}.csv"))
                    .exists());
            }
        }
        if kind != "none" {
            assert!(
                csv.contains(&format!("ns_latency,{kind}-isolation,,,,,,,,,pass,")),
                "{kind} isolation row"
            );
        }
    }
    assert!(csv.contains("ns_latency,noop,latency,ns,"));
    assert!(csv.contains("ns_latency,net-clone,ns_cost,ns,"));
    assert!(csv.contains("ns_latency,net-clone,sustained_rate,ops_per_s,"));
    assert!(csv.contains("ns_latency,uts-unshare-c2,aggregate_throughput,ops_per_s,"));
    let left = ns_workers();
    assert!(
        left.is_empty(),
        "namespace workers or keepers left: {left:?}"
    );
}

#[test]
fn worker_rejects_an_unknown_op() {
    if !privileged("worker_rejects_an_unknown_op") {
        return;
    }
    // An unknown op is a usage error of the worker itself (exit 2, one line).
    let out = Command::new(bin())
        .args(["worker", "ns-bench", "--op", "bogus-clone"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown namespace kind `bogus`"));
}

/// The uid a run without root is tested as (nobody).
const USER: u32 = 65534;

/// A copy of the binary that `USER` may run, in a folder it may write.
fn as_user() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(bin(), tmp.path().join("isobench")).unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    tmp
}

fn user_command(dir: &std::path::Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(dir.join("isobench"));
    c.uid(USER).gid(USER).current_dir(dir);
    c
}

/// Every isolation fact and every method's mechanics hold through a user
/// namespace of the worker's own: as root (`--userns` maps 0 to 0) and as a
/// user without privileges, the way a run without root makes namespaces.
#[test]
fn through_a_user_namespace_every_kind_isolates_and_every_method_moves() {
    if !privileged("through_a_user_namespace_every_kind_isolates_and_every_method_moves") {
        return;
    }
    let tmp = as_user();
    let mut failures = Vec::new();
    for kind in [
        "mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time", "all",
    ] {
        let mut checks = vec![vec!["--kind", kind]];
        if kind != "all" {
            for m in ["clone", "unshare", "setns"] {
                checks.push(vec!["--kind", kind, "--method", m]);
            }
        }
        for args in checks {
            for user in [false, true] {
                let out = if user {
                    user_command(tmp.path())
                        .args(["worker", "ns-verify", "--userns"])
                        .args(&args)
                        .output()
                } else {
                    Command::new(bin())
                        .args(["worker", "ns-verify", "--userns"])
                        .args(&args)
                        .output()
                }
                .unwrap();
                let c: Check = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                    panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout))
                });
                if !c.pass {
                    failures.push(format!("{args:?} (as uid {USER}: {user}): {}", c.observed));
                }
                if kind == "user" && args.len() == 2 {
                    // The nested map names another id: a map that did not
                    // take could not read as this one.
                    assert!(
                        c.observed.contains("uid inside 1000, seen from outside 0"),
                        "{}",
                        c.observed
                    );
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Without root and with no cgroup it may write, a run does what needs no
/// privilege: the namespace cases run through a user namespace and pass, the
/// cgroup cases skip naming the cgroup and the fix, and nothing is created.
/// With only cgroup cases it refuses at once (exit 2), leaving no folder.
#[test]
fn without_root_the_namespace_cases_run_and_the_cgroup_cases_skip() {
    if !privileged("without_root_the_namespace_cases_run_and_the_cgroup_cases_skip") {
        return;
    }
    let _g = serial();
    let tmp = as_user();
    let scenario = common::scenario(
        tmp.path(),
        "mixed.toml",
        "schema = 1\nname = \"mixed\"\n[ns_latency]\nkinds = [\"net\", \"user\"]\nmethods = [\"clone\", \"setns\"]\niterations = 20\n[pids]\n",
    );
    let (out, pid) = common::output_and_pid(
        user_command(tmp.path())
            .args(["run", "--out"])
            .arg(tmp.path().join("out"))
            .arg(&scenario),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "not root, and uid {USER} cannot write the own cgroup"
        )) && stderr.contains("hint: run as root"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap();
    for case in [
        "net-clone",
        "user-clone",
        "net-setns",
        "user-setns",
        "net-isolation",
    ] {
        let row = common::row(&csv, &format!("ns_latency,{case},"));
        assert!(row.contains(",pass,"), "{row}");
        if !case.ends_with("isolation") {
            assert!(
                row.contains("through a user namespace of its own (not root)"),
                "{row}"
            );
        }
    }
    let pids: Vec<&str> = csv.lines().filter(|l| l.starts_with("pids,")).collect();
    assert!(!pids.is_empty(), "{csv}");
    for row in pids {
        assert!(
            row.contains(",skip,") && row.contains(&format!("which uid {USER} cannot write")),
            "{row}"
        );
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/run.json")).unwrap())
            .unwrap();
    assert!(run["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["probe"] == "ns_latency")
        .all(|c| c["config"]["user_namespace"] == true));
    assert!(common::dirs_of(pid).is_empty());
    // Only cgroup cases: refused at once, nothing made.
    let only = common::scenario(
        tmp.path(),
        "pids.toml",
        "schema = 1\nname = \"p\"\n[pids]\n",
    );
    let out = user_command(tmp.path())
        .args(["run", "--out"])
        .arg(tmp.path().join("out2"))
        .arg(&only)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("not writable by uid {USER}")) && stderr.contains("hint:"),
        "{stderr}"
    );
    assert!(!tmp.path().join("out2").exists());
    assert!(ns_workers().is_empty(), "{:?}", ns_workers());
}
