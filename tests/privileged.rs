//! Privileged tests against the real kernel: they create cgroups, so they need
//! root. They run on this v1/hybrid host and inside the cgroup v2 VM
//! (scripts/vm). Each names its cgroups uniquely, removes them through the
//! scope guard, and checks nothing is left. Under ISOBENCH_STRICT=1 (CI) an
//! unmet requirement fails instead of skipping.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use isobench::cgroup::{
    self, CgroupError, Controller, CpuMax, IoLimit, Layout, LayoutKind, OnV2, Scope, ScopeOptions,
    Version,
};
use isobench::cpulist::CpuList;
use isobench::workload::Worker;

use common::{bin, dirs_of, eventually, privileged, process_gone, serial};

fn scope(test: &str) -> (Layout, Scope) {
    let layout = Layout::detect().unwrap();
    let s = Scope::new(
        &layout,
        &ScopeOptions {
            parent: None,
            run_id: test.into(),
        },
    )
    .unwrap();
    (layout, s)
}

/// Asserts that `/proc/<pid>/cgroup` puts `pid` in `cg` in every hierarchy.
fn assert_inside(pid: i32, cg: &cgroup::Cgroup) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for d in &cg.dirs {
        let name = &cg.name;
        let found = text.lines().any(|l| {
            let hier_ok = match d.version {
                Version::V2 => l.starts_with("0::"),
                Version::V1 => !l.starts_with("0::"),
            };
            hier_ok && l.ends_with(&format!("/{name}"))
        });
        assert!(found, "pid {pid} is not in {} ({text})", d.path.display());
    }
}

/// The layout CI expects here (`ISOBENCH_EXPECT_LAYOUT=unified` in the v2 VM), so a
/// mis-detection cannot pass as "works on some other layout".
#[test]
fn layout_matches_the_expected_one() {
    if !privileged("layout_matches_the_expected_one") {
        return;
    }
    let layout = Layout::detect().unwrap();
    if let Ok(want) = std::env::var("ISOBENCH_EXPECT_LAYOUT") {
        assert_eq!(format!("{:?}", layout.kind).to_lowercase(), want);
    }
    if layout.kind == LayoutKind::Unified {
        let offered = layout.unified().unwrap();
        for c in Controller::ALL {
            let want = match c.on_v2() {
                OnV2::Controller(n) => offered.has(n).then_some(Version::V2),
                OnV2::Core => Some(Version::V2),
                OnV2::Absent => None,
            };
            assert_eq!(layout.placement(c).version, want, "{c} on a unified host");
        }
    }
}

#[test]
fn every_limit_set_read_back_and_removed() {
    if !privileged("every_limit_set_read_back_and_removed") {
        return;
    }
    let _g = serial();
    let (layout, mut scope) = scope("limits");
    let cg = scope.create("t-limits").unwrap();
    assert!(cg.dirs.iter().all(|d| d.path.is_dir()));
    // Started inside: it enters the cgroup between fork and exec.
    let mut w = Worker::spawn_in(&isobench_bin(), Duration::from_secs(30), &cg).unwrap();
    let pid = w.pid();
    assert_inside(pid, &cg);
    assert_eq!(cg.procs().unwrap(), vec![pid]);
    assert!(cg.populated().unwrap());

    let online = isobench::host::online_cpus();
    let first = CpuList::new([online.iter().next().unwrap()]);
    cg.set_cpus(&first).unwrap();
    cg.set_mems(&isobench::host::online_mems()).unwrap();
    assert_eq!(cg.effective_cpus().unwrap(), first);
    let max = CpuMax {
        quota: Some(Duration::from_millis(50)),
        period: Duration::from_millis(100),
    };
    cg.set_cpu_max(&max).unwrap();
    let cpu = cg.dir(Controller::Cpu).unwrap();
    match cpu.version {
        Version::V2 => assert_eq!(
            std::fs::read_to_string(cpu.path.join("cpu.max"))
                .unwrap()
                .trim(),
            "50000 100000"
        ),
        Version::V1 => {
            assert_eq!(
                std::fs::read_to_string(cpu.path.join("cpu.cfs_quota_us"))
                    .unwrap()
                    .trim(),
                "50000"
            );
            assert_eq!(
                std::fs::read_to_string(cpu.path.join("cpu.cfs_period_us"))
                    .unwrap()
                    .trim(),
                "100000"
            );
        }
    }
    assert_eq!(
        cg.set_cpu_weight(200).unwrap(),
        if cpu.version == Version::V1 {
            2048
        } else {
            200
        }
    );
    assert_eq!(cg.set_memory_max(64 << 20).unwrap(), 64 << 20);
    // Not page-aligned: the kernel keeps it rounded down, and we accept that. (Well
    // above what the worker uses: v1 refuses a limit below current usage with EBUSY.)
    assert_eq!(cg.set_memory_max((48 << 20) + 1000).unwrap(), 48 << 20);
    cg.set_memory_max(64 << 20).unwrap();
    cg.disable_swap().unwrap();
    match (
        cg.dir(Controller::Memory).unwrap().version,
        cg.set_memory_high(48 << 20),
    ) {
        (Version::V2, r) => assert_eq!(r.unwrap(), 48 << 20),
        (Version::V1, r) => assert!(matches!(r, Err(CgroupError::Unsupported { .. })), "{r:?}"),
    }
    cg.set_pids_max(16).unwrap();
    let dev = isobench::probe::cgroup_lifecycle::resolve_device("auto")
        .expect("a block device for io limits");
    cg.set_io_max(&IoLimit {
        device: dev,
        read_bps: Some(1 << 20),
        write_bps: Some(2 << 20),
        read_iops: Some(100),
        write_iops: Some(200),
    })
    .unwrap();

    // Run it: the counters must move.
    w.go(Duration::from_secs(5)).unwrap();
    let before = cg.cpu_stat().unwrap();
    assert!(
        eventually(5, || cg.cpu_stat().unwrap().usage > before.usage),
        "cpu usage never moved"
    );
    assert!(eventually(5, || cg.memory_stat().unwrap().current_bytes > 0));
    assert_eq!(cg.pids_current().unwrap(), 1);
    let _ = cg.io_stat().unwrap();

    cg.set_frozen(true).unwrap();
    assert!(cg.is_frozen().unwrap());
    // The task's own run time: the cgroup's usage counter may still fold in time after "frozen".
    // After a settle: on 6.12 v2 a task may still add a few ms just after "frozen".
    std::thread::sleep(Duration::from_millis(20));
    let a = isobench::workload::run_time_ns(pid).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        isobench::workload::run_time_ns(pid).unwrap(),
        a,
        "a frozen worker made progress"
    );
    cg.set_frozen(false).unwrap();
    assert!(!cg.is_frozen().unwrap());

    scope.remove(&cg).unwrap();
    let st = w.wait().unwrap();
    assert_eq!(
        st.signal(),
        Some(libc::SIGKILL),
        "the cgroup kill ended the worker"
    );
    assert!(cg.dirs.iter().all(|d| !d.path.exists()));
    assert!(!layout.hierarchies.is_empty());
}

fn isobench_bin() -> std::path::PathBuf {
    bin()
}

#[test]
fn attach_moves_a_running_process_and_esrch_is_harmless() {
    if !privileged("attach_moves_a_running_process_and_esrch_is_harmless") {
        return;
    }
    let _g = serial();
    let (_, mut scope) = scope("attach");
    let cg = scope.create("t-attach").unwrap();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id() as i32;
    assert!(cg.attach(pid).unwrap());
    assert_inside(pid, &cg);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cg.attach(pid).unwrap(),
        "a gone process is reported, not an error"
    );
    scope.remove(&cg).unwrap();
}

#[test]
fn kernel_refusals_name_the_file_and_the_value() {
    if !privileged("kernel_refusals_name_the_file_and_the_value") {
        return;
    }
    let _g = serial();
    let (_, mut scope) = scope("refusals");
    let cg = scope.create("t-refusals").unwrap();
    let cpu = cg.dir(Controller::Cpu).unwrap();
    let (file, value) = match cpu.version {
        Version::V1 => ("cpu.cfs_quota_us", "500"),
        Version::V2 => ("cpu.max", "500 100000"),
    };
    let err = cgroup::write_file(&cpu.path.join(file), value).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.errno(), Some(nix::errno::Errno::EINVAL), "{msg}");
    assert!(
        msg.contains(file) && msg.contains(value) && msg.contains("invalid argument"),
        "{msg}"
    );
    // A CPU beyond the machine.
    let err = cg.set_cpus(&CpuList::new([4000])).unwrap_err();
    assert!(err.to_string().contains("4000"), "{err}");
    // A missing knob is ENOENT, never the misleading EACCES of an O_CREAT open.
    let err = cgroup::write_file(&cpu.path.join("cpu.no_such_knob"), "1").unwrap_err();
    assert_eq!(err.errno(), Some(nix::errno::Errno::ENOENT), "{err}");
    if cpu.version == Version::V1 {
        // cpu.shares clamps silently; the checked write notices.
        let err =
            cgroup::write_checked(&cpu.path.join("cpu.shares"), "1", |r| r == "1").unwrap_err();
        assert!(
            matches!(err, CgroupError::ReadBack { ref read, .. } if read == "2"),
            "{err}"
        );
    }
    assert!(matches!(
        scope.create("../escape"),
        Err(CgroupError::BadName(_))
    ));
    scope.remove(&cg).unwrap();
}

#[test]
fn clone3_into_cgroup_starts_the_child_inside() {
    if !privileged("clone3_into_cgroup_starts_the_child_inside") {
        return;
    }
    let _g = serial();
    let (layout, mut scope) = scope("clone3");
    if layout.unified().is_none() {
        assert!(
            !common::strict() || layout.kind == LayoutKind::Legacy,
            "no cgroup2 mount to clone into"
        );
        eprintln!(
            "clone3_into_cgroup_starts_the_child_inside: skipped: no cgroup2 mount (pure v1 host)"
        );
        return;
    }
    let cg = scope.create("t-clone3").unwrap();
    let v2 = cg.v2_dir().unwrap().clone();
    let pid =
        isobench::workload::spawn::spawn_into_cgroup(&v2.path, Path::new("/bin/sleep"), &["30"])
            .unwrap();
    let line = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let v2_line = line
        .lines()
        .find(|l| l.starts_with("0::"))
        .unwrap()
        .to_string();
    assert!(
        v2_line.ends_with(&format!("/{}", cg.name)),
        "clone3 left the child in {v2_line}"
    );
    scope.remove(&cg).unwrap();
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
    assert!(
        matches!(
            status,
            nix::sys::wait::WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGKILL, _)
        ),
        "{status:?}"
    );
}

#[test]
fn scope_guard_cleans_up_after_a_panic() {
    if !privileged("scope_guard_cleans_up_after_a_panic") {
        return;
    }
    let _g = serial();
    let (paths, pid) = {
        let mut created = Vec::new();
        let mut worker_pid = 0;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (_, mut scope) = scope("panic");
            let cg = scope.create("t-panic").unwrap();
            let mut child = Command::new("sleep")
                .arg("30")
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            worker_pid = child.id() as i32;
            cg.attach(worker_pid).unwrap();
            created = cg.dirs.iter().map(|d| d.path.clone()).collect();
            // Reap it in the background once the guard kills it.
            std::thread::spawn(move || child.wait());
            panic!("a probe panicked");
        }));
        assert!(r.is_err());
        (created, worker_pid)
    };
    assert!(!paths.is_empty());
    for p in &paths {
        assert!(!p.exists(), "{} survived the panic", p.display());
    }
    assert!(
        eventually(5, || process_gone(pid)),
        "the worker survived the panic"
    );
}

/// Starts `isobench run` on a scenario that holds its worker for a long time and
/// waits until its cgroups exist.
fn start_holding_run(dir: &Path, tag: &str) -> std::process::Child {
    let scenario = common::scenario(
        dir,
        &format!("{tag}.toml"),
        "schema = 1\nname = \"hold\"\n[cgroup_lifecycle]\nrepeat = 1\nhold_ms = 60000\n[[cgroup_lifecycle.case]]\nname = \"hold\"\npids_max = 8\n",
    );
    let child = Command::new(bin())
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(dir.join(format!("{tag}-out")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the worker is inside (one directory on v2, one per hierarchy on v1).
    let held = || {
        dirs_of(pid)
            .iter()
            .any(|d| cgroup::read_procs(d).is_ok_and(|p| !p.is_empty()))
    };
    assert!(
        eventually(20, held),
        "run {pid} never put its worker in a cgroup"
    );
    child
}

/// Runs `isobench clean --json`, which must succeed.
fn clean_json() -> std::process::Output {
    let out = Command::new(bin())
        .args(["clean", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn clean_removes_a_killed_run_and_spares_a_live_one() {
    if !privileged("clean_removes_a_killed_run_and_spares_a_live_one") {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut dead = start_holding_run(tmp.path(), "dead");
    let mut live = start_holding_run(tmp.path(), "live");
    let (dead_pid, live_pid) = (dead.id(), live.id());
    let dead_dirs = dirs_of(dead_pid);
    // The held worker is inside; SIGKILL the harness so it cannot clean up.
    let procs: Vec<i32> = dead_dirs
        .iter()
        .flat_map(|d| cgroup::read_procs(d).unwrap_or_default())
        .collect();
    assert!(!procs.is_empty(), "the worker should be in the cgroup");
    dead.kill().unwrap();
    dead.wait().unwrap();
    assert!(
        dead_dirs.iter().all(|d| d.exists()),
        "leftovers expected after SIGKILL"
    );

    let out = clean_json();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed: Vec<String> = report["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for d in &dead_dirs {
        assert!(!d.exists(), "{} was not removed", d.display());
        assert!(
            removed.contains(&d.display().to_string()),
            "{} not reported",
            d.display()
        );
    }
    for p in procs {
        assert!(
            eventually(5, || process_gone(p)),
            "the dead run's worker {p} still runs"
        );
    }
    let live_dirs = dirs_of(live_pid);
    assert!(
        !live_dirs.is_empty() && live_dirs.iter().all(|d| d.exists()),
        "clean touched a live run"
    );

    // SIGTERM: the live run cleans up after itself and says it was interrupted.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(live_pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = live.wait().unwrap();
    assert_eq!(out.code(), Some(130));
    assert!(
        dirs_of(live_pid).is_empty(),
        "SIGTERM left {:?}",
        dirs_of(live_pid)
    );
    let mut err = String::new();
    std::io::Read::read_to_string(live.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("interrupted"), "{err}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("live-out/run.json")).unwrap())
            .unwrap();
    assert_eq!(run["interrupted"], true);
    let report = std::fs::read_to_string(tmp.path().join("live-out/report.md")).unwrap();
    assert!(report.contains("**Interrupted**"), "{report}");

    // A controller the killed run enabled in a cgroup2 root (hugetlb on a
    // hybrid host) was kept while the live run could be using it; with no run
    // alive, `isobench clean` gives it back, and the dead run's record goes.
    let out = clean_json();
    let records: Vec<String> = std::fs::read_dir(isobench::cgroup::owner::state_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{dead_pid}-")))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        records.is_empty(),
        "the killed run's record is still there: {records:?}; clean said {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_quick_run_writes_the_result_folder() {
    if !privileged("a_quick_run_writes_the_result_folder") {
        return;
    }
    let _g = serial();
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let child = Command::new(bin())
        .args(["run", "--quick", "--out"])
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        common::succeeded(out.status.code(), &out_dir),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("results: {}", out_dir.display())));
    let csv = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    assert!(csv.starts_with("probe,case,metric,unit,n,mean,p50,p90,p99,max,verdict,reason\n"));
    assert!(csv.contains("cgroup_lifecycle,cpu,create,ns,1,"), "{csv}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["schema_version"], 1);
    assert!(run["host"]["kernel_release"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(run["finished_utc"].is_string());
    assert!(out_dir.join("samples/cgroup_lifecycle-cpu.csv").exists());
    assert!(stdout.contains(&format!("report: {}", out_dir.join("report.md").display())));
    for f in ["report.md", "junit.xml", "results.ktap"] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // The folder reads back whole: every sampled case has its values again.
    let back = isobench::folder::load(&out_dir).unwrap();
    assert!(back
        .cases
        .iter()
        .filter(|c| c.samples_file.is_some())
        .all(|c| c.series.iter().any(|s| !s.values.is_empty())));
    assert!(dirs_of(pid).is_empty(), "the run left {:?}", dirs_of(pid));
}

/// Runs last when tests run one at a time (names sort): the suite's own check that
/// no harness cgroup of this process, or of any dead owner, is left anywhere.
#[test]
fn zz_nothing_left_behind() {
    if !privileged("zz_nothing_left_behind") {
        return;
    }
    let _g = serial();
    let mine = dirs_of(std::process::id());
    assert!(
        mine.is_empty(),
        "left behind by this test process: {mine:?}"
    );
    let records = isobench::cgroup::owner::read_all();
    let orphans: Vec<_> = common::all_harness_dirs()
        .into_iter()
        .filter(|d| {
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            isobench::cgroup::owner_of(&name)
                .is_some_and(|pid| !isobench::cgroup::owner::owner_alive(pid, &records))
        })
        .collect();
    assert!(
        orphans.is_empty(),
        "harness cgroups whose owner is gone: {orphans:?}"
    );
}

#[test]
fn cgroup_parent_puts_every_cgroup_under_it() {
    if !privileged("cgroup_parent_puts_every_cgroup_under_it") {
        return;
    }
    let _g = serial();
    // The parent is a cgroup this test made (the harness never writes to others').
    let (_, mut scope) = scope("parent");
    let parent = scope.create("t-parent").unwrap();
    // On v2 this process may have stepped into a leaf (a delegated systemd
    // scope), which the run would take for its own cgroup: the parent is
    // named from the root there. Elsewhere, relative (v1 own cgroups differ
    // between hierarchies).
    let layout = isobench::cgroup::Layout::detect().unwrap();
    let name = match (&layout.kind, parent.dirs.as_slice()) {
        (isobench::cgroup::LayoutKind::Unified, [d]) => {
            let root = &layout.hierarchies[0].mount_point;
            format!("/{}", d.path.strip_prefix(root).unwrap().display())
        }
        _ => parent.name.clone(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["run", "--quick", "--cgroup-parent", &name, "--out"])
        .arg(tmp.path().join("out"))
        .arg(common::scenario(tmp.path(), "p.toml", "schema = 1\nname = \"p\"\n[cgroup_lifecycle]\nhold_ms = 10\n[[cgroup_lifecycle.case]]\nname = \"under\"\npids_max = 8\ncpu_weight = 50\n"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out/run.json")).unwrap()).unwrap();
    assert_eq!(
        run["cases"][0]["verdict"]["status"], "pass",
        "{}",
        run["cases"][0]["verdict"]
    );
    // Nothing of the child run is left in the parent.
    for d in &parent.dirs {
        let children: Vec<_> = std::fs::read_dir(&d.path)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .collect();
        assert!(children.is_empty(), "{}: {children:?}", d.path.display());
    }
    let missing = Command::new(bin())
        .args([
            "run",
            "--quick",
            "--cgroup-parent",
            "isobench-no-such-parent",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    scope.remove(&parent).unwrap();
}
