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
    "competing-consumers.toml",
    "crashing-consumer.toml",
    "dead-letter-redrive.toml",
    "events-vs-commands.toml",
    "idempotency.toml",
    "poison-message.toml",
    "pubsub-fanout.toml",
    "request-reply.toml",
    "streaming-replay.toml",
    "sync-vs-async.toml",
];
