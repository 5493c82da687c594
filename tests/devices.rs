//! Privileged tests of the `devices` probe, through the real binary: the rule
//! sets are enforced by every mechanism the host has (v1 files; a BPF device
//! program on v2 or on a hybrid host's cgroup2 mirror), a mechanism the host
//! lacks is a skip that says why, and nothing is left behind — no cgroup, no
//! device program, no mount.

mod common;

use std::process::Command;

use common::{bin, eventually, privileged, run_scenario, serial};
use isobench::cgroup::{devbpf, Controller, Layout, Version};

/// What this host offers: the devices controller's version, and whether a
/// cgroup2 tree is there besides.
fn host() -> (Option<Version>, bool) {
    let l = Layout::detect().expect("a cgroup layout");
    let cgroup2 = l
        .hierarchies
        .iter()
        .any(|h| h.version == Version::V2 && h.own_dir.is_some());
    (l.placement(Controller::Devices).version, cgroup2)
}

fn mounts_at(dir: &std::path::Path) -> usize {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_string_lossy().to_string();
    text.lines()
        .filter(|l| l.split_whitespace().nth(4) == Some(dir.as_str()))
        .count()
}

#[test]
fn rules_are_enforced_by_every_mechanism_here() {
    if !privileged("rules_are_enforced_by_every_mechanism_here") {
        return;
    }
    let _g = serial();
    let (version, cgroup2) = host();
    let before = devbpf::loaded().expect("list the loaded BPF programs");
    let (out, tmp) = run_scenario("[devices]\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out/run.json")).unwrap())
            .unwrap_or_else(|e| panic!("no run.json ({e}): {stderr}"));
    let cases = run["cases"].as_array().unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["case"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["deny-one", "allow-list", "bpf-deny-one", "bpf-allow-list"]
    );
    for c in cases {
        let id = c["case"].as_str().unwrap();
        let status = c["verdict"]["status"].as_str().unwrap();
        let reason = c["verdict"]["reason"].as_str().unwrap();
        eprintln!("{id}: {status}: {reason}");
        let bpf = id.starts_with("bpf-");
        let expected = match (bpf, version) {
            (false, None) => "skip",
            (false, Some(_)) => "pass",
            (true, Some(Version::V2)) => "skip",
            (true, _) if !cgroup2 => "skip",
            (true, _) => "pass",
        };
        assert_eq!(status, expected, "{id}: {reason}");
        if status == "skip" {
            let why = if !bpf {
                "not available"
            } else if version == Some(Version::V2) {
                "already applies these rules as a BPF device program"
            } else {
                "no cgroup2 hierarchy"
            };
            assert!(reason.contains(why), "{id}: {reason}");
            continue;
        }
        let denied = if id.ends_with("deny-one") { 3 } else { 6 };
        assert!(
            reason.starts_with(&format!(
                "12 operations as configured: {denied} denied with EPERM"
            )),
            "{id}: {reason}"
        );
        assert!(reason.contains("mknod 1:7"), "{id}: {reason}");
        let mechanism = c["config"]["mechanism"].as_str().unwrap();
        if bpf || version == Some(Version::V2) {
            assert!(mechanism.starts_with("BPF"), "{id}: {mechanism}");
        } else {
            assert!(mechanism.starts_with("devices.deny"), "{id}: {mechanism}");
        }
    }
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The kernel confirms what the worker saw: one program on each BPF case's cgroup.
    let csv = std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap();
    for line in csv.lines().filter(|l| l.contains(",programs_attached,")) {
        assert!(line.contains(",programs_attached,count,1,1.0,"), "{line}");
    }
    // Removing the cgroups released their programs (the kernel frees them
    // asynchronously after the cgroup goes).
    assert!(
        eventually(10, || devbpf::loaded()
            .unwrap()
            .iter()
            .all(|id| before.contains(id))),
        "device programs left loaded: {:?} (before: {before:?})",
        devbpf::loaded()
    );
}

#[test]
fn the_worker_alone_succeeds_outside_and_leaves_no_mount() {
    if !privileged("the_worker_alone_succeeds_outside_and_leaves_no_mount") {
        return;
    }
    let tmp = std::env::temp_dir();
    let mounts = mounts_at(&tmp);
    let out = Command::new(bin())
        .args([
            "worker",
            "devices",
            "--open",
            "/dev/null",
            "--open",
            "/dev/full",
            "--mknod",
            "1:3",
            "--mknod",
            "1:7",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8_lossy(&out.stdout);
    let r: isobench::workload::devices::DevReport = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(r.setup_error, None);
    assert_eq!(r.outcomes.len(), 6, "{r:?}");
    assert!(r.outcomes.iter().all(|o| o.errno == 0), "{r:?}");
    // The tmpfs was in the worker's own mount namespace: gone with it, never seen here.
    assert_eq!(mounts_at(&tmp), mounts);
    assert!(!tmp.join("c-1-3").exists());
}

#[test]
fn a_refused_program_carries_the_verifier_log() {
    if !privileged("a_refused_program_carries_the_verifier_log") {
        return;
    }
    // `exit` with r0 never written: the verifier refuses to return it.
    let exit = devbpf::Insn {
        code: 0x95,
        regs: 0,
        off: 0,
        imm: 0,
    };
    let err = devbpf::load(&[exit], std::path::Path::new("/sys/fs/cgroup/x")).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        msg.starts_with("load the device program for /sys/fs/cgroup/x: "),
        "{msg}"
    );
    assert!(
        msg.contains("verifier log: ") && msg.contains("R0"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "not one line: {msg}");
}

/// The leak check above can see a program: one loaded here is listed while
/// its fd is open, and gone once it is closed.
#[test]
fn a_loaded_program_is_listed_until_released() {
    if !privileged("a_loaded_program_is_listed_until_released") {
        return;
    }
    let _g = serial();
    let rules = [isobench::cgroup::DeviceRule::char(false, 1, 7)];
    let prog = devbpf::load(
        &devbpf::program(&rules),
        std::path::Path::new("/sys/fs/cgroup/x"),
    )
    .unwrap();
    let listed = devbpf::loaded().unwrap();
    assert!(!listed.is_empty(), "the loaded program is not listed");
    drop(prog);
    assert!(
        eventually(10, || devbpf::loaded()
            .unwrap()
            .iter()
            .all(|id| !listed.contains(id))),
        "still listed after close: {:?}",
        devbpf::loaded()
    );
}
