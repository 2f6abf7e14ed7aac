//! "Prove it" under criterion: 100 seeds of a bundled exercise's default design (which fails, so shrinking
//! is included) and of its solution, for the slowest exercises to prove. The goal is under 1 s each.
use criterion::{Criterion, criterion_group, criterion_main};
use eda_playground::exercise::Catalog;
use eda_playground::exercise::prove::{ProofRequest, prove};

/// The exercises that took longest to prove with `eda-playground prove`, and a quick one for scale.
const EXERCISES: &[&str] = &[
    "pubsub-fanout",
    "streaming-replay",
    "out-of-order",
    "idempotency",
];

fn proofs(c: &mut Criterion) {
    let catalog = Catalog::bundled();
    let mut group = c.benchmark_group("prove-100-seeds");
    group.sample_size(10);
    for id in EXERCISES {
        let Some(exercise) = catalog.get(id) else {
            continue;
        };
        let default = ProofRequest {
            choices: Default::default(),
            actions: Vec::new(),
            seeds: 100,
            first_seed: 1,
        };
        let solution = ProofRequest {
            choices: exercise.solution.knobs.clone(),
            actions: exercise.solution.actions.clone(),
            ..default.clone()
        };
        group.bench_function(format!("{id}/default"), |b| {
            b.iter(|| prove(&exercise, &default, &mut |_, _| true))
        });
        group.bench_function(format!("{id}/solution"), |b| {
            b.iter(|| prove(&exercise, &solution, &mut |_, _| true))
        });
    }
    group.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
