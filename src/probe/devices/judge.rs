//! The devices verdict: a pure function of what the worker saw inside the
//! cgroup and outside it (the control).

use super::Check;
use crate::record::Verdict;
use crate::workload::devices::DevReport;

/// An errno as a report shows it: `ok`, `EPERM`.
pub fn errno_name(e: i32) -> String {
    if e == 0 {
        "ok".into()
    } else {
        format!("{:?}", nix::errno::Errno::from_raw(e))
    }
}

/// An errno with its number, for reasons: `ok (0)`, `EPERM (1)`.
fn errno_long(e: i32) -> String {
    format!("{} ({e})", errno_name(e))
}

/// The errno of each check in `r`, in the checks' order (`None`: not tried).
pub fn errnos(checks: &[Check], r: &DevReport) -> Vec<Option<i32>> {
    checks
        .iter()
        .map(|c| {
            r.outcomes
                .iter()
                .find(|o| o.target == c.target && o.op == c.op)
                .map(|o| o.errno)
        })
        .collect()
}

fn what(c: &Check) -> String {
    format!("{} {}", c.op.name(), c.target)
}

/// Pass when, inside the cgroup, every denied operation failed with EPERM and
/// every allowed one succeeded, and outside every operation succeeded. The
/// control failing is inconclusive: the host refuses by itself, so the rules
/// cannot be seen. A wrong result names the operation, the errno seen and the
/// one expected.
pub fn judge(checks: &[Check], inside: &DevReport, outside: &DevReport) -> Verdict {
    if let Some(e) = &outside.setup_error {
        return Verdict::inconclusive(format!(
            "outside the cgroup the worker could not make its private tmpfs, so mknod was not tried: {e}"
        ));
    }
    let out = errnos(checks, outside);
    let refused: Vec<String> = checks
        .iter()
        .zip(&out)
        .filter(|(_, e)| **e != Some(0))
        .map(|(c, e)| match e {
            Some(e) => format!("{} gave {}", what(c), errno_long(*e)),
            None => format!("{} was not tried", what(c)),
        })
        .collect();
    if !refused.is_empty() {
        return Verdict::inconclusive(format!(
            "the host itself refuses, outside the cgroup (the control), {} of {} operations: {}",
            refused.len(),
            checks.len(),
            refused.join("; ")
        ));
    }
    if let Some(e) = &inside.setup_error {
        return Verdict::fail(format!(
            "inside the cgroup the worker could not make its private tmpfs (outside it could), so {} mknod operations were not tried: {e}",
            checks.iter().filter(|c| c.op == crate::workload::devices::DevOp::Mknod).count()
        ));
    }
    let inn = errnos(checks, inside);
    let mut wrong = Vec::new();
    for (c, e) in checks.iter().zip(&inn) {
        let expected = if c.allowed { 0 } else { libc::EPERM };
        match e {
            Some(e) if *e == expected => {}
            Some(e) => wrong.push(format!(
                "{} ({}): {}, expected {}",
                what(c),
                if c.allowed { "allowed" } else { "denied" },
                errno_long(*e),
                errno_long(expected)
            )),
            None => wrong.push(format!("{} was not tried inside the cgroup", what(c))),
        }
    }
    let denied = checks.iter().filter(|c| !c.allowed).count();
    let allowed = checks.len() - denied;
    if !wrong.is_empty() {
        return Verdict::fail(format!(
            "{} of {} operations inside the cgroup went against the rules: {}",
            wrong.len(),
            checks.len(),
            wrong.join("; ")
        ));
    }
    let names: Vec<String> = checks.iter().filter(|c| !c.allowed).map(what).collect();
    Verdict::pass(format!(
        "{} operations as configured: {denied} denied with EPERM ({}), {allowed} allowed; all {} succeeded outside the cgroup",
        checks.len(),
        names.join(", "),
        checks.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::DeviceRule;
    use crate::probe::devices::checks_for;
    use crate::record::Status;
    use crate::workload::devices::{DevOp, DevOutcome};

    fn checks() -> Vec<Check> {
        checks_for(&[DeviceRule::char(false, 1, 7)])
    }

    /// A report where the check `i` gets `errno(i, check)`.
    fn report(checks: &[Check], errno: impl Fn(&Check) -> i32) -> DevReport {
        DevReport {
            outcomes: checks
                .iter()
                .map(|c| DevOutcome {
                    target: c.target.clone(),
                    op: c.op,
                    errno: errno(c),
                })
                .collect(),
            setup_error: None,
        }
    }

    fn as_configured(c: &Check) -> i32 {
        if c.allowed {
            0
        } else {
            libc::EPERM
        }
    }

    #[test]
    fn the_rules_enforced_pass() {
        let c = checks();
        let v = judge(&c, &report(&c, as_configured), &report(&c, |_| 0));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(v.reason.contains("3 denied with EPERM"), "{}", v.reason);
        assert!(v.reason.contains("open-w /dev/full"), "{}", v.reason);
    }

    #[test]
    fn a_denied_device_that_opens_fails_naming_it() {
        let c = checks();
        let v = judge(&c, &report(&c, |_| 0), &report(&c, |_| 0));
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.starts_with("3 of 12 operations"), "{}", v.reason);
        assert!(
            v.reason
                .contains("open-r /dev/full (denied): ok (0), expected EPERM (1)"),
            "{}",
            v.reason
        );
        assert!(v.reason.contains("mknod 1:7 (denied)"), "{}", v.reason);
    }

    #[test]
    fn an_allowed_device_refused_fails() {
        let c = checks();
        let inside = report(&c, |c| {
            if c.target == "/dev/null" && c.op == DevOp::OpenWrite {
                libc::EPERM
            } else {
                as_configured(c)
            }
        });
        let v = judge(&c, &inside, &report(&c, |_| 0));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.reason
                .contains("open-w /dev/null (allowed): EPERM (1), expected ok (0)"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn another_errno_than_eperm_fails() {
        let c = checks();
        let inside = report(&c, |c| if c.allowed { 0 } else { libc::EACCES });
        let v = judge(&c, &inside, &report(&c, |_| 0));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.reason.contains("EACCES (13), expected EPERM (1)"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_refusing_host_is_inconclusive_not_a_pass() {
        let c = checks();
        let outside = report(&c, |c| if c.op == DevOp::Mknod { libc::EPERM } else { 0 });
        let v = judge(&c, &report(&c, as_configured), &outside);
        assert_eq!(v.status, Status::Inconclusive);
        assert!(v.reason.contains("the host itself refuses"), "{}", v.reason);
        assert!(v.reason.contains("4 of 12"), "{}", v.reason);
        let mut no_ns = report(&c, |_| 0);
        no_ns.setup_error = Some("unshare(CLONE_NEWNS): EPERM".into());
        let v = judge(&c, &report(&c, as_configured), &no_ns);
        assert_eq!(v.status, Status::Inconclusive);
    }

    #[test]
    fn missing_outcomes_are_not_a_pass() {
        let c = checks();
        let mut inside = report(&c, as_configured);
        inside.outcomes.pop();
        let v = judge(&c, &inside, &report(&c, |_| 0));
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("was not tried"), "{}", v.reason);
        let mut failed_ns = report(&c, as_configured);
        failed_ns.setup_error = Some("mount tmpfs on /tmp: EPERM".into());
        let v = judge(&c, &failed_ns, &report(&c, |_| 0));
        assert_eq!(v.status, Status::Fail);
    }
}
