//! The devices probe's workload, `isobench worker devices`: it tries the
//! operations a device cgroup rule governs and reports the errno of each —
//! its own observation, not the kernel's bookkeeping. Opens go to the host's
//! device nodes (read-only and write-only: both are checked at open); mknod
//! happens in a tmpfs mounted in a private mount namespace of its own, so
//! nothing it makes is visible to anyone else and everything goes with it.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One operation on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DevOp {
    /// open(O_RDONLY) of the node.
    #[serde(rename = "open-r")]
    OpenRead,
    /// open(O_WRONLY) of the node.
    #[serde(rename = "open-w")]
    OpenWrite,
    /// mknod of a character device node with that number (in a private tmpfs).
    #[serde(rename = "mknod")]
    Mknod,
}

impl DevOp {
    /// The name reports use (`open-r`, `open-w`, `mknod`).
    pub fn name(self) -> &'static str {
        match self {
            DevOp::OpenRead => "open-r",
            DevOp::OpenWrite => "open-w",
            DevOp::Mknod => "mknod",
        }
    }
}

/// What one operation returned: 0 or the errno.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevOutcome {
    /// The node's path for opens, `MAJ:MIN` (a character device) for mknod.
    pub target: String,
    pub op: DevOp,
    pub errno: i32,
}

/// The worker's one line of output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevReport {
    pub outcomes: Vec<DevOutcome>,
    /// Why the private mount namespace or its tmpfs could not be made (the
    /// mknods were then not tried): a host limit, not a device rule.
    pub setup_error: Option<String>,
}

fn errno_of(r: std::io::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
    }
}

/// Opens `path` with `flags` and closes it again.
fn try_open(path: &Path, flags: libc::c_int) -> i32 {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return libc::EINVAL;
    };
    // SAFETY: a NUL-terminated path; the fd is closed at once.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOCTTY) };
    if fd < 0 {
        return std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
    }
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    0
}

/// A private mount namespace with a fresh tmpfs on `dir` (hiding what is there
/// for this process only).
fn private_tmpfs(dir: &Path) -> Result<(), String> {
    use nix::mount::{mount, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    // Nothing mounted below may propagate back to the host's namespace.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make / rprivate: {e}"))?;
    // No `nodev`: the nodes must be real device nodes for the check to apply.
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=0700,size=64k"),
    )
    .map_err(|e| format!("mount tmpfs on {}: {e}", dir.display()))
}

/// `isobench worker devices --open PATH… --mknod MAJ:MIN…`: prints one JSON
/// [`DevReport`] line. Exit status 0 when it could report, 2 on bad arguments.
pub fn main(open: &[PathBuf], mknod: &[String]) -> i32 {
    let mut outcomes = Vec::new();
    for p in open {
        for (op, flags) in [
            (DevOp::OpenRead, libc::O_RDONLY),
            (DevOp::OpenWrite, libc::O_WRONLY),
        ] {
            outcomes.push(DevOutcome {
                target: p.display().to_string(),
                op,
                errno: try_open(p, flags),
            });
        }
    }
    let mut devs = Vec::new();
    for m in mknod {
        match crate::cgroup::stats::parse_dev(m.trim()) {
            Some(d) => devs.push(d),
            None => {
                eprintln!("isobench worker devices: bad --mknod {m:?} (want MAJ:MIN)");
                return 2;
            }
        }
    }
    let mut setup_error = None;
    if !devs.is_empty() {
        let dir = std::env::temp_dir();
        match private_tmpfs(&dir) {
            Err(e) => setup_error = Some(e),
            Ok(()) => {
                for (major, minor) in devs {
                    let node = dir.join(format!("c-{major}-{minor}"));
                    let r = nix::sys::stat::mknod(
                        &node,
                        nix::sys::stat::SFlag::S_IFCHR,
                        nix::sys::stat::Mode::from_bits_truncate(0o600),
                        nix::sys::stat::makedev(major.into(), minor.into()),
                    );
                    let errno = errno_of(r.map_err(std::io::Error::from));
                    if errno == 0 {
                        let _ = std::fs::remove_file(&node);
                    }
                    outcomes.push(DevOutcome {
                        target: format!("{major}:{minor}"),
                        op: DevOp::Mknod,
                        errno,
                    });
                }
            }
        }
    }
    let report = DevReport {
        outcomes,
        setup_error,
    };
    println!(
        "{}",
        serde_json::to_string(&report).expect("plain data serialises")
    );
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let r = DevReport {
            outcomes: vec![DevOutcome {
                target: "/dev/full".into(),
                op: DevOp::OpenWrite,
                errno: 1,
            }],
            setup_error: None,
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains("\"open-w\""), "{line}");
        assert_eq!(serde_json::from_str::<DevReport>(&line).unwrap(), r);
    }
}
