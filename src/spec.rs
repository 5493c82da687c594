//! The building blocks of a scenario section: the value types a user writes
//! (`Sweep`, `Bytes`), the one-line [`ScenarioError`], and declarative checks
//! (`range`, `non_empty`, `cpu_list`, …) that every probe's section validation
//! is written with, so each rule is one line and every message has the same
//! shape: `file: key = value: reason; hint: …`.
//!
//! Host facts come in as data ([`HostLimits`]); nothing here touches a cgroup.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;

/// A value or a list of values to sweep over.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Sweep<T> {
    One(T),
    Many(Vec<T>),
}

/// By hand rather than `#[serde(untagged)]`, whose error ("data did not match any
/// variant") would hide what is wrong with the value.
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Sweep<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let one = |v: toml::Value| v.try_into::<T>().map_err(|e| D::Error::custom(e.message()));
        match toml::Value::deserialize(d)? {
            toml::Value::Array(items) => items
                .into_iter()
                .map(one)
                .collect::<Result<_, _>>()
                .map(Sweep::Many),
            v => one(v).map(Sweep::One),
        }
    }
}

impl<T: Clone> Sweep<T> {
    pub fn values(&self) -> Vec<T> {
        match self {
            Sweep::One(v) => vec![v.clone()],
            Sweep::Many(v) => v.clone(),
        }
    }
}

/// A byte count: an integer, or a string with a binary suffix (`64MiB`, `1G`, `512k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u64")]
pub struct Bytes(pub u64);

impl From<Bytes> for u64 {
    fn from(b: Bytes) -> u64 {
        b.0
    }
}

/// Parses `64MiB`, `64M`, `64m`, `1G`, `4096`: suffixes are binary (×1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (use bytes or a suffix: 64MiB, 1G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        "t" | "tib" | "tb" => 1 << 40,
        _ => return Err(format!("`{s}` has an unknown unit (use K, M, G, T)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(n) if n >= 0 => Ok(Bytes(n as u64)),
            toml::Value::String(s) => parse_bytes(&s).map(Bytes).map_err(D::Error::custom),
            v => Err(D::Error::custom(format!(
                "expected a size in bytes or a string such as \"64MiB\", found {v}"
            ))),
        }
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
            write!(f, "{}GiB", b >> 30)
        } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", b >> 20)
        } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", b >> 10)
        } else {
            write!(f, "{b}")
        }
    }
}

/// A scenario that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{reason}{}", subject(key, value), hint.as_ref().map(|h| format!("; hint: {h}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub key: String,
    pub value: String,
    pub reason: String,
    pub hint: Option<String>,
}

impl ScenarioError {
    /// An error whose file is filled in by the caller that knows it.
    pub fn new(
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ScenarioError {
            file: String::new(),
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
            hint: None,
        }
    }

    /// The same error with what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same error with an optional hint (from a check that may know one).
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

/// `key = value: `, `key: ` or nothing, for the one-line message.
fn subject(key: &str, value: &str) -> String {
    match (key.is_empty(), value.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!("{key}: "),
        (false, false) => format!("{key} = {value}: "),
    }
}

/// What validation needs to know about the host: facts, gathered once by the caller.
#[derive(Debug, Clone)]
pub struct HostLimits {
    pub online_cpus: CpuList,
    pub online_mems: CpuList,
    pub page_size_bytes: u64,
    /// Whether `/dev/loop-control` exists (the io probe makes its own loop device).
    pub loop_control: bool,
}

/// The result of one check.
pub type Checked<T = ()> = Result<T, ScenarioError>;

/// The keys of one section (or of one entry of a list, `cgroup_lifecycle.case[2]`),
/// and the checks, each naming `<prefix>.<key>` and the value it found.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Keys {
        Keys {
            prefix: prefix.into(),
        }
    }

    /// `<prefix>.<k>`.
    pub fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.prefix)
    }

    /// An error at `<prefix>.<k>` with the value as written.
    pub fn invalid(
        &self,
        k: &str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::new(self.key(k), value.to_string(), reason)
    }

    /// `ok`, or the error at `k`.
    pub fn ensure(
        &self,
        ok: bool,
        k: &str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Checked {
        if ok {
            Ok(())
        } else {
            Err(self.invalid(k, value, reason))
        }
    }

    /// `lo ≤ v ≤ hi`, else "must be lo … hi".
    pub fn range<T: PartialOrd + fmt::Display>(
        &self,
        k: &str,
        v: T,
        r: RangeInclusive<T>,
    ) -> Checked {
        let reason = format!("must be {} … {}", r.start(), r.end());
        self.range_says(k, v, r, reason)
    }

    /// `lo ≤ v ≤ hi`, else `reason`.
    pub fn range_says<T: PartialOrd + fmt::Display>(
        &self,
        k: &str,
        v: T,
        r: RangeInclusive<T>,
        reason: impl Into<String>,
    ) -> Checked {
        let ok = r.contains(&v);
        self.ensure(ok, k, v, reason)
    }

    /// Every value in `lo ≤ v ≤ hi`, else the first one outside with "must be lo … hi".
    pub fn each_range<'a, T: PartialOrd + fmt::Display + 'a>(
        &self,
        k: &str,
        values: impl IntoIterator<Item = &'a T>,
        r: RangeInclusive<T>,
    ) -> Checked {
        let reason = format!("must be {} … {}", r.start(), r.end());
        self.each_range_says(k, values, r, reason)
    }

    /// Every value in range, else the first one outside with `reason`.
    pub fn each_range_says<'a, T: PartialOrd + fmt::Display + 'a>(
        &self,
        k: &str,
        values: impl IntoIterator<Item = &'a T>,
        r: RangeInclusive<T>,
        reason: impl Into<String>,
    ) -> Checked {
        match values.into_iter().find(|v| !r.contains(v)) {
            Some(v) => Err(self.invalid(k, v, reason)),
            None => Ok(()),
        }
    }

    /// `v ≤ max`, else "must be at most max" (and `extra`, e.g. " (10 min)").
    pub fn at_most<T: PartialOrd + fmt::Display>(
        &self,
        k: &str,
        v: T,
        max: T,
        extra: &str,
    ) -> Checked {
        let reason = format!("must be at most {max}{extra}");
        let ok = v <= max;
        self.ensure(ok, k, v, reason)
    }

    /// A list must name something: else `[] : reason`.
    pub fn non_empty<T>(&self, k: &str, v: &[T], reason: &str) -> Checked {
        self.ensure(!v.is_empty(), k, "[]", reason)
    }

    /// A tolerance in percent: above 0, at most `max`.
    pub fn tolerance_pct(&self, k: &str, v: f64, max: f64) -> Checked {
        self.ensure(
            v > 0.0 && v <= max,
            k,
            v,
            format!("must be above 0 and at most {max}"),
        )
    }

    /// A cpus/mems value must parse, be non-empty and name only online ids (`what`: "CPU").
    pub fn cpu_list(&self, k: &str, v: &str, online: &CpuList, what: &str) -> Checked<CpuList> {
        cpu_list(v, online, what)
            .map_err(|(reason, hint)| self.invalid(k, format!("{v:?}"), reason).maybe_hint(hint))
    }

    /// Every value of an optional sweep through `f`; an empty list is an error of
    /// its own ("an empty list sweeps nothing": it would silently drop the case).
    pub fn sweep<T: Clone>(
        &self,
        k: &str,
        s: &Option<Sweep<T>>,
        mut f: impl FnMut(&T) -> Checked,
    ) -> Checked {
        match s {
            Some(Sweep::Many(v)) if v.is_empty() => {
                Err(self.invalid(k, "[]", "an empty list sweeps nothing"))
            }
            Some(s) => s.values().iter().try_for_each(&mut f),
            None => Ok(()),
        }
    }
}

/// A cpus/mems value must parse, be non-empty and name only online ids.
fn cpu_list(v: &str, online: &CpuList, what: &str) -> Result<CpuList, (String, Option<String>)> {
    let list: CpuList = v.parse().map_err(|e| {
        (
            format!("{e}"),
            Some("use the kernel list format, e.g. \"0-1,3\"".into()),
        )
    })?;
    if list.is_empty() {
        return Err((format!("the {what} list is empty"), None));
    }
    let off = list.difference(online);
    if !off.is_empty() {
        return Err((
            format!("{what} {off} is not online (online: {online})"),
            None,
        ));
    }
    Ok(list)
}

/// A case id (and a cgroup name): 1-200 characters of `a-z A-Z 0-9 _ . -`, not
/// `.` or `..`, so no id can reach outside the harness's own subtree.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An IO error as the kernel's lower-case errno text, without Rust's "(os error N)".
pub fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let d = nix::errno::Errno::from_raw(n).desc();
            let mut c = d.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("x").is_err());
        assert!(parse_bytes("99999999999T").is_err());
        assert_eq!(Bytes(64 << 20).to_string(), "64MiB");
        assert_eq!(Bytes(1000).to_string(), "1000");
    }

    #[test]
    fn checks_name_the_key_and_the_value() {
        let k = Keys::new("cpu_quota");
        assert!(k.range("threads", 3, 1..=256).is_ok());
        let e = k.range("threads", 300, 1..=256).unwrap_err();
        assert_eq!(e.to_string(), ": cpu_quota.threads = 300: must be 1 … 256");
        let e = k
            .each_range("period_us", &[1000, 5], 1000..=1_000_000)
            .unwrap_err();
        assert_eq!(e.value, "5");
        let e = k
            .non_empty::<u32>("quota_pct", &[], "names no quota")
            .unwrap_err();
        assert_eq!(e.to_string(), ": cpu_quota.quota_pct = []: names no quota");
        assert!(k.tolerance_pct("tolerance_pct", 0.0, 100.0).is_err());
        assert!(k.tolerance_pct("tolerance_pct", 5.0, 100.0).is_ok());
        let online: CpuList = "0-1".parse().unwrap();
        let e = k.cpu_list("cpus", "5", &online, "CPU").unwrap_err();
        assert_eq!(
            e.to_string(),
            ": cpu_quota.cpus = \"5\": CPU 5 is not online (online: 0-1)"
        );
        let e = k.cpu_list("cpus", "x", &online, "CPU").unwrap_err();
        assert!(e.hint.is_some());
        let e = k
            .sweep::<u64>("w", &Some(Sweep::Many(vec![])), |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.reason, "an empty list sweeps nothing");
    }

    #[test]
    fn names() {
        for ok in ["a", "case-1_x.y"] {
            assert!(is_valid_name(ok));
        }
        for bad in ["", ".", "..", "a/b", "a b", &"x".repeat(201)] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }
}
