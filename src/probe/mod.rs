//! Probes: one module per question. A probe measures and returns records with a
//! verdict; it never prints.

use std::path::PathBuf;

pub mod cgroup_ops;
pub mod cpu;
pub mod cpuset;
pub mod freezer;
pub mod io;
pub mod lifecycle;
pub mod limits;
pub mod ns_latency;

/// Why a probe could not produce a result at all (a failed check is a verdict, not this).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    #[error("start worker {}: {source}", path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
}
