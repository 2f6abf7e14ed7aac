//! The room's timer for the current exercise. Its length comes from the exercise's `minutes` unless the
//! facilitator types another; it counts on the server's clock, and every view carries the time left
//! rather than an end instant, so a laptop whose clock is off still shows the right countdown.
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;

use super::error::SessionError;

/// The longest timer: a whole workshop afternoon.
pub const MAX_TIMER_MINUTES: f64 = 240.0;
/// The shortest timer; shorter ones are refused (a typo, not a plan).
pub const MIN_TIMER_MS: u64 = 1_000;

/// A running timer, in wall-clock milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub started_ms: u64,
    pub duration_ms: u64,
}

impl Timer {
    /// A timer of `minutes` (fractions allowed) from `now`.
    pub fn start(minutes: f64, now: u64) -> Result<Self, SessionError> {
        if !minutes.is_finite() || minutes <= 0.0 || minutes > MAX_TIMER_MINUTES {
            return Err(SessionError::BadRequest(format!(
                "a timer lasts between one second and {MAX_TIMER_MINUTES} minutes"
            )));
        }
        // In range above, so the cast neither overflows nor loses anything a person would notice.
        let duration_ms = (minutes * 60_000.0).round() as u64;
        if duration_ms < MIN_TIMER_MS {
            return Err(SessionError::BadRequest(
                "a timer lasts at least one second".to_owned(),
            ));
        }
        Ok(Self {
            started_ms: now,
            duration_ms,
        })
    }

    pub fn remaining_ms(&self, now: u64) -> u64 {
        (self.started_ms + self.duration_ms).saturating_sub(now)
    }

    pub fn view(&self, now: u64) -> TimerView {
        let remaining_ms = self.remaining_ms(now);
        TimerView {
            duration_ms: self.duration_ms,
            remaining_ms,
            ended: remaining_ms == 0,
        }
    }
}

/// The timer as pages show it: they count down from `remaining_ms` on their own clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimerView {
    pub duration_ms: u64,
    pub remaining_ms: u64,
    pub ended: bool,
}

/// The `timer` message a learner's page is sent: the countdown, or `null` to hide it.
pub fn learner_message(timer: Option<TimerView>) -> Utf8Bytes {
    #[derive(Serialize)]
    struct Message {
        r#type: &'static str,
        timer: Option<TimerView>,
    }
    Utf8Bytes::from(
        serde_json::to_string(&Message {
            r#type: "timer",
            timer,
        })
        .unwrap_or_else(|_| r#"{"type":"timer","timer":null}"#.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_ends() {
        let timer = Timer::start(0.5, 1_000).unwrap();
        assert_eq!(timer.duration_ms, 30_000);
        assert_eq!(timer.view(11_000).remaining_ms, 20_000);
        assert!(!timer.view(11_000).ended);
        assert!(timer.view(31_000).ended);
        assert_eq!(timer.view(99_000).remaining_ms, 0);
    }

    #[test]
    fn refuses_what_cannot_be_meant() {
        for minutes in [0.0, -1.0, f64::NAN, f64::INFINITY, 241.0, 0.001] {
            assert!(Timer::start(minutes, 0).is_err(), "{minutes}");
        }
    }
}
