//! Privileged end-to-end tests of the `hugetlb` probe, through the real binary:
//! with `reserve_pages` the 2 MiB cases run and pass, and the pool is set back;
//! without it an empty pool is a skip naming the command that would fill it;
//! and a harness SIGKILLed mid-case leaves a grown pool that `isobench clean`
//! sets back, with nothing else left behind.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{bin, dirs_of, eventually, met, privileged, process_gone, run_scenario, serial};

const POOL: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";
/// The v2 root whose subtree_control a run may change (hybrid host, v2 guest).
const ROOTS: &[&str] = &["/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

fn read(p: &str) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn nr() -> u64 {
    read(&format!("{POOL}/nr_hugepages")).parse().unwrap()
}

fn free() -> u64 {
    read(&format!("{POOL}/free_hugepages")).parse().unwrap()
}

/// Every v2 root's subtree_control: a run must leave them as found.
fn subtree_controls() -> Vec<String> {
    ROOTS
        .iter()
        .map(|r| read(&format!("{r}/cgroup.subtree_control")))
        .collect()
}

/// Whether the host can run the 2 MiB cases at all; otherwise why not (a
/// failure under ISOBENCH_STRICT=1).
fn ready(test: &str) -> bool {
    if !privileged(test) {
        return false;
    }
    let layout = isobench::cgroup::Layout::detect().unwrap();
    let why = if layout
        .placement(isobench::cgroup::Controller::Hugetlb)
        .version
        .is_none()
    {
        Some("no hugetlb controller")
    } else if !Path::new(POOL).exists() {
        Some("no 2 MiB huge pages in this kernel")
    } else {
        None
    };
    met(test, why)
}

fn cases(out: &Path) -> Vec<serde_json::Value> {
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    run["cases"].as_array().unwrap().clone()
}

fn no_records_of(pid: u32) -> bool {
    let dir = isobench::cgroup::owner::state_dir();
    std::fs::read_dir(dir).map_or(true, |d| {
        d.flatten().all(|e| {
            !e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{pid}-"))
        })
    })
}

#[test]
fn below_above_and_rsvd_pass_with_reserve_pages_and_the_pool_is_set_back() {
    if !ready("below_above_and_rsvd_pass_with_reserve_pages_and_the_pool_is_set_back") {
        return;
    }
    let _g = serial();
    let (nr0, ctl0) = (nr(), subtree_controls());
    let (out, tmp) = run_scenario("[hugetlb]\nsizes = [\"2MB\"]\nreserve_pages = 8\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let cases = cases(&tmp.path().join("out"));
    let ids: Vec<&str> = cases.iter().map(|c| c["case"].as_str().unwrap()).collect();
    assert_eq!(ids, ["below-2MB", "above-2MB", "rsvd-2MB"]);
    for c in &cases {
        let v = &c["verdict"];
        eprintln!("{}: {} {}", c["case"], v["status"], v["reason"]);
        // A kernel without reservation limits (< 5.7) skips rsvd with the reason.
        let rsvd_skip = c["case"] == "rsvd-2MB"
            && v["status"] == "skip"
            && v["reason"].as_str().unwrap().contains("Linux ≥ 5.7");
        assert!(v["status"] == "pass" || rsvd_skip, "{c}");
    }
    let csv = std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap();
    let p50 = |p: &str| common::p50(common::row(&csv, p));
    assert_eq!(p50("hugetlb,below-2MB,touched_bytes,"), 3 << 21);
    assert_eq!(p50("hugetlb,below-2MB,usage_bytes,"), 3 << 21);
    assert_eq!(p50("hugetlb,above-2MB,touched_bytes,"), 4 << 21);
    assert_eq!(p50("hugetlb,above-2MB,end_signal,"), libc::SIGBUS as u64);
    assert!(p50("hugetlb,above-2MB,max_events,") > 0);
    // Set back, and the v2 root's controllers given back.
    assert_eq!(nr(), nr0, "nr_hugepages not restored");
    assert_eq!(subtree_controls(), ctl0, "a controller was left enabled");
}

#[test]
fn an_empty_pool_without_reserve_pages_is_a_skip_naming_the_command() {
    if !ready("an_empty_pool_without_reserve_pages_is_a_skip_naming_the_command") {
        return;
    }
    let _g = serial();
    if free() >= 8 {
        // The host has the pages: the cases run instead (and must pass).
        eprintln!(
            "the 2 MiB pool has {} free pages: no skip to see here",
            free()
        );
        return;
    }
    let nr0 = nr();
    let (out, tmp) = run_scenario("[hugetlb]\nsizes = [\"2MB\"]\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let above = cases(&tmp.path().join("out"))
        .into_iter()
        .find(|c| c["case"] == "above-2MB")
        .unwrap();
    assert_eq!(above["verdict"]["status"], "skip", "{above}");
    let reason = above["verdict"]["reason"].as_str().unwrap();
    eprintln!("{reason}");
    let want = format!("echo {} > {POOL}/nr_hugepages", nr0 + 8 - free());
    assert!(reason.contains(&want), "{reason} (wanted `{want}`)");
    assert!(reason.contains("reserve_pages"), "{reason}");
    assert_eq!(nr(), nr0, "the pool was touched without reserve_pages");
}

#[test]
fn a_pool_grown_by_a_killed_harness_is_set_back_by_isobench_clean() {
    if !ready("a_pool_grown_by_a_killed_harness_is_set_back_by_isobench_clean") {
        return;
    }
    let _g = serial();
    let (nr0, ctl0) = (nr(), subtree_controls());
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario(
        tmp.path(),
        "s.toml",
        "schema = 1\nname = \"hold\"\n[hugetlb]\nsizes = [\"2MB\"]\nreserve_pages = 8\nhold_ms = 60000\n",
    );
    let mut harness = Command::new(bin())
        .arg("run")
        .arg(&s)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = harness.id();
    // Mid-case: the pool grown and the worker holding its pages in its cgroup.
    let holding = eventually(20, || {
        free() < nr()
            && dirs_of(pid).iter().any(|d| {
                d.ends_with("isobench-".to_string() + &pid.to_string() + "-hugetlb-below-2MB")
            })
    });
    if !holding {
        let _ = harness.kill();
        let _ = harness.wait();
        panic!(
            "the harness never reached the hold (nr_hugepages {}, free {})",
            nr(),
            free()
        );
    }
    // The worker is in the hugetlb hierarchy's directory of the case.
    let layout = isobench::cgroup::Layout::detect().unwrap();
    let h = layout
        .placement(isobench::cgroup::Controller::Hugetlb)
        .hierarchy
        .unwrap();
    let own = layout.hierarchies[h].own_dir.clone().unwrap();
    let case_dir = own.join(format!("isobench-{pid}-hugetlb-below-2MB"));
    let procs = read(&case_dir.join("cgroup.procs").to_string_lossy());
    let worker: i32 = procs
        .lines()
        .next()
        .expect("a worker in the hugetlb cgroup")
        .parse()
        .unwrap();
    assert!(nr() > nr0, "the pool was not grown");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    harness.wait().unwrap();
    assert!(
        !no_records_of(pid),
        "the killed run left no ownership record"
    );
    let out = Command::new(bin()).arg("clean").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("restored "), "{text}");
    assert_eq!(nr(), nr0, "nr_hugepages not set back by isobench clean");
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    assert!(
        eventually(5, || process_gone(worker)),
        "worker {worker} survived"
    );
    assert!(no_records_of(pid), "the record stayed after clean");
    assert_eq!(subtree_controls(), ctl0, "a controller was left enabled");
}
