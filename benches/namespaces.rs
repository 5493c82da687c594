//! Criterion benches of namespace creation per kind and method. The timing is
//! taken where the operation happens — inside isobench's single-threaded
//! `ns-bench` worker, around the clone/unshare/setns call — and handed to
//! criterion through `iter_custom`, so neither criterion's threads nor the
//! worker start-up are in the numbers.
//!
//! Needs root; without it every benchmark says why it is skipped.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

use isobench::ns::{self, Method, NsKind};
use isobench::probe::ns_latency;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_isobench"))
}

fn namespaces(c: &mut Criterion) {
    let root = nix::unistd::geteuid().is_root();
    let mut g = c.benchmark_group("ns");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut ops = vec!["noop".to_string()];
    for kind in NsKind::EVERY {
        for method in Method::ALL {
            if ns::unsupported(kind, method).is_none() {
                ops.push(format!("{kind}-{method}"));
            }
        }
    }
    for op in ops {
        if !root && op != "noop" {
            eprintln!("ns/{op}: skipped: creating namespaces needs root (CAP_SYS_ADMIN)");
            continue;
        }
        g.bench_function(&op, |b| {
            b.iter_custom(|iters| match ns_latency::sample(&exe(), &op, iters, 0) {
                Ok(samples) => Duration::from_nanos(samples.iter().sum()),
                Err(e) => panic!("ns/{op}: {e}"),
            })
        });
    }
    g.finish();
}

criterion_group!(benches, namespaces);
criterion_main!(benches);
