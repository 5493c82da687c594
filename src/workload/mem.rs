//! The memory probe's workload, `isobench worker mem`.

use std::io::Write;
use std::time::Duration;

use crate::ns::now_ns;

/// `isobench worker mem --bytes N --rate-mib-s R`: touches fresh memory, one
/// page at a time, up to `bytes`, at most `rate` MiB/s (0: as fast as it can),
/// printing `touched <bytes> <t_ns>` after every MiB so the harness knows how far
/// it got if it is killed; then `done <bytes> <t_ns>` and it waits for EOF on stdin.
pub fn main(bytes: u64, rate_mib_s: u64) -> i32 {
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
