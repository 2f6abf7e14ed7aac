//! A consumer's instances over their lives: crashes and restarts (by a fault, by the consumer's
//! restart policy, or by hand), and scaling up and down, each a visible change to the queue's
//! competing instances or the stream group's members.
use super::consumer::{Instance, InstanceStatus, MAX_INSTANCES, Source, Work};
use super::design::AckMode;
use super::ids::ConsumerId;
use super::trace::{DropReason, TraceKind};
use super::world::{Pending, World};

impl World {
    pub(crate) fn crash_instance(&mut self, consumer: ConsumerId, instance: u32) {
        self.stop_instance(consumer, instance, InstanceStatus::Crashed);
        let target = &mut self.consumers[consumer.index()];
        target.stats.crashes += 1;
        if let Some(after) = target.spec.failures.restart_after_ms {
            let incarnation = target.instances[instance as usize].incarnation;
            self.schedule(
                after,
                Pending::InstanceRestart {
                    consumer,
                    instance,
                    incarnation,
                },
            );
        }
    }

    /// Stops an instance abruptly: what it held is lost to it. Under at-least-once the
    /// broker gets it back (after the ack deadline, or by a rebalance for a stream); under
    /// at-most-once it was already acknowledged, so it is lost for good.
    pub(crate) fn stop_instance(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        status: InstanceStatus,
    ) {
        let target = &mut self.consumers[consumer.index()];
        let at_most_once = target.design.ack_mode == AckMode::OnReceipt;
        let state = &mut target.instances[instance as usize];
        if state.status != InstanceStatus::Up {
            return;
        }
        state.status = status;
        state.incarnation += 1;
        state.unacked = 0;
        let held: Vec<Work> = state
            .current
            .take()
            .into_iter()
            .chain(state.buffer.drain(..))
            .collect();
        let lost = held.len() as u32;
        if status == InstanceStatus::Crashed {
            self.record(TraceKind::InstanceCrashed {
                consumer,
                instance,
                lost,
            });
        } else {
            self.record(TraceKind::InstanceRemoved { consumer, instance });
        }
        if at_most_once {
            for work in held {
                self.record_consumer_drop(work.message.id, DropReason::InstanceCrashed, consumer);
            }
        }
        self.instances_changed(consumer);
    }

    pub(crate) fn restart_instance(&mut self, consumer: ConsumerId, instance: u32) {
        let state = &mut self.consumers[consumer.index()].instances[instance as usize];
        if state.status != InstanceStatus::Crashed {
            return;
        }
        state.status = InstanceStatus::Up;
        state.unacked = 0;
        self.record(TraceKind::InstanceRestarted { consumer, instance });
        self.instances_changed(consumer);
    }

    pub(crate) fn scheduled_restart(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        incarnation: u32,
    ) {
        if self.consumers[consumer.index()].instances[instance as usize].incarnation == incarnation
        {
            self.restart_instance(consumer, instance);
        }
    }

    /// Adds an instance, reviving a removed one first so indexes stay small.
    pub(crate) fn add_instance(&mut self, consumer: ConsumerId, manual: bool) -> bool {
        let target = &mut self.consumers[consumer.index()];
        let revived = target
            .instances
            .iter()
            .position(|i| i.status == InstanceStatus::Removed);
        let instance = match revived {
            Some(index) => {
                let state = &mut target.instances[index];
                state.status = InstanceStatus::Up;
                state.unacked = 0;
                state.manual = manual;
                index
            }
            None if target.instances.len() < MAX_INSTANCES => {
                let mut state = Instance::new();
                state.manual = manual;
                target.instances.push(state);
                target.instances.len() - 1
            }
            None => return false,
        };
        self.record(TraceKind::InstanceAdded {
            consumer,
            instance: instance as u32,
        });
        self.instances_changed(consumer);
        true
    }

    /// Removes the highest-numbered running instance.
    pub(crate) fn remove_instance(&mut self, consumer: ConsumerId) -> bool {
        let Some(instance) = self.consumers[consumer.index()]
            .instances
            .iter()
            .rposition(|i| i.status == InstanceStatus::Up)
        else {
            return false;
        };
        self.stop_instance(consumer, instance as u32, InstanceStatus::Removed);
        true
    }

    /// Membership changed: a stream group rebalances, a queue pushes to whoever is free,
    /// and a non-durable subscription left without instances disappears with its messages.
    fn instances_changed(&mut self, consumer: ConsumerId) {
        self.consumers[consumer.index()].design.instances = self.consumers[consumer.index()]
            .instances
            .iter()
            .filter(|i| i.status != InstanceStatus::Removed)
            .count() as u32;
        match self.consumers[consumer.index()].source {
            Source::Stream(_) => self.rebalance(consumer),
            Source::Queue(queue) => {
                let target = &self.consumers[consumer.index()];
                let subscription = &self.queues[queue.index()];
                if subscription.subscriber == Some(consumer)
                    && !subscription.subscription_durable
                    && !target.has_running_instance()
                {
                    let subscription = &mut self.queues[queue.index()];
                    let dropped: Vec<_> = subscription.ready.drain(..).collect();
                    for envelope in &dropped {
                        subscription.release(&envelope.message);
                    }
                    for envelope in dropped {
                        self.record_consumer_drop(
                            envelope.message.id,
                            DropReason::NoSubscriber,
                            consumer,
                        );
                    }
                }
                self.dispatch_queue(queue);
            }
        }
    }
}
