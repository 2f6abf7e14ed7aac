//! Bad scenarios are refused by field, bad commands by name, and nothing panics.
use eda_playground::engine::{Command, CommandError, World};
use proptest::prelude::*;

use crate::support::*;

const BASE: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
[[consumers]]
name = "billing"
channel = "orders"
"#;

fn refused(text: &str) -> String {
    match World::new(&scenario(text), 1) {
        Ok(_) => panic!("scenario should be refused:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn invalid_scenarios_name_the_field_and_the_reason() {
    let cases = [
        (
            BASE.replace(
                "channel = \"orders\"\nevent_type",
                "channel = \"ordres\"\nevent_type",
            ),
            "producers[0].channel",
            "no channel named \"ordres\"",
        ),
        (
            BASE.replace("rate_per_sec = 10", "rate_per_sec = -1"),
            "producers[0].rate_per_sec",
            "above 0",
        ),
        (
            format!("{BASE}failures = {{ transient_error_probability = 1.5 }}\n"),
            "consumers[0].failures.transient_error_probability",
            "probability",
        ),
        (
            format!("{BASE}design = {{ prefetch = 0 }}\n"),
            "consumers[0].design.prefetch",
            "between 1",
        ),
        (
            format!("{BASE}[[consumers]]\nname = \"billing\"\nchannel = \"orders\"\n"),
            "consumers[1].name",
            "declared twice",
        ),
        (
            format!("{BASE}[links.nobody]\nlatency_ms = 5\n"),
            "links.nobody",
            "no service",
        ),
        (
            format!(
                "{BASE}[[faults]]\nat_ms = 5\nfault = {{ kind = \"crash\", consumer = \"ghost\" }}\n"
            ),
            "faults[0].fault",
            "no consumer named \"ghost\"",
        ),
        (
            BASE.replace("name = \"checkout\"", "name = \"console\""),
            "producers[0].name",
            "reserved",
        ),
        (
            format!(
                "{BASE}design = {{ retry = {{ strategy = \"exponential\", base_ms = 500, max_ms = 100, max_attempts = 3 }} }}\n"
            ),
            "consumers[0].design.retry",
            "max_ms",
        ),
        (
            BASE.replace(
                "rate_per_sec = 10",
                "rate_per_sec = 10\nattachment_bytes = 20000000",
            ),
            "producers[0].attachment_bytes",
            "at most 16777216 (16 MiB",
        ),
        (
            BASE.replace(
                "kind = \"queue\"",
                "kind = \"queue\"\nmax_message_bytes = 50",
            ),
            "channels[0].max_message_bytes",
            "at least 100: every message weighs its envelope",
        ),
    ];
    for (text, field, reason) in cases {
        let message = refused(&text);
        assert!(
            message.starts_with(field),
            "{message:?} should name {field}"
        );
        assert!(
            message.contains(reason),
            "{message:?} should say {reason:?}"
        );
    }
}

#[test]
fn commands_about_unknown_things_are_refused_with_their_name() {
    let mut world = world(BASE, 1);
    let cases = [
        (
            r#"{"kind":"crash","consumer":"ghost"}"#,
            CommandError::UnknownConsumer("ghost".into()),
        ),
        (
            r#"{"kind":"inject_poison","channel":"nowhere"}"#,
            CommandError::UnknownChannel("nowhere".into()),
        ),
        (
            r#"{"kind":"cut_link","service":"nobody"}"#,
            CommandError::UnknownService("nobody".into()),
        ),
        (
            r#"{"kind":"redrive","consumer":"billing","message":"not-hex"}"#,
            CommandError::UnknownMessage("not-hex".into()),
        ),
        (
            r#"{"kind":"crash","consumer":"billing","instance":9}"#,
            CommandError::UnknownInstance {
                consumer: "billing".into(),
                instance: 9,
            },
        ),
    ];
    for (text, expected) in cases {
        let command: Command = serde_json::from_str(text).expect("valid json");
        assert_eq!(world.apply(0, command), Err(expected));
    }
    let seek: Command =
        serde_json::from_str(r#"{"kind":"seek","consumer":"billing","to":{"from":"earliest"}}"#)
            .expect("json");
    assert!(
        matches!(world.apply(0, seek), Err(CommandError::Invalid(_))),
        "billing reads a queue, not a stream"
    );
    world.advance_to(1_000);
    let late: Command =
        serde_json::from_str(r#"{"kind":"pause","consumer":"billing"}"#).expect("json");
    assert!(matches!(
        world.apply(10, late),
        Err(CommandError::TimeWentBackwards { .. })
    ));
}

#[test]
fn unknown_fields_in_a_scenario_are_rejected() {
    let text = format!("{BASE}colour = \"blue\"\n");
    let error =
        toml::from_str::<eda_playground::engine::Scenario>(&text).expect_err("unknown field");
    assert!(error.to_string().contains("colour"));
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("billing".to_owned()),
        Just("orders".to_owned()),
        Just("checkout".to_owned()),
        "[a-z\\u{0}-\\u{1f}]{0,8}"
    ]
}

fn any_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (name(), name(), name()).prop_map(|(channel, event_type, key)| Command::Publish {
            channel,
            event_type,
            key,
            payload: serde_json::json!({"amount": 1}),
            schema_version: 1,
            malformed: false
        }),
        name().prop_map(|channel| Command::InjectPoison { channel }),
        (name(), any::<bool>())
            .prop_map(|(channel, same_id)| Command::Duplicate { channel, same_id }),
        (name(), proptest::option::of(0u32..20))
            .prop_map(|(consumer, instance)| Command::Crash { consumer, instance }),
        (name(), proptest::option::of(0u32..20))
            .prop_map(|(consumer, instance)| Command::Restart { consumer, instance }),
        (name(), any::<u32>()).prop_map(|(consumer, factor)| Command::Slow { consumer, factor }),
        name().prop_map(|consumer| Command::AddInstance { consumer }),
        name().prop_map(|consumer| Command::RemoveInstance { consumer }),
        name().prop_map(|service| Command::CutLink { service }),
        any::<u64>().prop_map(|downtime_ms| Command::RestartBroker { downtime_ms }),
        (name(), proptest::option::of("[0-9a-f]{0,20}"))
            .prop_map(|(consumer, message)| Command::Redrive { consumer, message }),
        (name(), any::<u64>()).prop_map(|(consumer, duration_ms)| Command::DependencyOutage {
            consumer,
            duration_ms
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_command_sequence_leaves_the_world_running(commands in prop::collection::vec((0u64..5_000, any_command()), 0..40)) {
        let mut world = world(BASE, 1);
        let mut sorted = commands;
        sorted.sort_by_key(|(at, _)| *at);
        for (at, command) in sorted {
            let _ = world.apply(at, command);
        }
        world.advance_to(60_000);
        prop_assert!(world.now() == 60_000);
    }
}

#[test]
fn a_world_stops_creating_messages_at_its_cap_and_says_so() {
    let mut world = world(BASE, 1);
    world.set_message_cap(25);
    world.advance_to(60_000);
    assert_eq!(
        world.messages_created(),
        25,
        "the producer fell silent at the cap"
    );
    let publish: Command = serde_json::from_str(
        r#"{"kind":"publish","channel":"orders","event_type":"OrderPlaced","key":"order-x"}"#,
    )
    .expect("json");
    match world.apply(60_000, publish) {
        Err(CommandError::LimitReached(text)) => assert!(text.contains("25 messages"), "{text}"),
        other => panic!("expected the cap to refuse the publish, got {other:?}"),
    }
    world.advance_to(120_000);
    assert_eq!(world.messages_created(), 25);
}
