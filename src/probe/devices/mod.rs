//! `devices`: does the devices controller deny and allow device access as
//! configured? A rule list is applied to a fresh cgroup — devices.deny /
//! devices.allow on cgroup v1, a `BPF_CGROUP_DEVICE` program on v2 — and a
//! worker started inside it (`isobench worker devices`) opens harmless
//! character devices (/dev/null, /dev/zero, /dev/full, /dev/urandom) read-only
//! and write-only and mknods their numbers in a private tmpfs, reporting each
//! errno. The same worker outside the cgroup is the control: there everything
//! must work, or the host itself refuses and the case cannot say anything.
//!
//! On a hybrid host (v1 controller, a cgroup2 tree mirrored beside it) the
//! kernel also runs the device programs of the task's cgroup2 cgroup before
//! the v1 check, so the same rules are verified a second way: the `bpf-` cases
//! attach the program to the cgroup2 mirror and leave the v1 files alone.

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::devices::permits;
use crate::cgroup::{Controller, DevAccess, DevKind, DeviceRule, Version};
use crate::record::CaseResult;
use crate::spec::{Checked, HostLimits, Keys};
use crate::workload::devices::DevOp;

mod judge;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "devices";

/// The probe.
pub struct Devices;

/// The rule sets, by case id.
pub const RULE_SETS: [&str; 2] = ["deny-one", "allow-list"];

/// The prefix of the cases that apply the rules as a BPF program on a hybrid
/// host's cgroup2 mirror.
pub const BPF_PREFIX: &str = "bpf-";

/// The `devices` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesSpec {
    /// Rule sets, one case each: `deny-one` (deny c 1:7 rwm, /dev/full) and
    /// `allow-list` (deny a, allow c 1:3 rwm and c 1:5 rwm: /dev/null, /dev/zero).
    #[serde(default = "default_cases")]
    pub cases: Vec<String>,
    /// Also apply each set as a BPF device program on the cgroup2 tree where
    /// the controller is on v1 (a hybrid host): the `bpf-` cases.
    #[serde(default = "default_bpf")]
    pub bpf: bool,
}

fn default_cases() -> Vec<String> {
    RULE_SETS.iter().map(|s| s.to_string()).collect()
}
fn default_bpf() -> bool {
    true
}

/// The nodes the worker opens, with the numbers they must have: harmless
/// character devices (reads give zeros or random bytes, writes go nowhere,
/// and the worker writes nothing anyway).
pub const NODES: [(&str, u32, u32); 4] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/urandom", 1, 9),
];

/// One operation of a case and whether the rules allow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The node for opens, `MAJ:MIN` for mknod (as the worker reports it).
    pub target: String,
    pub op: DevOp,
    pub allowed: bool,
}

/// One devices case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicesCase {
    /// The rule set's name, `bpf-` in front for the hybrid BPF variant.
    pub id: String,
    /// Apply the rules as a BPF program on the cgroup2 directory even though
    /// the controller is on v1.
    pub bpf: bool,
    /// In the order applied.
    pub rules: Vec<DeviceRule>,
    /// What the worker does and what must happen, in its order.
    pub checks: Vec<Check>,
}

/// The rules of a named set.
pub fn rules_of(set: &str) -> Option<Vec<DeviceRule>> {
    match set {
        "deny-one" => Some(vec![DeviceRule::char(false, 1, 7)]),
        "allow-list" => Some(vec![
            DeviceRule::all(false),
            DeviceRule::char(true, 1, 3),
            DeviceRule::char(true, 1, 5),
        ]),
        _ => None,
    }
}

/// Every operation on [`NODES`], with the answer the rules give (the v1
/// decision, [`permits`]): opens need read or write, mknod needs mknod.
pub fn checks_for(rules: &[DeviceRule]) -> Vec<Check> {
    let mut out = Vec::new();
    for (path, major, minor) in NODES {
        for (op, access) in [
            (DevOp::OpenRead, DevAccess::READ),
            (DevOp::OpenWrite, DevAccess::WRITE),
        ] {
            out.push(Check {
                target: path.to_string(),
                op,
                allowed: permits(rules, DevKind::Char, major, minor, access),
            });
        }
    }
    for (_, major, minor) in NODES {
        out.push(Check {
            target: format!("{major}:{minor}"),
            op: DevOp::Mknod,
            allowed: permits(rules, DevKind::Char, major, minor, DevAccess::MKNOD),
        });
    }
    out
}

impl Probe for Devices {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Devices";
    const GROUP: Group = Group::Fidelity;
    type Section = DevicesSpec;

    fn validate(s: &DevicesSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.non_empty("cases", &s.cases, "names no rule set")?;
        for (i, c) in s.cases.iter().enumerate() {
            k.ensure(
                rules_of(c).is_some(),
                "cases",
                c,
                format!("unknown rule set; known: {}", RULE_SETS.join(", ")),
            )?;
            k.ensure(!s.cases[..i].contains(c), "cases", c, "named twice")?;
        }
        Ok(())
    }

    fn expand(s: &DevicesSpec, _env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let mut cases = Vec::new();
        for bpf in [false, true] {
            if bpf && !s.bpf {
                continue;
            }
            for set in &s.cases {
                let rules = rules_of(set).expect("validated");
                cases.push(DevicesCase {
                    id: if bpf {
                        format!("{BPF_PREFIX}{set}")
                    } else {
                        set.clone()
                    },
                    bpf,
                    checks: checks_for(&rules),
                    rules,
                });
            }
        }
        super::boxed(cases)
    }

    fn readiness(host: &HostFacts) -> Readiness {
        let cgroup2 = host.layout.as_ref().is_some_and(|l| {
            l.hierarchies
                .iter()
                .any(|h| h.version == Version::V2 && h.own_dir.is_some())
        });
        host.cgroups(match host.version(Controller::Devices) {
            Some(Version::V1) if cgroup2 => Readiness::new(
                true,
                "devices.deny/devices.allow on cgroup v1, and a BPF device program on the cgroup2 mirror (bpf- cases)",
            ),
            Some(Version::V1) => Readiness::new(
                true,
                "devices.deny/devices.allow on cgroup v1 (no cgroup2 tree: the bpf- cases skip)",
            ),
            Some(Version::V2) => Readiness::new(
                true,
                "a BPF device program (BPF_CGROUP_DEVICE) on cgroup v2",
            ),
            None => Readiness::new(false, "no devices controller and no cgroup2 tree"),
        })
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::devices(cases)
    }
}

impl Case for DevicesCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run(self, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::PlanEnv;

    #[test]
    fn expectations_follow_the_rules() {
        let deny = checks_for(&rules_of("deny-one").unwrap());
        let denied: Vec<String> = deny
            .iter()
            .filter(|c| !c.allowed)
            .map(|c| format!("{} {}", c.target, c.op.name()))
            .collect();
        assert_eq!(
            denied,
            ["/dev/full open-r", "/dev/full open-w", "1:7 mknod"]
        );
        let list = checks_for(&rules_of("allow-list").unwrap());
        let allowed: Vec<String> = list
            .iter()
            .filter(|c| c.allowed)
            .map(|c| format!("{} {}", c.target, c.op.name()))
            .collect();
        assert_eq!(
            allowed,
            [
                "/dev/null open-r",
                "/dev/null open-w",
                "/dev/zero open-r",
                "/dev/zero open-w",
                "1:3 mknod",
                "1:5 mknod"
            ]
        );
    }

    #[test]
    fn bpf_cases_follow_the_plain_ones() {
        let env = PlanEnv {
            quick: false,
            online_cpus: "0".parse().unwrap(),
        };
        let ids: Vec<String> = Devices::expand(
            &DevicesSpec {
                cases: default_cases(),
                bpf: true,
            },
            &env,
        )
        .iter()
        .map(|c| c.id().to_string())
        .collect();
        assert_eq!(
            ids,
            ["deny-one", "allow-list", "bpf-deny-one", "bpf-allow-list"]
        );
        let no_bpf = Devices::expand(
            &DevicesSpec {
                cases: vec!["deny-one".into()],
                bpf: false,
            },
            &env,
        );
        assert_eq!(no_bpf.len(), 1);
    }

    #[test]
    fn unknown_and_repeated_sets_are_refused() {
        let host = HostLimits {
            online_cpus: "0".parse().unwrap(),
            online_mems: "0".parse().unwrap(),
            page_size_bytes: 4096,
            loop_control: false,
        };
        let spec = |cases: &[&str]| DevicesSpec {
            cases: cases.iter().map(|s| s.to_string()).collect(),
            bpf: true,
        };
        assert!(Devices::validate(&spec(&["deny-one"]), &host).is_ok());
        let e = Devices::validate(&spec(&["deny-two"]), &host).unwrap_err();
        assert!(e.to_string().contains("devices.cases"), "{e}");
        assert!(Devices::validate(&spec(&["deny-one", "deny-one"]), &host).is_err());
        assert!(Devices::validate(&spec(&[]), &host).is_err());
    }
}
