//! Small, copyable identifiers used throughout the engine and its trace.
//!
//! Channels, queues, producers and consumers are addressed by their index in the world
//! (`u16`), which keeps trace events small and cheap to record. The topology maps each
//! index back to its name, so a viewer can label what it draws.
use std::fmt;

use schemars::JsonSchema;
use serde::{Serialize, Serializer};

/// Virtual time in milliseconds since the start of a run. The engine never reads a clock:
/// every instant is passed in by its driver.
pub type Millis = u64;

macro_rules! index_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub u16);

        impl $name {
            pub(crate) fn index(self) -> usize {
                usize::from(self.0)
            }
        }
    };
}

index_id!(
    /// A channel declared by the scenario: a topic, a queue or a stream.
    ChannelId
);
index_id!(
    /// A queue the broker keeps: a queue channel's own queue, or one subscription of a topic.
    QueueId
);
index_id!(
    /// A producing service.
    ProducerId
);
index_id!(
    /// A consuming service (all of its instances).
    ConsumerId
);

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:016x}", self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "pattern": "^[0-9a-f]{16}$" })
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                u64::from_str_radix(text, 16).map($name)
            }
        }
    };
}

hex_id!(
    /// A message id, drawn from the world's seeded generator and written as 16 hex digits.
    MessageId
);
hex_id!(
    /// The id that ties every message of one business journey together.
    CorrelationId
);

/// A delivery tag: the broker's handle on one delivery attempt, like AMQP's.
pub type DeliveryTag = u64;
