//! Charts: the drawing library. A probe describes its charts as [`Figure`]s
//! (from the [`Run`](crate::record::Run) record alone: raw series where the chart
//! needs them, summaries otherwise, so charts can be redrawn from any result
//! folder); this module draws them to SVG and PNG bytes, and the chart sink
//! (`sink::charts`) writes them under `<run folder>/charts/`.
//!
//! Every chart is written twice, `charts/<id>.svg` and `charts/<id>.png`
//! (960 × 540). Text is drawn with DejaVu Sans compiled into the binary, so the
//! files are the same bytes on every machine, with or without fonts installed.
//! A chart is written only when the run holds data for it: a probe absent from
//! the run, or skipped, gives no chart.
//!
//! # Chart ids (stable file names)
//!
//! One run (each probe's `Probe::figures`):
//!
//! | id | probe | shows |
//! |---|---|---|
//! | `ns-latency-cdf-<method>` | ns_latency | latency CDF (log x), one line per namespace kind, 1 worker; `<method>` is `clone`, `unshare` or `setns` |
//! | `ns-latency-methods` | ns_latency | per kind, p50 bar and p99 whisker of each method (log y), 1 worker |
//! | `ns-latency-concurrency-<method>` | ns_latency | p50 against parallel workers (`-c<N>` cases; log x from a 4× span), one line per kind; only with two levels or more |
//! | `cpu-quota` | cpu_quota | achieved CPU against the configured quota (log-log), the ideal y = x and the tolerance, the expected value where fewer threads than the quota cap it |
//! | `cpu-quota-error` | cpu_quota | per case, achieved − expected in % of expected against the quota, the tolerance shaded (series side by side) |
//! | `cpuset-placement-<case>` | cpuset | the CPU each spinner thread ran on over time (from the probe's per-thread record of CPU changes; a long trace up to the busiest thread's 60th change), allowed CPUs shaded for `pin-*` cases |
//! | `cpuset-migrate-latency` | cpuset | per cpuset change, the time until every thread ran on the new set (`move-*` cases) |
//! | `memory-usage-<limit>` | memory | memory touched over time per case up to `memory.max` (and `memory.high` if the case records `high_bytes`), the kill marked; needs the `trace_touched`/`trace_time` series |
//! | `memory-peak` | memory | per case: memory.max, peak and touched bytes (runs without traces still get it) |
//! | `io-<case>` | io | rate per 250 ms window over time, with the limit, the unthrottled rate (named only when far off the scale) and the achieved mean as horizontal lines |
//! | `cgroup-ops-siblings` | cgroup_ops | p50 and p99 of each cgroup operation against the number of sibling cgroups |
//! | `freezer-latency` | freezer | CDF of freeze and thaw latency per case |
//!
//! Several runs (`Probe::compare_figures`), one colour per run, named in the legend:
//!
//! | id | shows |
//! |---|---|
//! | `compare-ns-latency-cdf-<kind>` | latency CDF of one namespace kind, a line per run and method (solid clone, dashed unshare, dotted setns) |
//! | `compare-ns-latency-<method>` | p50/p99 bars per kind, one bar per run |
//! | `compare-cpu-quota` | achieved against configured quota, points per run |
//! | `compare-cpu-quota-error` | achieved − expected per case, points per run |
//! | `compare-cgroup-ops-<operation>` | p50 and p99 of one cgroup operation against siblings, a line per run |

pub mod axis;
pub mod data;
pub mod draw;
pub mod figure;

pub use figure::Figure;

/// The folder, relative to the run folder, that holds the charts.
pub const CHARTS_DIR: &str = "charts";

/// One chart as written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Stable id, the file stem (see the module docs).
    pub id: String,
    pub title: String,
    /// The probe whose cases it shows.
    pub probe: String,
    /// Path relative to the run folder, e.g. `charts/ns-latency-cdf-clone.svg`.
    pub svg: String,
    /// Path relative to the run folder, e.g. `charts/ns-latency-cdf-clone.png`.
    pub png: String,
}

/// A chart drawn: where it goes and its files' bytes.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub chart: Chart,
    pub svg: Vec<u8>,
    pub png: Vec<u8>,
}

/// Draws every figure, in order, to SVG and PNG bytes.
pub fn draw_all(figs: Vec<Figure>) -> anyhow::Result<Vec<Drawn>> {
    figs.into_iter()
        .map(|fig| {
            Ok(Drawn {
                svg: draw::svg(&fig)?.into_bytes(),
                png: draw::png(&fig)?,
                chart: Chart {
                    svg: format!("{CHARTS_DIR}/{}.svg", fig.id),
                    png: format!("{CHARTS_DIR}/{}.png", fig.id),
                    id: fig.id,
                    title: fig.title,
                    probe: fig.probe,
                },
            })
        })
        .collect()
}
