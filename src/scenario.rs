//! Scenario files: the TOML a user writes, loaded and validated.
//!
//! A scenario is its schema and name plus one optional section per probe; each
//! section's type, defaults and rules live in its probe (`src/probe/<id>/`), and
//! the [`Scenario`] type is made by the probe registry. Validation happens
//! before anything touches a cgroup: an unknown key, a wrong type or an
//! impossible value is a [`ScenarioError`] naming the file, the key and the
//! value. A default scenario is compiled into the binary.

use std::path::Path;

pub use crate::probe::Scenario;
use crate::spec::io_text;
pub use crate::spec::{parse_bytes, Bytes, HostLimits, ScenarioError, Sweep};

/// The most repetitions a scenario or `--repeat` may ask for.
pub const MAX_REPEAT: u32 = 1000;

/// The scenario schema this build reads.
pub const SCHEMA: u32 = 1;

/// The default scenario, compiled in so `isobench run` works with no file.
pub const DEFAULT_TOML: &str = include_str!("../scenarios/default.toml");

/// What validation needs to know about this host, gathered once.
pub fn host_limits() -> HostLimits {
    HostLimits {
        online_cpus: crate::host::online_cpus(),
        online_mems: crate::host::online_mems(),
        page_size_bytes: nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |v| v as u64),
        loop_control: Path::new(crate::loopdev::LOOP_CONTROL).exists(),
    }
}

/// Where a scenario came from, for messages.
pub const EMBEDDED: &str = "<default scenario>";

impl Scenario {
    /// Reads and parses a scenario file (not yet validated against the host).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let err = |reason: String, hint: Option<&str>| ScenarioError {
            file: file.clone(),
            key: String::new(),
            value: String::new(),
            reason,
            hint: hint.map(str::to_string),
        };
        if path.is_dir() {
            return Err(err("is a directory".into(), Some("pass a .toml file")));
        }
        let bytes = std::fs::read(path).map_err(|e| {
            err(
                format!("cannot read the scenario: {}", io_text(&e)),
                Some("scenarios/ holds the shipped scenarios"),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            err(
                format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
                None,
            )
        })?;
        Scenario::parse(&text, &file)
    }

    /// The compiled-in default scenario.
    pub fn embedded() -> Scenario {
        Scenario::parse(DEFAULT_TOML, EMBEDDED).expect("the embedded default scenario parses")
    }

    /// Parses TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        toml::from_str(text).map_err(|e| toml_error(&e, text, file))
    }

    /// Checks every value against the rules and the host: the schema, then
    /// each probe's section. Returns the first problem.
    pub fn validate(&self, file: &str, host: &HostLimits) -> Result<(), ScenarioError> {
        let result = if self.schema != SCHEMA {
            Err(ScenarioError::new(
                "schema",
                self.schema.to_string(),
                format!("this isobench reads schema {SCHEMA}"),
            ))
        } else if let Some(r) = self.repeat.filter(|r| !(1..=MAX_REPEAT).contains(r)) {
            Err(ScenarioError::new(
                "repeat",
                r.to_string(),
                format!("must be 1 … {MAX_REPEAT} repetitions"),
            ))
        } else {
            crate::probe::ALL
                .iter()
                .try_for_each(|p| p.validate(self, host))
        };
        result.map_err(|mut e| {
            e.file = file.to_string();
            e
        })
    }
}

/// A TOML or serde error as one line: file, line, the key on that line, and the message.
fn toml_error(e: &toml::de::Error, text: &str, file: &str) -> ScenarioError {
    // The key and value come from the line the error points at, so an unknown key
    // shows what was written there rather than the key twice.
    let (line_no, key, value) = match e.span() {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("");
            match line.split_once('=') {
                Some((k, v)) => (line_no, k.trim().to_string(), v.trim().to_string()),
                None => (line_no, line.trim().to_string(), String::new()),
            }
        }
        None => (0, String::new(), String::new()),
    };
    ScenarioError {
        file: if line_no > 0 {
            format!("{file}:{line_no}")
        } else {
            file.to_string()
        },
        key,
        value,
        reason: e.message().trim().replace('\n', " "),
        hint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostLimits {
        HostLimits {
            online_cpus: "0-1".parse().unwrap(),
            online_mems: "0".parse().unwrap(),
            page_size_bytes: 4096,
            loop_control: true,
        }
    }

    fn check(body: &str) -> Result<Scenario, ScenarioError> {
        let text = format!("schema = 1\nname = \"t\"\n[cgroup_lifecycle]\n[[cgroup_lifecycle.case]]\nname = \"c\"\n{body}\n");
        let s = Scenario::parse(&text, "t.toml")?;
        s.validate("t.toml", &host())?;
        Ok(s)
    }

    fn msg(body: &str) -> String {
        check(body).unwrap_err().to_string()
    }

    #[test]
    fn embedded_default_is_valid() {
        let s = Scenario::embedded();
        s.validate(EMBEDDED, &host_limits()).unwrap();
        assert!(!s.cgroup_lifecycle.unwrap().cases.is_empty());
    }

    #[test]
    fn good_values_pass() {
        check("cpus = [\"0\", \"0-1\"]\ncpu_quota_us = 50000\ncpu_period_us = [10000, 100000]\nmemory_max = \"64MiB\"\npids_max = 10").unwrap();
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let m = msg("cpus = \"5\"");
        assert_eq!(
            m,
            "t.toml: cgroup_lifecycle.case[0].cpus = \"5\": CPU 5 is not online (online: 0-1)"
        );
        assert!(msg("cpus = \"\"").contains("list is empty"));
        assert!(msg("cpus = \"1-0\"").contains("runs backwards"));
        assert!(msg("cpu_quota_us = 999")
            .contains("cpu_quota_us = 999: a CFS quota must be at least 1000"));
        assert!(msg("cpu_period_us = 2000000").contains("cpu_period_us = 2000000"));
        assert!(msg("cpu_period_us = [100000, 500]").contains("cpu_period_us = 500"));
        assert!(msg("memory_max = 0")
            .contains("memory_max = 0: a memory limit must be at least one page"));
        assert!(msg("pids_max = 0").contains("pids_max = 0"));
        assert!(msg("cpu_weight = 0").contains("cpu_weight = 0"));
        assert!(
            msg("io = { device = \"/dev/does-not-exist\", read_bps = 1 }")
                .contains("io.device = \"/dev/does-not-exist\": no such file")
        );
        assert!(
            msg("io = { device = \"999:999\", read_bps = 1 }").contains("no block device 999:999")
        );
        assert!(msg("io = { device = \"/dev/null\", read_bps = 1 }").contains("not a block device"));
        assert!(msg("cpus = []").contains("cpus = []: an empty list sweeps nothing"));
        check("").unwrap();
    }

    #[test]
    fn names_cannot_escape() {
        let text = "schema = 1\nname = \"t\"\n[cgroup_lifecycle]\n[[cgroup_lifecycle.case]]\nname = \"../x\"\n";
        let e = Scenario::parse(text, "t.toml")
            .unwrap()
            .validate("t.toml", &host())
            .unwrap_err();
        assert_eq!(e.key, "cgroup_lifecycle.case[0].name");
        assert!(e.to_string().contains("\"../x\""));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_parse_errors() {
        let e = check("cpu_qouta_us = 5").unwrap_err();
        assert_eq!(e.file, "t.toml:6");
        assert!(e.reason.contains("unknown field `cpu_qouta_us`"), "{e}");
        let e = check("pids_max = \"many\"").unwrap_err();
        assert_eq!(e.key, "pids_max");
        assert!(!e.to_string().contains('\n'));
        let e = check("memory_max = \"12XB\"").unwrap_err();
        assert!(e.reason.contains("unknown unit"), "{e}");
        let e = Scenario::parse("schema = 1\nname = \"x\"\nname = \"y\"\n", "d.toml").unwrap_err();
        assert!(e.file.starts_with("d.toml:"), "{e}");
    }

    #[test]
    fn schema_version_is_checked() {
        let s = Scenario::parse("schema = 2\nname = \"x\"\n", "s.toml").unwrap();
        assert!(s
            .validate("s.toml", &host())
            .unwrap_err()
            .to_string()
            .contains("schema = 2"));
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// Every scenario under scenarios/ parses and validates on this host.
    #[test]
    fn shipped_scenarios_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let s = Scenario::load(&p).unwrap();
                s.validate(&p.display().to_string(), &host_limits())
                    .unwrap();
                n += 1;
            }
        }
        assert!(n >= 2);
    }
}
