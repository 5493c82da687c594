//! The `devices` part of report.md: a table of the cases, then per case what
//! every operation gave inside the cgroup and outside it.

use super::judge::errno_name;
use super::measure::NOT_TRIED;
use super::Check;
use crate::cgroup::DeviceRule;
use crate::markdown::{value, verdict_word, Align, Table};
use crate::record::{CaseResult, Status};

fn errno_cell(v: Option<&u64>) -> String {
    match v {
        None | Some(&NOT_TRIED) => "—".into(),
        Some(&e) => errno_name(e as i32),
    }
}

pub(super) fn devices(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("mechanism", Align::Left),
        ("rules", Align::Left),
        ("apply", Align::Right),
        ("checked", Align::Right),
        ("denied", Align::Right),
        ("verdict", Align::Left),
    ]);
    let mut details = String::new();
    for c in cases {
        let rules: Vec<DeviceRule> = c.config("rules").unwrap_or_default();
        let rules: Vec<String> = rules
            .iter()
            .map(|r| format!("{} {r}", if r.allow { "allow" } else { "deny" }))
            .collect();
        t.row(vec![
            c.case.clone(),
            c.config_str("mechanism").unwrap_or("—").to_string(),
            rules.join(", "),
            value(c, "apply"),
            value(c, "checked"),
            value(c, "denied"),
            verdict_word(c.verdict.status),
        ]);
        let checks: Vec<Check> = c.config("checks").unwrap_or_default();
        let inside = c.values("trace_inside_errno");
        let outside = c.values("trace_outside_errno");
        if checks.is_empty() || inside.is_empty() || c.verdict.status == Status::Skip {
            continue;
        }
        let mut d = Table::new([
            ("device", Align::Left),
            ("op", Align::Left),
            ("rules say", Align::Left),
            ("inside", Align::Left),
            ("outside", Align::Left),
        ]);
        for (i, k) in checks.iter().enumerate() {
            d.row(vec![
                k.target.clone(),
                k.op.name().to_string(),
                if k.allowed { "allow" } else { "deny" }.to_string(),
                errno_cell(inside.get(i)),
                errno_cell(outside.get(i)),
            ]);
        }
        details.push_str(&format!("`{}`:\n\n{}\n", c.case, d.render()));
    }
    format!(
        "A worker in the cgroup opens /dev/null, /dev/zero, /dev/full and /dev/urandom read-only and \
         write-only and mknods their numbers in a private tmpfs; denied operations must fail with \
         EPERM, allowed ones succeed, and the same worker outside the cgroup (the control) must \
         succeed at everything. `bpf-` cases attach the rules as a BPF device program to the \
         cgroup2 mirror of a hybrid host instead of writing the v1 files.\n\n{}\n{details}",
        t.render()
    )
}
