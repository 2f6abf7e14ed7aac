//! Streams: partitioned, append-only logs read by consumer groups.
//!
//! A record goes to the partition its key hashes to, and keeps its offset for as long as
//! retention keeps it. Each consuming service is one consumer group: its running instances
//! share the partitions, one owner per partition, and every join or leave is a visible
//! rebalance after which each owner resumes from the group's committed offset. Fetches and
//! commits travel over an ordered connection, so a partition is always seen in order.
use std::collections::VecDeque;

use super::consumer::{InstanceStatus, Source, Work, WorkSource};
use super::ids::{ChannelId, ConsumerId, QueueId};
use super::message::{MessageRef, Publisher};
use super::scenario::StartFrom;
use super::trace::{DropReason, TraceKind};
use super::world::{Pending, World};

pub(crate) struct PartitionLog {
    /// Offset of the oldest record still kept.
    pub(crate) base: u64,
    pub(crate) records: VecDeque<MessageRef>,
    /// Bytes of the records kept, as retention adds and removes them.
    pub(crate) bytes: u64,
}

impl PartitionLog {
    pub(crate) fn end(&self) -> u64 {
        self.base + self.records.len() as u64
    }

    fn get(&self, offset: u64) -> Option<&MessageRef> {
        let index = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        self.records.get(index)
    }
}

pub(crate) struct StreamLog {
    pub(crate) partitions: Vec<PartitionLog>,
    pub(crate) retention: usize,
    /// Consumers reading this stream, one group each.
    pub(crate) groups: Vec<ConsumerId>,
}

impl StreamLog {
    pub(crate) fn new(partitions: u32, retention: u32) -> Self {
        Self {
            partitions: (0..partitions)
                .map(|_| PartitionLog {
                    base: 0,
                    records: VecDeque::new(),
                    bytes: 0,
                })
                .collect(),
            retention: retention as usize,
            groups: Vec::new(),
        }
    }
}

/// A consumer group's view of a stream.
pub(crate) struct Group {
    pub(crate) channel: ChannelId,
    pub(crate) name: String,
    pub(crate) start: StartFrom,
    pub(crate) generation: u32,
    /// The instance that owns each partition, if any.
    pub(crate) owner: Vec<Option<u32>>,
    /// Next offset to process, per partition, as committed to the broker.
    pub(crate) committed: Vec<Option<u64>>,
    /// Next offset to fetch, per partition.
    pub(crate) position: Vec<u64>,
    /// Offset after the last record processed successfully, per partition.
    pub(crate) processed: Vec<u64>,
    /// Where records that keep failing go.
    pub(crate) dead_letters: QueueId,
}

/// Which partition a key lands in: FNV-1a, a stable hash, so a key always maps to the
/// same partition in every run and on every machine.
pub fn partition_for_key(key: &str, partitions: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(partitions.max(1))) as u32
}

impl World {
    pub(crate) fn append_to_stream(&mut self, channel: ChannelId, message: &MessageRef) {
        let explicit = match message.publisher {
            Publisher::Producer(producer) => self.producers[producer.index()].spec.partition,
            Publisher::Consumer(_) => None,
        };
        let Some(log) = self.channels[channel.index()].stream.as_mut() else {
            return;
        };
        let count = log.partitions.len() as u32;
        let partition = explicit.map_or_else(
            || partition_for_key(&message.key, count),
            |p| p % count.max(1),
        );
        let retention = log.retention;
        let part = &mut log.partitions[partition as usize];
        let offset = part.end();
        part.records.push_back(message.clone());
        part.bytes += u64::from(message.size_bytes());
        if part.records.len() > retention
            && let Some(removed) = part.records.pop_front()
        {
            part.base += 1;
            part.bytes = part.bytes.saturating_sub(u64::from(removed.size_bytes()));
        }
        let groups = log.groups.clone();
        self.record(TraceKind::Appended {
            message: message.id,
            channel,
            partition,
            offset,
        });
        for consumer in groups {
            self.dispatch_stream(consumer);
        }
    }

    /// Sends each owned partition's next records to its owner, up to its prefetch limit.
    pub(crate) fn dispatch_stream(&mut self, consumer: ConsumerId) {
        if !self.broker_up {
            return;
        }
        let Source::Stream(group) = &self.consumers[consumer.index()].source else {
            return;
        };
        let channel = group.channel.index();
        let partitions = group.owner.len();
        for partition in 0..partitions {
            loop {
                let target = &self.consumers[consumer.index()];
                let Source::Stream(group) = &target.source else {
                    return;
                };
                let Some(owner) = group.owner[partition] else {
                    break;
                };
                let instance = &target.instances[owner as usize];
                if instance.status != InstanceStatus::Up
                    || instance.unacked >= target.design.prefetch
                    || target.link.conditions.cut
                {
                    break;
                }
                let Some(log) = self.channels[channel].stream.as_ref() else {
                    return;
                };
                let part = &log.partitions[partition];
                let mut position = group.position[partition];
                if position < part.base {
                    let skipped_to = part.base;
                    self.record(TraceKind::RecordsMissed {
                        consumer,
                        partition: partition as u32,
                        from_offset: position,
                        to_offset: skipped_to,
                    });
                    position = skipped_to;
                    self.skip_removed(consumer, partition, position);
                    continue;
                }
                let Some(message) = part.get(position).cloned() else {
                    break;
                };
                self.deliver_record(consumer, owner, partition as u32, position, message);
            }
        }
    }

    /// Moves past records retention removed. The group's committed offset moves too: those
    /// records are gone for every member, so the gap is reported once, not at every rebalance.
    fn skip_removed(&mut self, consumer: ConsumerId, partition: usize, position: u64) {
        if let Source::Stream(group) = &mut self.consumers[consumer.index()].source {
            group.position[partition] = position;
            let committed = &mut group.committed[partition];
            *committed = Some(committed.unwrap_or(0).max(position));
        }
    }

    fn deliver_record(
        &mut self,
        consumer: ConsumerId,
        instance: u32,
        partition: u32,
        offset: u64,
        message: MessageRef,
    ) {
        let delay = self.consumers[consumer.index()]
            .link
            .reliable_delay(&mut self.rng)
            .unwrap_or(0);
        let target = &mut self.consumers[consumer.index()];
        let Source::Stream(group) = &mut target.source else {
            return;
        };
        group.position[partition as usize] = offset + 1;
        let generation = group.generation;
        let state = &mut target.instances[instance as usize];
        state.unacked += 1;
        // An ordered connection: a record never overtakes the one fetched before it.
        let arrival = (self.now + delay).max(state.last_arrival);
        state.last_arrival = arrival;
        let incarnation = state.incarnation;
        self.deliveries += 1;
        self.record(TraceKind::Delivered {
            message: message.id,
            consumer,
            instance,
            attempt: 1,
            queue: None,
            partition: Some(partition),
            offset: Some(offset),
        });
        let work = Work {
            message,
            source: WorkSource::Stream {
                partition,
                offset,
                generation,
            },
            attempt: 1,
        };
        self.schedule(
            arrival - self.now,
            Pending::ArriveAtInstance {
                consumer,
                instance,
                incarnation,
                work,
            },
        );
    }

    pub(crate) fn commit_arrives(
        &mut self,
        consumer: ConsumerId,
        partition: u32,
        offset: u64,
        generation: u32,
    ) {
        if !self.broker_up {
            return;
        }
        let Source::Stream(group) = &mut self.consumers[consumer.index()].source else {
            return;
        };
        if group.generation != generation {
            // The partition may belong to someone else now: a commit from an older
            // generation is refused, as Kafka refuses it after a rebalance.
            return;
        }
        let slot = &mut group.committed[partition as usize];
        let next = offset + 1;
        if slot.is_none_or(|committed| committed < next) {
            *slot = Some(next);
            self.record(TraceKind::OffsetCommitted {
                consumer,
                partition,
                offset: next,
            });
        }
    }

    /// Shares the partitions out again among the running instances and restarts every
    /// owner from the committed offsets.
    pub(crate) fn rebalance(&mut self, consumer: ConsumerId) {
        let end_offsets = self.end_offsets(consumer);
        let target = &mut self.consumers[consumer.index()];
        let members: Vec<u32> = target
            .instances
            .iter()
            .enumerate()
            .filter(|(_, instance)| instance.status == InstanceStatus::Up)
            .map(|(index, _)| index as u32)
            .collect();
        let instance_count = target.instances.len();
        for instance in &mut target.instances {
            instance.drop_stream_buffer();
        }
        let Source::Stream(group) = &mut target.source else {
            return;
        };
        group.generation += 1;
        let mut assignment = vec![Vec::new(); instance_count];
        for (partition, owner) in group.owner.iter_mut().enumerate() {
            *owner = (!members.is_empty()).then(|| members[partition % members.len()]);
            if let Some(member) = *owner {
                assignment[member as usize].push(partition as u32);
            }
            let base_and_end = end_offsets[partition];
            group.position[partition] =
                resume_offset(group.committed[partition], group.start, base_and_end);
        }
        let generation = group.generation;
        self.record(TraceKind::Rebalanced {
            consumer,
            generation,
            assignment,
        });
        self.dispatch_stream(consumer);
    }

    fn end_offsets(&self, consumer: ConsumerId) -> Vec<(u64, u64)> {
        let Source::Stream(group) = &self.consumers[consumer.index()].source else {
            return Vec::new();
        };
        self.channels[group.channel.index()]
            .stream
            .as_ref()
            .map(|log| log.partitions.iter().map(|p| (p.base, p.end())).collect())
            .unwrap_or_default()
    }

    /// Moves the group's committed offsets (backwards too: this is a deliberate replay),
    /// then restarts every owner from there.
    pub(crate) fn seek_group(&mut self, consumer: ConsumerId, to: &[u64]) {
        let Source::Stream(group) = &mut self.consumers[consumer.index()].source else {
            return;
        };
        let mut resets = Vec::with_capacity(to.len());
        for (partition, offset) in to.iter().enumerate() {
            if let Some(slot) = group.committed.get_mut(partition) {
                *slot = Some(*offset);
                resets.push((partition as u32, *offset));
            }
        }
        for (partition, offset) in resets {
            self.record(TraceKind::OffsetReset {
                consumer,
                partition,
                offset,
            });
        }
        self.rebalance(consumer);
    }

    /// The offsets `start` points at, per partition of a consumer's stream.
    pub(crate) fn offsets_for(&self, consumer: ConsumerId, start: StartFrom) -> Vec<u64> {
        self.end_offsets(consumer)
            .into_iter()
            .map(|bounds| resume_offset(None, start, bounds))
            .collect()
    }

    pub(crate) fn stream_delivery_done(&mut self, consumer: ConsumerId, instance: u32) {
        let state = &mut self.consumers[consumer.index()].instances[instance as usize];
        state.unacked = state.unacked.saturating_sub(1);
        self.dispatch_stream(consumer);
    }

    pub(crate) fn send_commit(&mut self, consumer: ConsumerId, work: &Work) {
        let WorkSource::Stream {
            partition,
            offset,
            generation,
        } = work.source
        else {
            return;
        };
        match self.consumers[consumer.index()]
            .link
            .reliable_delay(&mut self.rng)
        {
            Some(delay) => self.schedule(
                delay,
                Pending::CommitArrives {
                    consumer,
                    partition,
                    offset,
                    generation,
                },
            ),
            None => self.record_consumer_drop(work.message.id, DropReason::LinkCut, consumer),
        }
    }
}

/// Where an owner resumes: the committed offset, or the group's starting point when it
/// has none, never past the end. A point before the oldest record kept stays as it is, so
/// that the fetch reports the records retention removed before the group read them.
fn resume_offset(committed: Option<u64>, start: StartFrom, (base, end): (u64, u64)) -> u64 {
    let wanted = committed.unwrap_or(match start {
        StartFrom::Earliest => base,
        StartFrom::Latest => end,
        StartFrom::Offset { offset } => offset,
    });
    wanted.min(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_always_lands_in_the_same_partition() {
        let first = partition_for_key("order-42", 8);
        assert!(first < 8);
        assert_eq!(first, partition_for_key("order-42", 8));
    }

    #[test]
    fn resume_prefers_the_committed_offset_within_what_is_kept() {
        assert_eq!(resume_offset(Some(7), StartFrom::Earliest, (0, 10)), 7);
        assert_eq!(resume_offset(None, StartFrom::Latest, (0, 10)), 10);
        assert_eq!(
            resume_offset(Some(2), StartFrom::Earliest, (5, 10)),
            2,
            "reported as missed"
        );
        assert_eq!(
            resume_offset(None, StartFrom::Offset { offset: 99 }, (0, 10)),
            10
        );
    }
}
