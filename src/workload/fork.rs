//! The pids probe's workload, `isobench worker fork`.

use std::io::Write;

/// `isobench worker fork --max N`: forks children that only wait, until fork
/// fails or `max` were made; prints `forked <count> <errno or 0>`, then waits for
/// EOF on stdin, kills its children and reaps them.
pub fn main(max: u64) -> i32 {
    let mut children = Vec::new();
    let mut errno = 0;
    while (children.len() as u64) < max {
        // SAFETY: this worker is single-threaded; the child only pauses.
        match unsafe { libc::fork() } {
            0 => loop {
                // SAFETY: pause until killed.
                unsafe { libc::pause() };
            },
            -1 => {
                errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                break;
            }
            pid => children.push(pid),
        }
    }
    println!("forked {} {errno}", children.len());
    let _ = std::io::stdout().flush();
    let mut b = [0u8; 1];
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut b);
    for &pid in &children {
        // SAFETY: signalling and reaping our own children.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    0
}
