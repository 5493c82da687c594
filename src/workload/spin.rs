//! The plain spinning workload, `isobench worker spin`: the cgroup life-cycle
//! and operation probes' process to attach and limit.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// The worker side of `isobench worker spin`: waits for the go byte on stdin,
/// touches `touch_bytes` of fresh memory, then spins until `max` has passed.
/// EOF before go (the harness died) exits at once.
pub fn main(max: Duration, touch_bytes: usize) -> i32 {
    let mut b = [0u8; 1];
    match std::io::stdin().read(&mut b) {
        Ok(1) => {}
        _ => return 0,
    }
    // One write per page makes the kernel allocate (and charge) every page.
    let mut buf = vec![0u8; touch_bytes];
    for i in (0..buf.len()).step_by(4096) {
        buf[i] = 1;
    }
    std::hint::black_box(&buf);
    // Tell the harness the worker is running (it measures from here).
    let mut out = std::io::stdout();
    let _ = out.write_all(b"r").and_then(|()| out.flush());
    let start = Instant::now();
    let mut loops: u64 = 0;
    while start.elapsed() < max {
        // Check the clock every 4096 iterations: the loop is the load, not clock reads.
        for _ in 0..4096 {
            loops = std::hint::black_box(loops.wrapping_add(1));
        }
    }
    0
}
