//! The network between one service and the broker: latency, jitter, loss, duplication, cuts.
use super::ids::Millis;
use super::rng::SimRng;
use super::scenario::LinkConditions;
use super::trace::DropReason;

/// What the network does with one message sent over a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transit {
    /// It arrives after this delay; with a second delay it arrives twice.
    Arrives(Millis, Option<Millis>),
    Lost,
    Cut,
}

impl Transit {
    /// Why nothing arrived, when nothing did.
    pub(crate) fn drop_reason(self) -> Option<DropReason> {
        match self {
            Transit::Arrives(..) => None,
            Transit::Lost => Some(DropReason::LinkLoss),
            Transit::Cut => Some(DropReason::LinkCut),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Link {
    pub(crate) conditions: LinkConditions,
    /// The conditions the scenario gave this link: what "restore link" brings back.
    pub(crate) baseline: LinkConditions,
}

impl Link {
    pub(crate) fn new(conditions: LinkConditions) -> Self {
        Self {
            baseline: conditions.clone(),
            conditions,
        }
    }

    /// Sends one message. Randomness is drawn only for the conditions that are set, so a
    /// perfect link costs nothing and shifts no other random choice.
    pub(crate) fn send(&self, rng: &mut SimRng) -> Transit {
        let c = &self.conditions;
        if c.cut {
            return Transit::Cut;
        }
        if rng.chance(c.loss) {
            return Transit::Lost;
        }
        let first = c.latency_ms + rng.up_to(c.jitter_ms);
        let second = rng
            .chance(c.duplicate)
            .then(|| c.latency_ms + rng.up_to(c.jitter_ms));
        Transit::Arrives(first, second)
    }

    /// The delay of a reliable, ordered connection (a stream fetch, a commit): latency and
    /// jitter apply, loss and duplication do not, and `None` means the link is cut.
    pub(crate) fn reliable_delay(&self, rng: &mut SimRng) -> Option<Millis> {
        let c = &self.conditions;
        (!c.cut).then(|| c.latency_ms + rng.up_to(c.jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_link_lets_nothing_through() {
        let link = Link::new(LinkConditions {
            cut: true,
            ..LinkConditions::default()
        });
        assert_eq!(link.send(&mut SimRng::new(1)), Transit::Cut);
        assert_eq!(link.reliable_delay(&mut SimRng::new(1)), None);
    }

    #[test]
    fn certain_loss_loses_and_certain_duplication_duplicates() {
        let mut rng = SimRng::new(1);
        let lossy = Link::new(LinkConditions {
            loss: 1.0,
            ..LinkConditions::default()
        });
        assert_eq!(lossy.send(&mut rng), Transit::Lost);
        let doubling = Link::new(LinkConditions {
            latency_ms: 5,
            duplicate: 1.0,
            ..LinkConditions::default()
        });
        assert_eq!(doubling.send(&mut rng), Transit::Arrives(5, Some(5)));
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        let mut rng = SimRng::new(7);
        let link = Link::new(LinkConditions {
            latency_ms: 10,
            jitter_ms: 20,
            ..LinkConditions::default()
        });
        for _ in 0..1_000 {
            match link.send(&mut rng) {
                Transit::Arrives(delay, None) => assert!((10..=30).contains(&delay)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
