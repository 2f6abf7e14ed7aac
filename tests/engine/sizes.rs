//! What a message weighs: an attachment counts in its size, a channel refuses a message over its
//! largest size, and a claim check keeps the attachment out of the broker at the price of a fetch
//! for the consumers that read it.
use eda_playground::engine::TraceKind;

use crate::support::*;

/// Claims with 600 KB of photos on a topic that accepts at most 256 KiB.
const ATTACHMENTS: &str = r#"
[[channels]]
name = "claims"
kind = "topic"
max_message_bytes = 262144
[[producers]]
name = "app"
channel = "claims"
event_type = "ClaimSubmitted"
rate_per_sec = 10
count = 10
attachment_bytes = 600000
[[consumers]]
name = "assessment"
channel = "claims"
processing_ms = 200
fetch_attachment_ms = 80
[[consumers]]
name = "notifications"
channel = "claims"
processing_ms = 10
"#;

#[test]
fn a_message_over_the_channels_limit_is_refused_and_a_claim_check_gets_it_through() {
    use eda_playground::engine::{DropReason, ENVELOPE_BYTES};
    let mut inline = world(ATTACHMENTS, 1);
    let events = run(&mut inline, 5_000);
    let refused = of_type(&events, "publish_failed");
    assert_eq!(refused.len(), 10, "every claim is refused");
    assert!(refused.iter().all(|e| matches!(
        e.kind,
        TraceKind::PublishFailed {
            reason: DropReason::TooLarge,
            ..
        }
    )));
    assert_eq!(count(&events, "enqueued"), 0);
    // The size each claim weighs: {} , 600,000 bytes of photos, its key (order-1), its type and
    // the envelope.
    let first = of_type(&events, "published")[0];
    let TraceKind::Published { size_bytes, .. } = first.kind else {
        unreachable!()
    };
    assert_eq!(
        size_bytes,
        2 + 600_000 + 7 + "ClaimSubmitted".len() as u32 + ENVELOPE_BYTES
    );

    let text = ATTACHMENTS.replace(
        "attachment_bytes = 600000\n",
        "attachment_bytes = 600000\nclaim_check = true\n",
    );
    let mut checked = world(&text, 1);
    let events = run(&mut checked, 10_000);
    assert_eq!(count(&events, "publish_failed"), 0);
    assert_eq!(count(&events, "enqueued"), 20, "one copy per subscription");
    let TraceKind::Published { size_bytes, .. } = of_type(&events, "published")[0].kind else {
        unreachable!()
    };
    assert_eq!(
        size_bytes,
        2 + eda_playground::engine::message::CLAIM_REFERENCE_BYTES
            + 7
            + "ClaimSubmitted".len() as u32
            + ENVELOPE_BYTES,
        "the event carries a reference instead of the photos"
    );
    // The first claim each consumer handles: assessment fetches the photos (200 + 80 ms), while
    // notifications, which never reads them, takes its 10 ms.
    for (name, consumer, took) in [("assessment", 0u16, 280), ("notifications", 1, 10)] {
        let at = |kind: &str| {
            events
                .iter()
                .find(|e| {
                    type_name(&e.kind) == kind
                        && matches!(e.kind,
                            TraceKind::Received { consumer: c, .. } | TraceKind::EffectApplied { consumer: c, .. }
                            if c.0 == consumer)
                })
                .map(|e| e.at)
                .unwrap()
        };
        assert_eq!(at("effect_applied") - at("received"), took, "{name}");
    }
    assert_eq!(report_for(&checked, "assessment").business.applied, 10);
}
