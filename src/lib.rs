//! isobench: benchmarks and verifies the Linux isolation primitives containers
//! are built from — namespaces and cgroups (v1, v2 and hybrid hosts).
//!
//! Data flows one way: scenario → plan → runner → probes → records → sinks.

pub mod cgroup;
pub mod chart;
pub mod check;
pub mod cpulist;
pub mod host;
pub mod interrupt;
pub mod ns;
pub mod plan;
pub mod probe;
pub mod record;
pub mod runner;
pub mod scenario;
pub mod sink;
pub mod workload;
