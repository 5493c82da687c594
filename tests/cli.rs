//! The command line end to end: bad input exits 2 with one line naming the file,
//! key and value, and creates nothing; help and check work.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{bin, dirs_of, scenario};

const HEAD: &str = "schema = 1\nname = \"t\"\n[cgroup_lifecycle]\nrepeat = 1\n[[cgroup_lifecycle.case]]\nname = \"c\"\n";

/// Asserts that the harness process `pid` made no cgroup, attached no loop
/// device and left no ownership record.
fn nothing_created(pid: u32) {
    assert!(
        dirs_of(pid).is_empty(),
        "a refused run created cgroups: {:?}",
        dirs_of(pid)
    );
    assert!(
        isobench::loopdev::harness_devices().is_empty(),
        "a refused run attached a loop device"
    );
    let records = std::fs::read_dir(isobench::cgroup::owner::state_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{pid}-"))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(records, 0, "a refused run wrote an ownership record");
}

/// Runs `isobench run <file>` and returns its output; asserts it made no cgroup
/// and left no ownership record.
fn run_scenario(path: &Path) -> Output {
    let (out, pid) = common::run_out(path, &path.with_extension("out"));
    nothing_created(pid);
    assert!(
        !path.with_extension("out").exists(),
        "a rejected scenario created its result folder"
    );
    out
}

/// Asserts exit 2 and a single stderr line containing every `needle`.
fn rejected(body: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), "bad.toml", &format!("{HEAD}{body}\n"));
    let out = run_scenario(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "body {body:?}: stderr {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.starts_with("isobench: error: "), "{err}");
    assert!(err.contains("bad.toml"), "names the file: {err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

#[test]
fn unknown_key() {
    rejected("cpu_qouta_us = 5000", &["cpu_qouta_us", "unknown field"]);
}

#[test]
fn wrong_type() {
    rejected(
        "pids_max = \"many\"",
        &["pids_max", "\"many\"", "invalid type"],
    );
}

#[test]
fn cpuset_out_of_range_or_empty() {
    rejected(
        "cpus = \"4096\"",
        &["cgroup_lifecycle.case[0].cpus", "\"4096\"", "not online"],
    );
    rejected("cpus = \"\"", &["cpus", "empty"]);
    rejected("cpus = \"abc\"", &["cpus", "\"abc\"", "not a number"]);
}

#[test]
fn quota_and_period_bounds() {
    rejected(
        "cpu_quota_us = 999",
        &["cpu_quota_us = 999", "at least 1000"],
    );
    rejected("cpu_period_us = 999", &["cpu_period_us = 999"]);
    rejected("cpu_period_us = 1000001", &["cpu_period_us = 1000001"]);
}

#[test]
fn memory_limit_of_zero() {
    rejected("memory_max = 0", &["memory_max = 0", "at least one page"]);
    rejected(
        "memory_max = \"12 parsecs\"",
        &["memory_max", "unknown unit"],
    );
}

#[test]
fn missing_block_device() {
    rejected(
        "io = { device = \"/dev/isobench-no-such-disk\", read_bps = 1048576 }",
        &["io.device", "/dev/isobench-no-such-disk", "no such file"],
    );
    rejected(
        "io = { device = \"4095:4095\", read_iops = 10 }",
        &["no block device 4095:4095"],
    );
}

#[test]
fn names_that_would_escape() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../../etc", "a/b", ".."] {
        let body = format!("schema = 1\nname = \"t\"\n[cgroup_lifecycle]\n[[cgroup_lifecycle.case]]\nname = {name:?}\n");
        let path = scenario(dir.path(), "bad.toml", &body);
        let out = run_scenario(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("cgroup_lifecycle.case[0].name") && err.contains(name),
            "{err}"
        );
    }
}

#[test]
fn unusable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (dir.path().join("missing.toml"), "no such file"),
        (dir.path().to_path_buf(), "is a directory"),
        (
            scenario(dir.path(), "latin1.toml", "name = \"caf\u{e9}\""),
            "",
        ),
        (
            scenario(dir.path(), "syntax.toml", "schema = 1\nname = \n"),
            "syntax.toml:2",
        ),
    ];
    std::fs::write(
        dir.path().join("latin1.toml"),
        b"schema = 1\nname = \"caf\xe9\"\n",
    )
    .unwrap();
    for (path, needle) in cases {
        let out = run_scenario(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{}: {err}", path.display());
    }
    let out = run_scenario(&dir.path().join("latin1.toml"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8"));
}

#[test]
fn usage_errors_exit_2_and_help_exists_for_every_command() {
    let out = Command::new(bin()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    for cmd in ["check", "run", "clean"] {
        let out = Command::new(bin()).args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success(), "{cmd} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: isobench"),
            "{cmd}"
        );
    }
    let out = Command::new(bin())
        .args(["run", "--cgroup-parent", "/../x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_reports_the_layout() {
    let out = Command::new(bin())
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kind = v["layout"]["kind"].as_str().expect("a layout");
    // The detected kind must agree with what statfs says about /sys/fs/cgroup.
    let root = isobench::cgroup::layout::root_fs(Path::new("/sys/fs/cgroup"));
    match root {
        isobench::cgroup::layout::RootFs::Cgroup2 => assert_eq!(kind, "unified"),
        _ => assert!(kind == "hybrid" || kind == "legacy", "{kind}"),
    }
    if let Ok(expected) = std::env::var("ISOBENCH_EXPECT_LAYOUT") {
        assert_eq!(kind, expected);
    }
    assert!(v["families"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "cgroup_lifecycle"));
    let text = Command::new(bin()).arg("check").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("probe families"));
}

/// Asserts exit 2 and one line containing every needle, for an `[ns_latency]` body.
fn ns_rejected(body: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(
        dir.path(),
        "ns.toml",
        &format!("schema = 1\nname = \"n\"\n[ns_latency]\n{body}\n"),
    );
    let out = run_scenario(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{body:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

#[test]
fn bad_namespace_settings() {
    ns_rejected(
        "kinds = [\"netw\"]",
        &["ns_latency.kinds = \"netw\"", "unknown namespace kind"],
    );
    ns_rejected(
        "methods = [\"fork\"]",
        &["ns_latency.methods = \"fork\"", "unknown method"],
    );
    ns_rejected("kinds = []", &["ns_latency.kinds = []", "names no kind"]);
    ns_rejected("iterations = 0", &["ns_latency.iterations = 0"]);
    ns_rejected("concurrency = [0]", &["ns_latency.concurrency = 0"]);
    ns_rejected("rate_ms = 999999", &["ns_latency.rate_ms = 999999"]);
    ns_rejected("itrations = 5", &["itrations", "unknown field"]);
}

#[test]
fn a_scenario_named_twice_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(
        dir.path(),
        "twice.toml",
        "schema = 1\nname = \"t\"\n[pids]\nmax = [4]\n",
    );
    let out = Command::new(bin())
        .arg("run")
        .arg(&path)
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("pids = max4") && err.contains("twice.toml"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn bad_limit_settings() {
    let dir = tempfile::tempdir().unwrap();
    for (body, needles) in [
        ("[pids]\nmax = [0]\n", &["pids.max = 0", "1 … 100000"][..]),
        (
            "[memory]\nlimits = [0]\n",
            &["memory.limits = 0", "at least 16MiB"][..],
        ),
        (
            "[memory]\nlimits = [\"1KiB\"]\n",
            &["memory.limits = 1KiB"][..],
        ),
        (
            "[io]\nread_bps = [0]\n",
            &["io.read_bps = 0", "raise the limit"][..],
        ),
        ("[io]\nwrite_iops = [0]\n", &["io.write_iops = 0"][..]),
        (
            "[pids]\nmax = [16, 16]\n",
            &["pids = max16", "two cases would have the id max16"][..],
        ),
        (
            "[io]\ndevice = \"/dev/sdz\"\nread_iops = [200]\n",
            &["io.device = \"/dev/sdz\"", "loop device it makes itself"][..],
        ),
        ("[io]\n", &["io.read_bps", "names no limit"][..]),
        (
            "[io]\nread_iops = [200]\niops_block = \"1000\"\n",
            &["io.iops_block = 1000", "multiple of 4096"][..],
        ),
        (
            "[io]\nread_iops = [200]\nsize = \"2GiB\"\n",
            &["io.size = 2GiB", "1GiB"][..],
        ),
    ] {
        let path = scenario(
            dir.path(),
            "l.toml",
            &format!("schema = 1\nname = \"l\"\n{body}"),
        );
        let out = run_scenario(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        for n in needles {
            assert!(err.contains(n), "expected {n:?} in {err}");
        }
    }
}

/// Every file under `dir` (recursively) with its bytes, sorted: what a refused
/// command must leave as it was.
fn contents(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push((p.clone(), Vec::new()));
                todo.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `isobench run SCENARIO --out OUT` refused with exit 2 and one line naming
/// OUT and every needle, having created nothing; returns the line.
fn out_refused(scenario: &str, out: &Path, needles: &[&str]) -> String {
    let (o, pid) = common::run_out(Path::new(scenario), out);
    nothing_created(pid);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "--out {}: {err}", out.display());
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(
        err.starts_with(&format!("isobench: error: --out {}: ", out.display())),
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    err
}

/// A folder with the user's files, an earlier run's folder, a file, and a
/// folder under a file: each refused before anything is made, and left as it was.
#[test]
fn out_refuses_what_it_would_overwrite_or_mix_into() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(mine.join("sub")).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    std::fs::write(mine.join("sub/report.md"), "mine too").unwrap();
    let earlier = tmp.path().join("earlier");
    std::fs::create_dir_all(earlier.join("samples")).unwrap();
    std::fs::write(earlier.join("run.json"), "{\"schema_version\": 1}").unwrap();
    std::fs::write(earlier.join("samples/x.csv"), "index\n").unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "a file").unwrap();
    let before = contents(tmp.path());
    out_refused(
        "quick",
        &mine,
        &["not empty and not a run folder", "; hint: "],
    );
    out_refused(
        "quick",
        &earlier,
        &[
            "already holds a run (run.json)",
            "; hint: choose a new folder",
        ],
    );
    out_refused("quick", &file, &["is a file, not a folder", "; hint: "]);
    let e = out_refused("quick", &file.join("out"), &["; hint: "]);
    assert!(
        e.contains(&format!(": {} is a file", file.display())),
        "{e}"
    );
    assert_eq!(
        contents(tmp.path()),
        before,
        "a refused run changed a folder"
    );
}

/// `isobench run quick` finds the shipped scenario without a scenarios/ folder
/// (the binary runs in an empty folder): scenarios are resolved and validated
/// before `--out` is looked at, so being refused on `--out` proves the name
/// resolved; an unknown name is refused on the scenario, with the shipped names.
#[test]
fn shipped_scenarios_are_found_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "a file").unwrap();
    let run = |args: &[&str]| {
        let child = Command::new(bin())
            .current_dir(tmp.path())
            .arg("run")
            .args(args)
            .arg("--out")
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&child.stderr).into_owned();
        assert_eq!(child.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        err
    };
    for (name, _) in isobench::scenario::SHIPPED {
        for arg in [name.to_string(), format!("{name}.toml")] {
            let err = run(&[&arg]);
            assert!(
                err.starts_with(&format!("isobench: error: --out {}: ", file.display())),
                "{arg}: {err}"
            );
        }
    }
    let err = run(&["quick", "nosuch"]);
    assert_eq!(
        err.trim_end(),
        "isobench: error: scenario \"nosuch\": no such file and no shipped scenario of that name; \
         hint: shipped: ci, cpu, default, limits, namespaces, quick"
    );
    // A file of the user's with a shipped name is that file.
    std::fs::write(tmp.path().join("quick.toml"), "schema = 1\nname = \n").unwrap();
    let err = run(&["quick.toml"]);
    assert!(err.starts_with("isobench: error: quick.toml:2"), "{err}");
    // The help names every shipped scenario.
    let help = Command::new(bin())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for (name, _) in isobench::scenario::SHIPPED {
        assert!(
            help.contains(name),
            "run --help does not name {name}: {help}"
        );
    }
}

/// An existing empty folder is used; once it holds the run, a second run into
/// it is refused and the first run's files stay as they were.
#[test]
fn an_empty_folder_is_used_and_then_not_overwritten() {
    if !common::privileged("an_empty_folder_is_used_and_then_not_overwritten") {
        return;
    }
    let _g = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let (o, pid) = common::run_out(Path::new("quick"), tmp.path());
    assert!(
        common::succeeded(o.status.code(), tmp.path()),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run["scenarios"][0][0], "<shipped scenario quick>");
    let before = contents(tmp.path());
    out_refused("quick", tmp.path(), &["already holds a run"]);
    assert_eq!(contents(tmp.path()), before, "the earlier run was changed");
}
