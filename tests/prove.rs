//! Proofs: the nemesis, shrinking to a 1-minimal fault schedule, the same report for the same request,
//! `[chaos]` profiles refused with the field named, and the proof pool's bounds.
use std::path::PathBuf;
use std::sync::Arc;

use eda_playground::exercise::chaos::schedule_commands;
use eda_playground::exercise::load::parse;
use eda_playground::exercise::model::Origin;
use eda_playground::exercise::prove::{ProofRequest, prove};
use eda_playground::exercise::runner::run_with_faults;
use eda_playground::exercise::{Catalog, Choices, Exercise, GoalState};
use eda_playground::sandbox::proofs::{MAX_WAITING_PROOFS, ProofPool};

fn bundled(id: &str) -> Arc<Exercise> {
    Catalog::bundled().get(id).expect("a bundled exercise")
}

fn request(choices: Choices, seeds: u32) -> ProofRequest {
    ProofRequest {
        choices,
        actions: Vec::new(),
        seeds,
        first_seed: 1,
    }
}

/// A nemesis schedule is a function of the seed alone.
#[test]
fn the_same_seed_draws_the_same_faults() {
    let exercise = bundled("crashing-consumer");
    let draw = |seed| {
        exercise
            .chaos
            .draw(&exercise.scenario, exercise.run_for_ms, seed)
    };
    assert_eq!(draw(7), draw(7));
    assert!((1..=40).any(|seed| draw(seed) != draw(7)), "seeds differ");
    for seed in 1..=40 {
        let faults = draw(seed);
        let profile = &exercise.chaos;
        assert!(
            faults.len() as u32 >= profile.min_faults && faults.len() as u32 <= profile.max_faults
        );
        assert!(faults.iter().all(|f| profile.faults.contains(&f.kind)));
    }
}

/// Every counterexample is 1-minimal: it breaks its goal, and without any one of its faults the goal holds.
#[test]
fn a_counterexample_needs_every_one_of_its_faults() {
    let mut checked = 0;
    for id in [
        "crashing-consumer",
        "idempotency",
        "out-of-order",
        "delivery-guarantees",
    ] {
        let exercise = bundled(id);
        let report = prove(&exercise, &request(Choices::new(), 60), &mut |_, _| true)
            .unwrap()
            .unwrap();
        for goal in report.goals.iter().filter(|g| g.failed > 0) {
            let example = goal
                .counterexample
                .as_ref()
                .expect("a failing goal has one");
            let faults = exercise
                .chaos
                .draw(&exercise.scenario, exercise.run_for_ms, example.seed);
            let kept: Vec<_> = faults
                .iter()
                .filter(|f| {
                    example
                        .faults
                        .iter()
                        .any(|v| v.at == f.at && v.label == f.kind.label())
                })
                .cloned()
                .collect();
            assert_eq!(
                kept.len(),
                example.faults.len(),
                "{id}: the faults come from the seed's schedule"
            );
            let breaks = |faults: &[_]| {
                let outcome = run_with_faults(
                    &exercise,
                    &Choices::new(),
                    &[],
                    &schedule_commands(faults),
                    example.seed,
                )
                .unwrap();
                outcome
                    .goals
                    .iter()
                    .any(|g| g.id == goal.id && g.state != GoalState::Met)
            };
            assert!(
                breaks(&kept),
                "{id}/{}: the counterexample breaks the goal",
                goal.id
            );
            for index in 0..kept.len() {
                let mut fewer = kept.clone();
                fewer.remove(index);
                assert!(
                    !breaks(&fewer),
                    "{id}/{}: fault {index} of the counterexample is not needed",
                    goal.id
                );
            }
            assert!(!example.sentence.is_empty());
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "enough failing goals were examined ({checked})"
    );
}

/// The same Design and seed count give the same report, whatever else ran between.
#[test]
fn a_proof_is_deterministic() {
    let exercise = bundled("out-of-order");
    let once = prove(&exercise, &request(Choices::new(), 30), &mut |_, _| true)
        .unwrap()
        .unwrap();
    prove(
        &bundled("idempotency"),
        &request(Choices::new(), 10),
        &mut |_, _| true,
    )
    .unwrap();
    let twice = prove(&exercise, &request(Choices::new(), 30), &mut |_, _| true)
        .unwrap()
        .unwrap();
    let mut a = serde_json::to_value(&once).unwrap();
    let mut b = serde_json::to_value(&twice).unwrap();
    a["elapsed_ms"] = 0.into();
    b["elapsed_ms"] = 0.into();
    assert_eq!(a, b);
}

/// A progress callback that says stop cancels the proof.
#[test]
fn a_proof_stops_when_asked() {
    let exercise = bundled("out-of-order");
    let mut calls = 0;
    let outcome = prove(
        &exercise,
        &request(Choices::new(), 500),
        &mut |done, total| {
            calls += 1;
            assert_eq!(total, 500);
            done < 3
        },
    )
    .unwrap();
    assert!(outcome.is_none());
    assert_eq!(calls, 3);
}

const TINY: &str = r#"
id = "tiny"
title = "Tiny"
part = "failures"
order = 1
minutes = 5
summary = "A tiny exercise."
instructions = "Make billing idempotent."
run_for_ms = 20000

[scenario]
[[scenario.channels]]
name = "payments"
kind = "queue"

[[scenario.producers]]
name = "checkout"
channel = "payments"
event_type = "PaymentRequested"
rate_per_sec = 10
count = 100

[[scenario.consumers]]
name = "billing"
channel = "payments"
effect = { kind = "once", label = "charged" }

CHAOS

[[goals]]
id = "once"
description = "Every order is charged once"
check = { kind = "exactly_once", consumer = "billing" }

[solution]
"#;

fn with_chaos(chaos: &str) -> Result<Exercise, String> {
    parse(
        &TINY.replace("CHAOS", chaos),
        "tiny.toml",
        Origin::File(PathBuf::from("tiny.toml")),
    )
    .map_err(|e| e.to_string())
}

/// A bad `[chaos]` table is refused with the field and what was expected.
#[test]
fn a_bad_chaos_profile_is_refused_with_its_field() {
    assert!(with_chaos("[chaos]\nfaults = [\"crash\", \"duplicates\"]").is_ok());
    let unknown = with_chaos("[chaos]\nfaults = [\"earthquake\"]").unwrap_err();
    assert!(unknown.contains("earthquake"), "{unknown}");
    let too_many = with_chaos("[chaos]\nmax_faults = 50").unwrap_err();
    assert!(too_many.contains("chaos.max_faults"), "{too_many}");
    let window = with_chaos("[chaos]\nfrom_ms = 30000").unwrap_err();
    assert!(window.contains("chaos.from_ms"), "{window}");
    let target = with_chaos("[chaos]\ntargets = [\"nobody\"]").unwrap_err();
    assert!(target.contains("\"nobody\""), "{target}");
    let field = with_chaos("[chaos]\nfautls = [\"crash\"]").unwrap_err();
    assert!(field.contains("fautls"), "{field}");
}

/// One worker, a full queue: the next proof is refused with "busy" and a sentence, while the queued ones
/// are told their place.
#[tokio::test]
async fn the_proof_pool_queues_then_refuses() {
    let pool = Arc::new(ProofPool::new(1));
    let exercise = bundled("pubsub-fanout");
    let mut tickets = Vec::new();
    let mut replies = Vec::new();
    for _ in 0..=MAX_WAITING_PROOFS {
        let (reply, inbox) = tokio::sync::mpsc::channel(64);
        tickets.push(
            pool.submit(
                exercise.clone(),
                request(Choices::new(), 1_000),
                reply,
                None,
            )
            .expect("room for it"),
        );
        replies.push(inbox);
    }
    let (running, waiting) = pool.load();
    assert_eq!((running, waiting), (1, MAX_WAITING_PROOFS));
    let last = replies.last_mut().unwrap().recv().await.unwrap();
    assert!(last.as_str().contains("\"position\":16"), "{last}");
    let (reply, _inbox) = tokio::sync::mpsc::channel(64);
    let refused = pool
        .submit(
            exercise.clone(),
            request(Choices::new(), 1_000),
            reply,
            None,
        )
        .unwrap_err();
    assert!(refused.message.contains("busy"), "{}", refused.message);
    for ticket in &tickets {
        ticket.cancel();
    }
}
