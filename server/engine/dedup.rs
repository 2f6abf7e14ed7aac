//! A consumer's deduplication store: the message ids or business keys it has handled, each kept for
//! the design's `dedup_ttl_ms` (or for the whole run without one) and at most `dedup_capacity` of them
//! (the oldest go first), as a real handler keeps them in a table or a cache with an expiry and a size. A duplicate that arrives after its entry expired is handled again:
//! the window has to outlast every way a duplicate can come late (a redelivery after the ack
//! deadline, a producer's retry).
use std::collections::VecDeque;
use std::hash::Hash;

use super::ids::Millis;
use super::world::StableHashMap;

#[derive(Debug, Clone)]
pub(crate) struct DedupStore<K> {
    /// Each remembered entry, with when it was stored.
    entries: StableHashMap<K, Millis>,
    /// The same entries in the order they were stored, for expiry from the oldest.
    order: VecDeque<(Millis, K)>,
}

impl<K> Default for DedupStore<K> {
    fn default() -> Self {
        Self {
            entries: StableHashMap::default(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> DedupStore<K> {
    /// Remembers `key` at `now` and says whether it is new: never seen, seen longer than `ttl` ago, or
    /// pushed out since by `capacity` newer entries.
    pub(crate) fn remember(
        &mut self,
        key: K,
        now: Millis,
        ttl: Option<Millis>,
        capacity: Option<u32>,
    ) -> bool {
        self.expire(now, ttl);
        if self.entries.contains_key(&key) {
            return false;
        }
        if let Some(capacity) = capacity {
            while self.order.len() >= capacity.max(1) as usize {
                if let Some((_, oldest)) = self.order.pop_front() {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(key.clone(), now);
        self.order.push_back((now, key));
        true
    }

    /// Forgets the entries older than `ttl`.
    pub(crate) fn expire(&mut self, now: Millis, ttl: Option<Millis>) {
        let Some(ttl) = ttl else {
            return;
        };
        while let Some((stored, _)) = self.order.front() {
            if now.saturating_sub(*stored) < ttl {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.entries.remove(&key);
            }
        }
    }

    /// Entries remembered at `now`, those past their `ttl` left out (they are dropped lazily, on the
    /// next store): what the bill charges for.
    pub(crate) fn live(&self, now: Millis, ttl: Option<Millis>) -> usize {
        let Some(ttl) = ttl else {
            return self.entries.len();
        };
        let expired = self
            .order
            .partition_point(|(stored, _)| now.saturating_sub(*stored) >= ttl);
        self.order.len() - expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_forgotten_after_its_ttl_and_a_late_duplicate_is_new_again() {
        let mut store = DedupStore::default();
        assert!(store.remember("order-1", 0, Some(1_000), None));
        assert!(!store.remember("order-1", 999, Some(1_000), None));
        assert!(store.remember("order-2", 500, Some(1_000), None));
        assert!(
            store.remember("order-1", 1_000, Some(1_000), None),
            "expired"
        );
        assert_eq!(store.live(1_000, Some(1_000)), 2);
        assert_eq!(store.live(1_500, Some(1_000)), 1, "order-2 has expired");
        store.expire(2_000, Some(1_000));
        assert_eq!(store.live(2_000, None), 0);
        let mut forever = DedupStore::default();
        assert!(forever.remember(1, 0, None, None));
        assert!(!forever.remember(1, 1_000_000, None, None));
    }

    #[test]
    fn a_full_store_forgets_its_oldest_entry_first() {
        let mut store = DedupStore::default();
        for key in 1..=3 {
            assert!(store.remember(key, 0, None, Some(2)));
        }
        assert_eq!(store.live(0, None), 2);
        assert!(!store.remember(3, 0, None, Some(2)), "the newest is kept");
        assert!(
            store.remember(1, 0, None, Some(2)),
            "the oldest was pushed out"
        );
    }
}
