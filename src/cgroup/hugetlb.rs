//! Huge pages: the host's pools (`/sys/kernel/mm/hugepages/hugepages-<N>kB`) and
//! the hugetlb controller's per-size interface files on v1 and v2.
//!
//! The hugetlb controller names its files by page size in the kernel's own
//! spelling (`hugetlb.2MB.max`, `hugetlb.1GB.limit_in_bytes`), and it can only
//! charge pages the pool has: both facts live here, so a probe deals in
//! [`PageSize`] values and never builds a file name or touches the pool itself.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{read_u64, stats, write_file, CgroupError, Version};

/// Where the kernel lists its huge page sizes, one directory each.
pub const HUGEPAGES_DIR: &str = "/sys/kernel/mm/hugepages";
/// Pages in the pool of one size (writing it grows or shrinks the pool).
pub const NR_HUGEPAGES: &str = "nr_hugepages";
/// Pages of the pool neither in use nor reserved by a mapping.
pub const FREE_HUGEPAGES: &str = "free_hugepages";

/// One huge page size of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PageSize {
    pub kib: u64,
}

impl PageSize {
    pub fn bytes(self) -> u64 {
        self.kib << 10
    }

    /// The pool's directory, `hugepages-2048kB`.
    pub fn pool_dir(self, root: &Path) -> PathBuf {
        root.join(format!("hugepages-{}kB", self.kib))
    }

    /// The `MAP_HUGE_*` bits for mmap: log2 of the size, shifted.
    pub fn map_flag(self) -> i32 {
        (self.bytes().trailing_zeros() as i32) << libc::MAP_HUGE_SHIFT
    }

    /// Parses the kernel's name (`2MB`, `1GB`, `64KB`) as [`fmt::Display`] writes it.
    pub fn parse(s: &str) -> Option<PageSize> {
        let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
        let n: u64 = n.parse().ok()?;
        let kib = match unit {
            "KB" => n,
            "MB" => n << 10,
            "GB" => n << 20,
            _ => return None,
        };
        (kib > 0).then_some(PageSize { kib })
    }
}

impl fmt::Display for PageSize {
    /// The kernel's spelling in hugetlb file names (mm/hugetlb_cgroup.c,
    /// `mem_fmt`): whole GB, else whole MB, else KB.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bytes();
        if b >= 1 << 30 {
            write!(f, "{}GB", b >> 30)
        } else if b >= 1 << 20 {
            write!(f, "{}MB", b >> 20)
        } else {
            write!(f, "{}KB", b >> 10)
        }
    }
}

/// The page size of a pool directory name (`hugepages-2048kB`).
pub fn parse_pool_dir(name: &str) -> Option<PageSize> {
    let kib = name.strip_prefix("hugepages-")?.strip_suffix("kB")?;
    kib.parse()
        .ok()
        .filter(|&k| k > 0)
        .map(|kib| PageSize { kib })
}

/// The huge page sizes under `root` (normally [`HUGEPAGES_DIR`]), smallest first;
/// empty when the kernel has no huge pages.
pub fn sizes(root: &Path) -> Vec<PageSize> {
    let mut out: Vec<PageSize> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| parse_pool_dir(&e.file_name().to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// One pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pool {
    pub nr: u64,
    pub free: u64,
}

/// Reads one size's pool under `root`.
pub fn pool(root: &Path, size: PageSize) -> Result<Pool, CgroupError> {
    let dir = size.pool_dir(root);
    Ok(Pool {
        nr: read_u64(&dir.join(NR_HUGEPAGES))?,
        free: read_u64(&dir.join(FREE_HUGEPAGES))?,
    })
}

/// Whether `path` is a pool size file, `<HUGEPAGES_DIR>/hugepages-<N>kB/nr_hugepages`:
/// the only file an ownership record may ask a later run to write.
pub fn is_pool_file(path: &Path) -> bool {
    path.parent()
        .and_then(|d| Some((d.parent()?, d.file_name()?.to_str()?)))
        .is_some_and(|(root, dir)| {
            root == Path::new(HUGEPAGES_DIR) && parse_pool_dir(dir).is_some()
        })
        && path.file_name().is_some_and(|f| f == NR_HUGEPAGES)
}

/// Asks the kernel for `nr` pages in one size's pool. The kernel gives what it
/// can (contiguous memory for 1 GiB pages is rarely there at run time): read
/// [`pool`] after it.
pub fn set_pool(root: &Path, size: PageSize, nr: u64) -> Result<(), CgroupError> {
    write_file(&size.pool_dir(root).join(NR_HUGEPAGES), &nr.to_string())
}

/// A hugetlb interface file of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    /// The fault-time limit: `max` / `limit_in_bytes`.
    Max,
    /// The reservation limit (Linux ≥ 5.7): `rsvd.max` / `rsvd.limit_in_bytes`.
    RsvdMax,
    /// Pages charged at fault time: `current` / `usage_in_bytes`.
    Current,
    /// Pages reserved: `rsvd.current` / `rsvd.usage_in_bytes`.
    RsvdCurrent,
    /// Refusals at the fault-time limit: `events` (key `max`) / `failcnt`.
    Events,
}

/// The file's name for `size` on `version`.
pub fn file(version: Version, size: PageSize, f: File) -> String {
    let tail = match (version, f) {
        (Version::V2, File::Max) => "max",
        (Version::V2, File::RsvdMax) => "rsvd.max",
        (Version::V2, File::Current) => "current",
        (Version::V2, File::RsvdCurrent) => "rsvd.current",
        (Version::V2, File::Events) => "events",
        (Version::V1, File::Max) => "limit_in_bytes",
        (Version::V1, File::RsvdMax) => "rsvd.limit_in_bytes",
        (Version::V1, File::Current) => "usage_in_bytes",
        (Version::V1, File::RsvdCurrent) => "rsvd.usage_in_bytes",
        (Version::V1, File::Events) => "failcnt",
    };
    format!("hugetlb.{size}.{tail}")
}

/// What one size's counters of a cgroup say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct HugetlbStat {
    /// Charged at fault time, bytes.
    pub current_bytes: u64,
    /// Reserved, bytes (None: no reservation accounting, Linux < 5.7).
    pub rsvd_current_bytes: Option<u64>,
    /// How often a fault was refused at the limit.
    pub max_events: u64,
}

/// Reads one size's counters in `dir`.
pub fn stat(dir: &Path, version: Version, size: PageSize) -> Result<HugetlbStat, CgroupError> {
    let rsvd = dir.join(file(version, size, File::RsvdCurrent));
    let events = dir.join(file(version, size, File::Events));
    Ok(HugetlbStat {
        current_bytes: read_u64(&dir.join(file(version, size, File::Current)))?,
        rsvd_current_bytes: if rsvd.exists() {
            Some(read_u64(&rsvd)?)
        } else {
            None
        },
        max_events: match version {
            Version::V1 => read_u64(&events)?,
            Version::V2 => max_events(&super::read_file(&events)?),
        },
    })
}

/// Whether the hugetlb files in `dir` include reservation limits (`hugetlb.*.rsvd.*`,
/// Linux ≥ 5.7); `None` when `dir` has no hugetlb files at all (a v2 root).
pub fn rsvd_files(dir: &Path) -> Option<bool> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hugetlb."))
        .collect();
    (!names.is_empty()).then(|| names.iter().any(|n| n.contains(".rsvd.")))
}

/// The `max` key of a v2 `hugetlb.<size>.events` file.
pub fn max_events(text: &str) -> u64 {
    stats::flat_keyed(text).get("max").copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_named_as_the_kernel_names_them() {
        let two = PageSize { kib: 2048 };
        let one_g = PageSize { kib: 1 << 20 };
        assert_eq!(two.to_string(), "2MB");
        assert_eq!(one_g.to_string(), "1GB");
        assert_eq!(PageSize { kib: 64 }.to_string(), "64KB");
        assert_eq!(PageSize { kib: 32 << 10 }.to_string(), "32MB");
        for s in [two, one_g, PageSize { kib: 64 }] {
            assert_eq!(PageSize::parse(&s.to_string()), Some(s));
        }
        assert_eq!(PageSize::parse("2mb"), None);
        assert_eq!(PageSize::parse("MB"), None);
        assert_eq!(PageSize::parse("0MB"), None);
    }

    #[test]
    fn pool_directories_parse() {
        assert_eq!(
            parse_pool_dir("hugepages-2048kB"),
            Some(PageSize { kib: 2048 })
        );
        assert_eq!(
            parse_pool_dir("hugepages-1048576kB"),
            Some(PageSize { kib: 1 << 20 })
        );
        assert_eq!(parse_pool_dir("hugepages-0kB"), None);
        assert_eq!(parse_pool_dir("hugepages-2048"), None);
        assert_eq!(parse_pool_dir("transparent"), None);
    }

    #[test]
    fn sizes_and_pools_from_a_fixture_tree() {
        let tmp = tempfile::tempdir().unwrap();
        for (d, nr, free) in [
            ("hugepages-1048576kB", "0\n", "0\n"),
            ("hugepages-2048kB", "16\n", "12\n"),
        ] {
            let p = tmp.path().join(d);
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join(NR_HUGEPAGES), nr).unwrap();
            std::fs::write(p.join(FREE_HUGEPAGES), free).unwrap();
        }
        std::fs::create_dir(tmp.path().join("other")).unwrap();
        let s = sizes(tmp.path());
        assert_eq!(s, [PageSize { kib: 2048 }, PageSize { kib: 1 << 20 }]);
        assert_eq!(pool(tmp.path(), s[0]).unwrap(), Pool { nr: 16, free: 12 });
        set_pool(tmp.path(), s[0], 20).unwrap();
        assert_eq!(pool(tmp.path(), s[0]).unwrap().nr, 20);
    }

    #[test]
    fn only_pool_size_files_may_be_restored() {
        assert!(is_pool_file(Path::new(
            "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
        )));
        for bad in [
            "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
            "/etc/hugepages-2048kB/nr_hugepages",
            "/sys/kernel/mm/hugepages/x/nr_hugepages",
            "/sys/kernel/mm/hugepages/hugepages-2048kB/../../../../etc/nr_hugepages",
        ] {
            assert!(!is_pool_file(Path::new(bad)), "{bad}");
        }
    }

    #[test]
    fn file_names_per_version() {
        let s = PageSize { kib: 2048 };
        assert_eq!(file(Version::V2, s, File::Max), "hugetlb.2MB.max");
        assert_eq!(file(Version::V2, s, File::RsvdMax), "hugetlb.2MB.rsvd.max");
        assert_eq!(
            file(Version::V1, PageSize { kib: 1 << 20 }, File::Max),
            "hugetlb.1GB.limit_in_bytes"
        );
        assert_eq!(
            file(Version::V1, s, File::RsvdMax),
            "hugetlb.2MB.rsvd.limit_in_bytes"
        );
        assert_eq!(file(Version::V1, s, File::Events), "hugetlb.2MB.failcnt");
        assert_eq!(file(Version::V2, s, File::Current), "hugetlb.2MB.current");
    }

    #[test]
    fn counters_from_v1_and_v2_fixtures() {
        let s = PageSize { kib: 2048 };
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        // v2 (6.18 here): events has max; rsvd.current exists.
        std::fs::write(d.join("hugetlb.2MB.current"), "8388608\n").unwrap();
        std::fs::write(d.join("hugetlb.2MB.rsvd.current"), "16777216\n").unwrap();
        std::fs::write(d.join("hugetlb.2MB.events"), "max 3\n").unwrap();
        assert_eq!(
            stat(d, Version::V2, s).unwrap(),
            HugetlbStat {
                current_bytes: 8 << 20,
                rsvd_current_bytes: Some(16 << 20),
                max_events: 3
            }
        );
        // v1 on a kernel before 5.7: no rsvd files.
        std::fs::write(d.join("hugetlb.2MB.usage_in_bytes"), "2097152\n").unwrap();
        std::fs::write(d.join("hugetlb.2MB.failcnt"), "1\n").unwrap();
        assert_eq!(
            stat(d, Version::V1, s).unwrap(),
            HugetlbStat {
                current_bytes: 2 << 20,
                rsvd_current_bytes: None,
                max_events: 1
            }
        );
        assert_eq!(max_events("max 0\n"), 0);
    }
}
