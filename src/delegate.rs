//! A delegated systemd scope for the run, where systemd owns the own cgroup.
//!
//! runc, crun, podman and BenchExec never create cgroups in a unit they were
//! not delegated; they start a transient scope with `Delegate=yes` and work
//! inside it. isobench does the same by re-executing itself under
//! `systemd-run --scope -p Delegate=yes`: systemd-run asks the manager for the
//! scope over D-Bus, moves itself in and execs the command, so the run keeps
//! its pid, its terminal and its signals, and the orchestrating process stays
//! single-threaded (a D-Bus client library would bring an executor thread).
//! The scope lives exactly as long as its processes: systemd stops it when the
//! last one exits, and `--collect` unloads it even after a failure.

use std::convert::Infallible;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::cgroup::Manager;
use crate::host::SYSTEMD_SCOPE_ENV;

/// The flag that keeps the harness where it is.
pub const NO_SCOPE_FLAG: &str = "--no-systemd-scope";

/// What the run does about its place in systemd's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Use the own cgroup (or `--cgroup-parent`) as it is.
    Stay,
    /// Re-execute in a new scope of this name; `user`: of the user's manager;
    /// `why`: what is wrong with the own cgroup, for the run's one line.
    Enter {
        unit: String,
        user: bool,
        why: String,
    },
    /// Stop with this one-line reason (exit 2).
    Refuse(String),
}

/// Decides from the manager's view. `marker` is [`SYSTEMD_SCOPE_ENV`] as the
/// process found it: set, the run was re-executed by us into that scope.
/// `others`: the processes beside this one in the own cgroup2 cgroup. A
/// delegated cgroup that holds others (a shell started with `systemd-run
/// --scope -p Delegate=yes bash`, a test binary that starts runs) cannot
/// enable controllers for children either (the no-internal-process rule):
/// where systemd can give a scope of its own, the run asks for one there too.
pub fn decide(
    manager: &Manager,
    is_root: bool,
    disabled: bool,
    cgroup_parent: bool,
    marker: Option<&str>,
    pid: u32,
    others: usize,
) -> Decision {
    if cgroup_parent || !manager.systemd {
        return Decision::Stay;
    }
    // systemd before v251 marks no delegation with an xattr: the scope we
    // asked Delegate=yes for is delegated all the same.
    if marker.is_some() && marker == manager.unit.as_deref() {
        return Decision::Stay;
    }
    let own = manager.cgroup.as_deref().unwrap_or("/");
    let why = if manager.needs_scope() {
        format!("the own cgroup {own} belongs to systemd and is not delegated")
    } else if others > 0 {
        format!("the own cgroup {own} is delegated but holds {others} other process(es)")
    } else {
        return Decision::Stay;
    };
    if disabled {
        let rule = if manager.needs_scope() {
            "isobench creates no cgroup in a unit systemd owns (systemd's delegation rules)"
        } else {
            "no controller can be enabled below a cgroup that holds processes (the no-internal-process rule)"
        };
        return Decision::Refuse(format!(
            "{why}, and {NO_SCOPE_FLAG} keeps isobench from asking for a scope of its own; {rule}; hint: drop {NO_SCOPE_FLAG}, run it as `systemd-run --scope -p Delegate=yes isobench run`, or pass --cgroup-parent to a delegated cgroup"
        ));
    }
    Decision::Enter {
        unit: format!("isobench-{pid}.scope"),
        user: !is_root,
        why,
    }
}

/// Why entering a scope failed: one line for the user, exit 2.
#[derive(Debug, thiserror::Error)]
pub enum DelegateError {
    #[error("the own cgroup {own} belongs to systemd and is not delegated, and systemd-run is not on PATH to ask for a scope; hint: install systemd, run `systemd-run --scope -p Delegate=yes isobench run`, or pass --cgroup-parent to a delegated cgroup")]
    NoSystemdRun { own: String },
    #[error("systemd did not start a delegated scope ({command}): {said}; hint: {hint}")]
    Refused {
        command: String,
        said: String,
        hint: &'static str,
    },
    #[error("re-execute {exe} in a systemd scope: {error}")]
    Exec { exe: String, error: std::io::Error },
}

/// `systemd-run` with the arguments that make a delegated scope.
fn systemd_run(user: bool) -> Command {
    let mut c = Command::new("systemd-run");
    if user {
        c.arg("--user");
    }
    c.args(["--scope", "--quiet", "--collect", "-p", "Delegate=yes"]);
    c
}

/// Starts `unit` with `Delegate=yes` and re-executes this program in it with
/// the same arguments; returns only on failure. A throw-away scope first
/// (about 0.1 s) proves that systemd will make one: after the exec, a refusal
/// would end the run with systemd-run's exit code, which reads like a verdict.
pub fn enter(unit: &str, user: bool, manager: &Manager) -> Result<Infallible, DelegateError> {
    let own = manager.cgroup.clone().unwrap_or_else(|| "/".into());
    let mut probe = systemd_run(user);
    probe.arg("true").stdin(Stdio::null()).stdout(Stdio::null());
    let shown = if user {
        "systemd-run --user --scope -p Delegate=yes"
    } else {
        "systemd-run --scope -p Delegate=yes"
    };
    let out = probe.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DelegateError::NoSystemdRun { own: own.clone() },
        _ => DelegateError::Refused {
            command: shown.into(),
            said: e.to_string(),
            hint: "run isobench as root, or pass --cgroup-parent to a delegated cgroup",
        },
    })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(DelegateError::Refused {
            command: shown.into(),
            said: if said.is_empty() {
                format!("exit status {}", out.status)
            } else {
                said
            },
            hint: if user {
                "a user's scope needs the user's systemd and its bus (log in with ssh or `machinectl shell USER@.host`; `su` and `sudo -u` give neither), or run as root"
            } else {
                "is systemd running as the init (systemctl is-system-running)? or pass --cgroup-parent to a delegated cgroup"
            },
        });
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut c = systemd_run(user);
    c.arg(format!("--unit={unit}"))
        .arg(format!("--description=isobench run {}", std::process::id()))
        .arg("--")
        .arg(&exe)
        .args(&args)
        .env(SYSTEMD_SCOPE_ENV, unit);
    let error = c.exec();
    Err(DelegateError::Exec {
        exe: exe.display().to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn systemd(unit: &str, delegated: bool) -> Manager {
        Manager {
            systemd: true,
            cgroup: Some(format!("/user.slice/user-0.slice/{unit}")),
            unit: Some(unit.into()),
            user_manager: None,
            delegated_at: delegated.then(|| "/sys/fs/cgroup/x".into()),
        }
    }

    #[test]
    fn a_session_scope_is_left_for_a_scope_of_our_own() {
        let m = systemd("session-1.scope", false);
        assert_eq!(
            decide(&m, true, false, false, None, 42, 3),
            Decision::Enter {
                unit: "isobench-42.scope".into(),
                user: false,
                why: "the own cgroup /user.slice/user-0.slice/session-1.scope belongs to systemd and is not delegated".into()
            }
        );
        // Not root: the user's own manager.
        assert!(matches!(
            decide(&m, false, false, false, None, 42, 0),
            Decision::Enter { user: true, .. }
        ));
    }

    #[test]
    fn a_delegated_cgroup_holding_others_is_left_for_a_scope_too() {
        let m = systemd("run-u7.scope", true);
        let Decision::Enter { why, .. } = decide(&m, true, false, false, None, 42, 1) else {
            panic!("expected a scope")
        };
        assert!(
            why.contains("delegated but holds 1 other process(es)"),
            "{why}"
        );
        let Decision::Refuse(why) = decide(&m, true, true, false, None, 42, 1) else {
            panic!("expected a refusal")
        };
        assert!(why.contains("no-internal-process rule"), "{why}");
        // Our own scope, re-executed into: stays, whatever it holds.
        let ours = systemd("isobench-42.scope", true);
        assert_eq!(
            decide(&ours, true, false, false, Some("isobench-42.scope"), 42, 2),
            Decision::Stay
        );
    }

    #[test]
    fn delegated_no_systemd_or_an_explicit_parent_stay() {
        assert_eq!(
            decide(&systemd("x.scope", true), true, false, false, None, 1, 0),
            Decision::Stay
        );
        assert_eq!(
            decide(&Manager::default(), true, false, false, None, 1, 5),
            Decision::Stay
        );
        assert_eq!(
            decide(&systemd("x.scope", false), true, false, true, None, 1, 5),
            Decision::Stay
        );
    }

    #[test]
    fn our_own_scope_is_trusted_without_the_xattr_and_never_re_entered() {
        let m = systemd("isobench-7.scope", false);
        assert_eq!(
            decide(&m, true, false, false, Some("isobench-7.scope"), 7, 0),
            Decision::Stay
        );
        // A marker naming another unit is not ours: a scope is still needed.
        assert!(matches!(
            decide(&m, true, false, false, Some("other.scope"), 7, 0),
            Decision::Enter { .. }
        ));
    }

    #[test]
    fn turned_off_it_refuses_with_the_fix() {
        let Decision::Refuse(why) = decide(
            &systemd("agent.service", false),
            true,
            true,
            false,
            None,
            1,
            1,
        ) else {
            panic!("expected a refusal")
        };
        assert!(
            why.contains("/user.slice/user-0.slice/agent.service"),
            "{why}"
        );
        assert!(why.contains("hint: drop --no-systemd-scope"), "{why}");
    }
}
