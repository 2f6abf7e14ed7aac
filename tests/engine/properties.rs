//! Properties that hold whatever faults happen, checked over random fault schedules.
use std::collections::{BTreeMap, BTreeSet};

use eda_playground::engine::{Command, LinkConditions, MessageId, TraceEvent, TraceKind, World};
use proptest::prelude::*;

use crate::support::*;

/// A fault at a virtual instant, drawn by proptest.
#[derive(Debug, Clone)]
enum Fault {
    Crash(u32),
    Restart,
    Pause,
    Resume,
    Slow(u32),
    Jitter(u64),
    Loss(f64),
    Duplicate(f64),
    Cut,
    Restore,
    AddInstance,
    RemoveInstance,
    RestartBroker(u64),
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (0u32..3).prop_map(Fault::Crash),
        Just(Fault::Restart),
        Just(Fault::Pause),
        Just(Fault::Resume),
        (1u32..8).prop_map(Fault::Slow),
        (0u64..300).prop_map(Fault::Jitter),
        (0.0f64..0.4).prop_map(Fault::Loss),
        (0.0f64..0.4).prop_map(Fault::Duplicate),
        Just(Fault::Cut),
        Just(Fault::Restore),
        Just(Fault::AddInstance),
        Just(Fault::RemoveInstance),
        (100u64..2_000).prop_map(Fault::RestartBroker),
    ]
}

fn schedule() -> impl Strategy<Value = Vec<(u64, Fault)>> {
    prop::collection::vec((0u64..20_000, fault()), 0..25).prop_map(|mut faults| {
        faults.sort_by_key(|(at, _)| *at);
        faults
    })
}

fn command(consumer: &str, fault: &Fault) -> Command {
    let c = consumer.to_owned();
    let link = |conditions: LinkConditions| Command::SetLink {
        service: c.clone(),
        conditions,
    };
    match fault {
        Fault::Crash(instance) => Command::Crash {
            consumer: c.clone(),
            instance: Some(*instance),
        },
        Fault::Restart => Command::Restart {
            consumer: c.clone(),
            instance: None,
        },
        Fault::Pause => Command::Pause {
            consumer: c.clone(),
        },
        Fault::Resume => Command::Resume {
            consumer: c.clone(),
        },
        Fault::Slow(factor) => Command::Slow {
            consumer: c.clone(),
            factor: *factor,
        },
        Fault::Jitter(jitter_ms) => link(LinkConditions {
            latency_ms: 5,
            jitter_ms: *jitter_ms,
            ..Default::default()
        }),
        Fault::Loss(loss) => link(LinkConditions {
            loss: *loss,
            ..Default::default()
        }),
        Fault::Duplicate(duplicate) => link(LinkConditions {
            duplicate: *duplicate,
            ..Default::default()
        }),
        Fault::Cut => Command::CutLink { service: c.clone() },
        Fault::Restore => Command::RestoreLink { service: c.clone() },
        Fault::AddInstance => Command::AddInstance {
            consumer: c.clone(),
        },
        Fault::RemoveInstance => Command::RemoveInstance {
            consumer: c.clone(),
        },
        Fault::RestartBroker(downtime_ms) => Command::RestartBroker {
            downtime_ms: *downtime_ms,
        },
    }
}

/// Runs a world through a fault schedule, then heals everything and lets it settle.
fn run_with_faults(
    text: &str,
    seed: u64,
    consumer: &str,
    faults: &[(u64, Fault)],
) -> (World, Vec<TraceEvent>) {
    let mut world = world(text, seed);
    let mut events = Vec::new();
    for (at, fault) in faults {
        // A fault that does not apply (an instance that does not exist) is skipped.
        let _ = world.apply(*at, command(consumer, fault));
        events.extend(world.drain_trace());
        let (kept, recounted) = world.stored_bytes_recounted();
        assert_eq!(kept, recounted, "the bytes billed drifted at {at} ms");
    }
    let heal = [
        Command::SetLink {
            service: consumer.to_owned(),
            conditions: LinkConditions::default(),
        },
        Command::Resume {
            consumer: consumer.to_owned(),
        },
        Command::Slow {
            consumer: consumer.to_owned(),
            factor: 1,
        },
        Command::Restart {
            consumer: consumer.to_owned(),
            instance: None,
        },
        Command::AddInstance {
            consumer: consumer.to_owned(),
        },
    ];
    for command in heal {
        let _ = world.apply(25_000, command);
    }
    world.advance_to(400_000);
    events.extend(world.drain_trace());
    (world, events)
}

const AT_LEAST_ONCE: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
ack_deadline_ms = 800
max_deliveries = 100
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 20
count = 200
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 20
effect = { kind = "once", label = "charged" }
failures = { transient_error_probability = 0.1 }
design = { instances = 2, prefetch = 3, retry = { strategy = "fixed", delay_ms = 100, max_attempts = 100 } }
"#;

const POISONED: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
ack_deadline_ms = 800
max_deliveries = 100
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 20
count = 30
[[consumers]]
name = "billing"
channel = "orders"
processing_ms = 20
failures = { poison_event_types = ["OrderPlaced"] }
design = { instances = 2, prefetch = 3, retry = { strategy = "immediate", max_attempts = MAX } }
"#;

const STREAM: &str = r#"
[[channels]]
name = "clicks"
kind = "stream"
partitions = 6
[[producers]]
name = "web"
channel = "clicks"
event_type = "Clicked"
rate_per_sec = 40
count = 300
keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
[[consumers]]
name = "analytics"
channel = "clicks"
processing_ms = 15
effect = { kind = "latest", label = "recorded" }
design = { instances = 3, prefetch = 4 }
"#;

fn ids_of(events: &[TraceEvent], name: &str) -> BTreeSet<MessageId> {
    of_type(events, name)
        .iter()
        .filter_map(|e| e.kind.message())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn with_ack_after_processing_no_message_the_broker_accepted_is_ever_lost(seed in 0u64..1_000, faults in schedule()) {
        let (world, events) = run_with_faults(AT_LEAST_ONCE, seed, "billing", &faults);
        let accepted = ids_of(&events, "enqueued");
        let settled: BTreeSet<_> = ids_of(&events, "acked").union(&ids_of(&events, "dead_lettered")).copied().collect();
        let metrics = world.metrics();
        let still_held = metrics.queues[0].ready + metrics.queues[0].in_flight + metrics.queues[0].waiting_retries as usize;
        let unsettled = accepted.difference(&settled).count();
        prop_assert!(unsettled <= still_held, "{unsettled} accepted messages are neither acked, dead-lettered, queued nor in flight");
        prop_assert_eq!(still_held, 0, "after healing everything settles");
    }

    #[test]
    fn a_failing_message_is_dead_lettered_after_exactly_its_max_attempts(seed in 0u64..1_000, max in 1u32..8, jitter in 0u64..200) {
        let text = POISONED.replace("MAX", &max.to_string())
            + &format!("[links.billing]\nlatency_ms = 3\njitter_ms = {jitter}\n");
        let mut world = world(&text, seed);
        let events = run(&mut world, 120_000);
        let dead = of_type(&events, "dead_lettered");
        prop_assert_eq!(dead.len(), 30);
        for event in dead {
            let attempts = match event.kind {
                TraceKind::DeadLettered { attempts, .. } => attempts,
                _ => 0,
            };
            prop_assert_eq!(attempts, max);
        }
    }

    #[test]
    fn stream_consumers_see_each_partition_in_order_with_one_owner_and_commits_only_forward(seed in 0u64..1_000, faults in schedule()) {
        let (_, events) = run_with_faults(STREAM, seed, "analytics", &faults);
        // Per instance and partition, offsets received since the last rebalance only rise.
        let mut last_seen: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        let mut committed: BTreeMap<u32, u64> = BTreeMap::new();
        for event in &events {
            match &event.kind {
                TraceKind::Rebalanced { assignment, .. } => {
                    last_seen.clear();
                    let mut owners = BTreeSet::new();
                    for partitions in assignment {
                        for partition in partitions {
                            prop_assert!(owners.insert(*partition), "partition {} has two owners", partition);
                        }
                    }
                }
                TraceKind::Received { instance, partition: Some(partition), offset: Some(offset), .. } => {
                    if let Some(previous) = last_seen.insert((*instance, *partition), *offset) {
                        prop_assert!(*offset > previous, "instance {} saw partition {} go {} -> {}", instance, partition, previous, offset);
                    }
                }
                TraceKind::OffsetCommitted { partition, offset, .. } => {
                    if let Some(previous) = committed.insert(*partition, *offset) {
                        prop_assert!(*offset >= previous, "commit went back on partition {}", partition);
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn one_seed_and_one_command_log_give_one_trace(seed in 0u64..1_000, faults in schedule()) {
        let (_, first) = run_with_faults(AT_LEAST_ONCE, seed, "billing", &faults);
        let (_, second) = run_with_faults(AT_LEAST_ONCE, seed, "billing", &faults);
        let first = serde_json::to_string(&first).expect("trace serializes");
        let second = serde_json::to_string(&second).expect("trace serializes");
        prop_assert!(first == second, "two runs of seed {} differ", seed);
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let trace = |seed| {
        let (_, events) = run_with_faults(AT_LEAST_ONCE, seed, "billing", &[]);
        serde_json::to_string(&events).expect("trace serializes")
    };
    assert_ne!(trace(1), trace(2));
}
