//! The IO workload, run as `isobench worker io`: synchronous O_DIRECT reads or
//! writes of one block size, sequential over a region of a block device, wrapping
//! around. O_DIRECT so every IO is a bio the throttle sees (buffered writes would
//! be charged later, by writeback, and on v1 to the root).
//!
//! Protocol: prints `ready`, waits for one byte on stdin, then runs for `ms`,
//! printing `w <t_ns> <ios> <bytes>` (cumulative, time since go) after every
//! `window_ms`, and `done <t_ns> <ios> <bytes>` at the end; an IO error prints
//! `error <errno> <ios>` and exits 1.

use std::alloc::Layout;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::ns::now_ns;

/// What `isobench worker io` is asked to do.
#[derive(Debug, Clone)]
pub struct IoJob {
    pub device: std::path::PathBuf,
    pub write: bool,
    pub block_bytes: usize,
    pub region_bytes: u64,
    pub ms: u64,
    pub window_ms: u64,
}

/// A buffer aligned for O_DIRECT, freed on drop.
struct Aligned {
    ptr: *mut u8,
    layout: Layout,
}

impl Aligned {
    fn new(len: usize) -> Option<Aligned> {
        let layout = Layout::from_size_align(len, 4096).ok()?;
        // SAFETY: a non-zero size (checked by the caller) and a valid layout.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(Aligned { ptr, layout })
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `new`.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) }
    }
}

pub fn main(job: &IoJob) -> i32 {
    let mut out = std::io::stdout().lock();
    let region_blocks = job.region_bytes / job.block_bytes as u64;
    if job.block_bytes == 0 || region_blocks == 0 {
        let _ = writeln!(out, "error {} 0", libc::EINVAL);
        return 1;
    }
    let file = match std::fs::OpenOptions::new()
        .read(!job.write)
        .write(job.write)
        .custom_flags(libc::O_DIRECT)
        .open(&job.device)
    {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(out, "error {} 0", e.raw_os_error().unwrap_or(libc::EIO));
            return 1;
        }
    };
    let Some(buf) = Aligned::new(job.block_bytes) else {
        let _ = writeln!(out, "error {} 0", libc::ENOMEM);
        return 1;
    };
    if job.write {
        // Not zeroes: a device could special-case them.
        // SAFETY: buf holds block_bytes bytes.
        let s = unsafe { std::slice::from_raw_parts_mut(buf.ptr, job.block_bytes) };
        for (i, b) in s.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    let mut go = [0u8; 1];
    if !matches!(std::io::stdin().read(&mut go), Ok(1)) {
        return 0;
    }
    let start = now_ns();
    let end = start + job.ms * 1_000_000;
    let window = job.window_ms.max(1) * 1_000_000;
    let mut next_report = start + window;
    let (mut ios, mut bytes, mut block) = (0u64, 0u64, 0u64);
    let fd = file.as_raw_fd();
    loop {
        let offset = (block * job.block_bytes as u64) as libc::off_t;
        // SAFETY: buf is valid for block_bytes bytes and aligned for O_DIRECT.
        let n = unsafe {
            if job.write {
                libc::pwrite(fd, buf.ptr as *const libc::c_void, job.block_bytes, offset)
            } else {
                libc::pread(fd, buf.ptr as *mut libc::c_void, job.block_bytes, offset)
            }
        };
        if n != job.block_bytes as isize {
            let errno = if n < 0 {
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO)
            } else {
                libc::EIO
            };
            let _ = writeln!(out, "error {errno} {ios}");
            return 1;
        }
        ios += 1;
        bytes += job.block_bytes as u64;
        block = (block + 1) % region_blocks;
        let now = now_ns();
        if now >= end {
            let _ = writeln!(out, "done {} {ios} {bytes}", now - start);
            let _ = out.flush();
            return 0;
        }
        if now >= next_report {
            let _ = writeln!(out, "w {} {ios} {bytes}", now - start);
            let _ = out.flush();
            while next_report <= now {
                next_report += window;
            }
        }
    }
}

/// One progress line of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoPoint {
    pub t_ns: u64,
    pub ios: u64,
    pub bytes: u64,
}

/// How a worker's output ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoOutcome {
    /// Every window point, the last one being `done`.
    Done(Vec<IoPoint>),
    /// An IO failed with this errno after the points so far.
    Error(i32, Vec<IoPoint>),
}

/// Parses the worker's progress lines (not `ready`); `None` if it ended without
/// `done` or `error` (it died).
pub fn parse_output(lines: &[String]) -> Option<IoOutcome> {
    let mut points = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        match f.first().copied() {
            Some("w") | Some("done") => {
                let (Some(t_ns), Some(ios), Some(bytes)) = (num(1), num(2), num(3)) else {
                    continue;
                };
                points.push(IoPoint { t_ns, ios, bytes });
                if f[0] == "done" {
                    return Some(IoOutcome::Done(points));
                }
            }
            Some("error") => {
                return Some(IoOutcome::Error(num(1).unwrap_or(0) as i32, points));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn progress_lines_parse_until_done() {
        let out = parse_output(&lines(
            "w 250 10 40960\nnoise\nw 500 20 81920\ndone 600 24 98304\n",
        ));
        assert_eq!(
            out,
            Some(IoOutcome::Done(vec![
                IoPoint {
                    t_ns: 250,
                    ios: 10,
                    bytes: 40960
                },
                IoPoint {
                    t_ns: 500,
                    ios: 20,
                    bytes: 81920
                },
                IoPoint {
                    t_ns: 600,
                    ios: 24,
                    bytes: 98304
                },
            ]))
        );
    }

    #[test]
    fn an_io_error_and_a_death_are_told_apart() {
        assert_eq!(
            parse_output(&lines("w 250 10 40960\nerror 5 11\n")),
            Some(IoOutcome::Error(
                5,
                vec![IoPoint {
                    t_ns: 250,
                    ios: 10,
                    bytes: 40960
                }]
            ))
        );
        assert_eq!(parse_output(&lines("w 250 10 40960\n")), None);
    }
}
