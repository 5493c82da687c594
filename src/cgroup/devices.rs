//! Device access rules: one list that both mechanisms apply — the v1
//! controller's `devices.deny` / `devices.allow` lines, and on cgroup v2 a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program built from the same list
//! ([`super::devbpf`]). The list reads as the v1 writes do, in order: a cgroup
//! starts allowing everything (what the root allows), `deny a` switches to
//! deny-all and forgets earlier exceptions, and each later line adds one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which device nodes a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DevKind {
    /// Every device of both kinds, any number, any access (`a`).
    All,
    /// Character devices (`c`).
    Char,
    /// Block devices (`b`).
    Block,
}

impl DevKind {
    /// The kernel's letter in devices.allow / devices.deny.
    pub fn letter(self) -> char {
        match self {
            DevKind::All => 'a',
            DevKind::Char => 'c',
            DevKind::Block => 'b',
        }
    }
}

/// A set of accesses: the bits are the kernel's `BPF_DEVCG_ACC_*` values
/// (mknod 1, read 2, write 4), which the BPF program compares with directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DevAccess(pub u8);

impl DevAccess {
    pub const MKNOD: DevAccess = DevAccess(1);
    pub const READ: DevAccess = DevAccess(2);
    pub const WRITE: DevAccess = DevAccess(4);
    /// `rwm`.
    pub const ALL: DevAccess = DevAccess(7);

    /// Whether every access of `other` is in this set.
    pub fn covers(self, other: DevAccess) -> bool {
        other.0 & !self.0 == 0
    }

    /// Whether the sets share an access.
    pub fn meets(self, other: DevAccess) -> bool {
        self.0 & other.0 != 0
    }
}

impl fmt::Display for DevAccess {
    /// As v1 prints it: `r`, `w`, `m` in that order (`rwm`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [(Self::READ, 'r'), (Self::WRITE, 'w'), (Self::MKNOD, 'm')] {
            if self.meets(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One rule: allow or deny `kind major:minor access`; `None` numbers are `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: DevKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: DevAccess,
}

impl DeviceRule {
    /// `allow a` / `deny a`: the default for every device, forgetting earlier rules.
    pub fn all(allow: bool) -> DeviceRule {
        DeviceRule {
            allow,
            kind: DevKind::All,
            major: None,
            minor: None,
            access: DevAccess::ALL,
        }
    }

    /// A rule for one character device, every access (`c MAJ:MIN rwm`).
    pub fn char(allow: bool, major: u32, minor: u32) -> DeviceRule {
        DeviceRule {
            allow,
            kind: DevKind::Char,
            major: Some(major),
            minor: Some(minor),
            access: DevAccess::ALL,
        }
    }

    /// The line written to devices.allow or devices.deny (`c 1:7 rwm`, `a`).
    pub fn v1_line(&self) -> String {
        self.to_string()
    }

    /// Whether the rule's pattern names device `kind major:minor`.
    pub fn names(&self, kind: DevKind, major: u32, minor: u32) -> bool {
        self.kind == DevKind::All
            || (self.kind == kind
                && self.major.is_none_or(|m| m == major)
                && self.minor.is_none_or(|m| m == minor))
    }
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == DevKind::All {
            // v1 reads only the letter of an `a` rule: it sets the default.
            return f.write_str("a");
        }
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.kind.letter(),
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// Whether `rules` let a task make `access` on device `kind major:minor`, as
/// v1 decides it: the last `a` rule sets the default (allow before any); with
/// default allow, a later deny rule naming the device and sharing an access
/// refuses; with default deny, a later allow rule naming it must cover the
/// whole access. Rules after the default with its own polarity are not
/// exceptions and count for nothing here (v1 would remove a matching
/// exception: lists are meant in the normal form runc also produces, a
/// default then exceptions). The BPF program decides exactly this.
pub fn permits(rules: &[DeviceRule], kind: DevKind, major: u32, minor: u32, a: DevAccess) -> bool {
    let (default_allow, exceptions) = normal_form(rules);
    let mut hits = exceptions.iter().filter(|r| r.names(kind, major, minor));
    if default_allow {
        !hits.any(|r| r.access.meets(a))
    } else {
        hits.any(|r| r.access.covers(a))
    }
}

/// The default (allow?) and the exceptions to it that `rules` leave: what
/// [`permits`] judges by and what the BPF program encodes.
pub fn normal_form(rules: &[DeviceRule]) -> (bool, Vec<DeviceRule>) {
    let start = rules
        .iter()
        .rposition(|r| r.kind == DevKind::All)
        .map_or(0, |i| i + 1);
    let default_allow = start == 0 || rules[start - 1].allow;
    let exceptions = rules[start..]
        .iter()
        .filter(|r| r.allow != default_allow)
        .copied()
        .collect();
    (default_allow, exceptions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_print_as_v1_reads_them() {
        assert_eq!(DeviceRule::char(false, 1, 7).v1_line(), "c 1:7 rwm");
        assert_eq!(DeviceRule::all(false).v1_line(), "a");
        let r = DeviceRule {
            allow: true,
            kind: DevKind::Block,
            major: Some(8),
            minor: None,
            access: DevAccess(DevAccess::READ.0 | DevAccess::MKNOD.0),
        };
        assert_eq!(r.v1_line(), "b 8:* rm");
    }

    #[test]
    fn the_reference_follows_v1() {
        let c = DevKind::Char;
        let rw = DevAccess(6);
        let deny_one = [DeviceRule::char(false, 1, 7)];
        assert!(!permits(&deny_one, c, 1, 7, DevAccess::READ));
        assert!(!permits(&deny_one, c, 1, 7, DevAccess::MKNOD));
        assert!(permits(&deny_one, c, 1, 3, rw));
        assert!(permits(&deny_one, DevKind::Block, 1, 7, rw));
        let list = [
            DeviceRule::all(false),
            DeviceRule::char(true, 1, 3),
            DeviceRule::char(true, 1, 5),
        ];
        assert!(permits(&list, c, 1, 3, rw));
        assert!(permits(&list, c, 1, 5, DevAccess::MKNOD));
        assert!(!permits(&list, c, 1, 7, DevAccess::READ));
        // An allow of read alone does not cover read+write.
        let partial = [
            DeviceRule::all(false),
            DeviceRule {
                access: DevAccess::READ,
                ..DeviceRule::char(true, 1, 3)
            },
        ];
        assert!(permits(&partial, c, 1, 3, DevAccess::READ));
        assert!(!permits(&partial, c, 1, 3, rw));
        // `deny a` forgets the exceptions before it.
        let reset = [DeviceRule::char(true, 1, 3), DeviceRule::all(false)];
        assert!(!permits(&reset, c, 1, 3, DevAccess::READ));
        assert!(permits(&[], c, 1, 7, rw));
    }
}
