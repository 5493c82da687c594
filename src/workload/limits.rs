//! Workloads for the memory and pids probes, run as `isobench worker mem` and
//! `isobench worker fork`.

use std::io::Write;
use std::time::Duration;

use crate::ns::now_ns;

/// `isobench worker mem --bytes N --rate-mib-s R`: touches fresh memory, one
/// page at a time, up to `bytes`, at most `rate` MiB/s (0: as fast as it can),
/// printing `touched <bytes> <t_ns>` after every MiB so the harness knows how far
/// it got if it is killed; then `done <bytes> <t_ns>` and it waits for EOF on stdin.
pub fn mem_main(bytes: u64, rate_mib_s: u64) -> i32 {
    let mut out = std::io::stdout().lock();
    let page = 4096usize;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let start = now_ns();
    let mut touched: u64 = 0;
    while touched < bytes {
        let n = (1u64 << 20).min(bytes - touched) as usize;
        let mut v = vec![0u8; n];
        for i in (0..n).step_by(page) {
            v[i] = 1;
        }
        chunks.push(v);
        touched += n as u64;
        let _ = writeln!(out, "touched {touched} {}", now_ns());
        let _ = out.flush();
        if rate_mib_s > 0 {
            let due = start + touched * 1_000_000_000 / (rate_mib_s << 20);
            let now = now_ns();
            if due > now {
                std::thread::sleep(Duration::from_nanos(due - now));
            }
        }
    }
    let _ = writeln!(out, "done {touched} {}", now_ns());
    let _ = out.flush();
    std::hint::black_box(&chunks);
    // Hold the memory until the harness has read the counters.
    let mut b = [0u8; 1];
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut b);
    0
}

/// `isobench worker fork --max N`: forks children that only wait, until fork
/// fails or `max` were made; prints `forked <count> <errno or 0>`, then waits for
/// EOF on stdin, kills its children and reaps them.
pub fn fork_main(max: u64) -> i32 {
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
