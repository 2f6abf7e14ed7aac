//! Engine throughput under criterion: the same workloads as `eda-playground bench`.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eda_playground::headless::{run_workload, workloads};

/// Messages per workload: enough for a stable figure, few enough for a quick run.
const MESSAGES: u64 = 20_000;

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for workload in workloads::throughput(MESSAGES) {
        let (deliveries, _, _) = run_workload(&workload, 1);
        group.throughput(Throughput::Elements(deliveries));
        group.bench_function(workload.name, |b| b.iter(|| run_workload(&workload, 1)));
    }
    let exercise = workloads::exercise_minute();
    group.throughput(Throughput::Elements(1));
    group.bench_function(exercise.name, |b| b.iter(|| run_workload(&exercise, 1)));
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
