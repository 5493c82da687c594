//! The hugetlb probe's workload, `isobench worker hugetlb`.
//!
//! Its account is the witness of the probe: how many huge pages it could map
//! (mmap's errno when it could not) and how many it touched before it died.

use std::io::{Read, Write};

use crate::cgroup::hugetlb::PageSize;

/// One step: map `map` huge pages, then touch the first `touch` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub map: u64,
    pub touch: u64,
}

/// Parses `M:T[,M:T...]`.
pub fn parse_steps(s: &str) -> Result<Vec<Step>, String> {
    s.split(',')
        .map(|item| {
            let (m, t) = item
                .split_once(':')
                .ok_or_else(|| format!("step {item:?}: expected MAP:TOUCH"))?;
            let n = |v: &str| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("step {item:?}: {v:?} is not a page count"))
            };
            let step = Step {
                map: n(m)?,
                touch: n(t)?,
            };
            if step.map == 0 || step.touch > step.map {
                return Err(format!(
                    "step {item:?}: map at least 1 page, touch at most those"
                ));
            }
            Ok(step)
        })
        .collect()
}

/// `isobench worker hugetlb --page-kib K --steps M:T,...`: for each step, maps
/// M huge pages of K KiB (private, anonymous, MAP_HUGETLB with the size's
/// flag: reserved at mmap time) and prints `mmap M ok` or `mmap M err ERRNO`;
/// then touches the first T pages one by one, printing `touched N` after each,
/// so the harness knows how far it got when the kernel refuses a page with
/// SIGBUS (the default action: the worker dies of it). After each step it
/// prints `wait` and blocks until a byte on stdin (the harness reads the
/// counters meanwhile; every mapping is still held); EOF ends it.
pub fn main(page_kib: u64, steps: &str) -> i32 {
    let size = PageSize { kib: page_kib };
    let steps = match parse_steps(steps) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("isobench worker hugetlb: {e}");
            return 2;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    for step in steps {
        let len = (step.map * size.bytes()) as usize;
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB | size.map_flag(),
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            say(format!("mmap {} err {errno}", step.map));
        } else {
            say(format!("mmap {} ok", step.map));
            for i in 0..step.touch {
                // SAFETY: inside the mapping just made; a page the kernel
                // refuses is a SIGBUS here, the fact being measured.
                unsafe {
                    std::ptr::write_volatile((p as *mut u8).add((i * size.bytes()) as usize), 1)
                };
                say(format!("touched {}", i + 1));
            }
            // Held (never unmapped) until the process ends: the counters the
            // harness reads at the next `wait` include it.
        }
        say("wait".into());
        let mut b = [0u8; 1];
        if !matches!(std::io::stdin().read(&mut b), Ok(1)) {
            return 0;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse() {
        assert_eq!(
            parse_steps("5:0,4:4").unwrap(),
            [Step { map: 5, touch: 0 }, Step { map: 4, touch: 4 }]
        );
        assert!(parse_steps("").is_err());
        assert!(parse_steps("3").is_err());
        assert!(parse_steps("0:0").is_err());
        assert!(parse_steps("2:3").is_err());
        assert!(parse_steps("2:x").is_err());
    }
}
