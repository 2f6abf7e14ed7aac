//! Carrying out commands: faults, design changes and console actions on a running world.
use std::sync::Arc;

use super::command::{Command, SettleOutcome};
use super::consumer::{InstanceStatus, Source};
use super::error::CommandError;
use super::ids::{ChannelId, ConsumerId, MessageId, ProducerId};
use super::message::Message;
use super::scenario::{LinkConditions, StartFrom};
use super::trace::TraceKind;
use super::validate;
use super::world::{Pending, Sender, World};

/// Whether an added instance is run by a person.
enum CommandKind {
    Volunteer,
    Other,
}

/// The producer that stands for a person publishing by hand. It is always the last one.
pub const CONSOLE: &str = "console";

impl World {
    pub(crate) fn channel_id(&self, name: &str) -> Option<ChannelId> {
        self.channels
            .iter()
            .position(|c| &*c.name == name)
            .map(|i| ChannelId(i as u16))
    }

    pub(crate) fn consumer_id(&self, name: &str) -> Result<ConsumerId, CommandError> {
        self.consumers
            .iter()
            .position(|c| &*c.name == name)
            .map(|i| ConsumerId(i as u16))
            .ok_or_else(|| CommandError::UnknownConsumer(name.to_owned()))
    }

    /// The design a consumer runs with now, or `None` when there is no consumer of that name.
    pub fn consumer_design(&self, name: &str) -> Option<super::design::Design> {
        let id = self.consumer_id(name).ok()?;
        Some(self.consumers[id.index()].design.clone())
    }

    fn producer_id(&self, name: &str) -> Option<ProducerId> {
        self.producers
            .iter()
            .position(|p| &*p.name == name)
            .map(|i| ProducerId(i as u16))
    }

    fn console(&self) -> ProducerId {
        ProducerId((self.producers.len() - 1) as u16)
    }

    fn require_channel(&self, name: &str) -> Result<ChannelId, CommandError> {
        self.channel_id(name)
            .ok_or_else(|| CommandError::UnknownChannel(name.to_owned()))
    }

    /// Checks a command against this world without running it: names, instance numbers
    /// and values. Returns the same error `apply` would.
    pub fn check(&self, command: &Command) -> Result<(), CommandError> {
        match command {
            Command::Publish { channel, .. }
            | Command::InjectPoison { channel }
            | Command::Duplicate { channel, .. } => self.require_channel(channel).map(drop),
            Command::Crash { consumer, instance } | Command::Restart { consumer, instance } => {
                let id = self.consumer_id(consumer)?;
                match instance {
                    Some(n) if *n as usize >= self.consumers[id.index()].instances.len() => {
                        Err(CommandError::UnknownInstance {
                            consumer: consumer.clone(),
                            instance: *n,
                        })
                    }
                    _ => Ok(()),
                }
            }
            Command::Settle {
                consumer,
                instance,
                message,
                ..
            } => {
                let id = self.consumer_id(consumer)?;
                let unknown = || CommandError::UnknownInstance {
                    consumer: consumer.clone(),
                    instance: *instance,
                };
                let state = self.consumers[id.index()]
                    .instances
                    .get(*instance as usize)
                    .ok_or_else(unknown)?;
                if !state.manual || state.status != InstanceStatus::Up {
                    return Err(CommandError::Invalid(format!(
                        "instance {instance} of {consumer:?} is not a running volunteer"
                    )));
                }
                match &state.current {
                    Some(work) if work.message.id.to_string() == *message => Ok(()),
                    _ => Err(CommandError::UnknownMessage(message.clone())),
                }
            }
            Command::Pause { consumer }
            | Command::Resume { consumer }
            | Command::Volunteer { consumer }
            | Command::AddInstance { consumer }
            | Command::RemoveInstance { consumer }
            | Command::Redrive { consumer, .. }
            | Command::DependencyOutage { consumer, .. } => self.consumer_id(consumer).map(drop),
            Command::Slow { consumer, factor } => {
                self.consumer_id(consumer)?;
                if !(1..=validate::MAX_SLOW_FACTOR).contains(factor) {
                    return Err(CommandError::Invalid(format!(
                        "factor must be between 1 and {}",
                        validate::MAX_SLOW_FACTOR
                    )));
                }
                Ok(())
            }
            Command::SetLink {
                service,
                conditions,
            } => {
                self.service_link_exists(service)?;
                validate::link("conditions", conditions)
                    .map_err(|e| CommandError::Invalid(e.to_string()))
            }
            Command::CutLink { service } | Command::RestoreLink { service } => {
                self.service_link_exists(service)
            }
            Command::RestartBroker { downtime_ms } => {
                if *downtime_ms > validate::MAX_DURATION_MS {
                    return Err(CommandError::Invalid("downtime_ms is too long".into()));
                }
                Ok(())
            }
            Command::SetDesign { consumer, design } => {
                self.consumer_id(consumer)?;
                validate::design("design", design).map_err(|e| CommandError::Invalid(e.to_string()))
            }
            Command::Seek { consumer, .. } | Command::Rebuild { consumer, .. } => {
                let id = self.consumer_id(consumer)?;
                match self.consumers[id.index()].source {
                    Source::Stream(_) => Ok(()),
                    Source::Queue(_) => Err(CommandError::Invalid(format!(
                        "{consumer:?} does not read a stream"
                    ))),
                }
            }
        }
    }

    fn service_link_exists(&self, service: &str) -> Result<(), CommandError> {
        if self.producer_id(service).is_some() || self.consumer_id(service).is_ok() {
            Ok(())
        } else {
            Err(CommandError::UnknownService(service.to_owned()))
        }
    }

    pub(crate) fn execute(&mut self, command: Command) -> Result<(), CommandError> {
        self.check(&command)?;
        let creates_a_message = matches!(
            command,
            Command::Publish { .. }
                | Command::InjectPoison { .. }
                | Command::Duplicate { same_id: false, .. }
        );
        if creates_a_message && self.at_message_cap() {
            return Err(CommandError::LimitReached(format!(
                "this sandbox has created all {} messages it may; reset it to start again",
                self.message_cap
            )));
        }
        let command_kind = if matches!(command, Command::Volunteer { .. }) {
            CommandKind::Volunteer
        } else {
            CommandKind::Other
        };
        if !matches!(command, Command::Publish { .. } | Command::Settle { .. }) {
            self.record(TraceKind::Fault {
                label: command.label(),
                command: Box::new(command.clone()),
            });
        }
        match command {
            Command::Publish {
                channel,
                event_type,
                key,
                payload,
                schema_version,
                malformed,
            } => {
                let channel = self.require_channel(&channel)?;
                self.publish_from_console(
                    channel,
                    &event_type,
                    &key,
                    payload,
                    schema_version,
                    malformed,
                );
            }
            Command::InjectPoison { channel } => {
                let channel = self.require_channel(&channel)?;
                let payload = serde_json::json!({ "note": "this payload cannot be parsed" });
                self.publish_from_console(channel, "PoisonPill", "poison", payload, 1, true);
            }
            Command::Duplicate { channel, same_id } => {
                let channel = self.require_channel(&channel)?;
                let Some(last) = self.channels[channel.index()].last_message.clone() else {
                    return Err(CommandError::Invalid(
                        "nothing has been published to that channel yet".into(),
                    ));
                };
                let copy = if same_id {
                    last
                } else {
                    let mut copy = Message::clone(&last);
                    copy.id = self.new_message_id();
                    Arc::new(copy)
                };
                let sender = match copy.publisher {
                    super::message::Publisher::Producer(p) => Sender::Producer(p),
                    super::message::Publisher::Consumer(c) => Sender::Consumer(c),
                };
                self.publish(copy, sender);
            }
            Command::Crash { consumer, instance } => {
                let id = self.consumer_id(&consumer)?;
                let target = instance.or_else(|| self.first_instance_with(id, InstanceStatus::Up));
                if let Some(instance) = target {
                    self.crash_instance(id, instance);
                }
            }
            Command::Restart { consumer, instance } => {
                let id = self.consumer_id(&consumer)?;
                let targets: Vec<u32> = match instance {
                    Some(n) => vec![n],
                    None => (0..self.consumers[id.index()].instances.len() as u32).collect(),
                };
                for instance in targets {
                    self.restart_instance(id, instance);
                }
            }
            Command::Pause { consumer } => {
                let id = self.consumer_id(&consumer)?;
                self.consumers[id.index()].paused = true;
                self.record(TraceKind::Paused { consumer: id });
            }
            Command::Resume { consumer } => {
                let id = self.consumer_id(&consumer)?;
                self.consumers[id.index()].paused = false;
                self.record(TraceKind::Resumed { consumer: id });
                for instance in 0..self.consumers[id.index()].instances.len() as u32 {
                    self.start_next(id, instance);
                }
            }
            Command::Slow { consumer, factor } => {
                let id = self.consumer_id(&consumer)?;
                self.consumers[id.index()].slow_factor = factor;
            }
            Command::AddInstance { consumer } | Command::Volunteer { consumer } => {
                let manual = matches!(command_kind, CommandKind::Volunteer);
                let id = self.consumer_id(&consumer)?;
                if !self.add_instance(id, manual) {
                    return Err(CommandError::LimitReached(format!(
                        "{consumer:?} already runs the most instances allowed ({})",
                        super::consumer::MAX_INSTANCES
                    )));
                }
            }
            Command::RemoveInstance { consumer } => {
                let id = self.consumer_id(&consumer)?;
                self.remove_instance(id);
            }
            Command::Settle {
                consumer,
                instance,
                outcome,
                ..
            } => {
                let id = self.consumer_id(&consumer)?;
                self.settle(id, instance, outcome == SettleOutcome::Ack);
            }
            Command::SetLink {
                service,
                conditions,
            } => self.set_link(&service, conditions),
            Command::CutLink { service } => {
                let conditions = LinkConditions {
                    cut: true,
                    ..self.link_of(&service)
                };
                self.set_link(&service, conditions);
            }
            Command::RestoreLink { service } => {
                // The link as the scenario made it: uncut, and without any loss or jitter added since.
                let conditions = self.baseline_link_of(&service);
                self.set_link(&service, conditions);
            }
            Command::RestartBroker { downtime_ms } => self.broker_goes_down(downtime_ms),
            Command::DependencyOutage {
                consumer,
                duration_ms,
            } => {
                let id = self.consumer_id(&consumer)?;
                self.consumers[id.index()].dependency_down = true;
                self.schedule(duration_ms, Pending::DependencyRestored { consumer: id });
            }
            Command::SetDesign { consumer, design } => {
                let id = self.consumer_id(&consumer)?;
                self.set_design(id, design);
            }
            Command::Redrive { consumer, message } => {
                let id = self.consumer_id(&consumer)?;
                let only = match message {
                    Some(text) => Some(
                        text.parse::<MessageId>()
                            .map_err(|_| CommandError::UnknownMessage(text.clone()))?,
                    ),
                    None => None,
                };
                let queue = self.consumers[id.index()].dead_letter_queue();
                let moved = self.redrive(queue, only);
                if moved == 0
                    && let Some(id) = only
                {
                    return Err(CommandError::UnknownMessage(id.to_string()));
                }
            }
            Command::Seek { consumer, to } => {
                let id = self.consumer_id(&consumer)?;
                let offsets = self.offsets_for(id, to);
                self.seek_group(id, &offsets);
            }
            Command::Rebuild {
                consumer,
                from_checkpoint,
            } => {
                let id = self.consumer_id(&consumer)?;
                self.record(TraceKind::RebuildStarted {
                    consumer: id,
                    from_checkpoint,
                });
                let checkpoint = if from_checkpoint {
                    self.consumers[id.index()].checkpoint.clone()
                } else {
                    None
                };
                let offsets = match checkpoint {
                    Some((business, offsets)) => {
                        self.consumers[id.index()].business = business;
                        offsets
                    }
                    None => {
                        self.consumers[id.index()].business = Default::default();
                        self.offsets_for(id, StartFrom::Earliest)
                    }
                };
                self.seek_group(id, &offsets);
            }
        }
        Ok(())
    }

    fn first_instance_with(&self, consumer: ConsumerId, status: InstanceStatus) -> Option<u32> {
        self.consumers[consumer.index()]
            .instances
            .iter()
            .position(|i| i.status == status)
            .map(|i| i as u32)
    }

    fn publish_from_console(
        &mut self,
        channel: ChannelId,
        event_type: &str,
        key: &str,
        payload: serde_json::Value,
        schema_version: u32,
        malformed: bool,
    ) {
        let console = self.console();
        let key: Arc<str> = Arc::from(key);
        let seq = {
            let state = &mut self.producers[console.index()];
            let seq = state.seq_by_key.entry(key.clone()).or_insert(0);
            *seq += 1;
            *seq
        };
        let mut message =
            Message::clone(&self.new_message(console, key, seq, Some(payload), malformed));
        message.channel = channel;
        message.event_type = Arc::from(event_type);
        message.schema_version = schema_version;
        self.publish(Arc::new(message), Sender::Producer(console));
    }

    fn link_of(&self, service: &str) -> LinkConditions {
        if let Some(producer) = self.producer_id(service) {
            return self.producers[producer.index()].link.conditions.clone();
        }
        match self.consumer_id(service) {
            Ok(consumer) => self.consumers[consumer.index()].link.conditions.clone(),
            Err(_) => LinkConditions::default(),
        }
    }

    fn baseline_link_of(&self, service: &str) -> LinkConditions {
        if let Some(producer) = self.producer_id(service) {
            return self.producers[producer.index()].link.baseline.clone();
        }
        match self.consumer_id(service) {
            Ok(consumer) => self.consumers[consumer.index()].link.baseline.clone(),
            Err(_) => LinkConditions::default(),
        }
    }

    /// Gives a service's link new conditions; its baseline stays the scenario's.
    fn set_link(&mut self, service: &str, conditions: LinkConditions) {
        let boxed = Box::new(conditions.clone());
        if let Some(producer) = self.producer_id(service) {
            self.producers[producer.index()].link.conditions = conditions;
            self.record(TraceKind::LinkChanged {
                producer: Some(producer),
                consumer: None,
                conditions: boxed,
            });
        } else if let Ok(consumer) = self.consumer_id(service) {
            self.consumers[consumer.index()].link.conditions = conditions;
            self.record(TraceKind::LinkChanged {
                producer: None,
                consumer: Some(consumer),
                conditions: boxed,
            });
            // A restored link lets a stream group fetch again.
            self.dispatch_stream(consumer);
        }
    }

    fn set_design(&mut self, consumer: ConsumerId, design: super::design::Design) {
        let wanted = design.instances;
        // The instance count is not a setting the new design can simply overwrite: the loop
        // below compares the wanted count with the instances actually running, which
        // `instances_changed` keeps in `design.instances`. Store the new design with the
        // running count, or the loop would see the wanted count already there and add nothing.
        let running = self.consumers[consumer.index()].design.instances;
        self.consumers[consumer.index()].design = super::design::Design {
            instances: running,
            ..design
        };
        loop {
            let running = self.consumers[consumer.index()].design.instances;
            if running < wanted {
                if !self.add_instance(consumer, false) {
                    break;
                }
            } else if running > wanted {
                if !self.remove_instance(consumer) {
                    break;
                }
            } else {
                break;
            }
        }
        self.consumers[consumer.index()].design.instances =
            wanted.min(super::consumer::MAX_INSTANCES as u32);
        match self.consumers[consumer.index()].source {
            Source::Queue(queue) => self.dispatch_queue(queue),
            Source::Stream(_) => self.dispatch_stream(consumer),
        }
    }

    /// The broker restarts: it refuses traffic until it is back, loses what is not
    /// durable, and takes back every unacknowledged delivery (their acks will be stale).
    fn broker_goes_down(&mut self, downtime_ms: u64) {
        if !self.broker_up {
            return;
        }
        self.broker_up = false;
        let mut lost = 0u64;
        let mut returned = 0u64;
        for queue in &mut self.queues {
            let durable =
                self.channels[queue.channel.index()].spec.durable && queue.subscription_durable;
            let in_flight = std::mem::take(&mut queue.in_flight);
            if durable {
                returned += in_flight.len() as u64;
                for (_, flight) in in_flight.into_iter().rev() {
                    queue.ready.push_front(flight.envelope);
                }
            } else {
                lost += (in_flight.len() + queue.ready.len()) as u64;
                let ready = std::mem::take(&mut queue.ready);
                for envelope in in_flight.values().map(|f| &f.envelope).chain(&ready) {
                    queue.release(&envelope.message);
                }
            }
        }
        for consumer in &mut self.consumers {
            for instance in &mut consumer.instances {
                instance.unacked = 0;
            }
        }
        self.record(TraceKind::BrokerDown { lost, returned });
        self.schedule(downtime_ms, Pending::BrokerUp);
    }

    pub(crate) fn broker_comes_up(&mut self) {
        self.broker_up = true;
        self.record(TraceKind::BrokerUp);
        for queue in 0..self.queues.len() {
            self.dispatch_queue(super::ids::QueueId(queue as u16));
        }
        for consumer in 0..self.consumers.len() {
            let id = ConsumerId(consumer as u16);
            if matches!(self.consumers[consumer].source, Source::Stream(_)) {
                // Every member reconnects and the group forms again.
                self.rebalance(id);
            }
        }
    }

    pub(crate) fn scheduled_fault(&mut self, index: usize) {
        let Some(fault) = self.faults.get(index).map(|f| f.fault.clone()) else {
            return;
        };
        // Scheduled faults were checked when the world was built; one that no longer fits
        // (an instance removed since, say) is skipped rather than stopping the run.
        let _ = self.execute(fault);
    }
}
