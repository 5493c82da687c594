//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The isobench binary (`ISOBENCH_BIN` overrides, e.g. inside the v2 test VM).
pub fn bin() -> PathBuf {
    std::env::var_os("ISOBENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_isobench")))
}

/// Runs `isobench run --out OUT SCENARIO`, capturing its output; returns it with
/// the harness's pid, so a caller can look for what that process left behind.
pub fn run_out(scenario: &Path, out: &Path) -> (std::process::Output, u32) {
    output_and_pid(
        std::process::Command::new(bin())
            .arg("run")
            .arg(scenario)
            .arg("--out")
            .arg(out),
    )
}

/// Runs `cmd` to its end, capturing its output; returns it with the pid it
/// had, to look for what that process left behind.
pub fn output_and_pid(cmd: &mut std::process::Command) -> (std::process::Output, u32) {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

/// Whether privileged tests must run (CI): an unmet requirement then fails.
pub fn strict() -> bool {
    std::env::var("ISOBENCH_STRICT").is_ok_and(|v| v == "1")
}

/// Whether a `fail` is a kernel finding that the machine under test is known to
/// reproduce, named in `ISOBENCH_KNOWN_FINDINGS` as `probe/case-prefix=reason
/// text` entries separated by `;` (scripts/vm/test sets it for a guest kernel
/// with a documented finding). Such a fail is the kernel's, reported on stderr,
/// not a false verdict of the harness; any other fail still is.
pub fn known_finding(probe: &str, case: &str, reason: &str) -> bool {
    let list = std::env::var("ISOBENCH_KNOWN_FINDINGS").unwrap_or_default();
    let known = list
        .split(';')
        .filter_map(|e| e.split_once('='))
        .any(|(who, text)| {
            who.split_once('/').is_some_and(|(p, c)| {
                p == probe && case.starts_with(c) && !text.is_empty() && reason.contains(text)
            })
        });
    if known {
        eprintln!("known kernel finding, reported and accepted: {probe}/{case}: {reason}");
    }
    known
}

/// Tests that create cgroups or move processes run one at a time. The lock is
/// per test binary (a process-wide mutex): it serialises the tests of one
/// `tests/*.rs` file, and the binaries themselves never overlap because
/// `cargo test` (and scripts/vm/test) runs them one after another.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// True when the test may touch the kernel's cgroups; otherwise says why, and
/// fails under ISOBENCH_STRICT=1.
pub fn privileged(test: &str) -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("not root".to_string())
    } else if isobench::cgroup::Layout::detect().is_err() {
        Some("no cgroup file system".to_string())
    } else {
        own_scope().err()
    };
    met(test, why.as_deref())
}

/// On a systemd host whose own cgroup systemd did not delegate (`sudo cargo
/// test` from a login shell, a CI runner's service), the test binary first asks
/// systemd for a transient scope with `Delegate=yes` holding itself, once: the
/// tests make cgroups in-process, and systemd's rules allow that only in a
/// delegated unit (`isobench run` re-executes itself into one; a test binary
/// cannot, so it is adopted over D-Bus, as `busctl` asks). The runs it starts
/// then find their cgroup delegated but not empty, and take a scope of their own.
fn own_scope() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let layout = isobench::cgroup::Layout::detect().map_err(|e| e.to_string())?;
        let manager = isobench::cgroup::manager::detect(&layout);
        if !manager.needs_scope() {
            return Ok(());
        }
        let own = manager.cgroup.clone().unwrap_or_default();
        let pid = std::process::id().to_string();
        let unit = format!("isobench-tests-{pid}.scope");
        let out = std::process::Command::new("busctl")
            .args([
                "call",
                "org.freedesktop.systemd1",
                "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager",
                "StartTransientUnit",
                "ssa(sv)a(sa(sv))",
                &unit,
                "fail",
                "3",
                "PIDs",
                "au",
                "1",
                &pid,
                "Delegate",
                "b",
                "true",
                "CollectMode",
                "s",
                "inactive-or-failed",
                "0",
            ])
            .output()
            .map_err(|e| format!("the own cgroup {own} is systemd's and not delegated, and busctl could not ask for a scope: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "systemd did not adopt the test binary into {unit}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        // The job is queued: wait until the move has happened.
        let moved = eventually(10, || {
            std::fs::read_to_string("/proc/self/cgroup").is_ok_and(|c| c.contains(&unit))
        });
        if moved {
            // Straight to stderr: the test harness captures eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "tests: the own cgroup {own} belongs to systemd and is not delegated: running in {unit}"
            );
            Ok(())
        } else {
            Err(format!("systemd started {unit} but did not move the test binary into it"))
        }
    })
    .clone()
}

/// True when `why` is `None` (the test's requirements are met); otherwise
/// says why the test is skipped, and fails under ISOBENCH_STRICT=1.
pub fn met(test: &str, why: Option<&str>) -> bool {
    match why {
        None => true,
        Some(why) if strict() => {
            panic!("{test}: requirement not met under ISOBENCH_STRICT=1: {why}")
        }
        Some(why) => {
            eprintln!("{test}: skipped: {why} (set ISOBENCH_STRICT=1 to make this a failure)");
            false
        }
    }
}

/// Every directory named `isobench-<pid>-*` under /sys/fs/cgroup.
pub fn dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("isobench-{pid}-");
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 0, &mut |p| {
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        {
            out.push(p.to_path_buf());
        }
    });
    out
}

/// Every harness cgroup on the machine.
pub fn all_harness_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 0, &mut |p| {
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("isobench-"))
        {
            out.push(p.to_path_buf());
        }
    });
    out
}

fn walk(dir: &Path, depth: usize, f: &mut dyn FnMut(&Path)) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let p = e.path();
            f(&p);
            walk(&p, depth + 1, f);
        }
    }
}

/// Whether process `pid` is gone (or a zombie waiting for its reaper).
pub fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Polls `f` every 10 ms for up to `secs` seconds.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    f()
}

/// Writes a scenario file into `dir` and returns its path.
pub fn scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// Runs `isobench run` on a scenario body in a fresh folder (results in
/// `<dir>/out`), asserting it left no cgroup behind.
pub fn run_scenario(body: &str) -> (std::process::Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(
        tmp.path(),
        "s.toml",
        &format!("schema = 1\nname = \"t\"\n{body}\n"),
    );
    let (out, pid) = run_out(&path, &tmp.path().join("out"));
    assert!(dirs_of(pid).is_empty(), "left behind: {:?}", dirs_of(pid));
    (out, tmp)
}

/// [`known_finding`] for a case record of run.json.
pub fn known_case(c: &serde_json::Value) -> bool {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    known_finding(&s(&c["probe"]), &s(&c["case"]), &s(&c["verdict"]["reason"]))
}

/// Whether a run that exited `code` into `out` succeeded: exit 0, or exit 1
/// with every failed verdict a [`known_finding`].
pub fn succeeded(code: Option<i32>, out: &Path) -> bool {
    let only_known = || {
        let Ok(bytes) = std::fs::read(out.join("run.json")) else {
            return false;
        };
        let run: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        run["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"]["status"] == "fail")
            .all(known_case)
    };
    code == Some(0) || (code == Some(1) && only_known())
}

/// Runs a scenario body and returns summary.csv (asserting exit 0 and nothing
/// left; exit 1 only when every failed verdict is a [`known_finding`]).
pub fn run(body: &str) -> String {
    let (out, tmp) = run_scenario(body);
    let code = out.status.code();
    assert!(
        succeeded(code, &tmp.path().join("out")),
        "exit {code:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(tmp.path().join("out/summary.csv")).unwrap()
}

/// The first summary.csv row that starts with `prefix`.
pub fn row<'a>(csv: &'a str, prefix: &str) -> &'a str {
    csv.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row {prefix}:\n{csv}"))
}

/// The value column `p50` of a summary.csv row.
pub fn p50(row: &str) -> u64 {
    row.split(',')
        .nth(6)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no p50 in {row}"))
}

/// The mean column of a summary.csv row.
pub fn mean(r: &str) -> f64 {
    r.split(',').nth(5).unwrap().parse().unwrap()
}

/// Busy-loop processes a test started (`sh -c 'while :; do :; done'`),
/// killed and reaped by pid however the test ends.
pub struct BusyLoops(pub Vec<std::process::Child>);

impl BusyLoops {
    /// Starts `n` busy loops.
    #[allow(dead_code)]
    pub fn start(n: usize) -> BusyLoops {
        BusyLoops(
            (0..n)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(std::process::Stdio::null())
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
