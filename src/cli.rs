//! The command line's shape (clap derive): every command, flag and hidden
//! worker subcommand, with its help text. `main` parses it and acts.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "isobench",
    version,
    about = "Benchmark and verify Linux namespaces and cgroups (v1, v2, hybrid)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show the host fingerprint, the cgroup layout per controller, privileges, and which probe families can run here.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run scenarios (the shipped default scenario when none is given) and write a result folder.
    Run {
        /// Scenario TOML files, or shipped scenarios by name (compiled in: ci, cpu, default, limits, namespaces, quick); a file of that name wins. All are validated before anything is created.
        #[arg(value_name = "SCENARIO")]
        scenarios: Vec<PathBuf>,
        /// Result folder, new or empty (default: results/<UTC timestamp>-<kernel release>/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// One repetition per case with a short hold: a smoke test in seconds.
        #[arg(long)]
        quick: bool,
        /// At the end, list every case with its verdict and reason (by default only the cases that did not pass).
        #[arg(long, short)]
        verbose: bool,
        /// Create cgroups under this existing cgroup in every hierarchy instead of the own cgroup: absolute from each hierarchy's root (/isobench.slice) or relative to the own cgroup.
        #[arg(long, value_name = "PATH")]
        cgroup_parent: Option<String>,
        /// Where systemd owns the own cgroup and has not delegated it, stop (exit 2) instead of re-executing in a transient scope with Delegate=yes.
        #[arg(long)]
        no_systemd_scope: bool,
        /// Run each latency case N times, in fresh workers, interleaved across cases (over the scenarios' `repeat`).
        #[arg(long, value_name = "N")]
        repeat: Option<u32>,
        /// Also keep this run as results/baselines/NAME (replacing one of that name).
        #[arg(long, value_name = "NAME")]
        save_baseline: Option<String>,
        /// Then compare it with results/baselines/NAME (the comparison goes to <folder>/compare/); exit 1 on a regression.
        #[arg(long, value_name = "NAME")]
        baseline: Option<String>,
        #[command(flatten)]
        gate: GateArgs,
    },
    /// Compare a run with a baseline: which figures regressed beyond the noise, which verdicts became fail.
    Compare {
        /// The baseline: a result folder or a baseline name (results/baselines/NAME).
        base: String,
        /// The run to judge: a result folder or a baseline name.
        current: String,
        /// Write compare.md, .csv, .json, junit.xml and results.ktap into this new or empty folder (default: results/compare-<UTC timestamp>/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        gate: GateArgs,
    },
    /// Rebuild report.md, junit.xml, results.ktap, summary.csv and charts of a result folder, or compare several folders side by side.
    Report {
        /// Result folders (written by `isobench run`), or folders of them (boot-1/, boot-2/, …: one column, boots as repetitions); one folder is re-rendered, several are compared.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Write into this new or empty folder instead: one folder → a full copy with everything rebuilt; several → the comparison (default: results/compare-<UTC timestamp>/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Remove cgroups left by earlier runs whose owner process is gone; never those of a live run.
    Clean {
        /// Also look under this cgroup path in every hierarchy.
        #[arg(long, value_name = "PATH")]
        cgroup_parent: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A workload process (started by the harness itself).
    #[command(hide = true)]
    Worker {
        #[command(subcommand)]
        kind: WorkerKind,
    },
}

/// How `compare` (and `run --baseline`) judges.
#[derive(clap::Args, Debug, Clone)]
pub struct GateArgs {
    /// A change within ±PCT % is noise.
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    pub threshold: f64,
    /// A threshold for one metric, e.g. `latency=15` (repeatable).
    #[arg(long, value_name = "METRIC=PCT")]
    pub metric_threshold: Vec<String>,
    /// Exit 1 also when a figure cannot be decided (too few repetitions, different or busy hosts).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Subcommand)]
pub enum WorkerKind {
    /// Time a namespace operation in a loop (prints `ready`, waits for a byte on stdin, prints samples).
    NsBench {
        /// `noop`, or `<kind>-<method>` (e.g. `net-clone`).
        #[arg(long)]
        op: String,
        #[arg(long, default_value_t = 100)]
        iterations: u64,
        /// Loop for this long instead of a number of iterations (sustained rate).
        #[arg(long)]
        duration_ms: Option<u64>,
        #[arg(long, default_value_t = 0)]
        warmup: u64,
        /// Also time a clone without a namespace beside each operation (`b` lines).
        #[arg(long)]
        paired: bool,
        /// First enter a user namespace of its own (uid 0 mapped to the caller's): how a non-root run makes namespaces.
        #[arg(long)]
        userns: bool,
    },
    /// Spin N threads sampling sched_getcpu() (prints `ready`, a byte on stdin starts, another stops).
    CpuSpin {
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Also this many mostly idle threads (1 ms sleep, 50 µs work), as in fibtest.
        #[arg(long, default_value_t = 0)]
        idle_threads: usize,
    },
    /// Touch fresh memory up to --bytes at --rate-mib-s, reporting progress.
    Mem {
        #[arg(long)]
        bytes: u64,
        #[arg(long, default_value_t = 0)]
        rate_mib_s: u64,
    },
    /// O_DIRECT reads (or --write) of --block-bytes over --region-bytes of --dev for --ms.
    Io {
        #[arg(long)]
        dev: std::path::PathBuf,
        #[arg(long)]
        write: bool,
        #[arg(long)]
        block_bytes: usize,
        #[arg(long)]
        region_bytes: u64,
        #[arg(long)]
        ms: u64,
        #[arg(long, default_value_t = 250)]
        window_ms: u64,
    },
    /// Map huge pages and touch them, step by step (`MAP:TOUCH,...`), reporting each page.
    Hugetlb {
        /// The huge page size, KiB (2048, 1048576).
        #[arg(long)]
        page_kib: u64,
        #[arg(long)]
        steps: String,
    },
    /// Fork waiting children until fork fails or --max were made.
    Fork {
        #[arg(long, default_value_t = 100_000)]
        max: u64,
    },
    /// Check the isolation a new namespace of KIND gives (prints one JSON line).
    NsVerify {
        #[arg(long)]
        kind: String,
        /// Instead: check that this method really moves a process into the namespace.
        #[arg(long)]
        method: Option<String>,
        /// First enter a user namespace of its own, as `ns-bench --userns`.
        #[arg(long)]
        userns: bool,
    },
    /// Open device nodes (read-only, write-only) and mknod device numbers in a private tmpfs; print the errno of each (one JSON line).
    Devices {
        /// A device node to open.
        #[arg(long)]
        open: Vec<std::path::PathBuf>,
        /// A character device number `MAJ:MIN` to mknod.
        #[arg(long)]
        mknod: Vec<String>,
    },
    /// Send --packets UDP datagrams to a receiver of its own on 127.0.0.1 (in the
    /// network namespace --netns, if given); print `sent N received M port P`.
    NetSend {
        #[arg(long)]
        packets: u64,
        #[arg(long)]
        netns: Option<std::path::PathBuf>,
    },
    /// Hold a new network namespace with lo up (prints `ready`) until stdin closes.
    NetHold,
    /// Wait for a byte on stdin, then spin until --max-ms passed.
    Spin {
        #[arg(long, default_value_t = 60_000)]
        max_ms: u64,
        /// Fresh memory to touch before spinning, so it is charged to the worker's cgroup.
        #[arg(long, default_value_t = 0)]
        touch_bytes: usize,
    },
}
