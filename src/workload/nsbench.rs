//! The namespace-latency worker (`isobench worker ns-bench`): a re-executed,
//! single-threaded process that times one namespace operation in a loop, with
//! the clock read right around the operation, and prints the samples.
//!
//! Protocol on stdout: `ready`, then (after a byte on stdin, so concurrent
//! workers start together, and once the loop has ended) one `s <ns>` line per
//! sample, with `--paired` one `b <ns>` line per baseline sample (a clone
//! without a namespace, alternated with the timed clone), `start <ns>` and
//! `end <ns>` (CLOCK_MONOTONIC, comparable across workers), `elapsed <ns>`
//! (the whole loop), `done`; or `error <message>`.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use crate::ns::{self, Method, NsKind};

/// What to time.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Two clock reads with nothing between: the measurement floor.
    Noop,
    Ns(NsKind, Method),
}

/// How long to loop: a count, or a duration (the sustained-rate loop).
#[derive(Debug, Clone, Copy)]
pub enum Amount {
    Iterations(u64),
    For(Duration),
}

/// A namespace held open by a keeper process, for setns.
pub(crate) struct Keeper {
    pub(crate) pid: i32,
    /// `/proc/<pid>/ns/<kind>`, or a pidfd for several kinds at once.
    pub(crate) fd: OwnedFd,
    release: Option<OwnedFd>,
}

impl Keeper {
    pub(crate) fn start(kind: NsKind) -> Result<Keeper, String> {
        let (r, w) = ns::pipe().map_err(|e| format!("pipe: {e}"))?;
        // SAFETY: this worker is single-threaded; the child only blocks on read and exits.
        let pid = unsafe { ns::clone3_fork(kind.flags()) }
            .map_err(|e| format!("clone3({kind}) for the keeper: {e}"))?;
        if pid == 0 {
            drop(w);
            let mut b = [0u8; 1];
            ns::read_exact(r.as_raw_fd(), &mut b);
            ns::exit_child(0);
        }
        drop(r);
        let fd = match kind.proc_name() {
            Some(name) => std::fs::File::open(format!("/proc/{pid}/ns/{name}"))
                .map(OwnedFd::from)
                .map_err(|e| format!("open /proc/{pid}/ns/{name}: {e}"))?,
            // Several kinds at once: setns through a pidfd (Linux ≥ 5.8).
            None => ns::pidfd_open(pid).map_err(|e| format!("pidfd_open({pid}): {e}"))?,
        };
        Ok(Keeper {
            pid,
            fd,
            release: Some(w),
        })
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // EOF on its pipe lets the keeper exit; reap it so nothing is left.
        drop(self.release.take());
        let _ = ns::wait(self.pid);
    }
}

/// Runs `f` in a fresh forked child that reports `(status, ns)` through a pipe.
fn in_child(f: impl FnOnce() -> (i64, u64)) -> Result<u64, String> {
    let (r, w) = ns::pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: single-threaded worker; the child runs `f` (syscalls only) and _exits.
    let pid = unsafe { ns::fork() }.map_err(|e| format!("fork: {e}"))?;
    if pid == 0 {
        let (status, v) = f();
        let mut buf = [0u8; 16];
        buf[..8].copy_from_slice(&status.to_ne_bytes());
        buf[8..].copy_from_slice(&v.to_ne_bytes());
        ns::write_all(w.as_raw_fd(), &buf);
        ns::exit_child(0);
    }
    drop(w);
    let mut buf = [0u8; 16];
    let ok = ns::read_exact(r.as_raw_fd(), &mut buf);
    let _ = ns::wait(pid);
    if !ok {
        return Err("the measuring child died before it reported".into());
    }
    let status = i64::from_ne_bytes(buf[..8].try_into().unwrap_or_default());
    let v = u64::from_ne_bytes(buf[8..].try_into().unwrap_or_default());
    if status != 0 {
        return Err(std::io::Error::from_raw_os_error(status as i32).to_string());
    }
    Ok(v)
}

/// One timed operation.
fn once(op: Op, keeper: Option<&Keeper>) -> Result<u64, String> {
    match op {
        Op::Noop => {
            let t0 = ns::now_ns();
            let t1 = ns::now_ns();
            Ok(t1 - t0)
        }
        Op::Ns(kind, Method::Clone) => {
            let t0 = ns::now_ns();
            // SAFETY: single-threaded worker; the child exits at once.
            let pid = unsafe { ns::clone3_fork(kind.flags()) }
                .map_err(|e| format!("clone3({kind}): {e}"))?;
            if pid == 0 {
                ns::exit_child(0);
            }
            ns::wait(pid).map_err(|e| format!("waitpid: {e}"))?;
            Ok(ns::now_ns() - t0)
        }
        Op::Ns(kind, Method::Unshare) => in_child(|| {
            // A forked child maps its code and the vDSO lazily: run the clock and
            // the wrapper once (unshare(0) changes nothing) so the timed region
            // holds the call alone, not page faults of user space.
            let _ = ns::now_ns();
            let _ = ns::unshare(0);
            let t0 = ns::now_ns();
            let r = ns::unshare(kind.flags());
            let t1 = ns::now_ns();
            match r {
                Ok(()) => (0, t1 - t0),
                Err(e) => (e.raw_os_error().unwrap_or(libc::EIO) as i64, 0),
            }
        })
        .map_err(|e| format!("unshare({kind}): {e}")),
        Op::Ns(kind, Method::Setns) => {
            let fd = keeper.ok_or("setns needs a keeper")?.fd.as_raw_fd();
            in_child(|| {
                // As for unshare: fault the code in first (setns(-1) is EBADF).
                let _ = ns::now_ns();
                let _ = ns::setns(-1, kind.flags());
                let t0 = ns::now_ns();
                let r = ns::setns(fd, kind.flags());
                let t1 = ns::now_ns();
                match r {
                    Ok(()) => (0, t1 - t0),
                    Err(e) => (e.raw_os_error().unwrap_or(libc::EIO) as i64, 0),
                }
            })
            .map_err(|e| format!("setns({kind}): {e}"))
        }
    }
}

/// The baseline of a paired clone: a clone without a namespace.
const BASELINE: Op = Op::Ns(NsKind::None, Method::Clone);

/// One step of the loop: the timed operation and, `paired`, the baseline next
/// to it, in alternating order so neither always runs on a cache the other
/// warmed. Returns (sample, baseline sample).
fn step(
    op: Op,
    keeper: Option<&Keeper>,
    paired: bool,
    i: usize,
) -> Result<(u64, Option<u64>), String> {
    if !paired {
        return once(op, keeper).map(|v| (v, None));
    }
    if i.is_multiple_of(2) {
        let b = once(BASELINE, None)?;
        Ok((once(op, keeper)?, Some(b)))
    } else {
        let v = once(op, keeper)?;
        Ok((v, Some(once(BASELINE, None)?)))
    }
}

/// The worker's main: sets up, says `ready`, waits for the go byte, measures.
/// `paired`: time a clone without a namespace beside every operation (the
/// baseline of the namespace's own cost, measured under the same conditions).
pub fn main(op: Op, amount: Amount, warmup: u64, paired: bool) -> i32 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let keeper = match op {
        Op::Ns(kind, Method::Setns) => match Keeper::start(kind) {
            Ok(k) => Some(k),
            Err(e) => {
                let _ = writeln!(out, "error {e}");
                return 1;
            }
        },
        _ => None,
    };
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    let mut b = [0u8; 1];
    if std::io::stdin().read(&mut b).ok() != Some(1) {
        return 1;
    }
    for i in 0..warmup as usize {
        if let Err(e) = step(op, keeper.as_ref(), paired, i) {
            let _ = writeln!(out, "error {e}");
            return 1;
        }
    }
    // Samples stay in memory until the loop ends: writing them as they come could
    // block on a full pipe and stall this worker while others run.
    let capacity = match amount {
        Amount::Iterations(k) => k as usize,
        Amount::For(_) => 4096,
    };
    let mut samples: Vec<u64> = Vec::with_capacity(capacity);
    let mut baseline: Vec<u64> = Vec::with_capacity(if paired { capacity } else { 0 });
    let start = ns::now_ns();
    loop {
        match amount {
            Amount::Iterations(k) if samples.len() as u64 >= k => break,
            Amount::For(d) if ns::now_ns() - start >= d.as_nanos() as u64 => break,
            _ => {}
        }
        match step(op, keeper.as_ref(), paired, samples.len()) {
            Ok((v, b)) => {
                samples.push(v);
                baseline.extend(b);
            }
            Err(e) => {
                let _ = writeln!(out, "error {e}");
                return 1;
            }
        }
    }
    let end = ns::now_ns();
    for v in samples {
        let _ = writeln!(out, "s {v}");
    }
    for v in baseline {
        let _ = writeln!(out, "b {v}");
    }
    let _ = writeln!(out, "start {start}");
    let _ = writeln!(out, "end {end}");
    let _ = writeln!(out, "elapsed {}", end - start);
    drop(keeper);
    let _ = writeln!(out, "done");
    let _ = out.flush();
    0
}
