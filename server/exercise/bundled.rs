//! The bundled exercises: every file of `exercises/`, compiled into the binary so that the
//! playground works with no files beside it. A test checks this list against the directory.

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        /// `(file name, contents)` of each bundled exercise.
        pub const BUNDLED: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../exercises/", $name)))),*
        ];
    };
}

bundled![
    "alert-rules.toml",
    "claim-check.toml",
    "competing-consumers.toml",
    "contract-testing.toml",
    "contract-too-strict.toml",
    "correlation-journey.toml",
    "cqrs-replay.toml",
    "crashing-consumer.toml",
    "dead-letter-redrive.toml",
    "delivery-guarantees.toml",
    "dual-publishing.toml",
    "events-vs-commands.toml",
    "idempotency.toml",
    "incident-trail.toml",
    "out-of-order.toml",
    "outbox.toml",
    "poison-message.toml",
    "pubsub-fanout.toml",
    "request-reply.toml",
    "retry-storm.toml",
    "routing-filters.toml",
    "saga-compensation.toml",
    "schema-evolution.toml",
    "streaming-replay.toml",
    "sync-vs-async.toml",
];
