//! Who manages the cgroup tree above the harness, and whether it handed the
//! own cgroup over. systemd's delegation rules (its `CGROUP_DELEGATION.md`)
//! forbid creating cgroups below a unit that was not delegated and writing to
//! a cgroup systemd made: it re-realises such a unit on `daemon-reload` or
//! `set-property` and takes controllers back mid-run. Where systemd runs and
//! the own cgroup is not delegated, the harness first asks for a scope of its
//! own (`Delegate=yes`), as container runtimes do.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layout::{parse_mountinfo, parse_proc_cgroup, Layout};

/// systemd's marker that it runs as the init: `sd_booted()` checks the same.
pub const SYSTEMD_RUNTIME_DIR: &str = "/run/systemd/system";

/// The cgroup manager's view of the own cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Manager {
    /// systemd runs as the init of this (pid and mount) namespace.
    pub systemd: bool,
    /// The systemd cgroup path of this process (`/user.slice/…/session-1.scope`):
    /// the cgroup2 line of /proc/self/cgroup, or `name=systemd` on a pure v1 host.
    pub cgroup: Option<String>,
    /// The unit whose cgroup holds the harness, read off that path (the last
    /// `.scope` or `.service`).
    pub unit: Option<String>,
    /// The user manager (`user@1000.service`) when the path is below one.
    pub user_manager: Option<String>,
    /// The directory marked delegated (`trusted.delegate` or `user.delegate`
    /// is 1, what systemd's `cg_is_delegated` reads) at or above the own
    /// cgroup; `None` when nothing on the path is.
    pub delegated_at: Option<PathBuf>,
}

impl Manager {
    /// Whether the harness must not make cgroups where it stands: systemd
    /// owns the own cgroup and did not delegate it.
    pub fn needs_scope(&self) -> bool {
        self.systemd && self.delegated_at.is_none()
    }

    /// One line for `isobench check` and the run's host record.
    pub fn describe(&self) -> String {
        if !self.systemd {
            return "none (no systemd: the own cgroup is used as it is)".into();
        }
        let unit = self.unit.as_deref().unwrap_or("no unit (the root cgroup)");
        let by = self
            .user_manager
            .as_deref()
            .map_or("systemd".to_string(), |u| format!("systemd ({u})"));
        match &self.delegated_at {
            Some(d) => format!("{by}, {unit}, delegated (at {})", d.display()),
            None => format!("{by}, {unit}, not delegated"),
        }
    }
}

/// The unit and the user manager named in a systemd cgroup path.
pub fn units_of(path: &str) -> (Option<String>, Option<String>) {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let unit = comps
        .iter()
        .rev()
        .find(|c| c.ends_with(".scope") || c.ends_with(".service"))
        .map(|c| c.to_string());
    let user = comps
        .iter()
        .find(|c| c.starts_with("user@") && c.ends_with(".service"))
        .map(|c| c.to_string());
    (unit, user)
}

/// Reads the manager of this process: whether systemd runs, its cgroup path
/// and unit, and the first delegated directory from the own cgroup upwards.
pub fn detect(layout: &Layout) -> Manager {
    let systemd = Path::new(SYSTEMD_RUNTIME_DIR).is_dir();
    let (cgroup, dir, top) = systemd_cgroup(layout).unwrap_or_default();
    let (unit, user_manager) = cgroup.as_deref().map(units_of).unwrap_or_default();
    let delegated_at = dir.and_then(|d| first_delegated(&d, &top, is_delegated));
    Manager {
        systemd,
        cgroup,
        unit,
        user_manager,
        delegated_at,
    }
}

/// The systemd cgroup path, its directory and the mount point above it.
fn systemd_cgroup(layout: &Layout) -> Option<(Option<String>, Option<PathBuf>, PathBuf)> {
    if let Some(h) = layout.unified() {
        return Some((
            Some(h.own_path.clone()),
            h.own_dir.clone(),
            h.mount_point.clone(),
        ));
    }
    // A pure v1 host: systemd tracks processes in its named hierarchy, which
    // the layout leaves out (it serves no controller).
    let mounts = parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").ok()?).ok()?;
    let members = parse_proc_cgroup(&std::fs::read_to_string("/proc/self/cgroup").ok()?).ok()?;
    let m = mounts
        .iter()
        .find(|m| m.fs_type == "cgroup" && m.super_options.iter().any(|o| o == "name=systemd"))?;
    let member = members
        .iter()
        .find(|mb| mb.controllers.iter().any(|c| c == "name=systemd"))?;
    let rel = member.path.trim_start_matches('/');
    let dir = (m.root == "/").then(|| m.mount_point.join(rel));
    Some((Some(member.path.clone()), dir, m.mount_point.clone()))
}

/// The first directory from `dir` up to `top` (inclusive) that `delegated` says is.
pub fn first_delegated(
    dir: &Path,
    top: &Path,
    delegated: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let mut d = Some(dir);
    while let Some(p) = d {
        if delegated(p) {
            return Some(p.to_path_buf());
        }
        if p == top || !p.starts_with(top) {
            return None;
        }
        d = p.parent();
    }
    None
}

/// Whether systemd marked `dir` delegated: `trusted.delegate` (system
/// manager) or `user.delegate` (a user manager, which cannot write trusted.*) is "1".
fn is_delegated(dir: &Path) -> bool {
    ["trusted.delegate", "user.delegate"]
        .iter()
        .any(|name| xattr(dir, name).is_some_and(|v| v == b"1"))
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = CString::new(name).ok()?;
    let mut buf = [0u8; 16];
    // SAFETY: both strings are NUL-terminated and the buffer's length is passed.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read_off_the_path() {
        assert_eq!(
            units_of("/user.slice/user-0.slice/session-1.scope"),
            (Some("session-1.scope".into()), None)
        );
        assert_eq!(
            units_of("/system.slice/hosted-compute-agent.service"),
            (Some("hosted-compute-agent.service".into()), None)
        );
        assert_eq!(
            units_of("/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope/leaf"),
            (
                Some("run-r1.scope".into()),
                Some("user@1000.service".into())
            )
        );
        assert_eq!(units_of("/"), (None, None));
    }

    #[test]
    fn delegation_is_found_at_or_above_the_own_cgroup_and_not_above_the_mount() {
        let top = Path::new("/sys/fs/cgroup");
        let own = Path::new("/sys/fs/cgroup/system.slice/x.scope/inner");
        let at = |want: &'static str| move |p: &Path| p == Path::new(want);
        assert_eq!(
            first_delegated(own, top, at("/sys/fs/cgroup/system.slice/x.scope")),
            Some(PathBuf::from("/sys/fs/cgroup/system.slice/x.scope"))
        );
        assert_eq!(first_delegated(own, top, |_| false), None);
        // Above the mount is not this tree.
        assert_eq!(first_delegated(own, top, at("/sys/fs")), None);
    }

    #[test]
    fn a_scope_is_needed_only_under_systemd_without_delegation() {
        let mut m = Manager {
            systemd: true,
            ..Manager::default()
        };
        assert!(m.needs_scope());
        m.delegated_at = Some("/sys/fs/cgroup/a.scope".into());
        assert!(!m.needs_scope());
        assert!(!Manager::default().needs_scope());
    }
}
