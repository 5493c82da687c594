//! The isobench command line: parses, calls the library, maps errors to exit codes
//! (0 every verdict passed, 1 a verdict failed, 2 usage / scenario / environment
//! error, 130 interrupted).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

mod cli;
mod summary;

use cli::{Cli, Command, GateArgs, WorkerKind};
use isobench::gate::{self, baseline, GateOptions};
use isobench::progress::Eta;
use isobench::runner::{self, Event, RunOptions};
use isobench::scenario::{Scenario, EMBEDDED};
use isobench::workload::nsbench::{self, Amount, Op};
use isobench::{report, units};

/// Prints an error chain on one line and returns exit code 2.
fn env_error(e: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    eprintln!("isobench: error: {}", chain.join(": "));
    ExitCode::from(2)
}

fn load_scenarios(
    paths: &[PathBuf],
) -> Result<Vec<(String, Scenario)>, isobench::scenario::ScenarioError> {
    let host = isobench::scenario::host_limits();
    if paths.is_empty() {
        let s = Scenario::embedded();
        s.validate(EMBEDDED, &host)?;
        return Ok(vec![(EMBEDDED.to_string(), s)]);
    }
    paths
        .iter()
        .map(|p| {
            let (file, s) = isobench::scenario::resolve(p)?;
            s.validate(&file, &host)?;
            Ok((file, s))
        })
        .collect()
}

/// Width of the terminal on stderr, so the progress line never wraps (a wrapped
/// line cannot be redrawn with `\r`).
fn term_width() -> usize {
    term_width_of(libc::STDERR_FILENO).unwrap_or(80)
}

/// Width of the terminal on `fd`, if it is one.
fn term_width_of(fd: libc::c_int) -> Option<usize> {
    // SAFETY: TIOCGWINSZ only writes a `winsize` into the zeroed struct we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// `s` cut to `width` characters.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// `, about 1:05 left`, once an estimate exists.
fn left_text(eta: &Eta, next: usize) -> String {
    // "Under a second" for the last few cases only: with many still to run, an
    // estimate that small is more likely wrong than the cases that short.
    match eta.left(next) {
        Some(d) if d < Duration::from_secs(1) && eta.cases_left(next) > 3 => {
            ", about 1 s left".into()
        }
        Some(d) if d >= Duration::from_secs(1) => format!(", about {} left", units::clock(d)),
        Some(d) if !d.is_zero() => ", under a second left".into(),
        _ => String::new(),
    }
}

/// Prints the end of a run, finished or interrupted: counts, the cases that
/// did not pass (all with `verbose`), and the folder, or that none was made.
fn print_summary(rows: &[summary::Row], dir: Option<&std::path::Path>, verbose: bool) {
    print!("{}", summary::render(rows, verbose));
    match dir {
        Some(d) => print!("{}", summary::folder(d)),
        None => println!("nothing was written: the run stopped before its result folder was made"),
    }
}

/// `run`'s repetition and baseline flags.
struct Gating {
    repeat: Option<u32>,
    save_baseline: Option<String>,
    baseline: Option<String>,
    args: GateArgs,
}

/// The gate's options from the command line, or the one-line error.
fn gate_options(args: &GateArgs) -> Result<GateOptions, String> {
    let threshold_pct = baseline::check_threshold(&args.threshold.to_string())
        .map_err(|e| format!("--threshold: {e}"))?;
    let metric_thresholds = args
        .metric_threshold
        .iter()
        .map(|s| baseline::parse_metric_threshold(s))
        .collect::<Result<_, _>>()?;
    Ok(GateOptions {
        threshold_pct,
        metric_thresholds,
        ..GateOptions::default()
    })
}

/// Checks `run`'s gating flags before anything is created.
fn check_gating(g: &Gating) -> Result<Option<PathBuf>, String> {
    if let Some(r) = g
        .repeat
        .filter(|r| !(1..=isobench::scenario::MAX_REPEAT).contains(r))
    {
        return Err(format!(
            "--repeat {r}: must be 1 … {} repetitions",
            isobench::scenario::MAX_REPEAT
        ));
    }
    if let Some(n) = &g.save_baseline {
        baseline::check_name(n).map_err(|e| format!("--save-baseline: {e}"))?;
    }
    gate_options(&g.args)?;
    g.baseline
        .as_deref()
        .map(|n| {
            baseline::check_name(n).map_err(|e| format!("--baseline: {e}"))?;
            baseline::resolve(n).map_err(|e| format!("--baseline: {e}"))
        })
        .transpose()
}

fn cmd_run(
    scenarios: Vec<PathBuf>,
    out: Option<PathBuf>,
    quick: bool,
    verbose: bool,
    (cgroup_parent, no_systemd_scope): (Option<String>, bool),
    gating: Gating,
) -> ExitCode {
    let scenarios = match load_scenarios(&scenarios) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("isobench: error: {e}");
            return ExitCode::from(2);
        }
    };
    let base_dir = match check_gating(&gating) {
        Ok(d) => d,
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
    // Bad input first: a refused folder must not cost a scope.
    if let Some(dir) = &out {
        if let Err(e) = isobench::outdir::check(dir) {
            return env_error(&e.into());
        }
    }
    let opts = RunOptions {
        scenarios,
        out,
        quick,
        cgroup_parent,
        repeat: gating.repeat,
    };
    if let Err(e) = runner::check_plan(&opts) {
        return env_error(&e);
    }
    if let Err(code) = place_run(opts.cgroup_parent.is_some(), no_systemd_scope) {
        return code;
    }
    if let Err(e) = isobench::interrupt::install() {
        return env_error(&anyhow::Error::new(e).context("install signal handlers"));
    }
    // A serial console (the test VM) is a terminal but shows escapes raw.
    let tty = std::io::stderr().is_terminal() && std::env::var("TERM").is_ok_and(|t| t != "dumb");
    // Redrawn on the runner's events only: a timer would need a thread, and the
    // harness stays single-threaded for its namespace work.
    let mut eta = Eta::default();
    // What finished and where it went, kept from the events for the summary of
    // a run that ends with an error.
    let mut finished: Vec<summary::Row> = Vec::new();
    let mut folder: Option<PathBuf> = None;
    // When the last case ended: the time until the next one starts is the
    // harness's own (writing the results), which the estimate counts too.
    let mut last_done: Option<Instant> = None;
    let mut on = |ev: Event| match ev {
        Event::Stale(r) => {
            if !r.removed.is_empty() {
                eprintln!(
                    "removed {} leftover cgroup directories of earlier runs",
                    r.removed.len()
                )
            }
            for (p, n) in &r.restored {
                eprintln!("restored {} = {n} (an earlier run was killed)", p.display());
            }
        }
        Event::Folder(d) => {
            eprintln!("writing {}", d.display());
            folder = Some(d.to_path_buf());
        }
        Event::Plan(cases) => eta = Eta::new(cases.iter().map(|c| (c.probe, c.expected))),
        Event::CaseStart {
            index,
            total,
            probe,
            case,
        } => {
            if let Some(t) = last_done.take() {
                eta.between(t.elapsed());
            }
            if tty {
                let line = format!(
                    "[{}/{total}] {probe}/{case} running{}",
                    index + 1,
                    left_text(&eta, index)
                );
                eprint!("\r\x1b[K{}", fit(&line, term_width().saturating_sub(1)))
            }
        }
        Event::CaseDone {
            index,
            total,
            result,
            elapsed,
        } => {
            if tty {
                eprint!("\r\x1b[K");
            }
            eta.finished(index, elapsed);
            finished.push(result.into());
            eprintln!(
                "[{}/{total}] {}/{} {} ({}{})",
                index + 1,
                result.probe,
                result.label(),
                result.verdict.status,
                units::duration(elapsed),
                left_text(&eta, index + 1)
            );
            last_done = Some(Instant::now());
        }
        Event::Warning(w) => {
            if tty {
                eprint!("\r\x1b[K");
            }
            eprintln!("isobench: warning: {w}")
        }
    };
    let result = runner::run(&opts, &mut on);
    // A scope dropped on an error path keeps its cleanup problems for us to show.
    for p in isobench::cgroup::take_cleanup_problems() {
        on(Event::Warning(&p.to_string()));
    }
    if tty {
        // An interrupt leaves the progress line of the case it stopped.
        eprint!("\r\x1b[K");
    }
    let interrupted = |n: usize, written: bool| {
        eprintln!(
            "isobench: interrupted by a signal after {n} finished case(s); {}",
            if written {
                "what finished is in the folder above"
            } else {
                "nothing was written"
            }
        );
        ExitCode::from(130)
    };
    match result {
        Ok(outcome) => {
            let rows: Vec<summary::Row> = outcome.run.cases.iter().map(Into::into).collect();
            print_summary(&rows, Some(&outcome.dir), verbose);
            if outcome.run.interrupted {
                return interrupted(rows.len(), true);
            }
            let mut code = u8::from(outcome.run.failed());
            if let Some(name) = &gating.save_baseline {
                match baseline::save(&outcome.dir, name) {
                    Ok(p) => println!("baseline: {}", p.display()),
                    Err(e) => return env_error(&e),
                }
            }
            if let Some(base) = &base_dir {
                let out = outcome.dir.join("compare");
                match gate_dirs(base, &outcome.dir, &out, &gating.args) {
                    Ok(c) => code = code.max(c),
                    Err(e) => return e,
                }
            }
            ExitCode::from(code)
        }
        // The runner returns the interrupt as an error only before its folder
        // exists; should a later one come this way, the folder the events
        // named is shown, as for any interrupted run.
        Err(e) if runner::is_interrupted(&e) => {
            print_summary(&finished, folder.as_deref(), verbose);
            interrupted(finished.len(), folder.is_some())
        }
        Err(e) => env_error(&e),
    }
}

/// Where systemd owns the own cgroup without delegating it, re-executes the
/// run in a delegated scope of its own (returns only if that fails), or stops
/// when that is turned off. A layout that cannot be read is left for the
/// runner to report.
fn place_run(cgroup_parent: bool, no_scope: bool) -> Result<(), ExitCode> {
    use isobench::delegate::{self, Decision};
    let Ok(layout) = isobench::cgroup::Layout::detect() else {
        return Ok(());
    };
    let manager = isobench::cgroup::manager::detect(&layout);
    let marker = std::env::var(isobench::host::SYSTEMD_SCOPE_ENV).ok();
    let is_root = nix::unistd::geteuid().is_root();
    match delegate::decide(
        &manager,
        is_root,
        no_scope,
        cgroup_parent,
        marker.as_deref(),
        std::process::id(),
        // Others in a cgroup this uid cannot write change nothing: the run
        // leaves it out (Layout::leave_unwritable), a scope or not.
        layout
            .unified()
            .and_then(|h| h.own_dir.as_deref())
            .filter(|d| nix::unistd::access(*d, nix::unistd::AccessFlags::W_OK).is_ok())
            .map_or(0, |_| isobench::cgroup::others_in_own(&layout)),
    ) {
        Decision::Stay => Ok(()),
        Decision::Refuse(why) => {
            eprintln!("isobench: error: {why}");
            Err(ExitCode::from(2))
        }
        Decision::Enter { unit, user, why } => {
            eprintln!(
                "isobench: {why}: running in a new scope {unit}{} with Delegate=yes ({} turns this off)",
                if user { " of the user's manager" } else { "" },
                delegate::NO_SCOPE_FLAG
            );
            let Err(e) = delegate::enter(&unit, user, &manager);
            if user {
                // Without root and without the user's manager, what needs no
                // cgroup still runs (the runner says what skips, or refuses).
                eprintln!("isobench: warning: {e}; going on without a scope");
                return Ok(());
            }
            eprintln!("isobench: error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// `isobench compare BASE CUR`.
fn cmd_compare(base: &str, cur: &str, out: Option<PathBuf>, args: &GateArgs) -> ExitCode {
    let dirs = baseline::resolve(base).and_then(|b| baseline::resolve(cur).map(|c| (b, c)));
    let (b, c) = match dirs {
        Ok(d) => d,
        Err(e) => {
            eprintln!("isobench: error: compare: {e}");
            return ExitCode::from(2);
        }
    };
    let out = out.unwrap_or_else(report::default_compare_dir);
    match gate_dirs(&b, &c, &out, args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => e,
    }
}

/// Compares the run in `cur` with the one in `base`, writes the gate's folder
/// `out`, prints the regressions and counts; the gate's exit code, or the
/// error's.
fn gate_dirs(
    base: &std::path::Path,
    cur: &std::path::Path,
    out: &std::path::Path,
    args: &GateArgs,
) -> Result<u8, ExitCode> {
    let opts = gate_options(args).map_err(|e| {
        eprintln!("isobench: error: {e}");
        ExitCode::from(2)
    })?;
    let load = |d: &std::path::Path| {
        isobench::folder::load(d).map_err(|e| {
            eprintln!("isobench: error: compare: {e}");
            ExitCode::from(2)
        })
    };
    let (b, c) = (load(base)?, load(cur)?);
    // The inputs first, as `report` does; then the folder, before it is written.
    isobench::outdir::check(out).map_err(|e| {
        eprintln!("isobench: error: {e}");
        ExitCode::from(2)
    })?;
    let name = |d: &std::path::Path| d.display().to_string();
    let g = gate::compare((&name(base), &b), (&name(cur), &c), &opts);
    gate::render::write(&g, out).map_err(|e| env_error(&e))?;
    if let Some(why) = &g.incomparable {
        println!("compare: {why}");
    }
    for m in g
        .metrics
        .iter()
        .filter(|m| m.outcome == gate::Outcome::Regressed)
    {
        println!(
            "regressed: {}/{}/{}: {}",
            m.probe, m.case, m.metric, m.reason
        );
    }
    for v in g.verdicts.iter().filter(|v| v.regressed) {
        println!(
            "regressed: {}/{}: verdict {} → fail",
            v.probe,
            v.case,
            v.base.map_or("—".into(), |s| s.to_string())
        );
    }
    println!("compare: {}", gate::render::counts(&g));
    println!("compare report: {}", out.join("compare.md").display());
    Ok(g.exit_code(args.strict))
}

fn cmd_report(dirs: Vec<PathBuf>, out: Option<PathBuf>) -> ExitCode {
    // Every folder is read before anything is written.
    let runs = match report::load_all(&dirs) {
        Ok(r) => r,
        Err(e) => return env_error(&e),
    };
    let written = match &runs[..] {
        [isobench::set::Loaded {
            dir,
            run: Some(run),
            boots:
                isobench::set::Boots {
                    finished: 1,
                    failures,
                },
        }] if failures.is_empty() => report::rerender(dir, run, out.as_deref()),
        _ => {
            let out = out.unwrap_or_else(report::default_compare_dir);
            report::compare(runs, &out)
        }
    };
    match written {
        Ok(w) => {
            println!("report: {}", w.report.display());
            ExitCode::SUCCESS
        }
        Err(e) => env_error(&e),
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
        for (p, n) in &report.restored {
            println!("restored {} = {n} (its run was killed)", p.display());
        }
        for (p, c) in &report.given_back {
            println!(
                "disabled {c} in {} (enabled by a run that was killed)",
                p.display()
            );
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
    // Injected kernel faults from FAILPOINTS (a `failpoints` build only).
    #[cfg(feature = "failpoints")]
    let _faults = fail::FailScenario::setup();
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
                // Into a file or pipe: lines of 100, as a wide terminal shows them.
                let width = term_width_of(libc::STDOUT_FILENO).unwrap_or(100);
                print!("{}", report.to_text(width));
            }
            ExitCode::SUCCESS
        }
        Command::Run {
            scenarios,
            out,
            quick,
            verbose,
            cgroup_parent,
            no_systemd_scope,
            repeat,
            save_baseline,
            baseline,
            gate,
        } => cmd_run(
            scenarios,
            out,
            quick,
            verbose,
            (cgroup_parent, no_systemd_scope),
            Gating {
                repeat,
                save_baseline,
                baseline,
                args: gate,
            },
        ),
        Command::Compare {
            base,
            current,
            out,
            gate,
        } => cmd_compare(&base, &current, out, &gate),
        Command::Report { dirs, out } => cmd_report(dirs, out),
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
                    paired,
                    userns,
                },
        } => {
            if userns {
                if let Err(e) = isobench::ns::enter_user_namespace() {
                    println!("error {e}");
                    return ExitCode::from(1);
                }
            }
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
            ExitCode::from(nsbench::main(op, amount, warmup, paired) as u8)
        }
        Command::Worker {
            kind: WorkerKind::Mem { bytes, rate_mib_s },
        } => ExitCode::from(isobench::workload::mem::main(bytes, rate_mib_s) as u8),
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
            isobench::workload::io::main(&isobench::workload::io::IoJob {
                device: dev,
                write,
                block_bytes,
                region_bytes,
                ms,
                window_ms,
            }) as u8,
        ),
        Command::Worker {
            kind: WorkerKind::Devices { open, mknod },
        } => ExitCode::from(isobench::workload::devices::main(&open, &mknod) as u8),
        Command::Worker {
            kind: WorkerKind::NetSend { packets, netns },
        } => ExitCode::from(isobench::workload::net::send_main(packets, netns.as_deref()) as u8),
        Command::Worker {
            kind: WorkerKind::NetHold,
        } => ExitCode::from(isobench::workload::net::hold_main() as u8),
        Command::Worker {
            kind: WorkerKind::Fork { max },
        } => ExitCode::from(isobench::workload::fork::main(max) as u8),
        Command::Worker {
            kind: WorkerKind::Hugetlb { page_kib, steps },
        } => ExitCode::from(isobench::workload::hugetlb::main(page_kib, &steps) as u8),
        Command::Worker {
            kind:
                WorkerKind::CpuSpin {
                    threads,
                    idle_threads,
                },
        } => ExitCode::from(isobench::workload::cpuspin::main(threads.max(1), idle_threads) as u8),
        Command::Worker {
            kind:
                WorkerKind::NsVerify {
                    kind,
                    method,
                    userns,
                },
        } => {
            use isobench::workload::nsverify;
            if userns {
                if let Err(e) = isobench::ns::enter_user_namespace() {
                    let c = nsverify::Check {
                        pass: false,
                        observed: format!("error: {e}"),
                    };
                    println!("{}", serde_json::to_string(&c).unwrap_or_default());
                    return ExitCode::SUCCESS;
                }
            }
            let parsed = kind
                .parse()
                .and_then(|k| Ok((k, method.map(|m| m.parse()).transpose()?)));
            match parsed {
                Ok((k, m)) => ExitCode::from(nsverify::main(k, m) as u8),
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
        } => ExitCode::from(isobench::workload::spin::main(
            Duration::from_millis(max_ms),
            touch_bytes,
        ) as u8),
    }
}
