//! The plain values the cgroup layer passes around — a CPU bandwidth limit, a
//! block device number, an IO limit — and the page arithmetic both drivers
//! need. They live apart from the [`super::Cgroup`] handle and the v1/v2
//! drivers so those can all depend on them without depending on each other.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// A CFS bandwidth limit: `quota` of CPU time every `period` (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuMax {
    pub quota: Option<Duration>,
    pub period: Duration,
}

impl CpuMax {
    /// How long a watch of a task under this limit must last to see it run at
    /// all: a throttled task may wait up to a period less the quota, so one
    /// whole period plus the quota (`floor` without a quota, or if longer).
    pub fn watch_at_least(&self, floor: Duration) -> Duration {
        self.quota.map_or(floor, |q| floor.max(self.period + q))
    }
}

/// A block device number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct DevId {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for DevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// IO throttling for one device; `None` leaves that limit unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IoLimit {
    pub device: DevId,
    pub read_bps: Option<u64>,
    pub write_bps: Option<u64>,
    pub read_iops: Option<u64>,
    pub write_iops: Option<u64>,
}

/// The kernel keeps memory limits in pages: accept a read-back rounded down by less than a page.
pub(crate) fn page_rounded(wrote: u64, read: u64) -> bool {
    read <= wrote && wrote - read < page_size()
}

pub(crate) fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map(|v| v as u64)
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_spans_a_throttled_stretch() {
        let ms = Duration::from_millis;
        let m = |q| CpuMax {
            quota: q,
            period: ms(100),
        };
        assert_eq!(m(None).watch_at_least(ms(30)), ms(30));
        assert_eq!(m(Some(ms(20))).watch_at_least(ms(30)), ms(120));
        assert_eq!(m(Some(ms(20))).watch_at_least(ms(500)), ms(500));
    }

    #[test]
    fn memory_limits_round_to_pages() {
        assert!(page_rounded(1_000_000, 999_424));
        assert!(page_rounded(4096, 4096));
        assert!(!page_rounded(4096, 8192));
        assert!(!page_rounded(1 << 20, 0));
    }

    #[test]
    fn device_numbers_print_as_the_kernel_writes_them() {
        assert_eq!(DevId { major: 7, minor: 0 }.to_string(), "7:0");
        assert_eq!(
            DevId {
                major: 259,
                minor: 12
            }
            .to_string(),
            "259:12"
        );
    }
}
