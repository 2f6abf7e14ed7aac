//! The event queue of the simulation: what happens next, and when.
//!
//! Entries are ordered by virtual time, then by the order in which they were scheduled, so
//! two events due at the same millisecond always run in the same order (the stable
//! tie-break that makes runs reproducible).
//!
//! The heap holds only small keys (time, order, slot); the events themselves sit in a slab
//! of reused slots. Sifting 24-byte keys instead of whole events keeps the heap in cache,
//! which is most of the engine's speed.
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::ids::Millis;

pub(crate) struct Scheduler<E> {
    heap: BinaryHeap<Entry>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    next_sequence: u64,
}

#[derive(PartialEq, Eq)]
struct Entry {
    at: Millis,
    sequence: u64,
    slot: u32,
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed, because BinaryHeap is a max-heap and we want the earliest entry on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

impl<E> Scheduler<E> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_sequence: 0,
        }
    }

    pub(crate) fn schedule(&mut self, at: Millis, event: E) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Entry { at, sequence, slot });
    }

    pub(crate) fn next_at(&self) -> Option<Millis> {
        self.heap.peek().map(|entry| entry.at)
    }

    /// Removes and returns the earliest event if it is due at or before `until`.
    pub(crate) fn pop_due(&mut self, until: Millis) -> Option<(Millis, E)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        let entry = self.heap.pop()?;
        self.free.push(entry.slot);
        // Every slot in the heap holds an event: it is filled before it is pushed and
        // emptied only here, when its entry leaves the heap.
        let event = self.slots[entry.slot as usize].take()?;
        Some((entry.at, event))
    }

    /// Every event still to come, in no particular order.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &E> {
        self.slots.iter().flatten()
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_keep_scheduling_order() {
        let mut scheduler = Scheduler::new();
        scheduler.schedule(5, "b");
        scheduler.schedule(3, "a");
        scheduler.schedule(5, "c");
        let order: Vec<_> = std::iter::from_fn(|| scheduler.pop_due(10)).collect();
        assert_eq!(order, vec![(3, "a"), (5, "b"), (5, "c")]);
    }

    #[test]
    fn nothing_is_due_before_its_time() {
        let mut scheduler = Scheduler::new();
        scheduler.schedule(7, ());
        assert!(scheduler.pop_due(6).is_none());
        assert_eq!(scheduler.next_at(), Some(7));
    }
}
