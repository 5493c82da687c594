//! isobench inside a container's view of cgroups, built the way docker and
//! podman build it on cgroup v2: the process is moved into a cgroup of its
//! own, then a new cgroup and mount namespace is made and cgroup2 is mounted
//! afresh, so `/proc/self/cgroup` reads `0::/` and the mount's root is the
//! namespace's root, which the kernel treats as an ordinary cgroup.
//!
//! - alone there, the run steps into a leaf, passes, and gives everything back;
//! - beside another process, it refuses with the container hint (exit 2);
//! - with the cgroup file system read-only (an unprivileged container), the
//!   cgroup cases skip and say so and the namespace cases still run.
//!
//! Needs root and a pure cgroup-v2 host (the v2 guest of scripts/vm/test);
//! elsewhere the tests say why they skip.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use isobench::cgroup::{Layout, LayoutKind};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

const SCENARIO: &str = r#"schema = 1
name = "container"
description = "a cgroup case and a namespace case"

[cgroup_lifecycle]
repeat = 1
hold_ms = 20

[[cgroup_lifecycle.case]]
name = "mem"
memory_max = "64MiB"
pids_max = 32

[ns_latency]
kinds = ["uts"]
methods = ["unshare"]
iterations = 20
warmup = 2
concurrency = [1]
verify = true
noop = false
"#;

/// The "container's" cgroup: a child of the test's own v2 cgroup, removed on drop.
struct Container {
    dir: PathBuf,
    /// Controllers this test enabled in the parent, given back on drop.
    enabled: Vec<String>,
    parent: PathBuf,
}

impl Container {
    fn new(tag: &str) -> Option<Container> {
        let layout = Layout::detect().ok()?;
        if layout.kind != LayoutKind::Unified {
            return None;
        }
        let parent = layout.unified()?.own_dir.clone()?;
        let dir = parent.join(format!("ctrtest-{}-{tag}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        // What a container runtime enables for its container.
        let have = std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap();
        let offered = std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap();
        let mut enabled = Vec::new();
        for c in ["cpu", "cpuset", "memory", "io", "pids"] {
            if offered.split_whitespace().any(|o| o == c)
                && !have.split_whitespace().any(|h| h == c)
            {
                std::fs::write(parent.join("cgroup.subtree_control"), format!("+{c}")).unwrap();
                enabled.push(c.to_string());
            }
        }
        Some(Container {
            dir,
            enabled,
            parent,
        })
    }

    /// `isobench ARGS` as the container's process: moved into the cgroup,
    /// then in new cgroup and mount namespaces with cgroup2 mounted afresh
    /// (read-only if asked).
    fn isobench(&self, args: &[&str], read_only: bool) -> std::process::Output {
        let procs = self.dir.join("cgroup.procs");
        let mut c = Command::new(common::bin());
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        // SAFETY: after fork, before exec, in the single-threaded child: only
        // system calls and a write of a few bytes.
        unsafe {
            c.pre_exec(move || {
                std::fs::write(&procs, "0")?;
                unshare(CloneFlags::CLONE_NEWCGROUP | CloneFlags::CLONE_NEWNS)?;
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )?;
                // The host's mount goes first: the same file system cannot be
                // mounted twice on one mount point (EBUSY).
                nix::mount::umount2("/sys/fs/cgroup", nix::mount::MntFlags::MNT_DETACH)?;
                let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
                if read_only {
                    flags |= MsFlags::MS_RDONLY;
                }
                mount(
                    Some("cgroup2"),
                    "/sys/fs/cgroup",
                    Some("cgroup2"),
                    flags,
                    Some("nsdelegate"),
                )?;
                Ok(())
            });
        }
        c.output().unwrap()
    }

    /// A process that sits in the container's cgroup until dropped (killed
    /// by its pid: only the process this test started).
    fn sibling(&self) -> Sibling {
        let procs = self.dir.join("cgroup.procs");
        let mut c = Command::new("sleep");
        c.arg("300");
        // SAFETY: as above.
        unsafe {
            c.pre_exec(move || std::fs::write(&procs, "0"));
        }
        Sibling(c.spawn().unwrap())
    }
}

struct Sibling(std::process::Child);

impl Drop for Sibling {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Whatever the test left: the container is empty when its run is over.
        let _ = std::fs::remove_dir(&self.dir);
        for c in self.enabled.iter().rev() {
            let _ = std::fs::write(self.parent.join("cgroup.subtree_control"), format!("-{c}"));
        }
    }
}

fn ready(test: &str) -> bool {
    if !common::privileged(test) {
        return false;
    }
    let unified = Layout::detect().is_ok_and(|l| l.kind == LayoutKind::Unified);
    // A hybrid or v1 host has no container view of this shape: not a missing
    // requirement, so not a failure under ISOBENCH_STRICT (the v2 guest runs it).
    if !unified {
        eprintln!("{test}: skipped: needs a pure cgroup-v2 host (the v2 guest of scripts/vm/test runs it)");
    }
    unified
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn cases(run: &serde_json::Value) -> Vec<(String, String, String)> {
    run["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["probe"].as_str().unwrap().to_string(),
                c["verdict"]["status"].as_str().unwrap().to_string(),
                c["verdict"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// One run in a fresh docker-shaped view `tag`: of the built-in scenario
/// `builtin`, else of [`SCENARIO`]; beside a sibling process if `busy`.
struct Ran {
    o: std::process::Output,
    stderr: String,
    out: PathBuf,
    ctr: Container,
    _tmp: tempfile::TempDir,
}

fn run_in(tag: &str, builtin: Option<&str>, read_only: bool, busy: bool) -> Ran {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = match builtin {
        Some(name) => name.to_string(),
        None => common::scenario(tmp.path(), "c.toml", SCENARIO)
            .display()
            .to_string(),
    };
    let out = tmp.path().join("out");
    let ctr = Container::new(tag).unwrap();
    let sibling = busy.then(|| ctr.sibling());
    let o = ctr.isobench(
        &["run", &scenario, "--out", out.to_str().unwrap()],
        read_only,
    );
    drop(sibling);
    Ran {
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        o,
        out,
        ctr,
        _tmp: tmp,
    }
}

#[test]
fn alone_in_a_namespace_root_it_steps_into_a_leaf_and_passes() {
    if !ready("container alone") {
        return;
    }
    let _g = common::serial();
    let r = run_in("alone", None, false, false);
    assert!(
        common::succeeded(r.o.status.code(), &r.out),
        "exit {:?}: {}",
        r.o.status.code(),
        r.stderr
    );
    let run = json(&r.out.join("run.json"));
    assert_eq!(
        run["host"]["cgroup_places"][0]["standing"], "namespace_root",
        "{}",
        run["host"]
    );
    let got = cases(&run);
    assert!(
        got.iter()
            .any(|(p, s, _)| p == "cgroup_lifecycle" && s == "pass"),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(p, s, _)| p == "ns_latency" && s == "pass"),
        "{got:?}"
    );
    // Given back: no leaf, no controller left enabled in the namespace root.
    let left: Vec<_> = std::fs::read_dir(&r.ctr.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in the container's cgroup: {left:?}");
    let sc = std::fs::read_to_string(r.ctr.dir.join("cgroup.subtree_control")).unwrap();
    assert_eq!(sc.trim(), "", "subtree_control not given back");
}

#[test]
fn beside_another_process_it_refuses_with_the_container_hint() {
    if !ready("container busy") {
        return;
    }
    let _g = common::serial();
    let r = run_in("busy", Some("quick"), false, true);
    let stderr = &r.stderr;
    assert_eq!(r.o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cgroup-namespace root"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!r.out.exists(), "a refused run created its folder");
}

#[test]
fn read_only_the_cgroup_cases_skip_and_the_namespace_cases_run() {
    if !ready("container read-only") {
        return;
    }
    let _g = common::serial();
    let r = run_in("ro", None, true, false);
    assert_eq!(r.o.status.code(), Some(0), "{}", r.stderr);
    let got = cases(&json(&r.out.join("run.json")));
    let lifecycle: Vec<_> = got
        .iter()
        .filter(|(p, _, _)| p == "cgroup_lifecycle")
        .collect();
    assert!(!lifecycle.is_empty(), "{got:?}");
    for (_, status, reason) in lifecycle {
        assert_eq!(status, "skip", "{got:?}");
        assert!(reason.contains("read-only cgroup file system"), "{reason}");
    }
    assert!(
        got.iter().any(|(p, s, _)| p == "ns_latency" && s == "pass"),
        "{got:?}"
    );
}
