//! A validated scenario expanded into concrete cases: every probe's section
//! becomes its cases (every sweep one case per combination, with typed values
//! and a stable case id), in the registry's order, across every scenario of a run.
//!
//! With repetitions (`repeat` in a scenario, `--repeat`), the latency cases run
//! again in rounds after the first pass: A B C … then A B C again, each time in
//! fresh workers, so a slow drift of the host hits every case alike rather than
//! one case's repetitions. Fidelity cases run once: their verdicts have their
//! own intervals.

use std::rc::Rc;

use crate::probe::{Case, Group, PlanEnv, Scenario, ALL};

/// One case of the plan and the probe it belongs to.
#[derive(Debug)]
pub struct Planned {
    pub probe: &'static str,
    /// Shared between the repetitions of a case.
    pub case: Rc<dyn Case>,
    /// 1-based, for a case that is repeated; `None` when it runs once.
    pub repetition: Option<u32>,
}

/// Everything one run will do, in order.
#[derive(Debug, Default)]
pub struct Plan {
    pub cases: Vec<Planned>,
}

impl Plan {
    /// Expands validated scenarios: probe by probe (the registry's order), each
    /// over every scenario that has its section; then the further rounds of the
    /// latency cases. `repeat` (from `--repeat`) overrides each scenario's own.
    pub fn build(scenarios: &[Scenario], env: &PlanEnv, repeat: Option<u32>) -> Plan {
        // (probe, case, repetitions it gets)
        let first: Vec<(&'static str, Rc<dyn Case>, u32)> = ALL
            .iter()
            .flat_map(|p| {
                scenarios.iter().flat_map(move |s| {
                    let n = match p.group() {
                        Group::Latency => repeat.or(s.repeat).unwrap_or(1).max(1),
                        Group::Fidelity => 1,
                    };
                    p.expand(s, env)
                        .into_iter()
                        .map(move |case| (p.id(), Rc::from(case), n))
                })
            })
            .collect();
        let rounds = first.iter().map(|(_, _, n)| *n).max().unwrap_or(1);
        let tag = |n: u32, r: u32| (n > 1).then_some(r);
        let mut cases: Vec<Planned> = first
            .iter()
            .map(|(probe, case, n)| Planned {
                probe,
                case: Rc::clone(case),
                repetition: tag(*n, 1),
            })
            .collect();
        for r in 2..=rounds {
            cases.extend(
                first
                    .iter()
                    .filter(|(_, _, n)| *n >= r)
                    .map(|(probe, case, n)| Planned {
                        probe,
                        case: Rc::clone(case),
                        repetition: tag(*n, r),
                    }),
            );
        }
        Plan { cases }
    }

    /// The first case id that two cases of one probe share, with the probe: a
    /// run folder keeps one samples file and one set of charts per case (and
    /// repetition), so every id must be unique (a value repeated in a list, or a
    /// scenario given twice).
    pub fn duplicate(&self) -> Option<(&'static str, String)> {
        let mut seen = std::collections::BTreeSet::new();
        self.cases
            .iter()
            .find(|p| !seen.insert((p.probe, p.case.id(), p.repetition)))
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
        Plan::build(&[s.clone(), s], &env, None)
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
        assert_eq!(Plan::build(&[s], &env, None).duplicate(), None);
    }

    #[test]
    fn latency_cases_repeat_in_interleaved_rounds_and_fidelity_cases_once() {
        let s = Scenario::parse(
            "schema = 1\nname = \"t\"\nrepeat = 3\n[pids]\nmax = [3]\n[cgroup_ops]\nsiblings = [1, 2]\n",
            "t",
        )
        .unwrap();
        let env = PlanEnv {
            quick: false,
            online_cpus: "0-1".parse().unwrap(),
        };
        let p = Plan::build(std::slice::from_ref(&s), &env, None);
        let ids: Vec<(&str, u32)> = p
            .cases
            .iter()
            .map(|c| (c.case.id(), c.repetition.unwrap_or(0)))
            .collect();
        assert_eq!(
            ids,
            [
                ("s1", 1),
                ("s2", 1),
                ("max3", 0),
                ("s1", 2),
                ("s2", 2),
                ("s1", 3),
                ("s2", 3)
            ]
        );
        assert_eq!(p.duplicate(), None);
        // --repeat overrides the scenario; 1 means no repetition at all.
        let once = Plan::build(&[s], &env, Some(1));
        assert_eq!(once.cases.len(), 3);
        assert!(once.cases.iter().all(|c| c.repetition.is_none()));
    }
}
