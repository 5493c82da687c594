//! The CPU placement worker (`isobench worker cpu-spin --threads N`): N busy
//! threads that sample `sched_getcpu()` continuously — the sampling is the
//! measurement — counting samples per CPU and recording every change of CPU
//! with its CLOCK_MONOTONIC time, so the harness can tell when a cpuset change
//! took effect.
//!
//! Every thread also keeps its own record of when it was on a CPU, from its own
//! CLOCK_MONOTONIC reads: a gap of more than [`GAP_NS`] between two reads of a
//! thread that only spins means it was off the CPU (throttled, preempted). That
//! is the independent witness of the CPU a limit delivered: it does not come
//! from the kernel's cgroup accounting under test.
//!
//! Protocol: `ready <tid> <tid>...` on stdout, a byte on stdin starts the
//! threads, a second byte (or EOF) stops them; then per thread one line
//! `thread <i> <cpu>:<samples> ...`, one line `moves <i> <t_ns>:<cpu> ...`, one
//! line `cputime <i> <ns>`, one line `oncpu <i> <start_ns>:<end_ns> ...`, and `done`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cgroup::{Cgroup, CgroupError};
use crate::ns::now_ns;

/// Most CPU changes a thread records (a thread bouncing between allowed CPUs
/// could otherwise grow without bound).
pub const MAX_MOVES: usize = 1 << 20;

/// A longer gap between two clock reads of a spinning thread means it was off
/// the CPU. Reads come every microsecond or two; an interrupt takes a few µs.
/// Where reads are slow (an emulated guest: a clock read may be a trapped
/// syscall of tens of µs), the threshold is [`GAP_TIMES`] the typical interval.
pub const GAP_NS: u64 = 50_000;

/// The off-CPU threshold in typical intervals between reads.
pub const GAP_TIMES: f64 = 8.0;

/// Most on-CPU stretches a thread records (an unthrottled spinner preempted
/// every few ms records a few hundred a second).
pub const MAX_STRETCHES: usize = 1 << 20;

/// A thread's own record of when it ran: closed stretches of on-CPU time.
#[derive(Debug, Default)]
struct OnCpu {
    stretches: Vec<(u64, u64)>,
    start: u64,
    last: u64,
    /// The typical interval between reads while running (a moving average of
    /// the intervals that were not gaps), ns.
    typical_ns: f64,
}

impl OnCpu {
    /// A clock read while running: extends the stretch, or closes it when the
    /// thread was away for more than [`GAP_NS`] (or [`GAP_TIMES`] the typical
    /// interval, if that is longer).
    fn tick(&mut self, t: u64) {
        if self.last == 0 {
            self.start = t;
            self.last = t;
            return;
        }
        let d = t.saturating_sub(self.last) as f64;
        if self.typical_ns == 0.0 {
            // The first interval (capped: it may itself hold a preemption).
            self.typical_ns = d.min(1e6);
        }
        if d > (GAP_TIMES * self.typical_ns).max(GAP_NS as f64) {
            self.close();
            self.start = t;
        } else {
            self.typical_ns = 0.99 * self.typical_ns + 0.01 * d;
        }
        self.last = t;
    }

    fn close(&mut self) {
        if self.last > self.start && self.stretches.len() < MAX_STRETCHES {
            self.stretches.push((self.start, self.last));
        }
    }

    fn finish(mut self) -> Vec<(u64, u64)> {
        self.close();
        self.stretches
    }
}

/// What one spinning thread saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ThreadReport {
    /// (cpu, samples on it)
    pub per_cpu: Vec<(u32, u64)>,
    /// (time ns, new cpu), starting with the first sample.
    pub moves: Vec<(u64, u32)>,
    /// CPU time the thread used (CLOCK_THREAD_CPUTIME_ID), ns.
    pub cpu_time_ns: u64,
    /// (start, end) CLOCK_MONOTONIC ns of each stretch the thread saw itself
    /// on a CPU, by its own clock reads.
    pub oncpu: Vec<(u64, u64)>,
}

impl ThreadReport {
    /// On-CPU time by the thread's own clock within `[from, to]` (CLOCK_MONOTONIC ns).
    pub fn oncpu_between(&self, from: u64, to: u64) -> u64 {
        self.oncpu
            .iter()
            .map(|&(a, b)| b.min(to).saturating_sub(a.max(from)))
            .sum()
    }
}

fn thread_cpu_time_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A mostly idle thread, as in fibtest: wakes every millisecond or so, does ~50 µs
/// of work, sleeps again. Many of them spread over CPUs are what made CFS expire
/// per-CPU quota slices unused (the bug fixed by de53fd7aedb1).
fn doze(stop: &AtomicBool) -> ThreadReport {
    let mut n: u64 = 0;
    let mut oncpu = OnCpu::default();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(1));
        let end = now_ns() + 50_000;
        loop {
            let t = now_ns();
            oncpu.tick(t);
            if t >= end {
                break;
            }
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    ThreadReport {
        cpu_time_ns: thread_cpu_time_ns(),
        oncpu: oncpu.finish(),
        ..ThreadReport::default()
    }
}

fn spin(stop: &AtomicBool) -> ThreadReport {
    let mut counts: Vec<u64> = Vec::new();
    let mut moves = Vec::new();
    let mut last = u32::MAX;
    let mut oncpu = OnCpu::default();
    while !stop.load(Ordering::Relaxed) {
        oncpu.tick(now_ns());
        for _ in 0..256 {
            // SAFETY: no arguments; returns the current CPU or -1.
            let cpu = unsafe { libc::sched_getcpu() };
            if cpu < 0 {
                continue;
            }
            let cpu = cpu as u32;
            if cpu as usize >= counts.len() {
                counts.resize(cpu as usize + 1, 0);
            }
            counts[cpu as usize] += 1;
            if cpu != last {
                if moves.len() < MAX_MOVES {
                    moves.push((now_ns(), cpu));
                }
                last = cpu;
            }
        }
    }
    ThreadReport {
        per_cpu: counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| (c as u32, n))
            .collect(),
        moves,
        cpu_time_ns: thread_cpu_time_ns(),
        oncpu: oncpu.finish(),
    }
}

fn gettid() -> i64 {
    // SAFETY: plain syscall.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// The worker's main: `threads` spinners, then `idle` dozing threads.
pub fn main(threads: usize, idle: usize) -> i32 {
    let total = threads + idle;
    let stop = Arc::new(AtomicBool::new(false));
    let go = Arc::new(std::sync::Barrier::new(total + 1));
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let handles: Vec<_> = (0..total)
        .map(|i| {
            let (stop, go, tx) = (Arc::clone(&stop), Arc::clone(&go), tid_tx.clone());
            std::thread::spawn(move || {
                let _ = tx.send(gettid());
                go.wait();
                if i < threads {
                    spin(&stop)
                } else {
                    doze(&stop)
                }
            })
        })
        .collect();
    let tids: Vec<String> = (0..total)
        .filter_map(|_| tid_rx.recv().ok())
        .map(|t| t.to_string())
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready {}", tids.join(" "));
    let _ = out.flush();
    let mut b = [0u8; 1];
    let mut stdin = std::io::stdin();
    let started = stdin.read(&mut b).ok() == Some(1);
    go.wait();
    if started {
        let _ = stdin.read(&mut b);
    }
    stop.store(true, Ordering::Relaxed);
    for (i, h) in handles.into_iter().enumerate() {
        let r = h.join().unwrap_or_default();
        let counts: Vec<String> = r.per_cpu.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        let moves: Vec<String> = r.moves.iter().map(|(t, c)| format!("{t}:{c}")).collect();
        let _ = writeln!(out, "thread {i} {}", counts.join(" "));
        let _ = writeln!(out, "moves {i} {}", moves.join(" "));
        let _ = writeln!(out, "cputime {i} {}", r.cpu_time_ns);
        let oncpu: Vec<String> = r.oncpu.iter().map(|(a, b)| format!("{a}:{b}")).collect();
        let _ = writeln!(out, "oncpu {i} {}", oncpu.join(" "));
    }
    let _ = writeln!(out, "done");
    let _ = out.flush();
    0
}

/// Parses the worker's report lines into one report per thread.
pub fn parse_report(text: &str) -> Result<Vec<ThreadReport>, String> {
    let mut reports: Vec<ThreadReport> = Vec::new();
    let mut done = false;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (kind, idx) = (
            f.next().unwrap_or(""),
            f.next().and_then(|i| i.parse::<usize>().ok()),
        );
        let pair = |p: &str| -> Result<(u64, u64), String> {
            let (a, b) = p.split_once(':').ok_or_else(|| format!("bad pair {p:?}"))?;
            Ok((
                a.parse().map_err(|_| format!("bad number {a:?}"))?,
                b.parse().map_err(|_| format!("bad number {b:?}"))?,
            ))
        };
        match (kind, idx) {
            ("thread" | "moves" | "oncpu", Some(i)) => {
                if reports.len() <= i {
                    reports.resize(i + 1, ThreadReport::default());
                }
                for p in f {
                    let (a, b) = pair(p)?;
                    match kind {
                        "thread" => reports[i].per_cpu.push((a as u32, b)),
                        "moves" => reports[i].moves.push((a, b as u32)),
                        _ => reports[i].oncpu.push((a, b)),
                    }
                }
            }
            ("cputime", Some(i)) => {
                if reports.len() <= i {
                    reports.resize(i + 1, ThreadReport::default());
                }
                reports[i].cpu_time_ns = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            }
            ("done", _) => done = true,
            _ => {}
        }
    }
    if !done {
        return Err("the placement worker did not finish".into());
    }
    Ok(reports)
}

/// The harness side of a running `cpu-spin` worker in a cgroup: started inside
/// it (between fork and exec), ready, waiting for [`Spinners::signal`] to start.
pub struct Spinners {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
    /// Thread ids of the spinning (and dozing) threads.
    pub tids: Vec<i32>,
}

impl Spinners {
    pub fn start(
        exe: &Path,
        cg: &Cgroup,
        threads: u32,
        idle: u32,
    ) -> Result<Spinners, CgroupError> {
        let mut cmd = Command::new(exe);
        // Its own process group: a Ctrl-C at the terminal interrupts the harness,
        // which stops the case; the worker must not die of it and be judged.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.args([
            "worker",
            "cpu-spin",
            "--threads",
            &threads.to_string(),
            "--idle-threads",
            &idle.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
        let mut child = super::spawn_in(&mut cmd, cg)?;
        let stdin = child.stdin.take();
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut ready = String::new();
        let _ = out.read_line(&mut ready);
        let tids = ready
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        Ok(Spinners {
            child,
            stdin,
            out,
            tids,
        })
    }

    /// The worker process.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The first call starts the threads; the second stops them.
    pub fn signal(&mut self) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = s.write_all(b"g");
        }
    }

    /// Stops the threads and returns what they saw.
    pub fn stop(mut self) -> Result<Vec<ThreadReport>, String> {
        self.signal();
        drop(self.stdin.take());
        let mut text = String::new();
        let _ = self.out.read_to_string(&mut text);
        let _ = self.child.wait();
        parse_report(&text)
    }
}

impl Drop for Spinners {
    /// Never outlives its handle: a still-running worker is killed and reaped.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip() {
        let text = "ready 10 11\nthread 0 0:500 1:20\nmoves 0 100:0 250:1 300:0\ncputime 0 999\noncpu 0 100:200 300:450\nthread 1 1:700\nmoves 1 120:1\ndone\n";
        let r = parse_report(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].per_cpu, vec![(0, 500), (1, 20)]);
        assert_eq!(r[0].moves, vec![(100, 0), (250, 1), (300, 0)]);
        assert_eq!(r[1].per_cpu, vec![(1, 700)]);
        assert_eq!((r[0].cpu_time_ns, r[1].cpu_time_ns), (999, 0));
        assert_eq!(r[0].oncpu, vec![(100, 200), (300, 450)]);
        assert_eq!(r[0].oncpu_between(150, 400), 50 + 100);
        assert_eq!(r[1].oncpu_between(0, 1000), 0);
        assert!(parse_report("thread 0 0:1\n").is_err());
    }

    #[test]
    fn stretches_split_at_gaps() {
        let mut o = OnCpu::default();
        for t in [1000, 2000, 3000, 3000 + GAP_NS + 1, 3000 + GAP_NS + 500] {
            o.tick(t);
        }
        assert_eq!(
            o.finish(),
            vec![(1000, 3000), (3000 + GAP_NS + 1, 3000 + GAP_NS + 500)]
        );
    }
}
