//! Starting a process directly inside a cgroup2 directory with clone3 and
//! CLONE_INTO_CGROUP (Linux ≥ 5.7): no window in which it runs elsewhere and no
//! cgroup.procs write.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::ns;

/// Runs `program args...` as a child created inside the cgroup2 directory
/// `cgroup_dir`, with stdin, stdout and stderr on /dev/null. Returns the child's
/// pid; reap it with waitpid.
pub fn spawn_into_cgroup(cgroup_dir: &Path, program: &Path, args: &[&str]) -> std::io::Result<i32> {
    let dir = std::fs::File::open(cgroup_dir)?;
    // The child's stdio: /dev/null, so it never writes into the harness's output.
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    // Everything the child needs is built before the clone: after it, the child
    // may only make async-signal-safe calls.
    let prog = CString::new(program.as_os_str().as_bytes())?;
    let mut argv: Vec<CString> = vec![prog.clone()];
    for a in args {
        argv.push(CString::new(*a)?);
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    // SAFETY: clone3 with no CLONE_VM behaves like fork; the child only calls
    // execv and _exit on memory prepared above.
    #[cfg(feature = "failpoints")]
    let (flags, fd) = if crate::cgroup::fault::no_attach() {
        (0, None)
    } else {
        (ns::CLONE_INTO_CGROUP, Some(dir.as_raw_fd()))
    };
    #[cfg(not(feature = "failpoints"))]
    let (flags, fd) = (ns::CLONE_INTO_CGROUP, Some(dir.as_raw_fd()));
    match unsafe { ns::clone3(flags, fd) }? {
        0 => unsafe {
            for fd in 0..3 {
                libc::dup2(null.as_raw_fd(), fd);
            }
            libc::execv(prog.as_ptr(), argv_ptrs.as_ptr());
            libc::_exit(127)
        },
        pid => Ok(pid),
    }
}
