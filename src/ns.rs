//! Namespace kinds and the three ways to get into a new one — clone, unshare,
//! setns — as raw, allocation-free operations that a single-threaded worker
//! process can time. Only this module (with `cgroup` and the workloads) touches
//! the kernel.

use std::fmt;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `CLONE_NEWTIME` is not in every libc; it only works with clone3 (in clone()
/// its bit is part of the exit-signal field).
pub const CLONE_NEWTIME: u64 = 0x80;

/// A namespace type, plus `all` (every type at once, as a container runtime
/// creates them) and `none` (a plain process: the baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NsKind {
    Mnt,
    Pid,
    Net,
    Ipc,
    Uts,
    User,
    Cgroup,
    Time,
    All,
    None,
}

impl NsKind {
    /// The eight real namespace types.
    pub const TYPES: [NsKind; 8] = [
        NsKind::Mnt,
        NsKind::Pid,
        NsKind::Net,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Time,
    ];
    /// Every kind the probe knows.
    pub const EVERY: [NsKind; 10] = [
        NsKind::Mnt,
        NsKind::Pid,
        NsKind::Net,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Time,
        NsKind::All,
        NsKind::None,
    ];

    /// The CLONE_NEW* flags of the kind.
    pub fn flags(self) -> u64 {
        match self {
            NsKind::Mnt => libc::CLONE_NEWNS as u64,
            NsKind::Pid => libc::CLONE_NEWPID as u64,
            NsKind::Net => libc::CLONE_NEWNET as u64,
            NsKind::Ipc => libc::CLONE_NEWIPC as u64,
            NsKind::Uts => libc::CLONE_NEWUTS as u64,
            NsKind::User => libc::CLONE_NEWUSER as u64,
            NsKind::Cgroup => libc::CLONE_NEWCGROUP as u64,
            NsKind::Time => CLONE_NEWTIME,
            NsKind::All => NsKind::TYPES
                .iter()
                .map(|k| k.flags())
                .fold(0, |a, b| a | b),
            NsKind::None => 0,
        }
    }

    /// The kernel's name, as in `/proc/<pid>/ns/<name>` (`mnt`, `net`, ...).
    pub fn proc_name(self) -> Option<&'static str> {
        Some(match self {
            NsKind::Mnt => "mnt",
            NsKind::Pid => "pid",
            NsKind::Net => "net",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
            NsKind::All | NsKind::None => return None,
        })
    }

    /// Whether the kind includes a network namespace (whose teardown is asynchronous).
    pub fn has_net(self) -> bool {
        self.flags() & libc::CLONE_NEWNET as u64 != 0
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NsKind::All => "all",
            NsKind::None => "none",
            k => k.proc_name().unwrap_or("?"),
        })
    }
}

impl FromStr for NsKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NsKind::EVERY
            .into_iter()
            .find(|k| k.to_string() == s)
            .ok_or_else(|| format!("unknown namespace kind `{s}` (kinds: mnt pid net ipc uts user cgroup time all none)"))
    }
}

/// How a new namespace is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// `clone3(CLONE_NEW<kind>)` of a child that exits at once, until the parent reaped it.
    Clone,
    /// The `unshare(CLONE_NEW<kind>)` call alone, in a freshly forked single-threaded child.
    Unshare,
    /// setns() into a namespace held open by a keeper process, in a fresh child.
    Setns,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Clone, Method::Unshare, Method::Setns];
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Clone => "clone",
            Method::Unshare => "unshare",
            Method::Setns => "setns",
        })
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.to_string() == s)
            .ok_or_else(|| format!("unknown method `{s}` (methods: clone unshare setns)"))
    }
}

/// Why a kind cannot be entered with a method, if it cannot.
pub fn unsupported(kind: NsKind, method: Method) -> Option<&'static str> {
    match (kind, method) {
        (NsKind::None, Method::Setns) => Some("there is no namespace to join without a namespace"),
        _ => None,
    }
}

/// CLOCK_MONOTONIC in ns (a vDSO call: ~20–30 ns, the floor the `noop` case shows).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn last_err() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// `libc::CLONE_INTO_CGROUP` overflows to 0 on some targets (it is `1 << 33`), and
/// clone3 then silently leaves the child where the parent is: spell it out.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The kernel's `struct clone_args` (CLONE_ARGS_SIZE_VER2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// A fork-like clone3 with `flags` (and, with CLONE_INTO_CGROUP, the cgroup2
/// directory fd `cgroup`): returns 0 in the child, its pid in the parent.
///
/// # Safety
/// As `fork`: in a multithreaded process the child may only make
/// async-signal-safe calls before it execs or exits.
pub unsafe fn clone3(flags: u64, cgroup: Option<RawFd>) -> std::io::Result<i32> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.map_or(0, |fd| fd as u64),
        ..CloneArgs::default()
    };
    let r = libc::syscall(
        libc::SYS_clone3,
        &mut args as *mut CloneArgs,
        std::mem::size_of::<CloneArgs>(),
    );
    if r < 0 {
        Err(last_err())
    } else {
        Ok(r as i32)
    }
}

/// [`clone3`] without a cgroup.
///
/// # Safety
/// See [`clone3`].
pub unsafe fn clone3_fork(flags: u64) -> std::io::Result<i32> {
    clone3(flags, None)
}

/// fork(2).
///
/// # Safety
/// See [`clone3_fork`].
pub unsafe fn fork() -> std::io::Result<i32> {
    match libc::fork() {
        -1 => Err(last_err()),
        pid => Ok(pid),
    }
}

/// unshare(2) with namespace flags.
pub fn unshare(flags: u64) -> std::io::Result<()> {
    // SAFETY: plain syscall.
    if unsafe { libc::unshare(flags as libc::c_int) } == 0 {
        Ok(())
    } else {
        Err(last_err())
    }
}

/// setns(2): `fd` is a `/proc/<pid>/ns/<kind>` file or a pidfd (then `flags` may name several kinds).
pub fn setns(fd: RawFd, flags: u64) -> std::io::Result<()> {
    // SAFETY: plain syscall.
    if unsafe { libc::setns(fd, flags as libc::c_int) } == 0 {
        Ok(())
    } else {
        Err(last_err())
    }
}

/// pidfd_open(2).
pub fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: plain syscall; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        Err(last_err())
    } else {
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

/// Waits for `pid`; returns its raw wait status.
pub fn wait(pid: i32) -> std::io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: plain syscall with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let e = last_err();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A pipe (read end, write end), close-on-exec.
pub fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_err());
    }
    // SAFETY: pipe2 returned two new fds we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes all of `buf` with write(2) (async-signal-safe).
pub fn write_all(fd: RawFd, buf: &[u8]) -> bool {
    let mut off = 0;
    while off < buf.len() {
        // SAFETY: valid buffer slice.
        let n = unsafe { libc::write(fd, buf[off..].as_ptr().cast(), buf.len() - off) };
        if n <= 0 {
            return false;
        }
        off += n as usize;
    }
    true
}

/// Reads exactly `buf.len()` bytes; false on EOF or error.
pub fn read_exact(fd: RawFd, buf: &mut [u8]) -> bool {
    let mut off = 0;
    while off < buf.len() {
        // SAFETY: valid buffer slice.
        let n = unsafe { libc::read(fd, buf[off..].as_mut_ptr().cast(), buf.len() - off) };
        if n <= 0 {
            return false;
        }
        off += n as usize;
    }
    true
}

/// Ends a forked child at once, without running any Rust runtime code.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// The maps of a user namespace whose only id is this process's own, as an
/// unprivileged process may write them for itself: `setgroups` `deny` first
/// (else gid_map is refused), then `0 <euid> 1` and `0 <egid> 1`. Paths and
/// texts are made before any fork, so a forked child writes them without
/// allocating.
struct OwnMaps {
    files: [(std::ffi::CString, Vec<u8>); 3],
}

impl OwnMaps {
    fn new() -> OwnMaps {
        // SAFETY: plain syscalls.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let file = |n: &str| std::ffi::CString::new(format!("/proc/self/{n}")).unwrap_or_default();
        OwnMaps {
            files: [
                (file("setgroups"), b"deny".to_vec()),
                (file("uid_map"), format!("0 {uid} 1").into_bytes()),
                (file("gid_map"), format!("0 {gid} 1").into_bytes()),
            ],
        }
    }

    /// Writes the maps with open/write/close only (async-signal-safe); the
    /// index of the file that failed, with its errno.
    fn write(&self) -> Result<(), (usize, i32)> {
        for (i, (path, text)) in self.files.iter().enumerate() {
            // SAFETY: a valid NUL-terminated path.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
            if fd < 0 {
                return Err((i, last_err().raw_os_error().unwrap_or(libc::EIO)));
            }
            let ok = write_all(fd, text);
            let errno = last_err().raw_os_error().unwrap_or(libc::EIO);
            // SAFETY: closes the fd opened above.
            unsafe { libc::close(fd) };
            if !ok {
                return Err((i, errno));
            }
        }
        Ok(())
    }

    fn describe(&self, (i, errno): (usize, i32)) -> String {
        let (path, text) = &self.files[i];
        format!(
            "write {:?} to {}: {}",
            String::from_utf8_lossy(text),
            path.to_string_lossy(),
            std::io::Error::from_raw_os_error(errno)
        )
    }
}

/// Moves this (single-threaded) process into a new user namespace where it is
/// uid 0, mapped to its own uid: what lets a process without privileges make
/// every other namespace type, owned by that one.
pub fn enter_user_namespace() -> Result<(), String> {
    let maps = OwnMaps::new();
    unshare(libc::CLONE_NEWUSER as u64).map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
    maps.write().map_err(|e| maps.describe(e))
}

/// Why this process cannot make namespaces through a user namespace of its
/// own, or `None` where it can: tried in a forked child (a new user
/// namespace, its maps, then a mount and a network namespace inside), and a
/// refusal explained by the switch that blocks it.
pub fn user_namespaces_blocked() -> Option<String> {
    let maps = OwnMaps::new();
    let (r, w) = pipe().ok()?;
    // SAFETY: the child runs syscalls only (no allocation) and _exits.
    let pid = unsafe { fork() }.ok()?;
    if pid == 0 {
        drop(r);
        // (stage, file index, errno): stage 0 unshare user, 1 maps, 2 unshare mnt|net.
        let report = |stage: i32, i: usize, errno: i32| {
            let mut b = [0u8; 12];
            b[..4].copy_from_slice(&stage.to_ne_bytes());
            b[4..8].copy_from_slice(&(i as i32).to_ne_bytes());
            b[8..].copy_from_slice(&errno.to_ne_bytes());
            write_all(std::os::fd::AsRawFd::as_raw_fd(&w), &b);
            exit_child(1);
        };
        let errno = || last_err().raw_os_error().unwrap_or(libc::EIO);
        // SAFETY: plain syscalls.
        if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
            report(0, 0, errno());
        }
        if let Err((i, e)) = maps.write() {
            report(1, i, e);
        }
        // SAFETY: plain syscall.
        if unsafe { libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET) } != 0 {
            report(2, 0, errno());
        }
        exit_child(0);
    }
    drop(w);
    let mut b = [0u8; 12];
    let failed = read_exact(std::os::fd::AsRawFd::as_raw_fd(&r), &mut b);
    let _ = wait(pid);
    if !failed {
        return None;
    }
    let word = |k: usize| i32::from_ne_bytes(b[k * 4..k * 4 + 4].try_into().unwrap_or_default());
    let (stage, i, errno) = (word(0), word(1) as usize, word(2));
    let what = match stage {
        0 => format!(
            "unshare(CLONE_NEWUSER): {}",
            std::io::Error::from_raw_os_error(errno)
        ),
        1 => maps.describe((i.min(2), errno)),
        _ => format!(
            "unshare(CLONE_NEWNS|CLONE_NEWNET) in its own user namespace: {}",
            std::io::Error::from_raw_os_error(errno)
        ),
    };
    let sysctl = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
    };
    Some(userns_block_reason(
        &what,
        sysctl("/proc/sys/user/max_user_namespaces"),
        sysctl("/proc/sys/kernel/unprivileged_userns_clone"),
        sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
    ))
}

/// The one message for blocked user namespaces: the switch that blocks them
/// and the command that lifts it (or running as root).
pub fn userns_block_reason(
    what: &str,
    max_user_namespaces: Option<i64>,
    unprivileged_userns_clone: Option<i64>,
    apparmor_restrict: Option<i64>,
) -> String {
    let (why, fix) = if max_user_namespaces == Some(0) {
        (
            "user.max_user_namespaces is 0",
            "sudo sysctl -w user.max_user_namespaces=15000",
        )
    } else if unprivileged_userns_clone == Some(0) {
        (
            "kernel.unprivileged_userns_clone is 0",
            "sudo sysctl -w kernel.unprivileged_userns_clone=1",
        )
    } else if apparmor_restrict == Some(1) {
        (
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu's default since 23.10)",
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for isobench that allows `userns,`",
        )
    } else {
        (
            "the kernel refused",
            "check the kernel's user namespace settings",
        )
    };
    format!("not root, and unprivileged user namespaces are blocked: {why} ({what}); hint: run as root (sudo isobench run), or {fix}")
}

/// Non-init network namespaces alive (or still being torn down), from the
/// `net_namespace` slab in /proc/slabinfo; `None` where the cache is merged or hidden.
pub fn net_namespaces_alive() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    parse_slab_active(&text, "net_namespace")
}

/// The active-objects column of one cache in /proc/slabinfo text.
pub fn parse_slab_active(slabinfo: &str, cache: &str) -> Option<u64> {
    slabinfo.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next()? == cache).then(|| f.next()?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_user_namespaces_name_the_switch_and_its_fix() {
        let w = "write \"0 1000 1\" to /proc/self/uid_map: Operation not permitted";
        let m = userns_block_reason(w, Some(15000), None, Some(1));
        assert!(
            m.contains("AppArmor") && m.contains("apparmor_restrict_unprivileged_userns=0"),
            "{m}"
        );
        assert!(m.contains(w) && m.contains("hint: run as root"), "{m}");
        let m = userns_block_reason(w, Some(0), None, Some(1));
        assert!(m.contains("user.max_user_namespaces is 0"), "{m}");
        let m = userns_block_reason(w, Some(15000), Some(0), None);
        assert!(m.contains("unprivileged_userns_clone=1"), "{m}");
        let m = userns_block_reason(w, Some(15000), Some(1), Some(0));
        assert!(m.contains("the kernel refused"), "{m}");
    }

    /// The maps a process may write for itself, made before any fork.
    #[test]
    fn own_maps_map_the_callers_ids() {
        let m = OwnMaps::new();
        let text: Vec<String> = m
            .files
            .iter()
            .map(|(p, t)| format!("{} {}", p.to_string_lossy(), String::from_utf8_lossy(t)))
            .collect();
        // SAFETY: plain syscalls.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(
            text,
            [
                "/proc/self/setgroups deny".to_string(),
                format!("/proc/self/uid_map 0 {uid} 1"),
                format!("/proc/self/gid_map 0 {gid} 1"),
            ]
        );
    }

    #[test]
    fn kinds_round_trip_and_flags_are_distinct() {
        for k in NsKind::EVERY {
            assert_eq!(k.to_string().parse::<NsKind>().unwrap(), k);
        }
        let mut seen = 0u64;
        for k in NsKind::TYPES {
            assert_eq!(seen & k.flags(), 0, "{k}");
            seen |= k.flags();
        }
        assert_eq!(NsKind::All.flags(), seen);
        assert_eq!(NsKind::None.flags(), 0);
        assert!(NsKind::All.has_net() && NsKind::Net.has_net() && !NsKind::Uts.has_net());
        assert!("bogus".parse::<NsKind>().is_err());
        assert_eq!("setns".parse::<Method>().unwrap(), Method::Setns);
    }

    #[test]
    fn clone_args_has_the_kernel_size() {
        assert_eq!(std::mem::size_of::<CloneArgs>(), 88);
        assert_eq!(CLONE_INTO_CGROUP, 1u64 << 33);
    }

    #[test]
    fn slabinfo_active_objects() {
        let text = "slabinfo - version: 2.1\n# name <active_objs> <num_objs>\nnet_namespace          3      7   4288    7    8 : tunables 0 0 0\n";
        assert_eq!(parse_slab_active(text, "net_namespace"), Some(3));
        assert_eq!(parse_slab_active(text, "nope"), None);
    }
}
