//! What a consumer publishes in turn: follow-up events and compensations (a saga's steps), and the
//! replies to requests. Each carries its cause's payload, key and order, and names its cause.
use std::sync::Arc;

use super::ids::ConsumerId;
use super::message::{Message, Publisher};
use super::scenario::EmitOn;
use super::trace::DropReason;
use super::world::{Sender, World};

impl World {
    /// The events a consumer publishes in turn when it handles `cause` (its follow-ups and
    /// compensations), each carrying the cause's payload, key and order.
    pub(crate) fn emit_follow_ups(&mut self, consumer: ConsumerId, cause: &Message, on: EmitOn) {
        let rules: Vec<_> = self.consumers[consumer.index()]
            .spec
            .emits
            .iter()
            .filter(|rule| rule.on == on)
            .cloned()
            .collect();
        for rule in rules {
            let Some(channel) = self.channel_id(&rule.channel) else {
                continue;
            };
            if self.at_message_cap() {
                self.record_consumer_drop(cause.id, DropReason::MessageCap, consumer);
                return;
            }
            let correlation_id = if self.consumers[consumer.index()]
                .design
                .propagate_correlation
            {
                cause.correlation_id
            } else {
                self.new_correlation_id()
            };
            let message = Message {
                id: self.new_message_id(),
                event_type: Arc::from(rule.event_type.as_str()),
                schema_version: rule.schema_version,
                key: cause.key.clone(),
                seq: cause.seq,
                payload: cause.payload.clone(),
                correlation_id,
                causation_id: Some(cause.id),
                channel,
                publisher: Publisher::Consumer(consumer),
                produced_at: self.now,
                reply_to: None,
                malformed: false,
            };
            self.publish(Arc::new(message), Sender::Consumer(consumer));
        }
    }

    /// The reply to a request, on the requester's reply channel, when the consumer answers.
    pub(crate) fn answer_request(&mut self, consumer: ConsumerId, request: &Message) {
        let Some(reply_to) = request.reply_to else {
            return;
        };
        if !self.consumers[consumer.index()].spec.replies {
            return;
        }
        if self.at_message_cap() {
            self.record_consumer_drop(request.id, DropReason::MessageCap, consumer);
            return;
        }
        let reply = Message {
            id: self.new_message_id(),
            event_type: Arc::from(format!("{}Reply", request.event_type)),
            schema_version: 1,
            key: request.key.clone(),
            seq: request.seq,
            payload: request.payload.clone(),
            correlation_id: request.correlation_id,
            causation_id: Some(request.id),
            channel: reply_to,
            publisher: Publisher::Consumer(consumer),
            produced_at: self.now,
            reply_to: None,
            malformed: false,
        };
        self.publish(Arc::new(reply), Sender::Consumer(consumer));
    }
}
