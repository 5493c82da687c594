//! Criterion benches of the cgroup primitives the harness drives, and of the
//! harness's own overhead (layout detection, summarising samples), so a change
//! that makes the harness slower than what it measures shows up here.
//!
//! The cgroup benches need root; without it they are skipped with a message.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

use isobench::cgroup::{CpuMax, Layout, Scope, ScopeOptions};
use isobench::record::{Series, Summary};

fn cgroup_ops(c: &mut Criterion) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("cgroup benches skipped: they need root to create cgroups");
        return;
    }
    let layout = Layout::detect().expect("cgroup layout");
    let mut scope = Scope::new(
        &layout,
        &ScopeOptions {
            parent: None,
            run_id: "bench".into(),
        },
    )
    .expect("scope");
    let mut g = c.benchmark_group("cgroup");
    g.sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5));
    g.bench_function("create_remove", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let cg = scope.create("bench-cr").expect("create");
                scope.remove(&cg).expect("remove");
            }
            start.elapsed()
        })
    });
    let cg = scope.create("bench-knobs").expect("create");
    let limits = [
        CpuMax {
            quota: Some(Duration::from_millis(50)),
            period: Duration::from_millis(100),
        },
        CpuMax {
            quota: Some(Duration::from_millis(20)),
            period: Duration::from_millis(100),
        },
    ];
    let mut i = 0;
    g.bench_function("set_cpu_max_read_back", |b| {
        b.iter(|| {
            i ^= 1;
            cg.set_cpu_max(&limits[i]).expect("cpu max")
        })
    });
    g.bench_function("cpu_stat", |b| {
        b.iter(|| black_box(cg.cpu_stat().expect("cpu stat")))
    });
    // Attach: a sleeping process moved back and forth between two cgroups.
    let other = scope.create("bench-other").expect("create");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("sleep");
    let pid = sleeper.id() as i32;
    let mut flip = false;
    g.bench_function("attach", |b| {
        b.iter(|| {
            flip = !flip;
            let to = if flip { &cg } else { &other };
            to.attach(pid).expect("attach")
        })
    });
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    scope.remove(&other).expect("remove");
    g.finish();
    scope.remove(&cg).expect("remove");
    for p in scope.close() {
        eprintln!("cgroup benches: {p}");
    }
}

fn harness_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness");
    g.bench_function("layout_detect", |b| {
        b.iter(|| black_box(Layout::detect().ok()))
    });
    let series = Series {
        metric: "create".into(),
        unit: isobench::record::Unit::Ns,
        values: (0..10_000u64).map(|i| 50_000 + i * 37 % 9_000).collect(),
    };
    g.bench_function("summary_of_10k_samples", |b| {
        b.iter(|| black_box(Summary::of(&series)))
    });
    g.finish();
}

criterion_group!(benches, cgroup_ops, harness_overhead);
criterion_main!(benches);
