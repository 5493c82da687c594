//! `net_cls` (cgroup v1): do the packets of a cgroup carry its net_cls.classid?
//! The kernel's own classifier judges, where it can touch nothing of the host:
//! in a private network namespace (held by `isobench worker net-hold`) a `prio`
//! qdisc on `lo` with a `cgroup` filter sends a packet to the class its
//! sender's classid names, and every other packet to class 1:2 (the priomap
//! sends every priority there). A sender worker in the cgroup and a control
//! sender outside it (same namespace) each count the datagrams they sent; the
//! per-class counters of `tc -s class show` must account for the cgroup's in
//! the class, and the control's outside it.
//!
//! The skip reasons and the verdict are shared with `net_prio`, which asks the
//! same question of net_prio.ifpriomap.

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::{Controller, Layout, LayoutKind, Version};
use crate::markdown::{value, verdict_word, Align, Table};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::spec::{Checked, HostLimits, Keys};
use crate::units::Unit;
use crate::workload::net::{find_tc, parse_classes, run_sender, ClassCount, Netns};

/// The probe.
pub struct NetCls;

/// The `net_cls` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetClsSpec {
    /// Minors of the classid `1:<minor>` to set, one case each (`class<minor>`):
    /// 1 or 3, the prio qdisc's classes besides 1:2, where unclassified
    /// packets go.
    #[serde(default = "default_classes")]
    pub classes: Vec<u32>,
    /// Datagrams each sender sends.
    #[serde(default = "default_packets")]
    pub packets: u64,
}

fn default_classes() -> Vec<u32> {
    vec![3]
}

pub(crate) fn default_packets() -> u64 {
    100
}

/// One net_cls case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetClsCase {
    /// `class<minor>`.
    pub id: String,
    /// The classid written (`0x0001MMMM`).
    pub classid: u32,
    pub packets: u64,
}

impl Probe for NetCls {
    const ID: &'static str = "net_cls";
    const TITLE: &'static str = "Network classid (net_cls, v1)";
    const GROUP: Group = Group::Fidelity;
    type Section = NetClsSpec;

    fn validate(s: &NetClsSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(Self::ID);
        k.non_empty("classes", &s.classes, "names no class")?;
        for &c in &s.classes {
            k.ensure(
                c == 1 || c == 3,
                "classes",
                c,
                "must be 1 or 3: the prio qdisc's classes are 1:1 … 1:3, and 1:2 is where packets without a classid go",
            )?;
        }
        k.range("packets", s.packets, 1..=10_000)
    }

    fn expand(s: &NetClsSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let packets = env.shorten(s.packets, 50);
        super::boxed(
            s.classes
                .iter()
                .map(|&c| NetClsCase {
                    id: format!("class{c}"),
                    classid: (1 << 16) | c,
                    packets,
                })
                .collect(),
        )
    }

    fn readiness(host: &HostFacts) -> Readiness {
        let c = controller_readiness(host, Controller::NetCls);
        let tc = match find_tc() {
            Ok(p) => Readiness::new(true, format!("tc: {}", p.display())),
            Err(e) => Readiness::new(false, e),
        };
        host.cgroups(c).and(tc)
    }

    fn report(cases: &[&CaseResult]) -> String {
        report(
            cases,
            "classid",
            "A sender in the cgroup and a control sender outside it, in a private network namespace; a `prio` qdisc with a `cgroup` filter on its `lo` counts each class's packets.",
        )
    }
}

impl Case for NetClsCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        run(self, ctx)
    }
}

// ---- shared with net_prio ----------------------------------------------------------

/// The contents of /proc/cgroups, for the skip reason (empty where unreadable).
pub(crate) fn proc_cgroups() -> String {
    std::fs::read_to_string("/proc/cgroups").unwrap_or_default()
}

/// The hierarchy id /proc/cgroups gives controller `name` (`None`: the kernel
/// lacks it).
pub fn hierarchy_of(proc_cgroups: &str, name: &str) -> Option<u32> {
    proc_cgroups.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next()? == name).then(|| f.next()?.parse().ok())?
    })
}

/// Why controller `c` (net_cls or net_prio) cannot be used here, or `None`
/// when it is on a v1 hierarchy this process sees. isobench never mounts a
/// hierarchy on a host, so an unbound controller is a skip, said precisely.
///
/// On a hybrid host before Linux 5.15 the first write of a classid or a
/// priority map calls `cgroup_sk_alloc_disable()`: from then on, until reboot,
/// no socket records its cgroup2 cgroup, and every cgroup2 socket match on the
/// host (nftables `socket cgroupv2`, BPF cgroup_skb programs, systemd's
/// IP accounting) silently stops working. That is the host's, never a
/// benchmark's to break: the case is a skip there. (A pure v1 host has no
/// cgroup2 matching to lose.)
pub fn unavailable(
    kind: LayoutKind,
    version: Option<Version>,
    c: Controller,
    proc_cgroups: &str,
    kernel_release: &str,
) -> Option<String> {
    let name = c.v1_name();
    if version == Some(Version::V1) {
        let old = crate::host::release_version(kernel_release).is_some_and(|v| v < (5, 15));
        return (kind == LayoutKind::Hybrid && old).then(|| format!(
            "writing {name} on Linux {kernel_release} (before 5.15) with a cgroup2 hierarchy mounted switches off cgroup2 socket matching for the whole host until reboot (cgroup_sk_alloc_disable); isobench does not do that to a host"
        ));
    }
    let replaced = "cgroup v2 classifies packets by cgroup path instead: nftables `socket cgroupv2`, BPF cgroup_skb programs";
    Some(match (kind, hierarchy_of(proc_cgroups, name)) {
        (LayoutKind::Unified, _) => {
            format!("cgroup v2 has no {name} controller (this host is cgroup v2 only); {replaced}")
        }
        (_, None) => format!(
            "this kernel has no {name} controller (not in /proc/cgroups: CONFIG_CGROUP_NET_{})",
            if c == Controller::NetCls { "CLASSID" } else { "PRIO" }
        ),
        (_, Some(0)) => format!(
            "{name} is bound to no cgroup v1 hierarchy on this host (/proc/cgroups hierarchy 0); isobench does not mount hierarchies on a host"
        ),
        (_, Some(h)) => format!(
            "{name} is bound to cgroup v1 hierarchy {h}, which this process does not see mounted; isobench does not mount hierarchies on a host"
        ),
    })
}

/// [`unavailable`] for this host and run.
pub(crate) fn unavailable_here(layout: &Layout, c: Controller) -> Option<String> {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    unavailable(
        layout.kind,
        layout.placement(c).version,
        c,
        &proc_cgroups(),
        &release,
    )
}

/// `isobench check`'s line for controller `c`.
pub(crate) fn controller_readiness(host: &HostFacts, c: Controller) -> Readiness {
    match &host.layout {
        None => Readiness::new(false, "no cgroup layout"),
        Some(l) => match unavailable_here(l, c) {
            None => Readiness::new(true, format!("{c} controller on cgroup v1")),
            Some(why) => Readiness::new(false, why),
        },
    }
}

/// What the senders did and what the kernel's classifier saw of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counted {
    /// Datagrams the sender in the cgroup sent (its own count).
    pub sent_cgroup: u64,
    /// Of the packets seen while it sent, how many carried the mark (the
    /// classid's class, the priority).
    pub marked_cgroup: u64,
    /// Packets seen while it sent, marked or not.
    pub seen_cgroup: u64,
    pub sent_control: u64,
    pub marked_control: u64,
    pub seen_control: u64,
}

/// The verdict: every datagram of the cgroup's sender carries the mark (`what`,
/// e.g. "class 1:3"), and no datagram of the control does. A classifier that
/// did not see the control's packets, or marked them too, cannot tell the
/// cgroup apart: inconclusive (the harness's own cgroup may carry the mark).
pub fn judge(what: &str, c: &Counted) -> Verdict {
    let facts = format!(
        "cgroup sender: {} sent, {} of {} seen in {what}; control: {} sent, {} of {} seen in {what}",
        c.sent_cgroup, c.marked_cgroup, c.seen_cgroup, c.sent_control, c.marked_control, c.seen_control
    );
    if c.sent_cgroup == 0 || c.sent_control == 0 {
        return Verdict::fail(format!("a sender sent nothing: {facts}"));
    }
    if c.marked_cgroup != c.sent_cgroup {
        return Verdict::fail(format!(
            "{} of the cgroup's {} packets were not in {what}: {facts}",
            c.sent_cgroup.abs_diff(c.marked_cgroup),
            c.sent_cgroup
        ));
    }
    if c.seen_control < c.sent_control {
        return Verdict::inconclusive(format!(
            "the classifier saw only {} of the control's {} packets, so it cannot tell the cgroup apart: {facts}",
            c.seen_control, c.sent_control
        ));
    }
    if c.marked_control > 0 {
        return Verdict::inconclusive(format!(
            "the control's packets were in {what} too (does the harness's own cgroup set it?): {facts}"
        ));
    }
    Verdict::pass(format!(
        "every packet of the cgroup and none of the control's in {what}: {facts}"
    ))
}

/// The probe's metrics of a judged case.
pub(crate) fn series(c: &Counted, mark_name: &str, mark: u64, apply_ns: u64) -> Vec<Series> {
    vec![
        Series::new("sent_cgroup", Unit::Count, vec![c.sent_cgroup]),
        Series::new("marked_cgroup", Unit::Count, vec![c.marked_cgroup]),
        Series::new("seen_cgroup", Unit::Count, vec![c.seen_cgroup]),
        Series::new("sent_control", Unit::Count, vec![c.sent_control]),
        Series::new("marked_control", Unit::Count, vec![c.marked_control]),
        Series::new("seen_control", Unit::Count, vec![c.seen_control]),
        Series::new(mark_name, Unit::Count, vec![mark]),
        Series::new("apply", Unit::Ns, vec![apply_ns]),
    ]
}

/// The report table of either probe.
pub(crate) fn report(cases: &[&CaseResult], mark: &str, intro: &str) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        (mark, Align::Right),
        ("apply", Align::Right),
        ("cgroup: sent", Align::Right),
        ("marked / seen", Align::Right),
        ("control: sent", Align::Right),
        ("marked / seen", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        t.row(vec![
            c.case.clone(),
            match (mark, value(c, mark).parse::<u32>()) {
                // A classid reads as tc spells a class.
                ("classid", Ok(id)) => class_name(id),
                (_, _) => value(c, mark),
            },
            value(c, "apply"),
            value(c, "sent_cgroup"),
            format!(
                "{} / {}",
                value(c, "marked_cgroup"),
                value(c, "seen_cgroup")
            ),
            value(c, "sent_control"),
            format!(
                "{} / {}",
                value(c, "marked_control"),
                value(c, "seen_control")
            ),
            verdict_word(c.verdict.status),
        ]);
    }
    format!("{intro}\n\n{}\n", t.render())
}

// ---- measuring ---------------------------------------------------------------------

/// Packets per class of `lo` in the namespace.
fn classes(ns: &Netns, tc: &std::path::Path) -> Result<Vec<ClassCount>, String> {
    ns.tc(tc, &["-s", "class", "show", "dev", "lo"])
        .map(|t| parse_classes(&t))
        .map_err(|e| e.to_string())
}

fn packets(counts: &[ClassCount], class: &str) -> u64 {
    counts
        .iter()
        .find(|c| c.class == class)
        .map_or(0, |c| c.packets)
}

fn total(counts: &[ClassCount]) -> u64 {
    counts.iter().map(|c| c.packets).sum()
}

/// `AAAA:BBBB` as tc prints a class id (hex, no leading zeros).
pub fn class_name(classid: u32) -> String {
    format!("{:x}:{:x}", classid >> 16, classid & 0xffff)
}

fn run(case: &NetClsCase, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
    let Ctx {
        scope, layout, exe, ..
    } = ctx;
    let mut result = Measured::new(NetCls::ID, &case.id, case);
    if let Some(why) = unavailable_here(layout, Controller::NetCls) {
        result.judge(Verdict::skip(why));
        return Ok(result.finish());
    }
    let tc = match find_tc() {
        Ok(p) => p,
        Err(e) => {
            result.judge(Verdict::skip(e));
            return Ok(result.finish());
        }
    };
    let ns = match Netns::new(exe) {
        Ok(ns) => ns,
        Err(e) => {
            result.judge(Verdict::fail(format!("private network namespace: {e}")));
            return Ok(result.finish());
        }
    };
    // Every priority to band 1 (class 1:2): only the cgroup filter's classid
    // sends a packet elsewhere.
    let priomap: Vec<&str> = vec!["1"; 16];
    let mut qdisc = vec![
        "qdisc", "add", "dev", "lo", "root", "handle", "1:", "prio", "bands", "3", "priomap",
    ];
    qdisc.extend(priomap);
    let setup = ns.tc(&tc, &qdisc).and_then(|_| {
        ns.tc(
            &tc,
            &[
                "filter", "add", "dev", "lo", "parent", "1:", "protocol", "all", "prio", "10",
                "handle", "1:", "cgroup",
            ],
        )
    });
    if let Err(e) = setup {
        // A kernel without sch_prio or cls_cgroup cannot classify here at all.
        result.judge(Verdict::skip(format!(
            "the private namespace's classifier could not be set up (kernel modules sch_prio, cls_cgroup): {e}"
        )));
        return Ok(result.finish());
    }
    let cg = scope.create(&format!("net_cls-{}", case.id))?;
    let measured = (|| -> Result<Result<(Counted, u64), String>, ProbeError> {
        let t0 = std::time::Instant::now();
        if let Err(e) = cg.set_net_cls_classid(case.classid) {
            return Ok(Err(format!("set net_cls.classid: {e}")));
        }
        let apply_ns = t0.elapsed().as_nanos() as u64;
        let target = class_name(case.classid);
        let step = || -> Result<(Counted, u64), String> {
            let c0 = classes(&ns, &tc)?;
            let g = run_sender(exe, case.packets, Some(ns.path()), Some(&cg))
                .map_err(|e| e.to_string())?;
            let c1 = classes(&ns, &tc)?;
            let k =
                run_sender(exe, case.packets, Some(ns.path()), None).map_err(|e| e.to_string())?;
            let c2 = classes(&ns, &tc)?;
            if g.received != g.sent || k.received != k.sent {
                return Err(format!(
                    "datagrams were lost on lo (cgroup {} of {}, control {} of {} received)",
                    g.received, g.sent, k.received, k.sent
                ));
            }
            Ok((
                Counted {
                    sent_cgroup: g.sent,
                    marked_cgroup: packets(&c1, &target) - packets(&c0, &target),
                    seen_cgroup: total(&c1) - total(&c0),
                    sent_control: k.sent,
                    marked_control: packets(&c2, &target) - packets(&c1, &target),
                    seen_control: total(&c2) - total(&c1),
                },
                apply_ns,
            ))
        };
        Ok(step())
    })();
    let ns_pid = ns.holder_pid();
    let gone = ns.close();
    scope.remove(&cg)?;
    match measured? {
        Err(e) => result.judge(Verdict::fail(e)),
        Ok((counted, apply_ns)) => {
            result.series = series(&counted, "classid", u64::from(case.classid), apply_ns);
            let mut v = judge(
                &format!("class {target}", target = class_name(case.classid)),
                &counted,
            );
            if !gone {
                v = Verdict::fail(format!(
                    "the namespace holder {ns_pid} did not end; {}",
                    v.reason
                ));
            }
            result.judge(v);
        }
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_CGROUPS: &str = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\nnet_cls\t0\t1\t1\nnet_prio\t0\t1\t1\n";

    #[test]
    fn skip_reasons_say_where_the_controller_is() {
        let nc = Controller::NetCls;
        assert_eq!(
            unavailable(
                LayoutKind::Legacy,
                Some(Version::V1),
                nc,
                PROC_CGROUPS,
                "6.18.0"
            ),
            None
        );
        assert_eq!(
            unavailable(LayoutKind::Hybrid, None, nc, PROC_CGROUPS, "6.18.0").unwrap(),
            "net_cls is bound to no cgroup v1 hierarchy on this host (/proc/cgroups hierarchy 0); isobench does not mount hierarchies on a host"
        );
        let v2 = unavailable(
            LayoutKind::Unified,
            None,
            Controller::NetPrio,
            PROC_CGROUPS,
            "6.18.0",
        )
        .unwrap();
        assert!(v2.starts_with("cgroup v2 has no net_prio"), "{v2}");
        assert!(
            v2.contains("socket cgroupv2") && v2.contains("cgroup_skb"),
            "{v2}"
        );
        let none =
            unavailable(LayoutKind::Legacy, None, nc, "cpuset\t3\t1\t1\n", "6.18.0").unwrap();
        assert!(none.contains("CONFIG_CGROUP_NET_CLASSID"), "{none}");
        let elsewhere =
            unavailable(LayoutKind::Legacy, None, nc, "net_cls\t7\t1\t1\n", "6.18.0").unwrap();
        assert!(elsewhere.contains("hierarchy 7"), "{elsewhere}");
        // Before 5.15 a write would switch off a hybrid host's cgroup2 socket
        // matching; a pure v1 host has none to lose.
        let old = unavailable(
            LayoutKind::Hybrid,
            Some(Version::V1),
            nc,
            PROC_CGROUPS,
            "5.10.0-46-cloud-amd64",
        )
        .unwrap();
        assert!(old.contains("cgroup_sk_alloc_disable"), "{old}");
        assert_eq!(
            unavailable(
                LayoutKind::Legacy,
                Some(Version::V1),
                nc,
                PROC_CGROUPS,
                "5.10.0-46-cloud-amd64"
            ),
            None
        );
        assert_eq!(
            unavailable(
                LayoutKind::Hybrid,
                Some(Version::V1),
                nc,
                PROC_CGROUPS,
                "5.15.0"
            ),
            None
        );
    }

    fn counted() -> Counted {
        Counted {
            sent_cgroup: 100,
            marked_cgroup: 100,
            seen_cgroup: 100,
            sent_control: 100,
            marked_control: 0,
            seen_control: 100,
        }
    }

    #[test]
    fn every_cgroup_packet_marked_and_no_control_packet_passes() {
        let v = judge("class 1:3", &counted());
        assert_eq!(v.status, crate::record::Status::Pass, "{}", v.reason);
    }

    #[test]
    fn an_ignored_classid_fails() {
        // What a kernel that keeps no classid does: the cgroup's packets go where the control's do.
        let c = Counted {
            marked_cgroup: 0,
            ..counted()
        };
        let v = judge("class 1:3", &c);
        assert_eq!(v.status, crate::record::Status::Fail, "{}", v.reason);
        assert!(
            v.reason.starts_with("100 of the cgroup's 100 packets"),
            "{}",
            v.reason
        );
        let partial = judge(
            "class 1:3",
            &Counted {
                marked_cgroup: 60,
                ..counted()
            },
        );
        assert_eq!(partial.status, crate::record::Status::Fail);
        let none = judge(
            "class 1:3",
            &Counted {
                sent_cgroup: 0,
                marked_cgroup: 0,
                ..counted()
            },
        );
        assert_eq!(none.status, crate::record::Status::Fail);
    }

    #[test]
    fn a_control_that_cannot_tell_apart_is_inconclusive() {
        let marked = judge(
            "class 1:3",
            &Counted {
                marked_control: 100,
                ..counted()
            },
        );
        assert_eq!(
            marked.status,
            crate::record::Status::Inconclusive,
            "{}",
            marked.reason
        );
        let unseen = judge(
            "class 1:3",
            &Counted {
                seen_control: 0,
                ..counted()
            },
        );
        assert_eq!(
            unseen.status,
            crate::record::Status::Inconclusive,
            "{}",
            unseen.reason
        );
    }

    #[test]
    fn class_names_are_tc_spelling() {
        assert_eq!(class_name(0x0001_0003), "1:3");
        assert_eq!(class_name(0x0010_00ff), "10:ff");
    }

    #[test]
    fn hierarchy_ids_from_proc_cgroups() {
        assert_eq!(hierarchy_of(PROC_CGROUPS, "cpuset"), Some(3));
        assert_eq!(hierarchy_of(PROC_CGROUPS, "net_cls"), Some(0));
        assert_eq!(hierarchy_of(PROC_CGROUPS, "rdma"), None);
    }
}
