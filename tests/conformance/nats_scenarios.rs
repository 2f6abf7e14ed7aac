//! The scenarios on NATS JetStream: each makes its own stream and consumers, runs, and returns
//! what it counted.
use std::time::Duration;

use async_nats::jetstream::consumer::{PullConsumer, pull};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;

use crate::nats::Nats;
use crate::process::{CONDITION_TIMEOUT, eventually};

/// How long one pull waits for messages the server has not got yet.
const PULL_WAIT: Duration = Duration::from_secs(5);

/// How long the pull that should come back empty waits (after MaxDeliver nothing comes).
const LAST_PULL_WAIT: Duration = Duration::from_secs(1);

pub(crate) fn bodies(count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("m{n}")).collect()
}

async fn pull_one(consumer: &PullConsumer) -> Option<jetstream::Message> {
    pull_within(consumer, PULL_WAIT).await
}

async fn pull_within(consumer: &PullConsumer, wait: Duration) -> Option<jetstream::Message> {
    let mut batch = consumer
        .fetch()
        .max_messages(1)
        .expires(wait)
        .messages()
        .await
        .expect("a fetch");
    batch.next().await.map(|m| m.expect("a message"))
}

/// What a consumer with MaxDeliver did with a message it was always nacking.
pub(crate) struct MaxDeliver {
    pub(crate) deliveries: usize,
    pub(crate) advisory_deliveries: u64,
    pub(crate) still_in_stream: u64,
}

/// One message nacked at every delivery by a consumer with `max_deliver`.
pub(crate) async fn max_deliver(nats: &Nats, max_deliver: i64) -> MaxDeliver {
    let stream = nats
        .stream(stream::Config {
            name: "LIMITED".to_owned(),
            subjects: vec!["limited".to_owned()],
            ..Default::default()
        })
        .await;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("worker".to_owned()),
            max_deliver,
            ..Default::default()
        })
        .await
        .expect("a consumer");
    let mut advisories = nats
        .client
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.LIMITED.worker")
        .await
        .expect("an advisory subscription");
    nats.client.flush().await.expect("a flush");
    nats.publish("limited", &bodies(1)).await;
    // Pull until a pull comes back empty: the server checks MaxDeliver when it would redeliver,
    // which a pending pull makes it do, and publishes the advisory then.
    let mut deliveries = 0;
    while let Some(message) = pull_within(&consumer, LAST_PULL_WAIT).await {
        deliveries += 1;
        message
            .double_ack_with(AckKind::Nak(None))
            .await
            .expect("a nak");
    }
    let advisory = tokio::time::timeout(CONDITION_TIMEOUT, advisories.next())
        .await
        .expect("a MAX_DELIVERIES advisory in time")
        .expect("the subscription is open");
    let advisory: serde_json::Value =
        serde_json::from_slice(&advisory.payload).expect("an advisory is JSON");
    let mut stream = stream;
    let state = stream.info().await.expect("stream info").state.messages;
    MaxDeliver {
        deliveries,
        advisory_deliveries: advisory["deliveries"].as_u64().unwrap_or_default(),
        still_in_stream: state,
    }
}

/// `messages` on a stream with MaxAge and nobody consuming: once the stream has dropped them, how
/// many a new consumer finds (they are not dead-lettered anywhere).
pub(crate) async fn max_age(nats: &Nats, max_age: Duration, messages: usize) -> usize {
    let stream = nats
        .stream(stream::Config {
            name: "SHORT".to_owned(),
            subjects: vec!["short".to_owned()],
            max_age,
            ..Default::default()
        })
        .await;
    nats.publish("short", &bodies(messages)).await;
    eventually(
        "the stream to drop expired messages",
        CONDITION_TIMEOUT,
        || {
            let jetstream = nats.jetstream.clone();
            async move {
                let stream = jetstream.get_stream("SHORT").await.ok()?;
                (stream.cached_info().state.messages == 0).then_some(())
            }
        },
    )
    .await;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("late".to_owned()),
            ..Default::default()
        })
        .await
        .expect("a consumer");
    consumer
        .fetch()
        .max_messages(messages)
        .expires(Duration::from_millis(200))
        .messages()
        .await
        .expect("a fetch")
        .count()
        .await
}

/// One message never acknowledged by a consumer with `ack_wait`: the delivery counts seen.
pub(crate) async fn ack_wait(nats: &Nats, ack_wait: Duration) -> Vec<i64> {
    let stream = nats
        .stream(stream::Config {
            name: "SLOW".to_owned(),
            subjects: vec!["slow".to_owned()],
            ..Default::default()
        })
        .await;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("holder".to_owned()),
            ack_wait,
            ..Default::default()
        })
        .await
        .expect("a consumer");
    nats.publish("slow", &bodies(1)).await;
    let first = pull_one(&consumer).await.expect("the first delivery");
    let first_count = first.info().expect("delivery info").delivered;
    let again = pull_one(&consumer)
        .await
        .expect("a redelivery after AckWait");
    let info = again.info().expect("delivery info");
    let second = (info.delivered, info.stream_sequence);
    again.ack().await.expect("an ack");
    assert_eq!(second.1, 1, "the same message came back");
    vec![first_count, second.0]
}

/// A stream with a durable consumer and a core NATS subscriber that unsubscribes while
/// `messages` are published. Returns (durable, core) counts of those messages, read up to a
/// marker published after the core subscriber came back.
pub(crate) async fn durable_subscriptions(nats: &Nats, messages: usize) -> (usize, usize) {
    let stream = nats
        .stream(stream::Config {
            name: "ORDERS".to_owned(),
            subjects: vec!["orders".to_owned()],
            ..Default::default()
        })
        .await;
    let durable: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("billing".to_owned()),
            ..Default::default()
        })
        .await
        .expect("a durable consumer");
    let mut away = nats
        .client
        .subscribe("orders")
        .await
        .expect("a subscription");
    away.unsubscribe().await.expect("an unsubscribe");
    nats.publish("orders", &bodies(messages)).await;
    let mut back = nats
        .client
        .subscribe("orders")
        .await
        .expect("a subscription");
    nats.client.flush().await.expect("a flush");
    nats.publish("orders", &["marker".to_owned()]).await;
    let first = tokio::time::timeout(CONDITION_TIMEOUT, back.next())
        .await
        .expect("a message in time")
        .expect("the subscription is open");
    let core = usize::from(first.payload.as_ref() != b"marker");
    let mut found = 0;
    while let Some(message) = pull_one(&durable).await {
        message.ack().await.expect("an ack");
        if message.payload.as_ref() == b"marker" {
            break;
        }
        found += 1;
    }
    (found, core)
}

/// m1, m2, m3 pulled one at a time; m1 is nacked once. Returns the bodies in delivery order.
pub(crate) async fn nak_order(nats: &Nats) -> Vec<String> {
    let stream = nats
        .stream(stream::Config {
            name: "REQUEUE".to_owned(),
            subjects: vec!["requeue".to_owned()],
            ..Default::default()
        })
        .await;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("worker".to_owned()),
            ..Default::default()
        })
        .await
        .expect("a consumer");
    nats.publish("requeue", &bodies(3)).await;
    let mut order = Vec::new();
    let mut nacked = false;
    while order.len() < 4 {
        let message = pull_one(&consumer).await.expect("a delivery");
        let body = String::from_utf8_lossy(&message.payload).into_owned();
        if body == "m1" && !nacked {
            nacked = true;
            // Waits for the server to take the nak, so that the next pull cannot overtake it.
            message
                .double_ack_with(AckKind::Nak(None))
                .await
                .expect("a nak");
        } else {
            message.ack().await.expect("an ack");
        }
        order.push(body);
    }
    order
}

/// Two instances pulling from one consumer with `max_ack_pending`: `slow` pulls `prefetch`
/// messages and holds them, `fast` pulls `prefetch` at a time and acks each. Returns (slow,
/// fast) deliveries once a pull of fast's comes back empty.
pub(crate) async fn competing(
    nats: &Nats,
    prefetch: usize,
    max_ack_pending: i64,
    messages: usize,
) -> (usize, usize) {
    let name = format!("COMPETING_{prefetch}_{max_ack_pending}");
    let subject = format!("competing.{prefetch}.{max_ack_pending}");
    let stream = nats
        .stream(stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("workers".to_owned()),
            max_ack_pending,
            ..Default::default()
        })
        .await
        .expect("a consumer");
    nats.publish(&subject, &bodies(messages)).await;
    let held: Vec<jetstream::Message> = consumer
        .fetch()
        .max_messages(prefetch)
        .expires(PULL_WAIT)
        .messages()
        .await
        .expect("a fetch")
        .map(|m| m.expect("a message"))
        .collect()
        .await;
    let mut fast = 0;
    loop {
        let batch: Vec<jetstream::Message> = consumer
            .fetch()
            .max_messages(prefetch)
            .expires(LAST_PULL_WAIT)
            .messages()
            .await
            .expect("a fetch")
            .map(|m| m.expect("a message"))
            .collect()
            .await;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            message.double_ack().await.expect("an ack");
            fast += 1;
        }
    }
    for message in &held {
        message.double_ack().await.expect("an ack");
    }
    (held.len(), fast)
}

/// The defaults the notes quote, as the server fills them in for a stream and a pull consumer
/// created with nothing set: (duplicate window, AckWait, MaxAckPending, MaxDeliver).
pub(crate) async fn defaults(nats: &Nats) -> (Duration, Duration, i64, i64) {
    let stream = nats
        .stream(stream::Config {
            name: "DEFAULTS".to_owned(),
            subjects: vec!["defaults".to_owned()],
            ..Default::default()
        })
        .await;
    let window = stream.cached_info().config.duplicate_window;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("plain".to_owned()),
            ..Default::default()
        })
        .await
        .expect("a consumer");
    let config = &consumer.cached_info().config;
    (
        window,
        config.ack_wait,
        config.max_ack_pending,
        config.max_deliver,
    )
}

/// `records` on a stream, read by a consumer that starts at stream sequence `sequence`. Returns
/// the stream sequences delivered, up to the last record.
/// With `consumer_first`, the consumer is created on the empty stream before the publishes.
pub(crate) async fn from_sequence(
    nats: &Nats,
    records: usize,
    sequence: u64,
    consumer_first: bool,
) -> Vec<u64> {
    let (name, subject) = if consumer_first {
        ("LEDGER_EMPTY", "ledger.empty")
    } else {
        ("LEDGER", "ledger")
    };
    let stream = nats
        .stream(stream::Config {
            name: name.to_owned(),
            subjects: vec![subject.to_owned()],
            ..Default::default()
        })
        .await;
    if !consumer_first {
        nats.publish(subject, &bodies(records)).await;
    }
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("reader".to_owned()),
            deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: sequence,
            },
            ..Default::default()
        })
        .await
        .expect("a consumer");
    if consumer_first {
        nats.publish(subject, &bodies(records)).await;
    }
    let mut sequences = Vec::new();
    while let Some(message) = pull_one(&consumer).await {
        sequences.push(message.info().expect("delivery info").stream_sequence);
        message.double_ack().await.expect("an ack");
        if message.payload.as_ref() == format!("m{records}").as_bytes() {
            break;
        }
    }
    sequences
}
