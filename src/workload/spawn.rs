//! Starting a process directly inside a cgroup2 directory with clone3 and
//! CLONE_INTO_CGROUP (Linux ≥ 5.7): no window in which it runs elsewhere and no
//! cgroup.procs write.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// Runs `program args...` as a child created inside the cgroup2 directory
/// `cgroup_dir`. Returns the child's pid; reap it with waitpid.
pub fn spawn_into_cgroup(cgroup_dir: &Path, program: &Path, args: &[&str]) -> std::io::Result<i32> {
    let dir = std::fs::File::open(cgroup_dir)?;
    // Everything the child needs is built before the clone: after it, the child
    // may only make async-signal-safe calls.
    let prog = CString::new(program.as_os_str().as_bytes())?;
    let mut argv: Vec<CString> = vec![prog.clone()];
    for a in args {
        argv.push(CString::new(*a)?);
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut ca = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: dir.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 with no CLONE_VM behaves like fork; the child only calls
    // execv and _exit on memory prepared above.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut ca as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(std::io::Error::last_os_error()),
        0 => unsafe {
            libc::execv(prog.as_ptr(), argv_ptrs.as_ptr());
            libc::_exit(127)
        },
        pid => Ok(pid as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_args_has_the_kernel_size() {
        assert_eq!(std::mem::size_of::<CloneArgs>(), 88);
        assert_eq!(CLONE_INTO_CGROUP, 1u64 << 33);
    }
}
