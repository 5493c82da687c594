//! The isobench command line: parses, calls the library, maps errors to exit codes
//! (0 every verdict passed, 1 a verdict failed, 2 usage / scenario / environment
//! error, 130 interrupted).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use isobench::record::Run;
use isobench::runner::{self, Event, RunOptions};
use isobench::scenario::{HostLimits, Scenario, EMBEDDED};
use isobench::workload::nsbench::{self, Amount, Op};

#[derive(Parser)]
#[command(
    name = "isobench",
    version,
    about = "Benchmark and verify Linux namespaces and cgroups (v1, v2, hybrid)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the host fingerprint, the cgroup layout per controller, privileges, and which probe families can run here.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run scenarios (the built-in default scenario when none is given) and write a result folder.
    Run {
        /// Scenario TOML files; all are validated before anything is created.
        scenarios: Vec<PathBuf>,
        /// Result folder (default: results/<UTC timestamp>-<kernel release>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// One repetition per case with a short hold: a smoke test in seconds.
        #[arg(long)]
        quick: bool,
        /// Create cgroups under this existing cgroup in every hierarchy instead of the own cgroup: absolute from each hierarchy's root (/isobench.slice) or relative to the own cgroup.
        #[arg(long, value_name = "PATH")]
        cgroup_parent: Option<String>,
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

#[derive(Subcommand)]
enum WorkerKind {
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
    },
    /// Wait for a byte on stdin, then spin until --max-ms passed.
    Spin {
        #[arg(long, default_value_t = 60_000)]
        max_ms: u64,
        /// Fresh memory to touch before spinning, so it is charged to the worker's cgroup.
        #[arg(long, default_value_t = 0)]
        touch_bytes: usize,
    },
}

/// Prints an error chain on one line and returns exit code 2.
fn env_error(e: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    eprintln!("isobench: error: {}", chain.join(": "));
    ExitCode::from(2)
}

fn load_scenarios(
    paths: &[PathBuf],
) -> Result<Vec<(String, Scenario)>, isobench::scenario::ScenarioError> {
    let host = HostLimits::probe();
    if paths.is_empty() {
        let s = Scenario::embedded();
        s.validate(EMBEDDED, &host)?;
        return Ok(vec![(EMBEDDED.to_string(), s)]);
    }
    paths
        .iter()
        .map(|p| {
            let file = p.display().to_string();
            let s = Scenario::load(p)?;
            s.validate(&file, &host)?;
            Ok((file, s))
        })
        .collect()
}

fn print_table(run: &Run) {
    println!("{:<18} {:<26} {:<13} reason", "probe", "case", "verdict");
    for c in &run.cases {
        println!(
            "{:<18} {:<26} {:<13} {}",
            c.probe,
            c.case,
            c.verdict.status.to_string(),
            c.verdict.reason
        );
    }
    let counts: Vec<String> = run
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    println!("{}", counts.join(", "));
}

fn cmd_run(
    scenarios: Vec<PathBuf>,
    out: Option<PathBuf>,
    quick: bool,
    cgroup_parent: Option<String>,
) -> ExitCode {
    let scenarios = match load_scenarios(&scenarios) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("isobench: error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(p) = &cgroup_parent {
        if p.split('/').any(|c| c == "..") {
            eprintln!("isobench: error: --cgroup-parent {p:?}: `..` is not allowed; hint: give a cgroup path such as /isobench.slice");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = isobench::interrupt::install() {
        return env_error(&anyhow::Error::new(e).context("install signal handlers"));
    }
    // A serial console (the test VM) is a terminal but shows escapes raw.
    let tty = std::io::stderr().is_terminal() && std::env::var("TERM").is_ok_and(|t| t != "dumb");
    let opts = RunOptions {
        scenarios,
        out,
        quick,
        cgroup_parent,
    };
    let mut on = |ev: Event| match ev {
        Event::Stale(r) if !r.removed.is_empty() => {
            eprintln!(
                "removed {} leftover cgroup directories of earlier runs",
                r.removed.len()
            )
        }
        Event::Stale(_) => {}
        Event::Folder(d) => eprintln!("writing {}", d.display()),
        Event::CaseStart {
            index,
            total,
            probe,
            case,
        } if tty => {
            eprint!("\r\x1b[K[{}/{total}] {probe}/{case} ...", index + 1)
        }
        Event::CaseStart { .. } => {}
        Event::CaseDone {
            index,
            total,
            result,
            elapsed,
        } => {
            if tty {
                eprint!("\r\x1b[K");
            }
            eprintln!(
                "[{}/{total}] {}/{} {} ({})",
                index + 1,
                result.probe,
                result.case,
                result.verdict.status,
                fmt_duration(elapsed)
            )
        }
    };
    match runner::run(&opts, &mut on) {
        Ok(outcome) => {
            print_table(&outcome.run);
            println!("results: {}", outcome.dir.display());
            if outcome.run.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) if runner::is_interrupted(&e) => {
            eprintln!("isobench: {e}");
            ExitCode::from(130)
        }
        Err(e) => env_error(&e),
    }
}

fn fmt_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn cmd_clean(cgroup_parent: Option<String>, json: bool) -> ExitCode {
    let layout = match isobench::cgroup::Layout::detect() {
        Ok(l) => l,
        Err(e) => return env_error(&anyhow::Error::new(e)),
    };
    let report = match isobench::cgroup::clean_stale(&layout, cgroup_parent.as_deref()) {
        Ok(r) => r,
        Err(e) => return env_error(&anyhow::Error::new(e).context("clean")),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for p in &report.removed {
            println!("removed {}", p.display());
        }
        for p in &report.live {
            println!("kept    {} (its run is still going)", p.display());
        }
        for (p, why) in &report.failed {
            println!("failed  {}: {why}", p.display());
        }
        println!(
            "{} removed, {} kept (live), {} failed",
            report.removed.len(),
            report.live.len(),
            report.failed.len()
        );
    }
    if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// `noop` or `<kind>-<method>`.
fn parse_op(s: &str) -> Result<Op, String> {
    if s == "noop" {
        return Ok(Op::Noop);
    }
    let (kind, method) = s
        .rsplit_once('-')
        .ok_or("expected noop or <kind>-<method>")?;
    Ok(Op::Ns(kind.parse()?, method.parse()?))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { json } => {
            let report = isobench::check::report();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Command::Run {
            scenarios,
            out,
            quick,
            cgroup_parent,
        } => cmd_run(scenarios, out, quick, cgroup_parent),
        Command::Clean {
            cgroup_parent,
            json,
        } => cmd_clean(cgroup_parent, json),
        Command::Worker {
            kind:
                WorkerKind::NsBench {
                    op,
                    iterations,
                    duration_ms,
                    warmup,
                },
        } => {
            let op = match parse_op(&op) {
                Ok(op) => op,
                Err(e) => {
                    eprintln!("isobench: error: --op {op:?}: {e}");
                    return ExitCode::from(2);
                }
            };
            let amount = match duration_ms {
                Some(ms) => Amount::For(Duration::from_millis(ms)),
                None => Amount::Iterations(iterations),
            };
            ExitCode::from(nsbench::main(op, amount, warmup) as u8)
        }
        Command::Worker {
            kind: WorkerKind::Mem { bytes, rate_mib_s },
        } => ExitCode::from(isobench::workload::limits::mem_main(bytes, rate_mib_s) as u8),
        Command::Worker {
            kind:
                WorkerKind::Io {
                    dev,
                    write,
                    block_bytes,
                    region_bytes,
                    ms,
                    window_ms,
                },
        } => ExitCode::from(
            isobench::workload::io::io_main(&isobench::workload::io::IoJob {
                device: dev,
                write,
                block_bytes,
                region_bytes,
                ms,
                window_ms,
            }) as u8,
        ),
        Command::Worker {
            kind: WorkerKind::Fork { max },
        } => ExitCode::from(isobench::workload::limits::fork_main(max) as u8),
        Command::Worker {
            kind:
                WorkerKind::CpuSpin {
                    threads,
                    idle_threads,
                },
        } => ExitCode::from(isobench::workload::cpuspin::main(threads.max(1), idle_threads) as u8),
        Command::Worker {
            kind: WorkerKind::NsVerify { kind, method },
        } => {
            use isobench::workload::nsverify;
            let parsed = kind
                .parse()
                .and_then(|k| Ok((k, method.map(|m| m.parse()).transpose()?)));
            match parsed {
                Ok((k, None)) => ExitCode::from(nsverify::main(k) as u8),
                Ok((k, Some(m))) => ExitCode::from(nsverify::main_mechanics(k, m) as u8),
                Err(e) => {
                    eprintln!("isobench: error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Worker {
            kind:
                WorkerKind::Spin {
                    max_ms,
                    touch_bytes,
                },
        } => {
            isobench::workload::spin_main(Duration::from_millis(max_ms), touch_bytes);
            ExitCode::SUCCESS
        }
    }
}
