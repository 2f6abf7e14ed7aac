//! Take the design home: an exercise's system with a learner's Design, as files real brokers
//! take. RabbitMQ gets definitions its management plugin imports (a vhost of its own, queues
//! with their arguments, exchanges, bindings); NATS gets JetStream stream and consumer configs
//! in the JSON the JetStream API and `nats stream add --config` take.
//!
//! Pure: the same exercise and Design always give the same file. What a broker cannot hold in a
//! file (prefetch, the number of consumers, the retry policy, an ack deadline RabbitMQ has no
//! argument for) comes back as notes, one sentence each. The names and counts follow
//! docs/BROKERS.md: engine max deliveries N is RabbitMQ x-delivery-limit N - 1 and JetStream
//! MaxDeliver N.
mod nats;
mod rabbitmq;

use serde::Serialize;

use super::model::{Choices, Exercise, KnobError};

/// Which broker the export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Rabbitmq,
    Nats,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Rabbitmq, Format::Nats];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rabbitmq => "rabbitmq",
            Format::Nats => "nats",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ExportError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or_else(|| ExportError::UnknownFormat(text.to_owned()))
    }
}

/// One export: the file to give the broker, and what the file cannot say.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub exercise: String,
    pub format: Format,
    /// RabbitMQ: the definitions document. NATS: `{"streams": [...], "consumers": [...]}`,
    /// each stream a stream config and each consumer `{"stream": name, "config": {...}}`.
    pub file: serde_json::Value,
    /// Settings that live in the consuming code or the broker's own configuration, and
    /// differences a learner should know about, one sentence each.
    pub notes: Vec<String>,
}

/// Why an export cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0:?} is not an export format: use rabbitmq or nats")]
    UnknownFormat(String),
    #[error(transparent)]
    Knob(#[from] KnobError),
}

/// The exercise's system with every knob of `choices` set, as a `format` file.
pub fn export(
    exercise: &Exercise,
    choices: &Choices,
    format: Format,
) -> Result<Export, ExportError> {
    let choices = exercise.normalize(choices)?;
    let scenario = exercise.scenario_for(&choices)?;
    let mut notes = Vec::new();
    let file = match format {
        Format::Rabbitmq => rabbitmq::definitions(&exercise.id, &scenario, &mut notes),
        Format::Nats => nats::configs(&scenario, &mut notes),
    };
    Ok(Export {
        exercise: exercise.id.clone(),
        format,
        file,
        notes,
    })
}

/// A consumer's settings that live in its code, the same for both brokers.
fn consumer_note(
    consumer: &crate::engine::scenario::ConsumerSpec,
    ack_on_receipt: &str,
    nack: &str,
) -> String {
    use crate::engine::{AckMode, RetryPolicy};
    let design = &consumer.design;
    let ack = match design.ack_mode {
        AckMode::OnReceipt => ack_on_receipt.to_owned(),
        AckMode::AfterProcessing => "ack after processing".to_owned(),
    };
    let retry = match design.retry {
        RetryPolicy::None => "reject (no requeue) at the first failure".to_owned(),
        RetryPolicy::Immediate { max_attempts } => {
            format!("{nack} at once on failure, up to {max_attempts} deliveries in all")
        }
        RetryPolicy::Fixed {
            delay_ms,
            max_attempts,
        } => {
            format!("{nack} after {delay_ms} ms on failure, up to {max_attempts} deliveries in all")
        }
        RetryPolicy::Exponential {
            base_ms,
            max_ms,
            jitter,
            max_attempts,
        } => format!(
            "{nack} after {base_ms} ms doubling up to {max_ms} ms{} on failure, up to {max_attempts} deliveries in all",
            if jitter { " (full jitter)" } else { "" }
        ),
    };
    format!(
        "{}: run {} instance(s) on {}, at most {} unacknowledged each; {ack}; {retry}.",
        consumer.name, design.instances, consumer.channel, design.prefetch
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::Catalog;

    fn bundled(id: &str) -> std::sync::Arc<Exercise> {
        Catalog::bundled().get(id).expect("a bundled exercise")
    }

    #[test]
    fn every_bundled_exercise_exports_in_both_formats() {
        for exercise in Catalog::bundled().exercises() {
            for format in Format::ALL {
                let export = export(&exercise, &Choices::new(), format).expect("an export");
                assert!(export.file.is_object(), "{} {format:?}", exercise.id);
            }
        }
    }

    #[test]
    fn a_design_choice_changes_the_file() {
        let exercise = bundled("poison-message");
        let default = export(&exercise, &Choices::new(), Format::Rabbitmq).expect("an export");
        let mut choices = Choices::new();
        choices.insert("billing-attempts".to_owned(), "3".to_owned());
        let chosen = export(&exercise, &choices, Format::Rabbitmq).expect("an export");
        assert_ne!(default.notes, chosen.notes);
        assert!(
            chosen
                .notes
                .iter()
                .any(|n| n.contains("up to 3 deliveries"))
        );
    }

    #[test]
    fn an_unknown_choice_or_format_is_a_sentence() {
        let exercise = bundled("poison-message");
        let mut choices = Choices::new();
        choices.insert("nope".to_owned(), "x".to_owned());
        let error = export(&exercise, &choices, Format::Nats).expect_err("refused");
        assert!(error.to_string().contains("no knob"), "{error}");
        let error = Format::parse("kafka").expect_err("refused");
        assert_eq!(
            error.to_string(),
            "\"kafka\" is not an export format: use rabbitmq or nats"
        );
    }
}
