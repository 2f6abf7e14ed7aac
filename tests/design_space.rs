//! The open design space: range knobs (a slider's values are options like any other), knobs on
//! a path into a table, the run's bill and the goals that bound it, and designs that must fail.
use std::path::PathBuf;

use eda_playground::engine::World;
use eda_playground::exercise::bill::{Bill, Prices};
use eda_playground::exercise::check::check_exercise;
use eda_playground::exercise::load::parse;
use eda_playground::exercise::model::Origin;
use eda_playground::exercise::{
    Choices, Exercise, GoalState, GoalTracker, LoadError, run_exercise, start_world,
};

/// Packing at 40 ms per order, 30 orders a second for 10 s: one instance manages 25 a second, so
/// orders queue; two keep up.
const BASE: &str = r#"
id = "packing"
title = "Packing"
part = "communication"
order = 1
minutes = 5
summary = "Scale packing."
instructions = "Scale packing, but not too far."
run_for_ms = 12000
seed = 3

[scenario]
[[scenario.channels]]
name = "jobs"
kind = "queue"

[[scenario.producers]]
name = "shop"
channel = "jobs"
event_type = "OrderPlaced"
rate_per_sec = 30
count = 300

[[scenario.consumers]]
name = "packing"
channel = "jobs"
processing_ms = 40
effect = { kind = "once", label = "packed" }
design = { instances = 1, retry = { strategy = "immediate", max_attempts = 5 } }

[chaos]
# The timing varies with the seed; no fault, so a proof is about capacity alone.
min_faults = 0
max_faults = 0

[[knobs]]
id = "instances"
label = "Packing instances"
consumer = "packing"
field = "instances"
range = { min = 1, max = 8 }
unit = "instances"

[[knobs]]
id = "attempts"
label = "Attempts before dead-lettering"
consumer = "packing"
field = "retry.max_attempts"
range = { min = 1, max = 9, step = 2 }

[[goals]]
id = "all-packed"
description = "Every order is packed exactly once"
check = { kind = "exactly_once", consumer = "packing" }

[[goals]]
id = "quick"
description = "p99 latency under 200 ms"
check = { kind = "latency_p99", consumer = "packing", ms = 200 }

[[goals]]
id = "frugal"
description = "At most 3 instances at once"
check = { kind = "max_instances", consumer = "packing", max = 3 }

[[must_fail]]
knobs = { instances = "8" }
why = "Eight instances are fast, and over budget."

[solution]
knobs = { instances = "2" }
explanation = "Two instances keep the latency low at a third of the cost of eight."
"#;

fn load(text: &str) -> Result<Exercise, LoadError> {
    parse(
        text,
        "packing.toml",
        Origin::File(PathBuf::from("packing.toml")),
    )
}

fn choices(pairs: &[(&str, &str)]) -> Choices {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn goal(outcome: &eda_playground::exercise::RunOutcome, id: &str) -> GoalState {
    outcome.goals.iter().find(|g| g.id == id).unwrap().state
}

#[test]
fn a_range_knob_offers_each_value_as_an_option() {
    let exercise = load(BASE).unwrap();
    let instances = exercise.knob("instances").unwrap();
    let ids: Vec<&str> = instances.options.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7", "8"]);
    assert_eq!(instances.options[2].label, "3 instances");
    assert_eq!(instances.options[0].label, "1 instance");
    assert_eq!(instances.default, "1");
    assert!(instances.live && instances.range.is_some());
    let attempts = exercise.knob("attempts").unwrap();
    let ids: Vec<&str> = attempts.options.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["1", "3", "5", "7", "9"]);
    assert_eq!(attempts.default, "5", "the scenario's retry.max_attempts");

    // A path knob sets one number of the retry policy and keeps its strategy.
    let world = start_world(&exercise, &choices(&[("attempts", "3")]), 1, None).unwrap();
    let design = world.consumer_design("packing").unwrap();
    let retry = serde_json::to_value(design.retry).unwrap();
    assert_eq!(retry["max_attempts"], 3);
    assert_eq!(retry["strategy"], "immediate");
}

#[test]
fn bad_ranges_are_refused_with_the_line() {
    let cases = [
        (
            "range = { min = 1, max = 8 }\nunit = \"instances\"",
            "range = { min = 8, max = 1 }",
            "expected min < max",
        ),
        (
            "range = { min = 1, max = 8 }\nunit = \"instances\"",
            "range = { min = 1, max = 500 }",
            "expected at most 100",
        ),
        (
            "range = { min = 1, max = 8 }\nunit = \"instances\"",
            "range = { min = 1, max = 8 }\noptions = [{ value = 1 }, { value = 2 }]",
            "options or a range, not both",
        ),
        (
            "range = { min = 1, max = 8 }\nunit = \"instances\"",
            "range = { min = 2, max = 8 }",
            "none of the options is the scenario's current value 1",
        ),
    ];
    for (from, to, expected) in cases {
        let text = BASE.replacen(from, to, 1);
        let error = load(&text).expect_err(to);
        let shown = error.to_string();
        assert!(shown.contains(expected), "{to}: {shown}");
        assert!(
            shown.contains("packing.toml:4") || shown.contains("packing.toml:3"),
            "the error points at the knob's lines: {shown}"
        );
    }
    let path_error = load(&BASE.replacen(
        "field = \"retry.max_attempts\"",
        "field = \"instances.count\"",
        1,
    ))
    .expect_err("a path through a number");
    assert!(
        path_error.to_string().contains("not a table"),
        "{path_error}"
    );
}

#[test]
fn the_bill_prices_what_the_run_used() {
    let exercise = load(BASE).unwrap();
    let mut world = start_world(&exercise, &choices(&[("instances", "2")]), 1, None).unwrap();
    world.advance_to(10_000);
    let usage = world.usage();
    assert_eq!(usage.instance_ms, 20_000, "two instances for ten seconds");
    assert!(usage.effects > 250, "{usage:?}");
    let bill = Bill::of(&world, &Prices::default());
    assert_eq!(bill.compute, 20.0);
    assert!(
        bill.storage > 0.0 && bill.storage < 1.0,
        "a short queue: {bill:?}"
    );
    assert_eq!(bill.consumers[0].name, "packing");
    assert_eq!(bill.consumers[0].peak_instances, 2);
    let p50 = bill.consumers[0].latency_p50_ms.unwrap();
    assert!(
        (40..=60).contains(&p50),
        "40 ms of work and a little network: {p50}"
    );
    assert!((bill.throughput_per_sec - 30.0).abs() < 3.0, "{bill:?}");

    // The same seed and design give the same bill.
    let mut again = start_world(&exercise, &choices(&[("instances", "2")]), 1, None).unwrap();
    again.advance_to(10_000);
    assert_eq!(again.usage(), usage);

    // A paused consumer: the broker holds every order, and storage grows with time.
    let mut held = World::new(&exercise.scenario, 1).unwrap();
    held.apply(
        0,
        eda_playground::engine::Command::Pause {
            consumer: "packing".into(),
        },
    )
    .unwrap();
    held.advance_to(5_000);
    let early = held.usage().stored_byte_ms;
    held.advance_to(10_000);
    let late = held.usage();
    assert!(late.stored_messages >= 295, "every order waits: {late:?}");
    assert!(
        late.stored_byte_ms > 2 * early,
        "{early} then {}",
        late.stored_byte_ms
    );
    // An order weighs its payload as compact JSON ({}), its key (order-1 to order-300), its type
    // and the envelope.
    let fixed = u64::from(eda_playground::engine::ENVELOPE_BYTES) + "OrderPlaced".len() as u64 + 2;
    let held = late.stored_messages;
    assert!(
        (fixed * held + 7 * held..=fixed * held + 9 * held).contains(&late.stored_bytes),
        "{held} orders of {fixed} bytes and a key of 7 to 9: {late:?}"
    );
}

/// Storage is billed by weight: the same run with payloads ten times heavier holds ten times the
/// bytes for the same time, and its storage line costs that much more; the other lines do not move.
#[test]
fn storage_is_billed_by_the_bytes_held() {
    // Three keys of one length, so that every message of a run weighs the same.
    let light = BASE.replace(
        "count = 300\n",
        "count = 300\nkeys = [\"k1\", \"k2\", \"k3\"]\npayload = { note = \"x\" }\n",
    );
    let bill_of = |text: &str| {
        let exercise = load(text).unwrap();
        let mut world = World::new(&exercise.scenario, 1).unwrap();
        world
            .apply(
                0,
                eda_playground::engine::Command::Pause {
                    consumer: "packing".into(),
                },
            )
            .unwrap();
        world.advance_to(10_000);
        (world.usage(), Bill::of(&world, &Prices::default()))
    };
    let (light_usage, light_bill) = bill_of(&light);
    let size = light_usage.stored_bytes / light_usage.stored_messages;
    // A note that makes each message exactly ten times as heavy.
    let note = "x".repeat(9 * size as usize + 1);
    let heavy = BASE.replace(
        "count = 300\n",
        &format!(
            "count = 300\nkeys = [\"k1\", \"k2\", \"k3\"]\npayload = {{ note = \"{note}\" }}\n"
        ),
    );
    let (heavy_usage, heavy_bill) = bill_of(&heavy);
    assert_eq!(heavy_usage.stored_messages, light_usage.stored_messages);
    assert_eq!(heavy_usage.stored_bytes, 10 * light_usage.stored_bytes);
    assert_eq!(heavy_usage.stored_byte_ms, 10 * light_usage.stored_byte_ms);
    assert!((heavy_bill.storage - 10.0 * light_bill.storage).abs() < 1e-6);
    assert_eq!(heavy_bill.compute, light_bill.compute);
    // 300 orders of `size` bytes waiting, published over 10 s: about 300 × size × 5 s.
    let expected = 300.0 * size as f64 * 5.0 / 1_000.0;
    assert!(
        (light_bill.kilobyte_seconds - expected).abs() < expected * 0.05,
        "{} kilobyte-seconds, about {expected}",
        light_bill.kilobyte_seconds
    );
}

/// The bytes the bill charges for are the bytes the broker holds. Queues and partitions keep a
/// running count as messages come and go; at every second of every bundled exercise, under its
/// default design and its solution, and under a proof's chaos, that count equals a recount made
/// message by message, retries waiting to come back included.
#[test]
fn kept_byte_counts_match_a_recount_in_every_bundled_exercise() {
    use eda_playground::exercise::chaos::schedule_commands;
    let catalog = eda_playground::exercise::catalog::Catalog::bundled();
    for exercise in catalog.exercises() {
        let solution: Choices = exercise.solution.knobs.clone().into_iter().collect();
        for (design, choices, seed) in [("default", Choices::new(), 1), ("solution", solution, 2)] {
            let mut world = start_world(&exercise, &choices, seed, None).unwrap();
            let mut actions = schedule_commands(&exercise.chaos.draw(
                &exercise.scenario,
                exercise.run_for_ms,
                seed,
            ));
            actions.extend(exercise.solution.actions.iter().cloned());
            actions.sort_by_key(|a| a.at_ms);
            let mut actions = actions.into_iter().peekable();
            let mut at = 0;
            while at < exercise.run_for_ms {
                at += 1_000;
                while let Some(action) = actions.next_if(|a| a.at_ms <= at) {
                    let _ = world.apply(action.at_ms, action.action.clone());
                }
                world.advance_to(at);
                let (kept, recounted) = world.stored_bytes_recounted();
                assert_eq!(
                    kept, recounted,
                    "{} ({design}) at {at} ms: the kept count drifted",
                    exercise.id
                );
            }
        }
    }
}

#[test]
fn goals_on_the_bill_tell_cheap_from_fast() {
    let exercise = load(BASE).unwrap();
    let one = run_exercise(&exercise, &choices(&[]), &[], 3).unwrap();
    assert_eq!(
        goal(&one, "quick"),
        GoalState::Broken,
        "one instance queues: {:?}",
        one.goals
    );
    assert_eq!(goal(&one, "frugal"), GoalState::Met);
    let two = run_exercise(&exercise, &choices(&[("instances", "2")]), &[], 3).unwrap();
    assert!(two.all_met(), "{:?}", two.goals);
    let eight = run_exercise(&exercise, &choices(&[("instances", "8")]), &[], 3).unwrap();
    assert_eq!(goal(&eight, "quick"), GoalState::Met);
    let frugal = eight.goals.iter().find(|g| g.id == "frugal").unwrap();
    assert_eq!(frugal.state, GoalState::Broken);
    assert_eq!(
        frugal.reason.as_deref(),
        Some("instances at once reached 8, over the goal's 3")
    );
}

#[test]
fn check_proves_the_must_fail_designs_fail() {
    let exercise = load(BASE).unwrap();
    let report = check_exercise(&exercise, 5);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.must_fail.len(), 1);
    assert_eq!(report.must_fail[0].failing_seeds, 5);

    // A must-fail design that holds is a problem in the exercise.
    let wrong = load(&BASE.replacen(
        "knobs = { instances = \"8\" }",
        "knobs = { instances = \"2\" }",
        1,
    ))
    .unwrap();
    let report = check_exercise(&wrong, 5);
    assert!(!report.ok());
    assert_eq!(report.must_fail[0].failing_seeds, 0);
}

#[test]
fn a_cost_goal_breaks_when_the_bill_passes_it() {
    let text = BASE.replacen(
        "[[must_fail]]",
        "[[goals]]\nid = \"budget\"\ndescription = \"The run costs at most 20 credits\"\ncheck = { kind = \"max_cost\", max = 20 }\n\n[[must_fail]]",
        1,
    );
    let exercise = load(&text).unwrap();
    let two = run_exercise(&exercise, &choices(&[("instances", "2")]), &[], 3).unwrap();
    let budget = two.goals.iter().find(|g| g.id == "budget").unwrap();
    assert_eq!(budget.state, GoalState::Broken, "two instances for 12 s");
    assert_eq!(
        budget.reason.as_deref(),
        Some("the bill reached 24.1 credits, over the goal's 20")
    );
    // It breaks as soon as the bill passes it, not at the end: at 11 s, two instances have cost 22.
    let mut world = start_world(&exercise, &choices(&[("instances", "2")]), 3, None).unwrap();
    world.advance_to(11_000);
    let tracker = GoalTracker::new(&exercise);
    let live = tracker.status(&world, false);
    let budget = live.iter().find(|g| g.id == "budget").unwrap();
    assert_eq!(budget.state, GoalState::Broken, "{budget:?}");
    assert_eq!(budget.at, Some(11_000));
    let roomy = load(&text.replacen("max = 20 }", "max = 30 }", 1)).unwrap();
    let two = run_exercise(&roomy, &choices(&[("instances", "2")]), &[], 3).unwrap();
    assert!(two.all_met(), "{:?}", two.goals);
}

#[test]
fn two_knobs_on_one_field_are_refused() {
    let text = BASE.replacen(
        "[[goals]]",
        "[[knobs]]\nid = \"policy\"\nlabel = \"Retry policy\"\nconsumer = \"packing\"\nfield = \"retry\"\noptions = [\n  { id = \"five\", value = { strategy = \"immediate\", max_attempts = 5 } },\n  { id = \"none\", value = { strategy = \"none\" } },\n]\n\n[[goals]]",
        1,
    );
    let error = load(&text).expect_err("retry and retry.max_attempts");
    assert!(
        error
            .to_string()
            .contains("\"retry\" overlaps knob \"attempts\"'s field \"retry.max_attempts\""),
        "{error}"
    );
}

#[test]
fn a_filter_routes_by_key_and_the_goal_sees_what_it_lets_through() {
    let exercise = eda_playground::exercise::Catalog::bundled()
        .get("routing-filters")
        .expect("bundled");
    // Too broad and too narrow: both goals break, each with the message and its key.
    let default = run_exercise(&exercise, &choices(&[]), &[], 5).unwrap();
    let reasons: Vec<String> = default
        .goals
        .iter()
        .filter_map(|g| g.reason.clone())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("(key orders.us.placed), which does not match orders.eu.placed")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r
                == "not routed to email: key orders.us.placed does not match orders.eu.placed"),
        "{reasons:?}"
    );
    let solved = run_exercise(
        &exercise,
        &choices(&[
            ("warehouse-filter", "orders.eu.placed"),
            ("email-filter", "orders.*.placed"),
        ]),
        &[],
        5,
    )
    .unwrap();
    assert!(solved.all_met(), "{:?}", solved.goals);

    // The engine traces what a filter keeps out, and counts only what it lets through.
    let mut world = World::new(&exercise.scenario, 5).unwrap();
    world.advance_to(30_000);
    let trace = world.drain_trace();
    let not_routed = trace
        .iter()
        .filter(|e| {
            matches!(&e.kind, eda_playground::engine::TraceKind::NotRouted { routing_key, filter, .. }
                if &**routing_key == "orders.eu.cancelled" && &**filter == "orders.eu.placed")
        })
        .count();
    assert_eq!(not_routed, 20, "every EU cancellation kept out of e-mail");
    let topology = world.topology();
    let email = topology
        .consumers
        .iter()
        .find(|c| c.name == "email")
        .unwrap();
    assert_eq!(email.filter.as_deref(), Some("orders.eu.placed"));
}

#[test]
fn filters_and_keys_are_checked_when_the_scenario_loads() {
    let base = eda_playground::exercise::BUNDLED
        .iter()
        .find(|(name, _)| *name == "routing-filters.toml")
        .unwrap()
        .1;
    for (from, to, expected) in [
        (
            "filter = \"orders.#\"",
            "filter = \"orders.eu*\"",
            "stand alone as a whole word",
        ),
        (
            "routing_key = \"orders.us.placed\"",
            "routing_key = \"orders.*.placed\"",
            "no wildcards",
        ),
        ("filter = \"#\"", "filter = \"orders..x\"", "no empty word"),
    ] {
        let text = base.replacen(from, to, 1);
        let error = parse(&text, "r.toml", Origin::File(PathBuf::from("r.toml")))
            .expect_err(to)
            .to_string();
        assert!(error.contains(expected), "{to}: {error}");
    }
}

#[test]
fn an_attribute_filter_matches_payload_fields_as_sns_filter_policies_do() {
    let scenario: eda_playground::engine::Scenario = toml::from_str(
        r#"
[[channels]]
name = "orders"
kind = "topic"

[[producers]]
name = "eu"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 3
payload = { region = "eu", total = 30, coupon = "SPRING24" }

[[producers]]
name = "us"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 3
payload = { region = "us", total = 50 }

[[consumers]]
name = "europe"
channel = "orders"
filter_attributes = { region = { any_of = ["eu", "uk"] } }

[[consumers]]
name = "marketing"
channel = "orders"
filter_attributes = { coupon = { prefix = "SPRING" }, event_type = { equals = "OrderPlaced" } }

[[consumers]]
name = "no-coupon"
channel = "orders"
filter_attributes = { coupon = { exists = false } }
"#,
    )
    .unwrap();
    let mut world = World::new(&scenario, 1).unwrap();
    world.advance_to(2_000);
    let trace = world.drain_trace();
    let reasons: Vec<(u16, String)> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            eda_playground::engine::TraceKind::NotRouted {
                consumer, reason, ..
            } => Some((consumer.0, reason.to_string())),
            _ => None,
        })
        .collect();
    let of = |c: u16| {
        reasons
            .iter()
            .filter(|(who, _)| *who == c)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of(0).len(),
        3,
        "the US orders stay out of europe: {reasons:?}"
    );
    assert_eq!(
        of(0)[0].1,
        "region is \"us\", the filter wants region one of \"eu\", \"uk\""
    );
    assert_eq!(of(1).len(), 3, "only the EU orders carry a coupon");
    assert_eq!(
        of(1)[0].1,
        "coupon is missing, the filter wants coupon starting with \"SPRING\""
    );
    assert_eq!(of(2).len(), 3, "the EU orders have a coupon");
    assert_eq!(
        of(2)[0].1,
        "coupon is \"SPRING24\", the filter wants no coupon"
    );

    // On a queue, a filter is refused.
    let queue =
        toml::to_string(&scenario)
            .unwrap()
            .replacen("kind = \"topic\"", "kind = \"queue\"", 1);
    let scenario: eda_playground::engine::Scenario = toml::from_str(&queue).unwrap();
    let error = World::new(&scenario, 1).err().expect("refused").to_string();
    assert!(
        error.contains("only a topic's subscription filters"),
        "{error}"
    );
}
