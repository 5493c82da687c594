//! A validated scenario expanded into concrete cases: every probe's section
//! becomes its cases (every sweep one case per combination, with typed values
//! and a stable case id), in the registry's order, across every scenario of a run.

use crate::probe::{Case, PlanEnv, Scenario, ALL};

/// One case of the plan and the probe it belongs to.
#[derive(Debug)]
pub struct Planned {
    pub probe: &'static str,
    pub case: Box<dyn Case>,
}

/// Everything one run will do, in order.
#[derive(Debug, Default)]
pub struct Plan {
    pub cases: Vec<Planned>,
}

impl Plan {
    /// Expands validated scenarios: probe by probe (the registry's order), each
    /// over every scenario that has its section.
    pub fn build(scenarios: &[Scenario], env: &PlanEnv) -> Plan {
        let cases = ALL
            .iter()
            .flat_map(|p| {
                scenarios.iter().flat_map(move |s| {
                    p.expand(s, env).into_iter().map(move |case| Planned {
                        probe: p.id(),
                        case,
                    })
                })
            })
            .collect();
        Plan { cases }
    }

    /// The first case id that two cases of one probe share, with the probe: a
    /// run folder keeps one samples file and one set of charts per case, so
    /// every id must be unique (a value repeated in a list, or a scenario given twice).
    pub fn duplicate(&self) -> Option<(&'static str, String)> {
        let mut seen = std::collections::BTreeSet::new();
        self.cases
            .iter()
            .find(|p| !seen.insert((p.probe, p.case.id())))
            .map(|p| (p.probe, p.case.id().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        let s = Scenario::parse(text, "t").unwrap();
        let env = PlanEnv {
            quick: false,
            online_cpus: "0-1".parse().unwrap(),
        };
        Plan::build(&[s.clone(), s], &env)
    }

    #[test]
    fn cases_come_probe_by_probe_across_scenarios() {
        let p = plan("schema = 1\nname = \"t\"\n[pids]\nmax = [3]\n[cgroup_ops]\nsiblings = [1]\n");
        let ids: Vec<(&str, &str)> = p.cases.iter().map(|c| (c.probe, c.case.id())).collect();
        assert_eq!(
            ids,
            [
                ("cgroup_ops", "s1"),
                ("cgroup_ops", "s1"),
                ("pids", "max3"),
                ("pids", "max3")
            ]
        );
        assert_eq!(p.duplicate(), Some(("cgroup_ops", "s1".to_string())));
    }

    #[test]
    fn unique_ids_are_no_duplicate() {
        let s = Scenario::parse("schema = 1\nname = \"t\"\n[pids]\nmax = [3, 4]\n", "t").unwrap();
        let env = PlanEnv {
            quick: true,
            online_cpus: "0".parse().unwrap(),
        };
        assert_eq!(Plan::build(&[s], &env).duplicate(), None);
    }
}
