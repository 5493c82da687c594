//! Scenario files: the TOML a user writes, loaded and validated.
//!
//! A scenario is its schema and name plus one optional section per probe; each
//! section's type, defaults and rules live in its probe (`src/probe/<id>/`), and
//! the [`Scenario`] type is made by the probe registry. Validation happens
//! before anything touches a cgroup: an unknown key, a wrong type or an
//! impossible value is a [`ScenarioError`] naming the file, the key and the
//! value. Every shipped scenario (scenarios/*.toml) is compiled into the binary
//! and found by its name; `default` runs when none is given.

use std::path::Path;

pub use crate::probe::Scenario;
use crate::spec::io_text;
pub use crate::spec::{parse_bytes, Bytes, HostLimits, ScenarioError, Sweep};

/// The most repetitions a scenario or `--repeat` may ask for.
pub const MAX_REPEAT: u32 = 1000;

/// The scenario schema this build reads.
pub const SCHEMA: u32 = 1;

/// Every scenario of scenarios/ by name (file name without `.toml`), compiled
/// in: an installed binary has no repository beside it, and `isobench run
/// quick` must work there too. A unit test keeps this list and the folder equal.
pub const SHIPPED: [(&str, &str); 6] = [
    ("ci", include_str!("../scenarios/ci.toml")),
    ("cpu", include_str!("../scenarios/cpu.toml")),
    ("default", include_str!("../scenarios/default.toml")),
    ("limits", include_str!("../scenarios/limits.toml")),
    ("namespaces", include_str!("../scenarios/namespaces.toml")),
    ("quick", include_str!("../scenarios/quick.toml")),
];

/// The default scenario, compiled in so `isobench run` works with no file.
pub const DEFAULT_TOML: &str = SHIPPED[2].1;

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

/// How a shipped scenario given by name is named in messages and run.json
/// (like [`EMBEDDED`]: not a path, since no such file need exist).
pub fn shipped_label(name: &str) -> String {
    format!("<shipped scenario {name}>")
}

/// The shipped scenario `arg` names (`quick` or `quick.toml`, no folder): its
/// name and text.
pub fn shipped(arg: &str) -> Option<(&'static str, &'static str)> {
    let name = arg.strip_suffix(".toml").unwrap_or(arg);
    SHIPPED.iter().copied().find(|(n, _)| *n == name)
}

/// A scenario argument of the command line, resolved: an existing path is that
/// file (a file of the user's wins over a shipped name); else a shipped name;
/// else the error listing the shipped names. Returns the name for messages and
/// the parsed scenario (not yet validated against the host).
pub fn resolve(arg: &Path) -> Result<(String, Scenario), ScenarioError> {
    // Only "not found" falls through: a file that exists but cannot be read is
    // reported as such by `load`, not as an unknown name.
    let missing = std::fs::metadata(arg).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if !missing {
        return Ok((arg.display().to_string(), Scenario::load(arg)?));
    }
    let text = arg.to_str().unwrap_or_default();
    if let Some((name, toml)) = shipped(text) {
        let label = shipped_label(name);
        return Ok((label.clone(), Scenario::parse(toml, &label)?));
    }
    let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
    let hint = match arg.file_name().and_then(|f| shipped(f.to_str()?)) {
        // `scenarios/quick.toml` outside the repository: the name alone works.
        Some((name, _)) if text.contains('/') => {
            format!("the shipped one is `isobench run {name}`")
        }
        _ => format!("shipped: {}", names.join(", ")),
    };
    Err(ScenarioError {
        file: format!("scenario \"{}\"", arg.display()),
        key: String::new(),
        value: String::new(),
        reason: "no such file and no shipped scenario of that name".into(),
        hint: Some(hint),
    })
}

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
                // The command line looks a missing file up by name first
                // (`resolve`); this is for callers of `load` itself.
                (e.kind() == std::io::ErrorKind::NotFound)
                    .then_some("a shipped scenario is given by name, e.g. quick"),
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

    /// Every scenario under scenarios/ is compiled in under its name, with the
    /// file's text: a new file cannot be forgotten in [`SHIPPED`].
    #[test]
    fn every_shipped_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let name = p.file_stem().unwrap().to_str().unwrap().to_string();
                let (_, text) =
                    shipped(&name).unwrap_or_else(|| panic!("{} is not in SHIPPED", p.display()));
                assert_eq!(text, std::fs::read_to_string(&p).unwrap(), "{name}");
                files.push(name);
            }
        }
        files.sort();
        let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            files, names,
            "SHIPPED lists a file that is gone, or is not sorted"
        );
        assert_eq!(shipped("default").unwrap().1, DEFAULT_TOML);
    }

    /// Every compiled-in scenario parses and validates on this host.
    #[test]
    fn shipped_scenarios_are_valid() {
        for (name, text) in SHIPPED {
            let label = shipped_label(name);
            let s = Scenario::parse(text, &label).unwrap();
            s.validate(&label, &host_limits()).unwrap();
            assert_eq!(s.name, name, "the scenario's name is its file's");
        }
    }

    #[test]
    fn a_scenario_argument_is_a_file_then_a_shipped_name() {
        // No file `quick` or `quick.toml` in the crate's folder (the tests' cwd).
        for arg in ["quick", "quick.toml"] {
            let (label, s) = resolve(Path::new(arg)).unwrap();
            assert_eq!(label, "<shipped scenario quick>");
            assert_eq!(s.name, "quick");
        }
        // A file of the user's wins over the shipped name.
        let tmp = tempfile::tempdir().unwrap();
        let mine = tmp.path().join("quick.toml");
        std::fs::write(&mine, "schema = 1\nname = \"mine\"\n").unwrap();
        let (label, s) = resolve(&mine).unwrap();
        assert_eq!(
            (label, s.name.as_str()),
            (mine.display().to_string(), "mine")
        );
        let e = resolve(Path::new("foo")).unwrap_err().to_string();
        assert_eq!(
            e,
            "scenario \"foo\": no such file and no shipped scenario of that name; \
             hint: shipped: ci, cpu, default, limits, namespaces, quick"
        );
        let e = resolve(&tmp.path().join("ci.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("hint: the shipped one is `isobench run ci`"),
            "{e}"
        );
        // A folder exists: it is not looked up by name.
        let e = resolve(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }
}
