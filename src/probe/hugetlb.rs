//! `hugetlb`: are the hugetlb limits enforced where they say, for every huge
//! page size? A worker placed in its cgroup before it runs (`isobench worker
//! hugetlb`) maps huge pages of one size (MAP_HUGETLB with the size's flag,
//! private and anonymous: no hugetlbfs mount) and touches them page by page:
//!
//! - `below-<size>`: L−1 pages under `hugetlb.<size>.max` = L pages: it must
//!   survive, and the cgroup's usage must be what it touched;
//! - `above-<size>`: 2L pages mapped (the reservation succeeds: no reservation
//!   limit), touched one by one: the kernel charges at fault time and must
//!   refuse page L+1 with SIGBUS (after exactly L touched), counting a `max` event;
//! - `rsvd-<size>` (Linux ≥ 5.7): `hugetlb.<size>.rsvd.max` = L pages; an mmap
//!   of L+1 pages must fail with ENOMEM and charge nothing, and one of L pages
//!   then succeed and be reserved in full.
//!
//! The witness is the worker's own account: what mmap returned, how many pages
//! it touched before it died, and how it ended; the counters confirm. The pool
//! must hold the pages (else a SIGBUS or ENOMEM would be the pool's, not the
//! limit's): a case without enough free pages is skipped with the command that
//! would provide them, unless the section allows `reserve_pages`, and then the
//! harness grows the pool for the case and sets it back after (the old size is
//! in the run's ownership record, so a killed harness's next run or `isobench
//! clean` sets it back too).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::hugetlb::{self, HugetlbStat, PageSize, HUGEPAGES_DIR};
use crate::cgroup::{Cgroup, Controller};
use crate::markdown::{value, verdict_word, Align, Table};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::spec::{Checked, HostLimits, Keys};
use crate::units::Unit;
use crate::workload::spawn_in;

/// The probe id.
pub const PROBE: &str = "hugetlb";

/// The probe.
pub struct Hugetlb;

/// The `hugetlb` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HugetlbSpec {
    /// Page sizes by the kernel's name (`2MB`, `1GB`); absent: every size the host has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// The limit, in pages of the size (at least 2, so a limit 1.5 times too
    /// high is a whole page off).
    #[serde(default = "default_limit_pages")]
    pub limit_pages: u64,
    /// Pages the harness may add to a size's pool for a case (0: never touch
    /// the pool; a case it cannot serve is skipped with the command to run).
    #[serde(default)]
    pub reserve_pages: u64,
    /// How long the worker holds its pages before the counters are read, ms.
    #[serde(default)]
    pub hold_ms: u64,
}

fn default_limit_pages() -> u64 {
    4
}

/// What a hugetlb case does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HugetlbKind {
    /// Touch L−1 pages under a limit of L: survives, all charged.
    Below,
    /// Touch 2L pages under a limit of L: SIGBUS at page L+1.
    Above,
    /// Reserve L+1 pages under a reservation limit of L: ENOMEM, nothing charged.
    Rsvd,
}

impl HugetlbKind {
    const ALL: [HugetlbKind; 3] = [HugetlbKind::Below, HugetlbKind::Above, HugetlbKind::Rsvd];

    /// The case id's first part.
    pub fn name(self) -> &'static str {
        match self {
            HugetlbKind::Below => "below",
            HugetlbKind::Above => "above",
            HugetlbKind::Rsvd => "rsvd",
        }
    }

    /// The worker's steps (map, touch) for a limit of `l` pages.
    pub fn steps(self, l: u64) -> Vec<(u64, u64)> {
        match self {
            HugetlbKind::Below => vec![(l - 1, l - 1)],
            HugetlbKind::Above => vec![(2 * l, 2 * l)],
            // Over the reservation limit, then (a control) at it.
            HugetlbKind::Rsvd => vec![(l + 1, 0), (l, 0)],
        }
    }

    /// Free pages the pool needs so that only the limit can refuse the worker.
    pub fn pool_pages(self, l: u64) -> u64 {
        self.steps(l).iter().map(|s| s.0).max().unwrap_or(0)
    }
}

/// One hugetlb case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HugetlbCase {
    /// `<kind>-<size>`, e.g. `above-2MB`.
    pub id: String,
    pub kind: HugetlbKind,
    /// The size as named in the scenario (or found on the host).
    pub size: String,
    pub page_size_bytes: u64,
    pub limit_pages: u64,
    pub reserve_pages: u64,
    pub hold_ms: u64,
}

impl Probe for Hugetlb {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Hugetlb limits";
    const GROUP: Group = Group::Fidelity;
    type Section = HugetlbSpec;

    fn validate(s: &HugetlbSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        if let Some(sizes) = &s.sizes {
            k.non_empty("sizes", sizes, "names no page size")?;
            if let Some(bad) = sizes.iter().find(|v| PageSize::parse(v).is_none()) {
                return Err(k
                    .invalid("sizes", format!("{bad:?}"), "is not a huge page size")
                    .hint("name sizes as the kernel does: \"2MB\", \"1GB\" (see /sys/kernel/mm/hugepages)"));
            }
        }
        k.range_says(
            "limit_pages",
            s.limit_pages,
            2..=512,
            "must be 2 … 512 (a limit of 1 page cannot tell a limit 1.5 times too high)",
        )?;
        k.at_most("reserve_pages", s.reserve_pages, 1024, "")?;
        k.at_most("hold_ms", s.hold_ms, 600_000, " (10 min)")
    }

    fn expand(s: &HugetlbSpec, _env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let sizes: Vec<PageSize> = match &s.sizes {
            Some(names) => names.iter().filter_map(|n| PageSize::parse(n)).collect(),
            None => hugetlb::sizes(Path::new(HUGEPAGES_DIR)),
        };
        let mut out: Vec<Box<dyn Case>> = Vec::new();
        for size in sizes {
            for kind in HugetlbKind::ALL {
                out.push(Box::new(HugetlbCase {
                    id: format!("{}-{size}", kind.name()),
                    kind,
                    size: size.to_string(),
                    page_size_bytes: size.bytes(),
                    limit_pages: s.limit_pages,
                    reserve_pages: s.reserve_pages,
                    hold_ms: s.hold_ms,
                }));
            }
        }
        out
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(host.controller(Controller::Hugetlb))
            .and(pool_readiness(host))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report(cases)
    }
}

/// Sizes, free pages per size, and whether reservation limits exist.
fn pool_readiness(host: &HostFacts) -> Readiness {
    let root = Path::new(HUGEPAGES_DIR);
    let sizes = hugetlb::sizes(root);
    if sizes.is_empty() {
        return Readiness::new(
            false,
            "this kernel has no huge page sizes (no /sys/kernel/mm/hugepages)",
        );
    }
    let pools: Vec<String> = sizes
        .iter()
        .map(|&s| match hugetlb::pool(root, s) {
            Ok(p) => format!("{s} {} free of {}", p.free, p.nr),
            Err(_) => format!("{s} pool unreadable"),
        })
        .collect();
    let own = host.layout.as_ref().and_then(|l| {
        let i = l.placement(Controller::Hugetlb).hierarchy?;
        l.hierarchies[i].own_dir.clone()
    });
    let rsvd = match own.as_deref().and_then(hugetlb::rsvd_files) {
        Some(true) => "reservation limits: yes (hugetlb.<size>.rsvd.*)".to_string(),
        Some(false) => "reservation limits: no (Linux < 5.7): rsvd cases skip".to_string(),
        None => "reservation limits: seen once a cgroup is made (Linux ≥ 5.7 has them)".to_string(),
    };
    Readiness::new(
        true,
        format!("huge pages {}; {rsvd}; a case whose pool is short skips unless the section sets reserve_pages", pools.join(", ")),
    )
}

impl Case for HugetlbCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(Duration::from_millis(self.hold_ms))
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        run(self, ctx)
    }
}

/// What the worker did and what the counters said, for the verdict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Each step's mmap: pages asked and the errno (None: mapped).
    pub maps: Vec<(u64, Option<i32>)>,
    /// Pages the worker reported touched.
    pub touched_pages: u64,
    /// The signal that ended it (None: it exited).
    pub signal: Option<i32>,
    pub exit_code: Option<i32>,
    /// The counters after each step the worker finished (it waits there).
    pub at_wait: Vec<HugetlbStat>,
    /// The highest fault-time charge read while it touched pages, bytes.
    pub peak_usage_bytes: u64,
    /// New refusals at the fault-time limit over the case.
    pub max_events: u64,
    /// The worker was in the hugetlb hierarchy's cgroup at its first wait
    /// (None: it never reached one).
    pub in_cgroup: Option<bool>,
}

/// How a worker ended, in words.
fn ending(o: &Observed) -> String {
    match (o.signal, o.exit_code) {
        (Some(s), _) => format!("died of {}", signal_name(s)),
        (None, Some(0)) => "exited normally".into(),
        (None, Some(c)) => format!("exited with status {c}"),
        (None, None) => "ended unseen".into(),
    }
}

fn signal_name(s: i32) -> String {
    nix::sys::signal::Signal::try_from(s).map_or(format!("signal {s}"), |sig| sig.to_string())
}

fn errno_name(e: i32) -> String {
    nix::errno::Errno::from_raw(e).to_string()
}

/// Judges a case from what was observed: `l` the limit in pages, `page` the
/// page size in bytes.
pub fn verdict(kind: HugetlbKind, l: u64, page: u64, o: &Observed) -> Verdict {
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64);
    let lim = format!("limit {l} pages ({})", mib(l * page));
    if o.in_cgroup == Some(false) {
        return Verdict::fail(format!(
            "the worker was not in the hugetlb hierarchy's cgroup (cgroup.procs of that directory does not list it); {lim}"
        ));
    }
    let mapped = |i: usize| o.maps.get(i).copied();
    match kind {
        HugetlbKind::Below => {
            let want = l - 1;
            let usage = o.at_wait.first().map(|s| s.current_bytes);
            match (mapped(0), usage) {
                (Some((_, Some(e))), _) => Verdict::fail(format!(
                    "mmap of {want} pages under a {lim} failed with {}",
                    errno_name(e)
                )),
                (Some((_, None)), Some(u))
                    if o.touched_pages == want && u == want * page && o.signal.is_none() =>
                {
                    Verdict::pass(format!(
                        "touched {want} pages ({}) under a {lim} and survived; the cgroup's usage was {} ({} pages), what it touched",
                        mib(want * page),
                        mib(u),
                        u / page
                    ))
                }
                _ => Verdict::fail(format!(
                    "expected {want} pages touched and charged under a {lim}: touched {} pages, usage {}, {}",
                    o.touched_pages,
                    usage.map_or("never read (the worker did not finish)".into(), |u| format!("{} ({} pages)", mib(u), u / page)),
                    ending(o)
                )),
            }
        }
        HugetlbKind::Above => {
            let asked = 2 * l;
            let facts = format!(
                "touched {} of {asked} pages under a {lim}, then {}; events max +{}",
                o.touched_pages,
                ending(o),
                o.max_events
            );
            if let Some((_, Some(e))) = mapped(0) {
                return Verdict::fail(format!(
                    "mmap of {asked} pages failed with {} (the pool had them, and no reservation limit was set); {lim}",
                    errno_name(e)
                ));
            }
            if o.touched_pages > l {
                Verdict::fail(format!(
                    "the worker touched more than the limit before any refusal: {facts}"
                ))
            } else if o.touched_pages < l {
                Verdict::fail(format!("refused before the limit: {facts}"))
            } else if o.signal != Some(libc::SIGBUS) {
                Verdict::fail(format!("expected SIGBUS at page {}: {facts}", l + 1))
            } else if o.max_events == 0 {
                Verdict::fail(format!(
                    "SIGBUS at page {} but the cgroup counted no refusal: {facts}",
                    l + 1
                ))
            } else {
                Verdict::pass(format!(
                    "SIGBUS at page {} exactly: {facts}; highest charge seen {}",
                    l + 1,
                    mib(o.peak_usage_bytes)
                ))
            }
        }
        HugetlbKind::Rsvd => {
            let over = o.at_wait.first();
            let at = o.at_wait.get(1);
            let charged = over.map(|s| (s.current_bytes, s.rsvd_current_bytes.unwrap_or(0)));
            match (mapped(0), mapped(1), charged, at) {
                (Some((_, None)), ..) => Verdict::fail(format!(
                    "mmap of {} pages succeeded over a reservation {lim}; {}",
                    l + 1,
                    ending(o)
                )),
                (Some((_, Some(e))), ..) if e != libc::ENOMEM => Verdict::fail(format!(
                    "mmap of {} pages over a reservation {lim} failed with {}, expected ENOMEM",
                    l + 1,
                    errno_name(e)
                )),
                (Some(_), _, Some((c, r)), _) if c > 0 || r > 0 => Verdict::fail(format!(
                    "the refused mmap of {} pages left a charge: usage {}, reserved {}; {lim}",
                    l + 1,
                    mib(c),
                    mib(r)
                )),
                (Some(_), Some((_, None)), Some(_), Some(s)) if s.rsvd_current_bytes == Some(l * page) => {
                    Verdict::pass(format!(
                        "mmap of {} pages over a reservation {lim} failed with ENOMEM and charged nothing; {l} pages then mapped, {} reserved",
                        l + 1,
                        mib(l * page)
                    ))
                }
                _ => Verdict::fail(format!(
                    "after the refused mmap of {} pages, mmap of {l} pages (at the reservation {lim}): {}, reserved {}; {}",
                    l + 1,
                    mapped(1).map_or("not reached".into(), |m| m.1.map_or("mapped".into(), errno_name)),
                    at.and_then(|s| s.rsvd_current_bytes).map_or("unread".into(), mib),
                    ending(o)
                )),
            }
        }
    }
}

/// Runs one hugetlb case.
fn run(case: &HugetlbCase, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if ctx.layout.placement(Controller::Hugetlb).version.is_none() {
        result.judge(Verdict::skip(ctx.layout.absence(Controller::Hugetlb)));
        return Ok(result.finish());
    }
    let Some(size) = PageSize::parse(&case.size) else {
        result.judge(Verdict::fail(format!("not a page size: {}", case.size)));
        return Ok(result.finish());
    };
    let root = Path::new(HUGEPAGES_DIR);
    if !hugetlb::sizes(root).contains(&size) {
        result.judge(Verdict::skip(format!(
            "this kernel has no {size} huge pages (no {})",
            size.pool_dir(root).display()
        )));
        return Ok(result.finish());
    }
    let need = case.kind.pool_pages(case.limit_pages);
    // The pool: enough free pages that only the limit can refuse the worker.
    let pool = hugetlb::pool(root, size)?;
    let mut grown = false;
    if pool.free < need {
        let short = need - pool.free;
        let cmd = format!(
            "echo {} > {}",
            pool.nr + short,
            size.pool_dir(root).join(hugetlb::NR_HUGEPAGES).display()
        );
        if short > case.reserve_pages {
            result.judge(Verdict::skip(format!(
                "the {size} pool has {} free pages and the case needs {need}{}; hint: `{cmd}` (and set it back after), or let the harness do it for the case: reserve_pages = {short} in the [hugetlb] section",
                pool.free,
                if case.reserve_pages > 0 { format!(" ({short} short, and reserve_pages = {} lets the harness add only that many)", case.reserve_pages) } else { String::new() }
            )));
            return Ok(result.finish());
        }
        let got = ctx.scope.set_hugepage_pool(size, pool.nr + short)?;
        grown = true;
        if got.free < need {
            ctx.scope.restore_hugepage_pool(size)?;
            result.judge(Verdict::skip(format!(
                "asked the kernel for {} pages of {size} (the case needs {need} free), it gave {} ({} free): no contiguous memory for them at run time; the pool is set back to {}",
                pool.nr + short,
                got.nr,
                got.free,
                pool.nr
            )));
            return Ok(result.finish());
        }
    }
    let measured = measure(case, size, ctx);
    if grown {
        ctx.scope.restore_hugepage_pool(size)?;
    }
    let o = match measured? {
        Ok(o) => o,
        Err(v) => {
            result.judge(v);
            return Ok(result.finish());
        }
    };
    let page = size.bytes();
    let l = case.limit_pages;
    let usage = match case.kind {
        HugetlbKind::Above => o.peak_usage_bytes,
        _ => o.at_wait.first().map_or(0, |s| s.current_bytes),
    };
    let mmap_errno = o.maps.first().and_then(|m| m.1).unwrap_or(0) as u64;
    result.series = vec![
        Series::new("page_size_bytes", Unit::Bytes, vec![page]),
        Series::new("limit_bytes", Unit::Bytes, vec![l * page]),
        Series::new("touched_bytes", Unit::Bytes, vec![o.touched_pages * page]),
        Series::new("usage_bytes", Unit::Bytes, vec![usage]),
        Series::new("max_events", Unit::Count, vec![o.max_events]),
        // How it ended: the signal (0: it exited) and the first mmap's errno (0: mapped).
        Series::new(
            "end_signal",
            Unit::Count,
            vec![o.signal.unwrap_or(0) as u64],
        ),
        Series::new("mmap_errno", Unit::Count, vec![mmap_errno]),
    ];
    if case.kind == HugetlbKind::Rsvd {
        if let Some(r) = o.at_wait.get(1).and_then(|s| s.rsvd_current_bytes) {
            result
                .series
                .push(Series::new("reserved_bytes", Unit::Bytes, vec![r]));
        }
    }
    result.judge(verdict(case.kind, l, page, &o));
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}

/// Sets the limit and runs the worker in a fresh cgroup. `Ok(Err(v))`: the
/// case ends with verdict `v` (a skip where the kernel lacks the limit).
fn measure(
    case: &HugetlbCase,
    size: PageSize,
    ctx: &mut Ctx,
) -> Result<Result<Observed, Verdict>, ProbeError> {
    let cg = ctx.scope.create(&format!("hugetlb-{}", case.id))?;
    let r = in_cgroup(case, size, &cg, ctx.exe);
    ctx.scope.remove(&cg)?;
    r
}

fn in_cgroup(
    case: &HugetlbCase,
    size: PageSize,
    cg: &Cgroup,
    exe: &Path,
) -> Result<Result<Observed, Verdict>, ProbeError> {
    let limit = case.limit_pages * size.bytes();
    if case.kind == HugetlbKind::Rsvd {
        match cg.set_hugetlb_rsvd_max(size, limit) {
            Ok(true) => {}
            Ok(false) => {
                return Ok(Err(Verdict::skip(format!(
                    "this kernel has no hugetlb reservation limits (no hugetlb.{size}.rsvd.*: Linux ≥ 5.7)"
                ))))
            }
            Err(e) => return Ok(Err(Verdict::fail(format!("set the reservation limit: {e}")))),
        }
    } else if let Err(e) = cg.set_hugetlb_max(size, limit) {
        return Ok(Err(Verdict::fail(format!("set the hugetlb limit: {e}"))));
    }
    let before = cg.hugetlb_stat(size)?;
    let steps: Vec<String> = case
        .kind
        .steps(case.limit_pages)
        .iter()
        .map(|(m, t)| format!("{m}:{t}"))
        .collect();
    let mut cmd = Command::new(exe);
    // Its own process group: a Ctrl-C at the terminal interrupts the harness,
    // which stops the case; the worker must not die of it and be judged.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args([
        "worker",
        "hugetlb",
        "--page-kib",
        &size.kib.to_string(),
        "--steps",
        &steps.join(","),
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    let mut child = spawn_in(&mut cmd, cg)?;
    let pid = child.id() as i32;
    let mut o = Observed::default();
    let out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut stdin = child.stdin.take();
    for line in out.lines() {
        let Ok(line) = line else { break };
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["mmap", n, "ok"] => o.maps.push((n.parse().unwrap_or(0), None)),
            ["mmap", n, "err", e] => o
                .maps
                .push((n.parse().unwrap_or(0), Some(e.parse().unwrap_or(0)))),
            ["touched", n] => {
                o.touched_pages = n.parse().unwrap_or(0);
                // Best effort: the worker goes on touching meanwhile.
                if let Ok(s) = cg.hugetlb_stat(size) {
                    o.peak_usage_bytes = o.peak_usage_bytes.max(s.current_bytes);
                }
            }
            ["wait"] => {
                if o.in_cgroup.is_none() {
                    o.in_cgroup = Some(cg.holds(Controller::Hugetlb, pid)?);
                    if case.hold_ms > 0 {
                        crate::interrupt::sleep(Duration::from_millis(case.hold_ms))?;
                    }
                }
                let s = cg.hugetlb_stat(size)?;
                o.peak_usage_bytes = o.peak_usage_bytes.max(s.current_bytes);
                o.at_wait.push(s);
                if let Some(w) = stdin.as_mut() {
                    let _ = w.write_all(b"g");
                }
            }
            _ => {}
        }
    }
    drop(stdin);
    let status = child.wait().map_err(|source| ProbeError::Spawn {
        path: exe.to_path_buf(),
        source,
    })?;
    o.signal = status.signal();
    o.exit_code = status.code();
    o.max_events = cg
        .hugetlb_stat(size)?
        .max_events
        .saturating_sub(before.max_events);
    Ok(Ok(o))
}

fn report(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("page", Align::Right),
        ("limit", Align::Right),
        ("touched", Align::Right),
        ("usage", Align::Right),
        ("max events", Align::Right),
        ("ended by", Align::Left),
        ("mmap", Align::Left),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        if c.summaries.is_empty() {
            t.unmeasured(vec![c.case.clone()], c);
            continue;
        }
        let num = |m: &str| c.summary(m).map(|s| s.max);
        let ended = match num("end_signal") {
            Some(0) => "exit".to_string(),
            Some(s) => signal_name(s as i32),
            None => "—".into(),
        };
        let mmap = match num("mmap_errno") {
            Some(0) => "ok".to_string(),
            Some(e) => errno_name(e as i32),
            None => "—".into(),
        };
        t.row(vec![
            c.case.clone(),
            value(c, "page_size_bytes"),
            value(c, "limit_bytes"),
            value(c, "touched_bytes"),
            value(c, "usage_bytes"),
            value(c, "max_events"),
            ended,
            mmap,
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "Per huge page size, a limit of L pages. `below` touches L−1 pages (must survive, all \
         charged); `above` maps 2L and touches them one by one (SIGBUS at page L+1, counted as a \
         `max` event); `rsvd` maps L+1 pages under a reservation limit of L (mmap fails with \
         ENOMEM, nothing charged; then L pages map). *usage*: the charge after `below`'s pages \
         were touched, the highest seen during `above`, after the refused mmap in `rsvd`.\n\n{}\n",
        t.render()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 2 << 20;

    fn stat(current_pages: u64, rsvd_pages: u64) -> HugetlbStat {
        HugetlbStat {
            current_bytes: current_pages * P,
            rsvd_current_bytes: Some(rsvd_pages * P),
            max_events: 0,
        }
    }

    #[test]
    fn steps_and_pool_needs() {
        assert_eq!(HugetlbKind::Below.steps(4), [(3, 3)]);
        assert_eq!(HugetlbKind::Above.steps(4), [(8, 8)]);
        assert_eq!(HugetlbKind::Rsvd.steps(4), [(5, 0), (4, 0)]);
        assert_eq!(HugetlbKind::Above.pool_pages(4), 8);
        assert_eq!(HugetlbKind::Rsvd.pool_pages(4), 5);
        for k in HugetlbKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
        }
    }

    #[test]
    fn below_passes_only_when_survived_and_charged_in_full() {
        let ok = Observed {
            maps: vec![(3, None)],
            touched_pages: 3,
            exit_code: Some(0),
            at_wait: vec![stat(3, 3)],
            in_cgroup: Some(true),
            ..Observed::default()
        };
        let v = verdict(HugetlbKind::Below, 4, P, &ok);
        assert_eq!(v.status, crate::record::Status::Pass, "{}", v.reason);
        // Not charged: the worker was elsewhere.
        let v = verdict(
            HugetlbKind::Below,
            4,
            P,
            &Observed {
                at_wait: vec![stat(0, 0)],
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        assert!(v.reason.contains("usage 0 MiB"), "{}", v.reason);
        let v = verdict(
            HugetlbKind::Below,
            4,
            P,
            &Observed {
                in_cgroup: Some(false),
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        let v = verdict(
            HugetlbKind::Below,
            4,
            P,
            &Observed {
                signal: Some(libc::SIGBUS),
                touched_pages: 2,
                at_wait: vec![],
                exit_code: None,
                ..ok
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        assert!(v.reason.contains("SIGBUS"), "{}", v.reason);
    }

    #[test]
    fn above_needs_sigbus_exactly_past_the_limit_and_an_event() {
        let ok = Observed {
            maps: vec![(8, None)],
            touched_pages: 4,
            signal: Some(libc::SIGBUS),
            max_events: 1,
            peak_usage_bytes: 4 * P,
            ..Observed::default()
        };
        assert_eq!(
            verdict(HugetlbKind::Above, 4, P, &ok).status,
            crate::record::Status::Pass
        );
        // The limit ignored: all 8 touched, survived.
        let v = verdict(
            HugetlbKind::Above,
            4,
            P,
            &Observed {
                touched_pages: 8,
                signal: None,
                exit_code: Some(0),
                max_events: 0,
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        assert!(v.reason.contains("more than the limit"), "{}", v.reason);
        // 1.5 times the limit: SIGBUS at page 7.
        let v = verdict(
            HugetlbKind::Above,
            4,
            P,
            &Observed {
                touched_pages: 6,
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        assert!(v.reason.contains("touched 6 of 8"), "{}", v.reason);
        // Right place, but no counter moved.
        let v = verdict(
            HugetlbKind::Above,
            4,
            P,
            &Observed {
                max_events: 0,
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        // Killed by something else at the limit.
        let v = verdict(
            HugetlbKind::Above,
            4,
            P,
            &Observed {
                signal: Some(libc::SIGKILL),
                ..ok
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
    }

    #[test]
    fn rsvd_needs_enomem_nothing_charged_and_the_control_reserved() {
        let ok = Observed {
            maps: vec![(5, Some(libc::ENOMEM)), (4, None)],
            exit_code: Some(0),
            at_wait: vec![stat(0, 0), stat(0, 4)],
            in_cgroup: Some(true),
            ..Observed::default()
        };
        let v = verdict(HugetlbKind::Rsvd, 4, P, &ok);
        assert_eq!(v.status, crate::record::Status::Pass, "{}", v.reason);
        // Ignored or 1.5 times: the mmap of 5 pages succeeds.
        let v = verdict(
            HugetlbKind::Rsvd,
            4,
            P,
            &Observed {
                maps: vec![(5, None), (4, None)],
                at_wait: vec![stat(0, 5), stat(0, 9)],
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        assert!(v.reason.contains("succeeded"), "{}", v.reason);
        // Refused, but something stayed charged.
        let v = verdict(
            HugetlbKind::Rsvd,
            4,
            P,
            &Observed {
                at_wait: vec![stat(0, 5), stat(0, 4)],
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        // Another errno.
        let v = verdict(
            HugetlbKind::Rsvd,
            4,
            P,
            &Observed {
                maps: vec![(5, Some(libc::EINVAL)), (4, None)],
                ..ok.clone()
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
        // The control at the limit refused too.
        let v = verdict(
            HugetlbKind::Rsvd,
            4,
            P,
            &Observed {
                maps: vec![(5, Some(libc::ENOMEM)), (4, Some(libc::ENOMEM))],
                at_wait: vec![stat(0, 0), stat(0, 0)],
                ..ok
            },
        );
        assert_eq!(v.status, crate::record::Status::Fail);
    }
}
