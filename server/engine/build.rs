//! Building a world from a scenario.
use std::sync::Arc;

use super::channel::Channel;
use super::commands::CONSOLE;
use super::consumer::{Consumer, ConsumerStats, Instance, Source};
use super::error::ScenarioError;
use super::ids::{ConsumerId, ProducerId, QueueId};
use super::network::Link;
use super::producer::Producer;
use super::queue::QueueState;
use super::registry::RegistryState;
use super::rng::SimRng;
use super::scenario::{ChannelKind, ProducerSpec, Scenario};
use super::scheduler::Scheduler;
use super::stream::{Group, StreamLog};
use super::validate;
use super::world::{Pending, World};

impl World {
    /// Builds the world a scenario describes, at virtual time zero, with one seed for all
    /// of its randomness. The scenario is checked first; a bad one is refused with the
    /// field at fault.
    pub fn new(scenario: &Scenario, seed: u64) -> Result<World, ScenarioError> {
        validate::scenario(scenario)?;
        let mut world = World {
            now: 0,
            seed,
            rng: SimRng::new(seed),
            scheduler: Scheduler::new(),
            trace: Vec::new(),
            trace_missed: 0,
            lost_for: Vec::new(),
            channels: Vec::new(),
            queues: Vec::new(),
            producers: Vec::new(),
            consumers: Vec::new(),
            faults: scenario.faults.clone(),
            alerts: Vec::new(),
            schemas: scenario.schemas.clone(),
            contracts: scenario.contracts.clone(),
            broker_up: true,
            next_tag: 0,
            deliveries: 0,
            messages_created: 0,
            message_cap: super::world::DEFAULT_MESSAGE_CAP,
            rate_window: Default::default(),
            meter: Default::default(),
        };
        for spec in &scenario.channels {
            let id = super::ids::ChannelId(world.channels.len() as u16);
            let name: Arc<str> = Arc::from(spec.name.as_str());
            let mut queues = Vec::new();
            if spec.kind == ChannelKind::Queue {
                queues.push(world.add_queue(QueueState::new(name.clone(), id, None, true)));
            }
            let stream = (spec.kind == ChannelKind::Stream)
                .then(|| StreamLog::new(spec.partitions, spec.retention));
            world.channels.push(Channel {
                name,
                spec: spec.clone(),
                queues,
                stream,
                reply_for: None,
                last_message: None,
                registry: spec.registry.as_ref().map(RegistryState::new),
            });
        }
        let link_for =
            |name: &str| Link::new(scenario.links.get(name).cloned().unwrap_or_default());
        for spec in &scenario.producers {
            let id = ProducerId(world.producers.len() as u16);
            if let Some(request) = &spec.request
                && let Some(channel) = world.channel_id(&request.reply_channel)
            {
                world.channels[channel.index()].reply_for = Some(id);
            }
            world
                .producers
                .push(Producer::new(spec.clone(), link_for(&spec.name)));
            world
                .scheduler
                .schedule(spec.start_ms, Pending::ProducerTick(id));
        }
        world
            .producers
            .push(Producer::new(console_spec(scenario), Link::default()));
        for spec in &scenario.consumers {
            let id = ConsumerId(world.consumers.len() as u16);
            let Some(channel) = world.channel_id(&spec.channel) else {
                return Err(ScenarioError::new(
                    "consumers",
                    format!("there is no channel named {:?}", spec.channel),
                ));
            };
            let subscription_name: Arc<str> =
                Arc::from(format!("{} → {}", spec.channel, spec.name));
            let source = match world.channels[channel.index()].spec.kind {
                ChannelKind::Queue => {
                    let queue = world.channels[channel.index()].queues[0];
                    world.queues[queue.index()].consumers.push(id);
                    Source::Queue(queue)
                }
                ChannelKind::Topic => {
                    let mut subscription =
                        QueueState::new(subscription_name, channel, Some(id), spec.durable);
                    subscription.consumers.push(id);
                    let queue = world.add_queue(subscription);
                    world.channels[channel.index()].queues.push(queue);
                    Source::Queue(queue)
                }
                ChannelKind::Stream => {
                    let dead_letters = world.add_queue(QueueState::new(
                        Arc::from(format!("{} (dead letters)", subscription_name)),
                        channel,
                        Some(id),
                        true,
                    ));
                    let partitions = world.channels[channel.index()].spec.partitions as usize;
                    if let Some(log) = world.channels[channel.index()].stream.as_mut() {
                        log.groups.push(id);
                    }
                    Source::Stream(Group {
                        channel,
                        name: spec.group.clone().unwrap_or_else(|| spec.name.clone()),
                        start: spec.start,
                        generation: 0,
                        owner: vec![None; partitions],
                        committed: vec![None; partitions],
                        position: vec![0; partitions],
                        processed: vec![0; partitions],
                        dead_letters,
                    })
                }
            };
            world.consumers.push(Consumer {
                name: Arc::from(spec.name.as_str()),
                design: spec.design.clone(),
                source,
                instances: (0..spec.design.instances)
                    .map(|_| Instance::new())
                    .collect(),
                link: link_for(&spec.name),
                paused: false,
                slow_factor: 1,
                dependency_down: false,
                dependency_window: (0, 0),
                business: Default::default(),
                checkpoint: None,
                since_checkpoint: 0,
                stats: ConsumerStats::default(),
                spec: spec.clone(),
            });
        }
        for (index, fault) in scenario.faults.iter().enumerate() {
            world
                .scheduler
                .schedule(fault.at_ms, Pending::ScheduledFault(index));
        }
        for consumer in 0..world.consumers.len() {
            if matches!(world.consumers[consumer].source, Source::Stream(_)) {
                world.rebalance(ConsumerId(consumer as u16));
            }
        }
        world.preregister_schemas(scenario);
        world.schedule_releases();
        world.start_alerts(&scenario.alerts);
        Ok(world)
    }

    /// The versions in use when the run begins are in their channel's registry already: the
    /// producers' starting versions and the consumers' follow-up events.
    fn preregister_schemas(&mut self, scenario: &Scenario) {
        let in_use = scenario
            .producers
            .iter()
            .map(|p| (&p.channel, &p.event_type, p.schema_version))
            .chain(
                scenario
                    .consumers
                    .iter()
                    .flat_map(|c| &c.emits)
                    .map(|e| (&e.channel, &e.event_type, e.schema_version)),
            );
        for (channel, event_type, version) in in_use {
            if let Some(channel) = self.channel_id(channel)
                && let Some(registry) = self.channels[channel.index()].registry.as_mut()
            {
                registry.preregister(&Arc::from(event_type.as_str()), version);
            }
        }
    }

    fn add_queue(&mut self, queue: QueueState) -> QueueId {
        self.queues.push(queue);
        QueueId((self.queues.len() - 1) as u16)
    }
}

/// The console publishes only by hand: its count is zero, so it never ticks on its own.
fn console_spec(scenario: &Scenario) -> ProducerSpec {
    ProducerSpec {
        name: CONSOLE.to_owned(),
        channel: scenario
            .channels
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        event_type: "Manual".to_owned(),
        schema_version: 1,
        rate_per_sec: 1.0,
        count: Some(0),
        start_ms: 0,
        keys: Vec::new(),
        key_prefix: "manual".to_owned(),
        payload: serde_json::Value::Object(serde_json::Map::new()),
        partition: None,
        routing_key: None,
        delivery: Default::default(),
        request: None,
        releases: Vec::new(),
        attachment_bytes: 0,
        claim_check: false,
    }
}
