//! The isolation checks (`isobench worker ns-verify --kind K`): inside a new
//! namespace of each kind, observe the fact that makes it a namespace, and
//! print one JSON line `{"pass": bool, "observed": "..."}`.
//!
//! Runs in a re-executed single-threaded worker, so the children it forks may
//! use the whole standard library.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

use serde::Serialize;

use crate::ns::{self, Method, NsKind};

/// The outcome of one isolation check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Check {
    pub pass: bool,
    pub observed: String,
}

/// The outside uid/gid that uid/gid 0 in a new user namespace is mapped to.
pub const MAPPED_ID: u32 = 65534;

/// The id a user namespace made by a worker already inside one of its own
/// (`--userns`) maps: that worker has only uid 0, so the child's id must be
/// another for the map to show.
pub const NESTED_INSIDE_ID: u32 = 1000;

/// The (inside, outside) uid and gid of a new user namespace's map: `0 65534`
/// from the initial user namespace; in a worker's own (one id mapped, as a
/// non-root run makes it), `1000 0`.
pub fn child_ids() -> (u32, u32) {
    let full = std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().nth(2) == Some("4294967295"))
        .unwrap_or(true);
    if full {
        (0, MAPPED_ID)
    } else {
        (NESTED_INSIDE_ID, 0)
    }
}

/// A child in new namespaces that reports one text back, with a parent step
/// (e.g. writing uid maps) before the child's `body` runs and after it reported.
fn in_new_ns(
    flags: u64,
    before: impl FnOnce(i32) -> Result<(), String>,
    body: impl FnOnce() -> String,
    after: impl FnOnce(i32) -> String,
) -> Result<(String, String), String> {
    let (to_child_r, to_child_w) = ns::pipe().map_err(|e| e.to_string())?;
    let (to_parent_r, to_parent_w) = ns::pipe().map_err(|e| e.to_string())?;
    // SAFETY: single-threaded worker process.
    let pid = unsafe { ns::clone3_fork(flags) }.map_err(|e| format!("clone3: {e}"))?;
    if pid == 0 {
        drop((to_child_w, to_parent_r));
        let mut b = [0u8; 1];
        if !ns::read_exact(to_child_r.as_raw_fd(), &mut b) {
            ns::exit_child(1);
        }
        let text = body();
        let len = (text.len() as u32).to_ne_bytes();
        ns::write_all(to_parent_w.as_raw_fd(), &len);
        ns::write_all(to_parent_w.as_raw_fd(), text.as_bytes());
        // Stay (and keep what was set up) until the parent has looked from outside.
        ns::read_exact(to_child_r.as_raw_fd(), &mut b);
        ns::exit_child(0);
    }
    drop((to_child_r, to_parent_w));
    let result = (|| {
        before(pid)?;
        ns::write_all(to_child_w.as_raw_fd(), b"g");
        let mut len = [0u8; 4];
        if !ns::read_exact(to_parent_r.as_raw_fd(), &mut len) {
            return Err("the child in the new namespace died".to_string());
        }
        let mut text = vec![0u8; u32::from_ne_bytes(len) as usize];
        ns::read_exact(to_parent_r.as_raw_fd(), &mut text);
        let outside = after(pid);
        Ok((String::from_utf8_lossy(&text).into_owned(), outside))
    })();
    drop(to_child_w);
    let _ = ns::wait(pid);
    result
}

/// Writes the uid/gid maps of a new user namespace in the order the kernel
/// requires: setgroups `deny` first (else gid_map is refused), then the maps.
pub fn write_id_maps(pid: i32) -> Result<(), String> {
    let (inside, outside) = child_ids();
    for (file, text) in [
        ("setgroups", "deny".to_string()),
        ("uid_map", format!("{inside} {outside} 1")),
        ("gid_map", format!("{inside} {outside} 1")),
    ] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("write {text:?} to {path}: {e}"))?;
    }
    Ok(())
}

/// Takes the mapped uid/gid of the new user namespace (`inside`, see
/// [`child_ids`]): the creator's credentials are the outside ones until it does.
fn become_mapped(inside: u32) -> Result<(), String> {
    use nix::unistd::{setresgid, setresuid, Gid, Uid};
    let (g, u) = (Gid::from_raw(inside), Uid::from_raw(inside));
    setresgid(g, g, g).map_err(|e| format!("setresgid({inside}): {e}; "))?;
    setresuid(u, u, u).map_err(|e| format!("setresuid({inside}): {e}; "))
}

/// The inode of this process's namespace of `kind` (`/proc/self/ns/<kind>`).
fn ns_inode(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Whether a mount at `target` is in this process's mount table: `true`,
/// `false`, or the error (an unreadable table is no evidence either way).
fn mounted(target: &Path) -> String {
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(m) => m.contains(&*target.to_string_lossy()).to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// In a new mount namespace: makes `/` private and mounts a tmpfs at `target`;
/// `true` when it then shows in the mount table.
fn private_tmpfs(target: &Path) -> String {
    use nix::mount::{mount, MsFlags};
    let private = mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    );
    let tmpfs = mount(
        Some("isobench"),
        target,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=64k"),
    );
    match (private, tmpfs) {
        (Ok(()), Ok(())) => mounted(target),
        (Err(e), _) => format!("error: make / private: {e}"),
        (_, Err(e)) => format!("error: mount tmpfs: {e}"),
    }
}

fn interfaces() -> Vec<String> {
    std::fs::read_to_string("/proc/self/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .collect()
}

/// Whether interface `name` is up (SIOCGIFFLAGS on a throwaway socket).
fn if_up(name: &str) -> Option<bool> {
    // SAFETY: plain syscalls on a zeroed ifreq whose name fits.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return None;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in name.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
            req.ifr_name[i] = b as libc::c_char;
        }
        let r = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req);
        libc::close(s);
        (r == 0).then_some(req.ifr_ifru.ifru_flags as i32 & libc::IFF_UP != 0)
    }
}

fn cgroup_paths() -> Vec<String> {
    std::fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2).map(str::to_string))
        .collect()
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn outside_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// What to check for each kind.
pub fn check(kind: NsKind) -> Result<Check, String> {
    let flags = kind.flags();
    let none = |_: i32| Ok(());
    let nothing = |_: i32| String::new();
    let me = std::process::id();
    match kind {
        NsKind::Pid => {
            let (inside, _) = in_new_ns(
                flags,
                none,
                || {
                    let first = std::process::id();
                    // SAFETY: single process; the grandchild exits at once.
                    let second = match unsafe { ns::fork() } {
                        Ok(0) => ns::exit_child(0),
                        Ok(p) => {
                            let _ = ns::wait(p);
                            p
                        }
                        Err(_) => -1,
                    };
                    format!("{first} {second}")
                },
                nothing,
            )?;
            Ok(Check {
                pass: inside == "1 2",
                observed: format!(
                    "getpid() = {}, its first child = {}",
                    inside.split(' ').next().unwrap_or("?"),
                    inside.split(' ').nth(1).unwrap_or("?")
                ),
            })
        }
        NsKind::Uts => {
            let outside_before = hostname();
            let name = format!("isobench-{me}");
            let set = name.clone();
            let (inside, outside) = in_new_ns(
                flags,
                none,
                move || match nix::unistd::sethostname(&set) {
                    Ok(()) => hostname(),
                    Err(e) => format!("sethostname failed: {e}"),
                },
                |_| hostname(),
            )?;
            Ok(Check {
                pass: inside == name && outside == outside_before,
                observed: format!(
                    "hostname inside {inside:?}, outside {outside:?} (was {outside_before:?})"
                ),
            })
        }
        NsKind::Net => {
            let (inside, _) = in_new_ns(
                flags,
                none,
                || {
                    let ifs = interfaces();
                    format!(
                        "{}|{}",
                        ifs.join(","),
                        match if_up("lo") {
                            Some(true) => "up",
                            Some(false) => "down",
                            None => "?",
                        }
                    )
                },
                nothing,
            )?;
            let (ifs, lo) = inside.split_once('|').unwrap_or((&inside, "?"));
            Ok(Check {
                pass: ifs == "lo" && lo == "down",
                observed: format!("interfaces [{ifs}], lo {lo}"),
            })
        }
        NsKind::Mnt => {
            let dir = tempfile::Builder::new()
                .prefix("isobench-mnt-")
                .tempdir_in("/tmp")
                .map_err(|e| e.to_string())?;
            let target = dir.path().to_path_buf();
            let t = target.clone();
            let (inside, outside) = in_new_ns(
                flags,
                none,
                move || private_tmpfs(&t),
                move |_| mounted(&target),
            )?;
            Ok(Check {
                pass: inside == "true" && outside == "false",
                observed: format!(
                    "tmpfs at {} visible inside: {inside}, outside: {outside}",
                    dir.path().display()
                ),
            })
        }
        NsKind::Ipc => {
            let key = 0x1b0c_0000 | (me as i32 & 0xffff);
            // SAFETY: plain SysV IPC syscalls.
            let id = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
            if id < 0 {
                return Err(format!(
                    "msgget(0x{key:x}) outside: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let r = in_new_ns(
                flags,
                none,
                move || {
                    // SAFETY: plain syscall.
                    let r = unsafe { libc::msgget(key, 0) };
                    if r < 0 {
                        std::io::Error::last_os_error().to_string()
                    } else {
                        format!("found id {r}")
                    }
                },
                nothing,
            );
            // SAFETY: removes the queue made above.
            unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
            let (inside, _) = r?;
            Ok(Check {
                pass: inside.contains("No such file"),
                observed: format!("queue 0x{key:x} made outside; msgget inside: {inside}"),
            })
        }
        NsKind::User => {
            let (id_in, id_out) = child_ids();
            let (inside, outside) = in_new_ns(
                flags,
                write_id_maps,
                move || match become_mapped(id_in) {
                    Ok(()) => format!("{}", nix::unistd::getuid()),
                    Err(e) => e,
                },
                |pid| outside_uid(pid).map_or("?".into(), |u| u.to_string()),
            )?;
            Ok(Check {
                pass: inside == id_in.to_string() && outside == id_out.to_string(),
                observed: format!(
                    "uid inside {inside}, seen from outside {outside} (uid_map {id_in} {id_out} 1)"
                ),
            })
        }
        NsKind::Cgroup => {
            let (inside, _) = in_new_ns(flags, none, || cgroup_paths().join(","), nothing)?;
            Ok(Check {
                pass: !inside.is_empty() && inside.split(',').all(|p| p == "/"),
                observed: format!("/proc/self/cgroup paths: {inside}"),
            })
        }
        NsKind::Time => {
            const OFFSET_S: i64 = 86_400;
            ns::unshare(flags).map_err(|e| format!("unshare(time): {e}"))?;
            std::fs::OpenOptions::new()
                .write(true)
                .open("/proc/self/timens_offsets")
                .and_then(|mut f| f.write_all(format!("monotonic {OFFSET_S} 0").as_bytes()))
                .map_err(|e| format!("write timens_offsets: {e}"))?;
            // The offset applies to children: the worker itself stays in the old namespace.
            let outside = ns::now_ns() as i64;
            let (inside, _) = in_new_ns(0, none, || ns::now_ns().to_string(), nothing)?;
            let inside: i64 = inside.parse().unwrap_or(0);
            let diff_s = (inside - outside) as f64 / 1e9;
            Ok(Check { pass: (diff_s - OFFSET_S as f64).abs() < 5.0, observed: format!("CLOCK_MONOTONIC offset seen by the first child: {diff_s:.3} s (set {OFFSET_S} s)") })
        }
        NsKind::All => {
            // Every kind at once, each checked as its own case checks it, in one child.
            let outside_host = hostname();
            let time_outside = ns_inode("time");
            let (id_in, _) = child_ids();
            let key = 0x1b0d_0000 | (me as i32 & 0xffff);
            // SAFETY: plain SysV IPC syscall.
            let queue = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
            if queue < 0 {
                return Err(format!(
                    "msgget(0x{key:x}) outside: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let dir = tempfile::Builder::new()
                .prefix("isobench-all-")
                .tempdir_in("/tmp")
                .map_err(|e| e.to_string())?;
            let (t_in, t_out) = (dir.path().to_path_buf(), dir.path().to_path_buf());
            let r = in_new_ns(
                flags,
                write_id_maps,
                move || {
                    let root = become_mapped(id_in).err().unwrap_or_default();
                    let host = nix::unistd::sethostname(format!("isobench-{me}"))
                        .map_err(|e| format!("sethostname: {e}"))
                        .err()
                        .unwrap_or_default();
                    let mnt = private_tmpfs(&t_in);
                    // SAFETY: plain syscall.
                    let ipc = if unsafe { libc::msgget(key, 0) } < 0 {
                        std::io::Error::last_os_error().to_string()
                    } else {
                        "the queue is visible".to_string()
                    };
                    let lo = match if_up("lo") {
                        Some(true) => "up",
                        Some(false) => "down",
                        None => "?",
                    };
                    format!(
                        "pid={}; uid={}; ifs={}; lo={lo}; cgroup={}; host={}; mnt={mnt}; ipc={ipc}; time={}; errors={root}{host}",
                        std::process::id(),
                        nix::unistd::getuid(),
                        interfaces().join(","),
                        cgroup_paths().join(","),
                        hostname(),
                        ns_inode("time"),
                    )
                },
                move |_| format!("{}|{}", hostname(), mounted(&t_out)),
            );
            // SAFETY: removes the queue made above.
            unsafe { libc::msgctl(queue, libc::IPC_RMID, std::ptr::null_mut()) };
            let (inside, outside) = r?;
            let (host_out, mnt_out) = outside.split_once('|').unwrap_or((&outside, "?"));
            let field = |k: &str| {
                inside
                    .split("; ")
                    .find_map(|f| f.strip_prefix(&format!("{k}=")))
                    .unwrap_or("?")
                    .to_string()
            };
            let cgroup_root =
                field("cgroup").split(',').all(|p| p == "/") && !field("cgroup").is_empty();
            let facts = [
                ("pid 1", field("pid") == "1"),
                ("mapped uid", field("uid") == id_in.to_string()),
                (
                    "only lo, down",
                    field("ifs") == "lo" && field("lo") == "down",
                ),
                ("cgroup root", cgroup_root),
                (
                    "own hostname",
                    field("host") == format!("isobench-{me}") && host_out == outside_host,
                ),
                (
                    "own mount table",
                    field("mnt") == "true" && mnt_out == "false",
                ),
                ("own SysV IPC", field("ipc").contains("No such file")),
                (
                    "own time namespace",
                    !field("time").is_empty() && field("time") != time_outside,
                ),
                ("no errors", inside.ends_with("errors=")),
            ];
            let missing: Vec<&str> = facts.iter().filter(|f| !f.1).map(|f| f.0).collect();
            Ok(Check {
                pass: missing.is_empty(),
                observed: format!(
                    "{inside}; outside: hostname {host_out:?}, tmpfs visible {mnt_out}{}",
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!("; not isolated: {}", missing.join(", "))
                    }
                ),
            })
        }
        NsKind::None => Err("nothing to verify without a namespace".into()),
    }
}

/// The /proc/self/ns entry a method changes for `kind`: pid and time
/// namespaces apply to children, so unshare and setns change `*_for_children`.
fn ns_link(kind: NsKind, method: Method) -> Option<String> {
    let name = kind.proc_name()?;
    Some(match (kind, method) {
        (NsKind::Pid | NsKind::Time, Method::Unshare | Method::Setns) => {
            format!("{name}_for_children")
        }
        _ => name.to_string(),
    })
}

fn ns_id(path: &str) -> String {
    std::fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("({e})"))
}

/// The `/proc/self/ns/<name>` link as seen by a freshly forked child.
fn first_child_ns(name: &str) -> String {
    let Ok((r, w)) = ns::pipe() else {
        return "(pipe)".into();
    };
    // SAFETY: single-threaded process; the child reads a link, writes it, exits.
    match unsafe { ns::fork() } {
        Ok(0) => {
            let id = ns_id(&format!("/proc/self/ns/{name}"));
            ns::write_all(w.as_raw_fd(), id.as_bytes());
            ns::exit_child(0);
        }
        Ok(pid) => {
            drop(w);
            let mut buf = vec![0u8; 64];
            // SAFETY: valid buffer.
            let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            let _ = ns::wait(pid);
            String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned()
        }
        Err(e) => format!("({e})"),
    }
}

/// Whether `method` really moves a process into a new (clone, unshare) or the
/// keeper's (setns) namespace of `kind`: compares the `/proc/<pid>/ns` links.
pub fn mechanics(kind: NsKind, method: Method) -> Result<Check, String> {
    let link = ns_link(kind, method).ok_or("mechanics are checked per namespace type")?;
    let mine = ns_id(&format!("/proc/self/ns/{link}"));
    match method {
        Method::Clone => {
            let (inside, _) = in_new_ns(
                kind.flags(),
                |_| Ok(()),
                || ns_id(&format!("/proc/self/ns/{link}")),
                |_| String::new(),
            )?;
            Ok(Check {
                pass: inside != mine && inside.starts_with(kind.proc_name().unwrap_or("?")),
                observed: format!("parent {mine}, cloned child {inside}"),
            })
        }
        Method::Unshare => {
            let (after, _) = in_new_ns(
                0,
                |_| Ok(()),
                || {
                    let before = ns_id(&format!("/proc/self/ns/{link}"));
                    let r = ns::unshare(kind.flags());
                    let now = if kind == NsKind::Pid {
                        // pid_for_children reads ENOENT until the namespace has its first
                        // process: ask that first child where it is.
                        first_child_ns("pid")
                    } else {
                        ns_id(&format!("/proc/self/ns/{link}"))
                    };
                    format!("{before} -> {now} ({r:?})")
                },
                |_| String::new(),
            )?;
            let (before, now) = after.split_once(" -> ").unwrap_or(("", ""));
            let now = now.split(' ').next().unwrap_or("");
            Ok(Check {
                pass: before == mine && now != mine && !now.starts_with('('),
                observed: format!("child {after}"),
            })
        }
        Method::Setns => {
            let keeper = super::nsbench::Keeper::start(kind)?;
            let name = kind.proc_name().unwrap_or("?");
            let target = ns_id(&format!("/proc/{}/ns/{name}", keeper.pid));
            let fd = keeper.fd.as_raw_fd();
            let r = in_new_ns(
                0,
                |_| Ok(()),
                move || {
                    let r = ns::setns(fd, kind.flags());
                    format!("{} ({r:?})", ns_id(&format!("/proc/self/ns/{link}")))
                },
                |_| String::new(),
            );
            drop(keeper);
            let (after, _) = r?;
            let now = after.split(' ').next().unwrap_or("");
            Ok(Check {
                pass: now == target && now != mine,
                observed: format!("keeper {target}; child after setns {after} (was {mine})"),
            })
        }
    }
}

/// The worker's main: prints the check as one JSON line — the isolation of
/// `kind`, or with a method, that method's mechanics.
pub fn main(kind: NsKind, method: Option<Method>) -> i32 {
    let checked = match method {
        None => check(kind),
        Some(m) => mechanics(kind, m),
    };
    let c = checked.unwrap_or_else(|e| Check {
        pass: false,
        observed: format!("error: {e}"),
    });
    println!("{}", serde_json::to_string(&c).unwrap_or_default());
    0
}
