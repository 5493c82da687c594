//! Where each cgroup controller lives on this host: cgroup v2 (unified), v1
//! (legacy) or both (hybrid), and where this process's own cgroup is in each
//! hierarchy.
//!
//! Detection follows systemd, runc and youki: `statfs("/sys/fs/cgroup")` says
//! whether the root is cgroup2 (unified) or a tmpfs of v1 mounts; then every
//! controller is located through /proc/self/mountinfo and /proc/self/cgroup,
//! because a hybrid host puts some controllers in v1 and others in v2, and cpu
//! and cpuacct may be separate v1 mounts. All parsing is pure (text in, values
//! out) so it is tested against fixtures of real hosts.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Controller, Version};

/// The default place cgroup file systems are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The overall shape of the host's cgroup set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// Only cgroup2, mounted at /sys/fs/cgroup.
    Unified,
    /// Only v1 hierarchies.
    Legacy,
    /// v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified).
    Hybrid,
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayoutKind::Unified => "unified (cgroup v2)",
            LayoutKind::Legacy => "legacy (cgroup v1)",
            LayoutKind::Hybrid => "hybrid (cgroup v1 controllers + cgroup2 mount)",
        })
    }
}

/// What `statfs` says the cgroup root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootFs {
    Cgroup2,
    Tmpfs,
    /// Anything else, or the path does not exist.
    Other,
}

/// One line of /proc/self/mountinfo that mounts a cgroup file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The root of the mount inside the hierarchy (`/` unless a subtree is bind-mounted,
    /// or the mount was made inside a cgroup namespace).
    pub root: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
    pub super_options: Vec<String>,
    /// Mounted read-only (`ro` in the per-mount options): an unprivileged
    /// container's cgroup file system.
    pub read_only: bool,
}

/// One line of /proc/self/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub hierarchy_id: u32,
    /// Controllers (and `name=...`) of a v1 hierarchy; empty for the v2 line `0::`.
    pub controllers: Vec<String>,
    pub path: String,
}

/// Where the process's own cgroup stands in its hierarchy: what decides
/// whether the no-internal-process rule applies to it (v2) and whether the
/// harness may enable controllers there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The kernel's root cgroup, exempt from the no-internal-process rule.
    KernelRoot,
    /// The root of what this process sees but not the kernel's root: a cgroup
    /// namespace (a container) or a bind-mounted subtree. On v2 it has
    /// `cgroup.type` (the kernel's root has none); on v1 it lacks the root's
    /// `release_agent`. An ordinary cgroup to the kernel.
    NamespaceRoot,
    /// Any other cgroup.
    Child,
}

impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Standing::KernelRoot => "the kernel's root",
            Standing::NamespaceRoot => "a cgroup-namespace root (not the kernel's)",
            Standing::Child => "a child cgroup",
        })
    }
}

/// One mounted hierarchy the process belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hierarchy {
    pub version: Version,
    pub mount_point: PathBuf,
    /// v1: the controllers of the mount; v2: those listed in the own cgroup's cgroup.controllers.
    pub controllers: Vec<String>,
    /// This process's cgroup as /proc/self/cgroup gives it.
    pub own_path: String,
    /// The directory of that cgroup, translated through the mount's root;
    /// `None` when the cgroup is outside what this mount shows.
    pub own_dir: Option<PathBuf>,
    pub standing: Standing,
    /// The mount is read-only: no cgroup can be made in it.
    pub read_only: bool,
    /// The own cgroup is not writable by this (non-root) uid, which has no
    /// cgroup delegated here: nothing is made in it ([`Layout::leave_unwritable`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unwritable_by: Option<u32>,
    /// v2: the controllers at the mount's root (what the kernel, or the
    /// container, offers), to tell "not on this kernel" from "not delegated
    /// to the own cgroup". Empty on v1.
    pub root_controllers: Vec<String>,
}

impl Hierarchy {
    pub fn has(&self, name: &str) -> bool {
        self.controllers.iter().any(|c| c == name)
    }

    /// Cgroups can be made in it: neither read-only nor left as not writable.
    pub fn usable(&self) -> bool {
        !self.read_only && self.unwritable_by.is_none()
    }
}

/// Where one controller is found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub controller: Controller,
    /// `None`: not available on this host.
    pub version: Option<Version>,
    /// Index into [`Layout::hierarchies`].
    #[serde(skip)]
    pub hierarchy: Option<usize>,
}

/// The host's cgroup layout as seen by this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub kind: LayoutKind,
    pub hierarchies: Vec<Hierarchy>,
}

/// Why the layout could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no cgroup file system is mounted (looked at {0} and /proc/self/mountinfo); hint: mount cgroup2 at /sys/fs/cgroup")]
    NoCgroups(PathBuf),
    #[error("{file}: line {line}: cannot parse `{text}`")]
    Parse {
        file: &'static str,
        line: usize,
        text: String,
    },
}

impl Layout {
    /// Detects the layout of the running host.
    pub fn detect() -> Result<Layout, LayoutError> {
        let read = |p: &str| {
            std::fs::read_to_string(p).map_err(|source| LayoutError::Read {
                path: p.into(),
                source,
            })
        };
        let mountinfo = read("/proc/self/mountinfo")?;
        let own = read("/proc/self/cgroup")?;
        let root = root_fs(Path::new(CGROUP_ROOT));
        let layout = Layout::from_sources(root, &mountinfo, &own, |dir| {
            std::fs::read_to_string(dir.join("cgroup.controllers")).ok()
        })?;
        Ok(layout.with_standing(|p| p.exists()))
    }

    /// Tells a cgroup-namespace root from the kernel's root, for every
    /// hierarchy whose own cgroup is its mount's root; `exists` looks for an
    /// interface file (a fixture tree in tests). The kernel's root is the one
    /// cgroup without `cgroup.type` (v2), and the only one with `release_agent` (v1).
    pub fn with_standing(mut self, exists: impl Fn(&Path) -> bool) -> Layout {
        for h in &mut self.hierarchies {
            if h.standing == Standing::Child {
                continue;
            }
            let root = match h.version {
                Version::V2 => !exists(&h.mount_point.join("cgroup.type")),
                Version::V1 => exists(&h.mount_point.join("release_agent")),
            };
            h.standing = if root {
                Standing::KernelRoot
            } else {
                Standing::NamespaceRoot
            };
        }
        self
    }

    /// Builds the layout from the texts of the kernel files; `v2_controllers` reads
    /// cgroup.controllers in a v2 directory (so tests can supply fixture text).
    pub fn from_sources(
        root: RootFs,
        mountinfo: &str,
        proc_cgroup: &str,
        v2_controllers: impl Fn(&Path) -> Option<String>,
    ) -> Result<Layout, LayoutError> {
        let mounts = parse_mountinfo(mountinfo)?;
        let members = parse_proc_cgroup(proc_cgroup)?;
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for m in mounts.iter().filter(|m| m.fs_type == "cgroup2") {
            // A bind mount of the same hierarchy adds nothing; keep the first.
            if hierarchies.iter().any(|h| h.version == Version::V2) {
                continue;
            }
            let Some(member) = members.iter().find(|m| m.hierarchy_id == 0) else {
                continue;
            };
            let own_dir = translate(&m.root, &m.mount_point, &member.path);
            let controllers = own_dir
                .as_deref()
                .and_then(&v2_controllers)
                .map(|t| t.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let root_controllers = v2_controllers(&m.mount_point)
                .map(|t| t.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            hierarchies.push(Hierarchy {
                version: Version::V2,
                standing: initial_standing(own_dir.as_deref(), &m.mount_point),
                mount_point: m.mount_point.clone(),
                controllers,
                own_path: member.path.clone(),
                own_dir,
                read_only: m.read_only,
                unwritable_by: None,
                root_controllers,
            });
        }
        for m in mounts.iter().filter(|m| m.fs_type == "cgroup") {
            let controllers = v1_controllers(&m.super_options);
            if controllers.is_empty() {
                continue;
            }
            let known = hierarchies
                .iter()
                .any(|h| h.version == Version::V1 && same_set(&h.controllers, &controllers));
            if known {
                continue;
            }
            let Some(member) = members
                .iter()
                .find(|mb| mb.hierarchy_id != 0 && same_set(&mb.controllers, &controllers))
            else {
                continue;
            };
            let own_dir = translate(&m.root, &m.mount_point, &member.path);
            hierarchies.push(Hierarchy {
                version: Version::V1,
                standing: initial_standing(own_dir.as_deref(), &m.mount_point),
                mount_point: m.mount_point.clone(),
                own_dir,
                own_path: member.path.clone(),
                controllers,
                read_only: m.read_only,
                unwritable_by: None,
                root_controllers: Vec::new(),
            });
        }
        let has_v1 = hierarchies.iter().any(|h| h.version == Version::V1);
        let has_v2 = hierarchies.iter().any(|h| h.version == Version::V2);
        let kind = match (root, has_v1, has_v2) {
            (RootFs::Cgroup2, _, true) => LayoutKind::Unified,
            (_, true, true) => LayoutKind::Hybrid,
            (_, true, false) => LayoutKind::Legacy,
            // cgroup2 mounted somewhere other than /sys/fs/cgroup and nothing else.
            (_, false, true) => LayoutKind::Unified,
            (_, false, false) => return Err(LayoutError::NoCgroups(CGROUP_ROOT.into())),
        };
        if kind == LayoutKind::Unified {
            // On a unified host a stray v1 mount (name=systemd for old containers) is not used.
            hierarchies.retain(|h| h.version == Version::V2);
        }
        Ok(Layout { kind, hierarchies })
    }

    /// The unified (cgroup2) hierarchy, if mounted.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// Where `controller` lives: a v1 hierarchy carrying it wins (on a hybrid host the
    /// controllers are bound to v1), else the unified hierarchy when it offers it.
    /// A read-only hierarchy places nothing: no cgroup can be made there.
    pub fn placement(&self, controller: Controller) -> Placement {
        let v1 = self.hierarchies.iter().position(|h| {
            h.version == Version::V1
                && h.own_dir.is_some()
                && h.usable()
                && h.has(controller.v1_name())
        });
        let v2 = self.hierarchies.iter().position(|h| {
            h.version == Version::V2
                && h.own_dir.is_some()
                && h.usable()
                && match controller.on_v2() {
                    super::OnV2::Controller(name) => h.has(name),
                    // Core interface files (cgroup.freeze, cpu.stat usage) need no controller.
                    super::OnV2::Core => true,
                    super::OnV2::Absent => false,
                }
        });
        let (version, hierarchy) = match (v1, v2) {
            (Some(i), _) => (Some(Version::V1), Some(i)),
            (None, Some(i)) => (Some(Version::V2), Some(i)),
            (None, None) => (None, None),
        };
        Placement {
            controller,
            version,
            hierarchy,
        }
    }

    /// Why `controller` has no placement, as the reason of a skip: a
    /// read-only cgroup file system, a controller the host has but did not
    /// delegate to the own cgroup, or one this host lacks.
    pub fn absence(&self, controller: Controller) -> String {
        let on_v2 = controller.on_v2();
        let v2_name = match on_v2 {
            super::OnV2::Controller(n) => Some(n),
            _ => None,
        };
        // A core file (cgroup.freeze, cpu.stat) is on every v2 hierarchy.
        let carries = |h: &Hierarchy| match h.version {
            Version::V1 => h.has(controller.v1_name()),
            Version::V2 => match on_v2 {
                super::OnV2::Controller(n) => h.has(n),
                super::OnV2::Core => true,
                _ => false,
            },
        };
        if let Some(h) = self.hierarchies.iter().find(|h| h.read_only && carries(h)) {
            return format!(
                "the {controller} controller is on a read-only cgroup file system ({}); hint: an unprivileged container cannot make cgroups: run it with --privileged, or pass a writable cgroup mount",
                h.mount_point.display()
            );
        }
        if let Some(h) = self
            .hierarchies
            .iter()
            .find(|h| h.unwritable_by.is_some() && h.own_dir.is_some() && carries(h))
        {
            return format!(
                "the {controller} controller is in the own cgroup {}, which uid {} cannot write (not root, and nothing delegated); hint: {UNWRITABLE_HINT}",
                h.own_dir.as_deref().unwrap_or(Path::new("?")).display(),
                h.unwritable_by.unwrap_or_default()
            );
        }
        if let (Some(name), Some(h)) = (v2_name, self.unified()) {
            if !h.has(name) && h.root_controllers.iter().any(|c| c == name) {
                let own = h
                    .own_dir
                    .as_ref()
                    .map_or(h.own_path.clone(), |d| d.display().to_string());
                let why = if matches!(name, "hugetlb" | "rdma" | "misc") {
                    "systemd never delegates hugetlb, rdma or misc; they need a cgroup outside systemd's tree (--cgroup-parent) or a host without systemd"
                } else {
                    "a user manager needs the drop-in Delegate=cpu cpuset io memory pids for user@.service"
                };
                return format!(
                    "the {controller} controller is not delegated to the own cgroup {own} (the host has it); hint: {why}"
                );
            }
        }
        format!("the {controller} controller is not available on this host")
    }

    /// Leaves out every hierarchy whose own cgroup `writable` says this uid
    /// cannot write (a run without root and without `--cgroup-parent`): its
    /// controllers get no placement, so their probes skip and say why, while
    /// what needs no cgroup runs. Returns whether any hierarchy is left to use.
    pub fn leave_unwritable(&mut self, uid: u32, writable: impl Fn(&Path) -> bool) -> bool {
        for h in &mut self.hierarchies {
            if h.read_only {
                continue;
            }
            if let Some(d) = &h.own_dir {
                if !writable(d) {
                    h.unwritable_by = Some(uid);
                }
            }
        }
        self.hierarchies.iter().any(|h| {
            h.usable()
                && h.own_dir.is_some()
                && !(h.version == Version::V1 && h.controllers.is_empty())
        })
    }

    /// The own cgroups [`Layout::leave_unwritable`] left out, for the words
    /// of a run and of `check`.
    pub fn unwritable_dirs(&self) -> Vec<String> {
        self.hierarchies
            .iter()
            .filter(|h| h.unwritable_by.is_some())
            .filter_map(|h| h.own_dir.as_ref().map(|d| d.display().to_string()))
            .collect()
    }

    /// Placement of every controller isobench uses.
    pub fn placements(&self) -> Vec<Placement> {
        Controller::ALL.iter().map(|&c| self.placement(c)).collect()
    }
}

/// How a user without root gets cgroups to work in.
pub const UNWRITABLE_HINT: &str = "run as root (sudo isobench run), or from a delegated cgroup (systemd-run --user --scope -p Delegate=yes isobench run)";

/// The standing before the interface files are looked at: the mount's root
/// is taken for the kernel's (what a fixture of a plain host shows) until
/// [`Layout::with_standing`] looks.
fn initial_standing(own_dir: Option<&Path>, mount_point: &Path) -> Standing {
    if own_dir == Some(mount_point) {
        Standing::KernelRoot
    } else {
        Standing::Child
    }
}

/// What kind of file system is mounted at `path`.
pub fn root_fs(path: &Path) -> RootFs {
    match nix::sys::statfs::statfs(path) {
        Ok(st) if st.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC => RootFs::Cgroup2,
        Ok(st) if st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC => RootFs::Tmpfs,
        _ => RootFs::Other,
    }
}

/// The directory of cgroup `path` through a mount whose root is `root`.
fn translate(root: &str, mount_point: &Path, path: &str) -> Option<PathBuf> {
    let rel = if root == "/" {
        path.trim_start_matches('/')
    } else {
        let rest = path.strip_prefix(root)?;
        // `/a/bc` is not inside root `/a/b`.
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        rest.trim_start_matches('/')
    };
    Some(if rel.is_empty() {
        mount_point.to_path_buf()
    } else {
        mount_point.join(rel)
    })
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Controllers named in a v1 mount's super options (`rw,cpu,cpuacct`), plus a
/// `name=` of a named hierarchy. Mount flags such as `rw` or `nsdelegate` are dropped.
fn v1_controllers(super_options: &[String]) -> Vec<String> {
    const V1: &[&str] = &[
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "blkio",
        "pids",
        "freezer",
        "devices",
        "net_cls",
        "net_prio",
        "perf_event",
        "hugetlb",
        "rdma",
        "misc",
    ];
    super_options
        .iter()
        .filter(|o| V1.contains(&o.as_str()) || o.starts_with("name="))
        .cloned()
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` is a space, `\011` a tab, `\012` a
/// newline, `\134` a backslash).
pub fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the cgroup mounts out of /proc/self/mountinfo. Other mounts are skipped;
/// optional fields (`shared:1`, `master:2`, ...) run up to the lone `-`.
pub fn parse_mountinfo(text: &str) -> Result<Vec<Mount>, LayoutError> {
    let mut mounts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || LayoutError::Parse {
            file: "mountinfo",
            line: i + 1,
            text: line.to_string(),
        };
        let fields: Vec<&str> = line.split(' ').collect();
        let sep = fields.iter().position(|f| *f == "-").ok_or_else(bad)?;
        if sep < 6 || fields.len() < sep + 4 {
            return Err(bad());
        }
        let fs_type = fields[sep + 1];
        if fs_type != "cgroup" && fs_type != "cgroup2" {
            continue;
        }
        mounts.push(Mount {
            read_only: fields[5].split(',').any(|o| o == "ro"),
            root: unescape_octal(fields[3]),
            mount_point: PathBuf::from(unescape_octal(fields[4])),
            fs_type: fs_type.to_string(),
            super_options: fields[sep + 3].split(',').map(str::to_string).collect(),
        });
    }
    Ok(mounts)
}

/// Parses /proc/self/cgroup (`ID:CONTROLLERS:PATH` a line; the path may contain `:`).
pub fn parse_proc_cgroup(text: &str) -> Result<Vec<Membership>, LayoutError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || LayoutError::Parse {
            file: "/proc/self/cgroup",
            line: i + 1,
            text: line.to_string(),
        };
        let mut parts = line.splitn(3, ':');
        let id = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let controllers = parts.next().ok_or_else(bad)?;
        let path = parts.next().ok_or_else(bad)?;
        out.push(Membership {
            hierarchy_id: id,
            controllers: controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            path: path.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn hybrid() -> Layout {
        Layout::from_sources(
            RootFs::Tmpfs,
            &fixture("hybrid/mountinfo"),
            &fixture("hybrid/cgroup"),
            |_| Some("hugetlb\n".into()),
        )
        .unwrap()
    }

    #[test]
    fn hybrid_host_with_split_cpu_and_cpuacct() {
        let l = hybrid();
        assert_eq!(l.kind, LayoutKind::Hybrid);
        let cpu = l.placement(Controller::Cpu);
        let acct = l.placement(Controller::Cpuacct);
        assert_eq!(cpu.version, Some(Version::V1));
        assert_ne!(
            cpu.hierarchy, acct.hierarchy,
            "cpu and cpuacct are separate mounts here"
        );
        let mem = &l.hierarchies[l.placement(Controller::Memory).hierarchy.unwrap()];
        assert_eq!(
            mem.own_dir.as_deref(),
            Some(Path::new("/sys/fs/cgroup/memory/process_api/897a54d2"))
        );
        // Freezing has a v1 controller here; the unified mount is still found for kill.
        assert_eq!(l.placement(Controller::Freezer).version, Some(Version::V1));
        assert_eq!(
            l.unified().unwrap().mount_point,
            Path::new("/sys/fs/cgroup/unified")
        );
        // The named systemd hierarchy is not a controller we use, but it is a hierarchy.
        assert!(l.hierarchies.iter().any(|h| h.has("name=systemd")));
        // hugetlb is the cgroup2 mount's one controller; devices is v1; net_cls,
        // net_prio and perf_event are bound to no v1 hierarchy: perf_event's
        // cgroup mode works on the cgroup2 tree, the other two are nowhere.
        assert_eq!(l.placement(Controller::Hugetlb).version, Some(Version::V2));
        assert_eq!(l.placement(Controller::Devices).version, Some(Version::V1));
        assert_eq!(
            l.placement(Controller::PerfEvent).version,
            Some(Version::V2)
        );
        assert_eq!(l.placement(Controller::NetCls).version, None);
        assert_eq!(l.placement(Controller::NetPrio).version, None);
    }

    #[test]
    fn unified_host() {
        let l = Layout::from_sources(
            RootFs::Cgroup2,
            &fixture("v2/mountinfo"),
            &fixture("v2/cgroup"),
            |dir| {
                if dir == Path::new("/sys/fs/cgroup") {
                    return Some("cpuset cpu io memory hugetlb pids rdma misc\n".into());
                }
                assert_eq!(
                    dir,
                    Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope")
                );
                Some("cpuset cpu io memory pids\n".into())
            },
        )
        .unwrap();
        assert_eq!(l.kind, LayoutKind::Unified);
        assert_eq!(l.hierarchies.len(), 1);
        for c in Controller::ALL {
            // hugetlb is not in that cgroup.controllers; net_cls and net_prio
            // have no v2 form.
            let want = match c {
                Controller::Hugetlb | Controller::NetCls | Controller::NetPrio => None,
                _ => Some(Version::V2),
            };
            assert_eq!(l.placement(c).version, want, "{c}");
        }
        // The host has hugetlb; the session did not get it.
        let why = l.absence(Controller::Hugetlb);
        assert!(why.contains("not delegated to the own cgroup /sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"), "{why}");
        assert!(why.contains("systemd never delegates hugetlb"), "{why}");
        assert_eq!(
            l.absence(Controller::NetCls),
            "the net_cls controller is not available on this host"
        );
        assert_eq!(l.hierarchies[0].standing, Standing::Child);
    }

    /// A container's view: cgroup2 mounted afresh in a cgroup namespace, the
    /// own cgroup reading `0::/`.
    const NS_MOUNTINFO: &str = "1210 1199 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
    const NS_MOUNTINFO_RO: &str = "1210 1199 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

    fn container(mountinfo: &str) -> Layout {
        Layout::from_sources(RootFs::Cgroup2, mountinfo, "0::/\n", |_| {
            Some("cpuset cpu io memory pids\n".into())
        })
        .unwrap()
    }

    #[test]
    fn a_namespace_root_is_told_from_the_kernels_root_by_its_interface_files() {
        // The kernel's root has no cgroup.type.
        let host = container(NS_MOUNTINFO).with_standing(|_| false);
        assert_eq!(host.hierarchies[0].standing, Standing::KernelRoot);
        let ns =
            container(NS_MOUNTINFO).with_standing(|p| p == Path::new("/sys/fs/cgroup/cgroup.type"));
        assert_eq!(ns.hierarchies[0].standing, Standing::NamespaceRoot);
        // v1: only the kernel's root has release_agent.
        let v1 = Layout::from_sources(
            RootFs::Tmpfs,
            "30 25 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
            "5:pids:/\n",
            |_| None,
        )
        .unwrap();
        let root = v1.clone().with_standing(|p| p.ends_with("release_agent"));
        assert_eq!(root.hierarchies[0].standing, Standing::KernelRoot);
        assert_eq!(
            v1.with_standing(|_| false).hierarchies[0].standing,
            Standing::NamespaceRoot
        );
    }

    #[test]
    fn a_read_only_cgroup_file_system_places_nothing_and_says_why() {
        let l = container(NS_MOUNTINFO_RO);
        assert!(l.hierarchies[0].read_only);
        assert_eq!(l.placement(Controller::Memory).version, None);
        assert_eq!(l.placement(Controller::Freezer).version, None);
        let why = l.absence(Controller::Memory);
        assert!(
            why.contains("read-only cgroup file system (/sys/fs/cgroup)"),
            "{why}"
        );
        let why = l.absence(Controller::Freezer);
        assert!(why.contains("read-only"), "{why}");
        assert!(!container(NS_MOUNTINFO).hierarchies[0].read_only);
    }

    #[test]
    fn what_a_user_cannot_write_places_nothing_and_says_why() {
        // Hybrid, the v2 cgroup delegated, the v1 ones root's.
        let mut l = hybrid();
        let v2 = l.unified().and_then(|h| h.own_dir.clone()).unwrap();
        assert!(l.leave_unwritable(1000, |d| d == v2));
        assert_eq!(l.placement(Controller::Memory).version, None);
        // The v1 freezer is left out; cgroup.freeze of the delegated v2 cgroup serves.
        assert_eq!(l.placement(Controller::Freezer).version, Some(Version::V2));
        let why = l.absence(Controller::Memory);
        assert!(
            why.contains("which uid 1000 cannot write") && why.contains("hint: run as root"),
            "{why}"
        );
        // Nothing writable: nothing left to make cgroups in.
        let mut l = hybrid();
        assert!(!l.leave_unwritable(1000, |_| false));
        assert!(Controller::ALL
            .iter()
            .all(|&c| l.placement(c).version.is_none()));
        // Everything writable: nothing changes.
        let mut l = hybrid();
        assert!(l.leave_unwritable(1000, |_| true));
        assert_eq!(l, hybrid());
    }

    #[test]
    fn unified_host_without_a_controller() {
        let l = Layout::from_sources(
            RootFs::Cgroup2,
            &fixture("v2/mountinfo"),
            &fixture("v2/cgroup"),
            |_| Some("memory pids".into()),
        )
        .unwrap();
        assert_eq!(l.placement(Controller::Cpu).version, None);
        assert_eq!(l.placement(Controller::Io).version, None);
        // cpu.stat usage and cgroup.freeze are core files: always there on v2.
        assert_eq!(l.placement(Controller::Cpuacct).version, Some(Version::V2));
        assert_eq!(l.placement(Controller::Freezer).version, Some(Version::V2));
    }

    #[test]
    fn legacy_host_with_joined_cpu_cpuacct() {
        let l = Layout::from_sources(
            RootFs::Tmpfs,
            &fixture("v1/mountinfo"),
            &fixture("v1/cgroup"),
            |_| None,
        )
        .unwrap();
        assert_eq!(l.kind, LayoutKind::Legacy);
        let cpu = l.placement(Controller::Cpu);
        assert_eq!(cpu.hierarchy, l.placement(Controller::Cpuacct).hierarchy);
        let h = &l.hierarchies[cpu.hierarchy.unwrap()];
        assert_eq!(h.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(
            h.own_dir.as_deref(),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/user.slice"))
        );
        assert!(l.unified().is_none());
    }

    #[test]
    fn mount_root_translation_in_a_container() {
        // Inside a container the mount's root is the container's cgroup.
        assert_eq!(
            translate(
                "/docker/abc",
                Path::new("/sys/fs/cgroup/memory"),
                "/docker/abc/sub"
            ),
            Some(PathBuf::from("/sys/fs/cgroup/memory/sub"))
        );
        assert_eq!(
            translate("/docker/abc", Path::new("/m"), "/docker/abc"),
            Some(PathBuf::from("/m"))
        );
        assert_eq!(
            translate("/docker/abc", Path::new("/m"), "/docker/abcd"),
            None
        );
        assert_eq!(translate("/docker/abc", Path::new("/m"), "/other"), None);
    }

    #[test]
    fn mountinfo_escapes_and_optional_fields() {
        let text = "41 31 0:38 / /sys/fs/cgroup/my\\040dir rw,relatime shared:9 master:3 - cgroup2 cgroup2 rw,nsdelegate\n\
                    24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw\n";
        let m = parse_mountinfo(text).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, Path::new("/sys/fs/cgroup/my dir"));
        assert_eq!(m[0].super_options, vec!["rw", "nsdelegate"]);
        assert!(parse_mountinfo("garbage line\n").is_err());
        assert_eq!(unescape_octal("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape_octal("trailing\\04"), "trailing\\04");
    }

    #[test]
    fn proc_cgroup_path_with_colons() {
        let m = parse_proc_cgroup("0::/a:b\n4:memory:/x\n").unwrap();
        assert_eq!(m[0].path, "/a:b");
        assert!(m[0].controllers.is_empty());
        assert_eq!(m[1].controllers, vec!["memory"]);
        assert!(parse_proc_cgroup("x:y\n").is_err());
    }

    #[test]
    fn nothing_mounted_is_an_error() {
        let err = Layout::from_sources(RootFs::Other, "", "0::/\n", |_| None).unwrap_err();
        assert!(err.to_string().contains("no cgroup file system"));
    }
}
