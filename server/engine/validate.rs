//! Checks a scenario's values and references before a world is built from it, so that a
//! bad file is refused with the field at fault instead of misbehaving later.
use std::collections::BTreeSet;

use super::command::Command;
use super::commands::CONSOLE;
use super::design::{Design, OrderingStrategy, RetryPolicy};
use super::error::ScenarioError;
use super::ids::Millis;
use super::message::{ENVELOPE_BYTES, MAX_ATTACHMENT_BYTES};
use super::scenario::{ChannelKind, Delivery, LinkConditions, Scenario};

pub const MAX_CHANNELS: usize = 32;
pub const MAX_PRODUCERS: usize = 32;
pub const MAX_CONSUMERS: usize = 32;
pub const MAX_PARTITIONS: u32 = 64;
pub const MAX_RETENTION: u32 = 1_000_000;
pub const MAX_RATE_PER_SEC: f64 = 100_000.0;
pub const MAX_MESSAGES_PER_PRODUCER: u64 = 10_000_000;
pub const MAX_PREFETCH: u32 = 1_000;
pub const MAX_ATTEMPTS: u32 = 100;
pub const MAX_FAULTS: usize = 1_000;
/// Alert rules one scenario may have: more is a dashboard nobody reads.
pub const MAX_ALERTS: usize = 16;
pub const MAX_SLOW_FACTOR: u32 = 100;
pub const MAX_NAME_LEN: usize = 64;
/// The longest delay, timeout or duration a scenario may use: one virtual day.
pub const MAX_DURATION_MS: Millis = 86_400_000;

pub(crate) fn err(
    field: impl Into<String>,
    reason: impl Into<String>,
) -> Result<(), ScenarioError> {
    Err(ScenarioError::new(field, reason))
}

fn probability(field: &str, value: f64) -> Result<(), ScenarioError> {
    if !(0.0..=1.0).contains(&value) {
        return err(
            field,
            format!("must be a probability between 0 and 1, not {value}"),
        );
    }
    Ok(())
}

pub(crate) fn duration(field: &str, value: Millis) -> Result<(), ScenarioError> {
    if value > MAX_DURATION_MS {
        return err(field, format!("must be at most {MAX_DURATION_MS} ms"));
    }
    Ok(())
}

pub(crate) fn name(field: &str, value: &str) -> Result<(), ScenarioError> {
    if value.is_empty() || value.chars().count() > MAX_NAME_LEN {
        return err(field, format!("must be 1 to {MAX_NAME_LEN} characters"));
    }
    if value.chars().any(char::is_control) {
        return err(field, "must not contain control characters");
    }
    Ok(())
}

pub(crate) fn link(field: &str, conditions: &LinkConditions) -> Result<(), ScenarioError> {
    duration(&format!("{field}.latency_ms"), conditions.latency_ms)?;
    duration(&format!("{field}.jitter_ms"), conditions.jitter_ms)?;
    probability(&format!("{field}.loss"), conditions.loss)?;
    probability(&format!("{field}.duplicate"), conditions.duplicate)
}

pub(crate) fn design(field: &str, design: &Design) -> Result<(), ScenarioError> {
    if !(1..=MAX_PREFETCH).contains(&design.prefetch) {
        return err(
            format!("{field}.prefetch"),
            format!("must be between 1 and {MAX_PREFETCH}"),
        );
    }
    if design.instances as usize > super::consumer::MAX_INSTANCES {
        return err(
            format!("{field}.instances"),
            format!("must be at most {}", super::consumer::MAX_INSTANCES),
        );
    }
    let retry = format!("{field}.retry");
    match design.retry {
        RetryPolicy::None => {}
        RetryPolicy::Immediate { max_attempts } => attempts(&retry, max_attempts)?,
        RetryPolicy::Fixed {
            delay_ms,
            max_attempts,
        } => {
            attempts(&retry, max_attempts)?;
            duration(&format!("{retry}.delay_ms"), delay_ms)?;
        }
        RetryPolicy::Exponential {
            base_ms,
            max_ms,
            max_attempts,
            ..
        } => {
            attempts(&retry, max_attempts)?;
            if base_ms == 0 || max_ms < base_ms {
                return err(retry, "needs base_ms > 0 and max_ms >= base_ms");
            }
            duration(&format!("{retry}.max_ms"), max_ms)?;
        }
    }
    if let OrderingStrategy::Resequence { timeout_ms } = design.ordering {
        duration(&format!("{field}.ordering.timeout_ms"), timeout_ms)?;
    }
    if let Some(ttl) = design.dedup_ttl_ms {
        if ttl == 0 {
            return err(
                format!("{field}.dedup_ttl_ms"),
                "must be above 0: a store that forgets at once remembers nothing",
            );
        }
        duration(&format!("{field}.dedup_ttl_ms"), ttl)?;
    }
    if design.dedup_capacity == Some(0) {
        return err(
            format!("{field}.dedup_capacity"),
            "must be at least 1: a store that keeps nothing remembers nothing",
        );
    }
    Ok(())
}

fn attempts(field: &str, value: u32) -> Result<(), ScenarioError> {
    if !(1..=MAX_ATTEMPTS).contains(&value) {
        return err(
            format!("{field}.max_attempts"),
            format!("must be between 1 and {MAX_ATTEMPTS}"),
        );
    }
    Ok(())
}

/// Checks every value and every name a scenario refers to.
pub(crate) fn scenario(scenario: &Scenario) -> Result<(), ScenarioError> {
    if scenario.channels.len() > MAX_CHANNELS {
        return err("channels", format!("at most {MAX_CHANNELS} channels"));
    }
    if scenario.producers.len() > MAX_PRODUCERS {
        return err("producers", format!("at most {MAX_PRODUCERS} producers"));
    }
    if scenario.consumers.len() > MAX_CONSUMERS {
        return err("consumers", format!("at most {MAX_CONSUMERS} consumers"));
    }
    if scenario.faults.len() > MAX_FAULTS {
        return err("faults", format!("at most {MAX_FAULTS} faults"));
    }
    let mut channels = BTreeSet::new();
    for (i, channel) in scenario.channels.iter().enumerate() {
        let field = format!("channels[{i}]");
        name(&format!("{field}.name"), &channel.name)?;
        if !channels.insert(channel.name.as_str()) {
            return err(
                format!("{field}.name"),
                format!("{:?} is declared twice", channel.name),
            );
        }
        if channel.kind == ChannelKind::Stream {
            if !(1..=MAX_PARTITIONS).contains(&channel.partitions) {
                return err(
                    format!("{field}.partitions"),
                    format!("must be between 1 and {MAX_PARTITIONS}"),
                );
            }
            if !(1..=MAX_RETENTION).contains(&channel.retention) {
                return err(
                    format!("{field}.retention"),
                    format!("must be between 1 and {MAX_RETENTION}"),
                );
            }
        }
        if channel.ack_deadline_ms == 0 {
            return err(format!("{field}.ack_deadline_ms"), "must be above 0");
        }
        duration(&format!("{field}.ack_deadline_ms"), channel.ack_deadline_ms)?;
        if !(1..=MAX_ATTEMPTS).contains(&channel.max_deliveries) {
            return err(
                format!("{field}.max_deliveries"),
                format!("must be between 1 and {MAX_ATTEMPTS}"),
            );
        }
        if channel
            .max_message_bytes
            .is_some_and(|limit| limit < ENVELOPE_BYTES)
        {
            return err(
                format!("{field}.max_message_bytes"),
                format!("must be at least {ENVELOPE_BYTES}: every message weighs its envelope"),
            );
        }
    }
    let kind_of = |channel: &str| {
        scenario
            .channels
            .iter()
            .find(|c| c.name == channel)
            .map(|c| c.kind)
    };
    let known_channel = |field: String, channel: &str| -> Result<ChannelKind, ScenarioError> {
        kind_of(channel).ok_or_else(|| {
            ScenarioError::new(field, format!("there is no channel named {channel:?}"))
        })
    };
    let mut services = BTreeSet::new();
    let mut reply_channels = BTreeSet::new();
    for (i, producer) in scenario.producers.iter().enumerate() {
        let field = format!("producers[{i}]");
        name(&format!("{field}.name"), &producer.name)?;
        if producer.name == CONSOLE {
            return err(
                format!("{field}.name"),
                format!("{CONSOLE:?} is reserved for messages published by hand"),
            );
        }
        if !services.insert(producer.name.as_str()) {
            return err(
                format!("{field}.name"),
                format!("{:?} is declared twice", producer.name),
            );
        }
        known_channel(format!("{field}.channel"), &producer.channel)?;
        if let Some(key) = &producer.routing_key
            && let Some(reason) = super::routing::invalid(key, false)
        {
            return err(format!("{field}.routing_key"), reason);
        }
        if !(producer.rate_per_sec > 0.0 && producer.rate_per_sec <= MAX_RATE_PER_SEC) {
            return err(
                format!("{field}.rate_per_sec"),
                format!("must be above 0 and at most {MAX_RATE_PER_SEC}"),
            );
        }
        if producer
            .count
            .is_some_and(|c| c > MAX_MESSAGES_PER_PRODUCER)
        {
            return err(
                format!("{field}.count"),
                format!("must be at most {MAX_MESSAGES_PER_PRODUCER}"),
            );
        }
        duration(&format!("{field}.start_ms"), producer.start_ms)?;
        if producer.attachment_bytes > MAX_ATTACHMENT_BYTES {
            return err(
                format!("{field}.attachment_bytes"),
                format!(
                    "must be at most {MAX_ATTACHMENT_BYTES} (16 MiB, RabbitMQ's largest message by default)"
                ),
            );
        }
        match producer.delivery {
            Delivery::Direct => {}
            Delivery::DualWrite { crash_probability } => {
                probability(
                    &format!("{field}.delivery.crash_probability"),
                    crash_probability,
                )?;
            }
            Delivery::Outbox {
                relay_interval_ms,
                crash_probability,
            } => {
                probability(
                    &format!("{field}.delivery.crash_probability"),
                    crash_probability,
                )?;
                if relay_interval_ms == 0 {
                    return err(
                        format!("{field}.delivery.relay_interval_ms"),
                        "must be above 0",
                    );
                }
                duration(
                    &format!("{field}.delivery.relay_interval_ms"),
                    relay_interval_ms,
                )?;
            }
        }
        if let Some(request) = &producer.request {
            let kind = known_channel(
                format!("{field}.request.reply_channel"),
                &request.reply_channel,
            )?;
            if kind != ChannelKind::Queue {
                return err(format!("{field}.request.reply_channel"), "must be a queue");
            }
            if request.reply_channel == producer.channel {
                return err(
                    format!("{field}.request.reply_channel"),
                    "must differ from the request channel",
                );
            }
            duration(&format!("{field}.request.timeout_ms"), request.timeout_ms)?;
            reply_channels.insert(request.reply_channel.as_str());
        }
    }
    for (i, consumer) in scenario.consumers.iter().enumerate() {
        let field = format!("consumers[{i}]");
        name(&format!("{field}.name"), &consumer.name)?;
        if consumer.name == CONSOLE {
            return err(
                format!("{field}.name"),
                format!("{CONSOLE:?} is reserved for messages published by hand"),
            );
        }
        if !services.insert(consumer.name.as_str()) {
            return err(
                format!("{field}.name"),
                format!("{:?} is declared twice", consumer.name),
            );
        }
        known_channel(format!("{field}.channel"), &consumer.channel)?;
        if consumer.filter.is_some() || !consumer.filter_attributes.is_empty() {
            if let Some(reason) = consumer
                .filter
                .as_deref()
                .and_then(|f| super::routing::invalid(f, true))
            {
                return err(format!("{field}.filter"), reason);
            }
            let topic = scenario
                .channels
                .iter()
                .any(|c| c.name == consumer.channel && c.kind == ChannelKind::Topic);
            if !topic {
                return err(
                    format!("{field}.filter"),
                    "only a topic's subscription filters; a queue or a stream gives every message to its readers",
                );
            }
        }
        if reply_channels.contains(consumer.channel.as_str()) {
            return err(
                format!("{field}.channel"),
                "is the reply channel of a requester, which reads it itself",
            );
        }
        duration(&format!("{field}.processing_ms"), consumer.processing_ms)?;
        duration(
            &format!("{field}.fetch_attachment_ms"),
            consumer.fetch_attachment_ms,
        )?;
        let failures = &consumer.failures;
        probability(
            &format!("{field}.failures.transient_error_probability"),
            failures.transient_error_probability,
        )?;
        probability(
            &format!("{field}.failures.crash_before_ack_probability"),
            failures.crash_before_ack_probability,
        )?;
        probability(
            &format!("{field}.failures.crash_after_effect_probability"),
            failures.crash_after_effect_probability,
        )?;
        probability(
            &format!("{field}.failures.decline_probability"),
            failures.decline_probability,
        )?;
        if let Some(after) = failures.restart_after_ms {
            duration(&format!("{field}.failures.restart_after_ms"), after)?;
        }
        if consumer.schema_versions.is_empty() {
            return err(
                format!("{field}.schema_versions"),
                "must list at least one version",
            );
        }
        design(&format!("{field}.design"), &consumer.design)?;
        for (j, rule) in consumer.emits.iter().enumerate() {
            known_channel(format!("{field}.emits[{j}].channel"), &rule.channel)?;
        }
        if consumer.dependency_capacity_per_sec == Some(0) {
            return err(
                format!("{field}.dependency_capacity_per_sec"),
                "must be above 0",
            );
        }
    }
    for (service, conditions) in &scenario.links {
        let field = format!("links.{service}");
        if !services.contains(service.as_str()) {
            return err(field, format!("there is no service named {service:?}"));
        }
        link(&field, conditions)?;
    }
    for (i, fault) in scenario.faults.iter().enumerate() {
        let field = format!("faults[{i}]");
        duration(&format!("{field}.at_ms"), fault.at_ms)?;
        fault_references(&format!("{field}.fault"), &fault.fault, scenario)?;
    }
    alerts(scenario)?;
    super::validate_evolution::releases_and_contracts(scenario)
}

/// Alert rules: at most [`MAX_ALERTS`], each named once, on a consumer that exists, with a finite
/// threshold and a duration within a day.
fn alerts(scenario: &Scenario) -> Result<(), ScenarioError> {
    if scenario.alerts.len() > MAX_ALERTS {
        return err("alerts", format!("at most {MAX_ALERTS} alert rules"));
    }
    let mut names = BTreeSet::new();
    for (i, alert) in scenario.alerts.iter().enumerate() {
        let field = format!("alerts[{i}]");
        name(&format!("{field}.name"), &alert.name)?;
        if !names.insert(alert.name.as_str()) {
            return err(
                format!("{field}.name"),
                format!("{:?} is declared twice", alert.name),
            );
        }
        if !scenario.consumers.iter().any(|c| c.name == alert.consumer) {
            return err(
                format!("{field}.consumer"),
                format!("there is no consumer named {:?}", alert.consumer),
            );
        }
        if !alert.above.is_finite() {
            return err(
                format!("{field}.above"),
                format!("must be a number, not {}", alert.above),
            );
        }
        duration(&format!("{field}.for_ms"), alert.for_ms)?;
    }
    Ok(())
}

/// Checks the names a scheduled fault uses; values are checked when it runs.
fn fault_references(
    field: &str,
    command: &Command,
    scenario: &Scenario,
) -> Result<(), ScenarioError> {
    let consumer_exists = |name: &str| scenario.consumers.iter().any(|c| c.name == name);
    let service_exists =
        |name: &str| consumer_exists(name) || scenario.producers.iter().any(|p| p.name == name);
    let channel_exists = |name: &str| scenario.channels.iter().any(|c| c.name == name);
    let (kind, name, ok) = match command {
        Command::Publish { channel, .. }
        | Command::InjectPoison { channel }
        | Command::Duplicate { channel, .. } => ("channel", channel, channel_exists(channel)),
        Command::SetLink { service, .. }
        | Command::CutLink { service }
        | Command::RestoreLink { service } => ("service", service, service_exists(service)),
        Command::RestartBroker { .. } => return Ok(()),
        Command::Crash { consumer, .. }
        | Command::Restart { consumer, .. }
        | Command::Pause { consumer }
        | Command::Resume { consumer }
        | Command::Slow { consumer, .. }
        | Command::AddInstance { consumer }
        | Command::Volunteer { consumer }
        | Command::Settle { consumer, .. }
        | Command::RemoveInstance { consumer }
        | Command::DependencyOutage { consumer, .. }
        | Command::SetDesign { consumer, .. }
        | Command::Redrive { consumer, .. }
        | Command::Seek { consumer, .. }
        | Command::Rebuild { consumer, .. } => ("consumer", consumer, consumer_exists(consumer)),
    };
    if ok {
        Ok(())
    } else {
        err(field, format!("there is no {kind} named {name:?}"))
    }
}
