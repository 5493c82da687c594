//! isobench: benchmarks and verifies the Linux isolation primitives containers
//! are built from — namespaces and cgroups (v1, v2 and hybrid hosts).
//!
//! Data flows one way: scenario → plan → runner → probes → records → sinks;
//! a result folder is read back by `folder`, and `compare` lines up several.

pub mod bootstrap;
pub mod bpf;
pub mod cgroup;
pub mod chart;
pub mod check;
pub mod compare;
pub mod cpulist;
pub mod delegate;
pub mod folder;
pub mod fs;
pub mod gate;
pub mod host;
pub mod interrupt;
pub mod loopdev;
pub mod markdown;
pub mod ns;
pub mod outdir;
pub mod plan;
pub mod probe;
pub mod progress;
pub mod record;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod set;
pub mod sink;
pub mod spec;
pub mod stats;
pub mod textable;
pub mod units;
pub mod workload;
