//! A channel as the broker holds it, and routing: which queues or partitions a publish
//! lands in.
use std::sync::Arc;

use super::ids::{ChannelId, ProducerId, QueueId};
use super::message::MessageRef;
use super::routing::{attributes_mismatch, topic_matches};
use super::scenario::{ChannelKind, ChannelSpec};
use super::stream::StreamLog;
use super::trace::{DropReason, TraceKind};
use super::world::{Sender, World};

pub(crate) struct Channel {
    pub(crate) name: Arc<str>,
    pub(crate) spec: ChannelSpec,
    /// A queue's own queue, or one queue per topic subscription.
    pub(crate) queues: Vec<QueueId>,
    pub(crate) stream: Option<StreamLog>,
    /// Set when the channel carries the replies of a requesting producer.
    pub(crate) reply_for: Option<ProducerId>,
    /// What `duplicate` publishes again.
    pub(crate) last_message: Option<MessageRef>,
    /// The channel's schema registry, if it has one.
    pub(crate) registry: Option<super::registry::RegistryState>,
}

impl World {
    /// A publish reaches the broker: route it, or refuse it if the broker is down.
    pub(crate) fn arrive_at_broker(&mut self, message: MessageRef, from: Sender) {
        if !self.broker_up {
            self.publish_refused(&message, from, DropReason::BrokerDown);
            return;
        }
        let channel = message.channel;
        let id = message.id;
        if let Some(limit) = self.channels[channel.index()].spec.max_message_bytes
            && message.size_bytes() > limit
        {
            self.publish_refused(&message, from, DropReason::TooLarge);
            return;
        }
        self.channels[channel.index()].last_message = Some(message.clone());
        if let Some(requester) = self.channels[channel.index()].reply_for {
            self.route_reply(requester, message);
        } else {
            match self.channels[channel.index()].spec.kind {
                ChannelKind::Queue | ChannelKind::Topic => self.route_to_queues(channel, &message),
                ChannelKind::Stream => self.append_to_stream(channel, &message),
            }
        }
        if let Sender::Relay(producer) = from {
            self.send_outbox_confirm(producer, id);
        }
    }

    fn route_to_queues(&mut self, channel: ChannelId, message: &MessageRef) {
        let channel_index = channel.index();
        if self.channels[channel_index].queues.is_empty() {
            self.record(TraceKind::Dropped {
                message: message.id,
                reason: DropReason::NoSubscriber,
                producer: None,
                consumer: None,
            });
            return;
        }
        for position in 0..self.channels[channel_index].queues.len() {
            let queue = self.channels[channel_index].queues[position];
            if !self.queue_accepts_now(queue) {
                self.record(TraceKind::Dropped {
                    message: message.id,
                    reason: DropReason::NoSubscriber,
                    producer: None,
                    consumer: self.queues[queue.index()].subscriber,
                });
                continue;
            }
            if let Some(consumer) = self.queues[queue.index()].subscriber
                && let Some((filter, reason)) = self.filtered_out(consumer, message)
            {
                self.record(TraceKind::NotRouted {
                    message: message.id,
                    consumer,
                    routing_key: Arc::from(self.routing_key(message)),
                    filter,
                    reason,
                });
                continue;
            }
            self.enqueue(queue, message.clone(), 0);
        }
    }

    /// What in `consumer`'s subscription keeps `message` out, and why in words: its key pattern,
    /// or the attribute condition it fails; `None` when the message is for it. An unfiltered
    /// subscription costs two checks of an empty filter.
    fn filtered_out(
        &self,
        consumer: super::ids::ConsumerId,
        message: &MessageRef,
    ) -> Option<(Arc<str>, Arc<str>)> {
        let spec = &self.consumers[consumer.index()].spec;
        let key = self.routing_key(message);
        if let Some(filter) = spec.filter.as_deref()
            && !topic_matches(filter, key)
        {
            let reason = format!("key {key} does not match {filter}");
            return Some((Arc::from(filter), Arc::from(reason)));
        }
        if spec.filter_attributes.is_empty() {
            return None;
        }
        attributes_mismatch(&spec.filter_attributes, message)
            .map(|(condition, reason)| (Arc::from(condition), Arc::from(reason)))
    }

    /// A non-durable subscription only exists while one of its instances is up; a durable
    /// one (and every plain queue) keeps messages for later.
    fn queue_accepts_now(&self, queue: QueueId) -> bool {
        let state = &self.queues[queue.index()];
        match state.subscriber {
            Some(consumer) if !state.subscription_durable => {
                self.consumers[consumer.index()].has_running_instance()
            }
            _ => true,
        }
    }

    pub(crate) fn publish_refused(
        &mut self,
        message: &MessageRef,
        from: Sender,
        reason: DropReason,
    ) {
        match from {
            Sender::Producer(producer) | Sender::Relay(producer) => {
                self.record(TraceKind::PublishFailed {
                    message: message.id,
                    producer,
                    reason,
                });
                self.producers[producer.index()].stats.publish_failed += 1;
            }
            Sender::Consumer(consumer) => self.record_consumer_drop(message.id, reason, consumer),
        }
    }
}
