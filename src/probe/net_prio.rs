//! `net_prio` (cgroup v1): do the packets of a cgroup's sockets (without
//! SO_PRIORITY) carry the priority net_prio.ifpriomap gives them on `lo`?
//!
//! The kernel resolves the device of an ifpriomap line in the *initial* network
//! namespace, whatever namespace the writer is in (net/core/netprio_cgroup.c:
//! `dev_get_by_name(&init_net, ...)`), and a device of another namespace has no
//! priority map at all: net_prio cannot act in a private namespace. So the
//! senders use `lo` of the harness's own namespace, and the witness changes
//! nothing there: a passive packet-socket tap whose eBPF filter reads each
//! outgoing packet's skb->priority (no qdisc, no filter on the interface). The
//! ifpriomap line itself is the harness's cgroup's own: it applies to the
//! sockets of that cgroup only. A sender in the cgroup and a control sender
//! outside it count their datagrams; the tap must see every one of the
//! cgroup's with the priority and none of the control's.

use serde::{Deserialize, Serialize};

use super::net_cls::{controller_readiness, judge, report, series, unavailable_here, Counted};
use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::record::{CaseResult, Measured, Summary, Verdict};
use crate::spec::{Checked, HostLimits, Keys};
use crate::workload::net::{lo_is_up, run_sender, PrioTap, Tapped, TAP_PRIO_CAP};

/// The probe.
pub struct NetPrio;

/// The `net_prio` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetPrioSpec {
    /// Priorities for `lo`, one case each (`prio<P>`): 1 … 15 (0 is what a
    /// socket without a priority has: the kernel applies the map only then).
    #[serde(default = "default_priorities")]
    pub priorities: Vec<u32>,
    /// Datagrams each sender sends.
    #[serde(default = "super::net_cls::default_packets")]
    pub packets: u64,
}

fn default_priorities() -> Vec<u32> {
    vec![6]
}

/// One net_prio case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetPrioCase {
    /// `prio<P>`.
    pub id: String,
    pub priority: u32,
    pub packets: u64,
}

/// The device the priority is set for (of the initial network namespace).
const DEVICE: &str = "lo";

impl Probe for NetPrio {
    const ID: &'static str = "net_prio";
    const TITLE: &'static str = "Network priority (net_prio, v1)";
    const GROUP: Group = Group::Fidelity;
    type Section = NetPrioSpec;

    fn validate(s: &NetPrioSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(Self::ID);
        k.non_empty("priorities", &s.priorities, "names no priority")?;
        k.each_range_says(
            "priorities",
            &s.priorities,
            1..=TAP_PRIO_CAP - 1,
            "must be 1 … 15: 0 is a socket without a priority, and the tap tells 0 … 15 apart",
        )?;
        k.range("packets", s.packets, 1..=10_000)
    }

    fn expand(s: &NetPrioSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let packets = env.shorten(s.packets, 50);
        super::boxed(
            s.priorities
                .iter()
                .map(|&p| NetPrioCase {
                    id: format!("prio{p}"),
                    priority: p,
                    packets,
                })
                .collect(),
        )
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(controller_readiness(host, Controller::NetPrio))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report(
            cases,
            "priority",
            "A sender in the cgroup and a control sender outside it, on `lo` of the harness's namespace (ifpriomap names devices of the initial namespace only); a passive eBPF tap reads each outgoing packet's priority.",
        )
    }
}

impl Case for NetPrioCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        run(self, ctx)
    }
}

/// Of the tapped packets to `port`: how many carried `priority`, and how many there were.
pub fn count(tapped: &[Tapped], port: u16, priority: u32) -> (u64, u64) {
    let to = tapped.iter().filter(|t| t.dport == port);
    let seen = to.clone().count() as u64;
    let marked = to.filter(|t| t.priority == priority).count() as u64;
    (marked, seen)
}

fn run(case: &NetPrioCase, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
    let Ctx {
        scope, layout, exe, ..
    } = ctx;
    let mut result = Measured::new(NetPrio::ID, &case.id, case);
    if let Some(why) = unavailable_here(layout, Controller::NetPrio) {
        result.judge(Verdict::skip(why));
        return Ok(result.finish());
    }
    if !lo_is_up() {
        result.judge(Verdict::skip(
            "lo is down in the harness's network namespace, and isobench does not configure its interfaces",
        ));
        return Ok(result.finish());
    }
    let tap = match PrioTap::open() {
        Ok(t) => t,
        Err(e) => {
            result.judge(Verdict::skip(format!(
                "no tap to read packet priorities with: {e}"
            )));
            return Ok(result.finish());
        }
    };
    let cg = scope.create(&format!("net_prio-{}", case.id))?;
    let measured = (|| -> Result<(Counted, u64), String> {
        let t0 = std::time::Instant::now();
        cg.set_net_prio(DEVICE, case.priority)
            .map_err(|e| format!("set net_prio.ifpriomap: {e}"))?;
        let apply_ns = t0.elapsed().as_nanos() as u64;
        tap.drain();
        let g = run_sender(exe, case.packets, None, Some(&cg)).map_err(|e| e.to_string())?;
        let k = run_sender(exe, case.packets, None, None).map_err(|e| e.to_string())?;
        let tapped = tap.drain();
        if g.received != g.sent || k.received != k.sent {
            return Err(format!(
                "datagrams were lost on lo (cgroup {} of {}, control {} of {} received)",
                g.received, g.sent, k.received, k.sent
            ));
        }
        let (marked_cgroup, seen_cgroup) = count(&tapped, g.port, case.priority);
        let (marked_control, seen_control) = count(&tapped, k.port, case.priority);
        Ok((
            Counted {
                sent_cgroup: g.sent,
                marked_cgroup,
                seen_cgroup,
                sent_control: k.sent,
                marked_control,
                seen_control,
            },
            apply_ns,
        ))
    })();
    drop(tap);
    scope.remove(&cg)?;
    match measured {
        Err(e) => result.judge(Verdict::fail(e)),
        Ok((counted, apply_ns)) => {
            result.series = series(&counted, "priority", u64::from(case.priority), apply_ns);
            result.judge(judge(&format!("priority {}", case.priority), &counted));
        }
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tapped_packets_are_counted_by_port_and_priority() {
        let t = |dport, priority| Tapped { dport, priority };
        let tapped = [t(1000, 6), t(1000, 6), t(1000, 0), t(2000, 0), t(3000, 6)];
        assert_eq!(count(&tapped, 1000, 6), (2, 3));
        assert_eq!(count(&tapped, 2000, 6), (0, 1));
        assert_eq!(count(&tapped, 4000, 6), (0, 0));
    }

    #[test]
    fn an_ignored_ifpriomap_fails() {
        // The kernel left every packet at priority 0: none of the cgroup's marked.
        let tapped: Vec<Tapped> = (0..10)
            .map(|_| Tapped {
                dport: 1000,
                priority: 0,
            })
            .chain((0..10).map(|_| Tapped {
                dport: 2000,
                priority: 0,
            }))
            .collect();
        let (mc, sc) = count(&tapped, 1000, 6);
        let (mk, sk) = count(&tapped, 2000, 6);
        let c = Counted {
            sent_cgroup: 10,
            marked_cgroup: mc,
            seen_cgroup: sc,
            sent_control: 10,
            marked_control: mk,
            seen_control: sk,
        };
        assert_eq!(judge("priority 6", &c).status, crate::record::Status::Fail);
    }
}
