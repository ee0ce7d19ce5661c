//! Criterion benches of codegen's pure parts, on the real models/ and suites/:
//! `cargo bench -p codegen --bench codegen`. `cargo xtask bench` copies the last results into
//! docs/benchmarks.md.

use codegen::{scenarios, smithy};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `codegen::run` writes with (it is not benched: it writes files).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen is inside the workspace")
        .to_path_buf()
}

fn benches(c: &mut Criterion) {
    let root = root();
    let model_path = root.join("models/s3.json");
    let suites = root.join("suites");
    let model = smithy::Model::load(&model_path).expect("models/s3.json loads");

    let mut group = c.benchmark_group("codegen");
    // render starts four rustfmt processes: tens of milliseconds an iteration.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("render (models/ + suites/, rustfmt included)", |b| {
        b.iter(|| codegen::render(black_box(&root)).expect("render"))
    });
    group.finish();

    let mut group = c.benchmark_group("codegen");
    group.sample_size(20);
    group.bench_function("load models/s3.json", |b| {
        b.iter(|| smithy::Model::load(black_box(&model_path)).expect("load"))
    });
    group.bench_function("case expansion (scenarios::expand)", |b| {
        b.iter(|| scenarios::expand(black_box(&suites), black_box(&model)).expect("expand"))
    });
    group.finish();
}

criterion_group!(codegen_benches, benches);
criterion_main!(codegen_benches);
