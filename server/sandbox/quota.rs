//! Free-play quotas: who owns which sandbox, so that one browser (or one script) cannot take the room's
//! sandboxes, and a reloaded page finds its own sandbox again.
//!
//! A browser is known by its `eda_browser` cookie; a client without one (a script) only by its address.
//! Addresses are a weak identity (a classroom behind one NAT or proxy shares one), so they only bound
//! clients that send no cookie. The last line of defence is the manager's: at the server's cap, a sandbox
//! nobody watches is ended to make room, oldest first, before anyone is refused.
use std::collections::HashMap;
use std::net::IpAddr;

use super::SandboxId;

/// Live free-play sandboxes one browser may hold. Policy at the limit: its oldest sandbox is ended to make
/// room for the new one (a learner who opened four exercises is done with the first).
pub const MAX_SANDBOXES_PER_BROWSER: usize = 3;
/// Live sandboxes the clients of one address may hold when they send no browser cookie. Policy at the
/// limit: refused, with a sentence; a browser (which gets a cookie on its first page) is not affected.
pub const MAX_ANONYMOUS_PER_ADDRESS: usize = 10;

/// Who asks for a free-play sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    /// The browser's `eda_browser` cookie, when it sent one.
    pub browser: Option<String>,
    /// The peer address of the connection.
    pub address: Option<IpAddr>,
}

#[derive(Debug, Clone)]
struct Owned {
    requester: Requester,
    exercise: String,
    /// Creation order: smaller is older.
    order: u64,
}

/// The owners of live free-play sandboxes.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    owners: HashMap<SandboxId, Owned>,
    next: u64,
}

impl Ledger {
    /// The browser's live sandbox for this exercise, the newest if several.
    pub(crate) fn reusable(&self, requester: &Requester, exercise: &str) -> Option<SandboxId> {
        requester.browser.as_ref()?;
        self.owners
            .iter()
            .filter(|(_, o)| o.exercise == exercise && o.requester.browser == requester.browser)
            .max_by_key(|(_, o)| o.order)
            .map(|(id, _)| *id)
    }

    /// The sandbox to end before this browser gets one more: its oldest, once it holds its quota.
    pub(crate) fn over_browser_quota(&self, requester: &Requester) -> Option<SandboxId> {
        requester.browser.as_ref()?;
        let mine: Vec<(&SandboxId, &Owned)> = self
            .owners
            .iter()
            .filter(|(_, o)| o.requester.browser == requester.browser)
            .collect();
        if mine.len() < MAX_SANDBOXES_PER_BROWSER {
            return None;
        }
        mine.into_iter()
            .min_by_key(|(_, o)| o.order)
            .map(|(id, _)| *id)
    }

    /// Whether a client without a cookie has reached its address's quota.
    pub(crate) fn anonymous_at_quota(&self, requester: &Requester) -> bool {
        if requester.browser.is_some() || requester.address.is_none() {
            return false;
        }
        let held = self
            .owners
            .values()
            .filter(|o| o.requester.browser.is_none() && o.requester.address == requester.address)
            .count();
        held >= MAX_ANONYMOUS_PER_ADDRESS
    }

    /// Of the given sandboxes (those nobody watches), the oldest free-play one.
    pub(crate) fn oldest_of(
        &self,
        candidates: impl Iterator<Item = SandboxId>,
    ) -> Option<SandboxId> {
        candidates
            .filter_map(|id| self.owners.get(&id).map(|o| (id, o.order)))
            .min_by_key(|(_, order)| *order)
            .map(|(id, _)| id)
    }

    pub(crate) fn record(&mut self, id: SandboxId, requester: Requester, exercise: &str) {
        self.next += 1;
        self.owners.insert(
            id,
            Owned {
                requester,
                exercise: exercise.to_owned(),
                order: self.next,
            },
        );
    }

    pub(crate) fn forget(&mut self, id: SandboxId) {
        self.owners.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn browser(name: &str) -> Requester {
        Requester {
            browser: Some(name.to_owned()),
            address: Some(IpAddr::from([10, 0, 0, 1])),
        }
    }

    fn script() -> Requester {
        Requester {
            browser: None,
            address: Some(IpAddr::from([10, 0, 0, 9])),
        }
    }

    #[test]
    fn a_browser_reuses_its_sandbox_and_past_its_quota_loses_its_oldest() {
        let mut ledger = Ledger::default();
        let ids: Vec<SandboxId> = (0..3).map(|_| SandboxId::new()).collect();
        for (id, exercise) in ids.iter().zip(["a", "b", "c"]) {
            assert_eq!(ledger.over_browser_quota(&browser("ada")), None);
            ledger.record(*id, browser("ada"), exercise);
        }
        assert_eq!(ledger.reusable(&browser("ada"), "b"), Some(ids[1]));
        assert_eq!(ledger.reusable(&browser("bob"), "b"), None);
        assert_eq!(ledger.over_browser_quota(&browser("ada")), Some(ids[0]));
        assert_eq!(ledger.over_browser_quota(&browser("bob")), None);
    }

    #[test]
    fn clients_without_a_cookie_are_bounded_by_their_address() {
        let mut ledger = Ledger::default();
        for _ in 0..MAX_ANONYMOUS_PER_ADDRESS {
            assert!(!ledger.anonymous_at_quota(&script()));
            ledger.record(SandboxId::new(), script(), "a");
        }
        assert!(ledger.anonymous_at_quota(&script()));
        assert!(
            !ledger.anonymous_at_quota(&browser("ada")),
            "a browser on the same network is not"
        );
    }
}
