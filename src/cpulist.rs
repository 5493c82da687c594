//! The kernel's CPU/node list format (`0-3,5,7-8`), as used by cpuset.cpus,
//! /sys/devices/system/cpu/online and Cpus_allowed_list.
//!
//! One parser and one formatter, so a scenario value, a cgroup file and the
//! host's online list are always compared as sets, never as strings.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Largest CPU or node number accepted; far above any real machine, it only
/// stops a typo like `0-4294967295` from allocating a huge set.
pub const MAX_ID: u32 = 1 << 16;

/// A set of CPU (or memory node) numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct CpuList(BTreeSet<u32>);

/// Why a list could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("range `{0}` runs backwards")]
    Backwards(String),
    #[error("{0} is above the largest supported id {MAX_ID}")]
    TooLarge(u32),
}

impl CpuList {
    pub fn new(ids: impl IntoIterator<Item = u32>) -> Self {
        Self(ids.into_iter().collect())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn contains(&self, id: u32) -> bool {
        self.0.contains(&id)
    }
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }
    pub fn is_subset(&self, other: &CpuList) -> bool {
        self.0.is_subset(&other.0)
    }
    /// Ids in `self` that are not in `other`.
    pub fn difference(&self, other: &CpuList) -> CpuList {
        CpuList(self.0.difference(&other.0).copied().collect())
    }
}

impl FromStr for CpuList {
    type Err = CpuListError;

    /// Parses the kernel list format; an empty (or all-blank) string is the empty set,
    /// which is what an unset cpuset.cpus reads as.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for part in s.trim().split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let num = |t: &str| -> Result<u32, CpuListError> {
                let n: u32 = t
                    .trim()
                    .parse()
                    .map_err(|_| CpuListError::NotANumber(t.trim().to_string()))?;
                if n > MAX_ID {
                    return Err(CpuListError::TooLarge(n));
                }
                Ok(n)
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(CpuListError::Backwards(part.to_string()));
                    }
                    set.extend(a..=b);
                }
                None => {
                    set.insert(num(part)?);
                }
            }
        }
        Ok(Self(set))
    }
}

impl fmt::Display for CpuList {
    /// Formats in the kernel's canonical form: ascending, runs of two or more as ranges.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut iter = self.0.iter().copied().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end = iter.next().unwrap_or(end);
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if end == start {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for CpuList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CpuList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lists() {
        let l: CpuList = "0-3,5,7-8\n".parse().unwrap();
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 5, 7, 8]);
        assert_eq!(l.to_string(), "0-3,5,7-8");
        assert!("".parse::<CpuList>().unwrap().is_empty());
        assert_eq!("1".parse::<CpuList>().unwrap().to_string(), "1");
        assert_eq!("0,1".parse::<CpuList>().unwrap().to_string(), "0-1");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            "abc".parse::<CpuList>(),
            Err(CpuListError::NotANumber("abc".into()))
        );
        assert_eq!(
            "1-0".parse::<CpuList>(),
            Err(CpuListError::Backwards("1-0".into()))
        );
        assert!(matches!(
            "0-99999999".parse::<CpuList>(),
            Err(CpuListError::TooLarge(_))
        ));
        assert!("-1".parse::<CpuList>().is_err());
    }

    #[test]
    fn set_operations() {
        let a: CpuList = "0-3".parse().unwrap();
        let b: CpuList = "1,2".parse().unwrap();
        assert!(b.is_subset(&a));
        assert_eq!(a.difference(&b).to_string(), "0,3");
    }
}
