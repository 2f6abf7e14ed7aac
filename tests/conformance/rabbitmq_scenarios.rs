//! The scenarios on RabbitMQ: each sets up its own queues, runs, and returns what it counted.
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ExchangeKind};
use serde_json::{Value, json};

use crate::process::{CONDITION_TIMEOUT, eventually};
use crate::rabbitmq::RabbitMq;

/// A queue argument as AMQP wants it.
pub(crate) fn arguments(pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in pairs {
        table.insert((*key).into(), value.clone());
    }
    table
}

pub(crate) fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

/// Declares a non-exclusive queue that survives its declaring connection.
pub(crate) async fn declare(channel: &Channel, name: &str, durable: bool, args: FieldTable) {
    channel
        .queue_declare(
            name,
            QueueDeclareOptions {
                durable,
                ..QueueDeclareOptions::default()
            },
            args,
        )
        .await
        .unwrap_or_else(|e| panic!("queue {name} declared: {e}"));
}

/// Publishes each body with a publisher confirm, so that it is in the queue when this returns.
pub(crate) async fn publish(channel: &Channel, exchange: &str, key: &str, bodies: &[&str]) {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    for body in bodies {
        channel
            .basic_publish(
                exchange,
                key,
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("a publish")
            .await
            .expect("a confirm");
    }
}

/// A consumer with `prefetch` on its own connection.
async fn consumer(
    broker: &RabbitMq,
    queue: &str,
    tag: &str,
    prefetch: u16,
) -> (Connection, Channel, lapin::Consumer) {
    let (connection, channel) = broker.channel().await;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .expect("qos");
    let consumer = channel
        .basic_consume(
            queue,
            tag,
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("a consumer");
    (connection, channel, consumer)
}

/// basic.nack with requeue: give the delivery back to the queue.
async fn requeue(delivery: &Delivery) {
    delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            multiple: false,
        })
        .await
        .expect("a nack");
}

fn body(delivery: &Delivery) -> String {
    String::from_utf8_lossy(&delivery.data).into_owned()
}

/// AMQP header values as JSON, for reading x-death and x-delivery-count.
pub(crate) fn to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => json!(b),
        AMQPValue::ShortShortInt(n) => json!(n),
        AMQPValue::ShortShortUInt(n) => json!(n),
        AMQPValue::ShortInt(n) => json!(n),
        AMQPValue::ShortUInt(n) => json!(n),
        AMQPValue::LongInt(n) => json!(n),
        AMQPValue::LongUInt(n) => json!(n),
        AMQPValue::LongLongInt(n) => json!(n),
        AMQPValue::Timestamp(n) => json!(n),
        AMQPValue::ShortString(s) => json!(s.as_str()),
        AMQPValue::LongString(s) => json!(String::from_utf8_lossy(s.as_bytes())),
        AMQPValue::FieldArray(items) => {
            Value::Array(items.as_slice().iter().map(to_json).collect())
        }
        AMQPValue::FieldTable(table) => table_json(table),
        other => json!(format!("{other:?}")),
    }
}

pub(crate) fn table_json(table: &FieldTable) -> Value {
    Value::Object(
        table
            .inner()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), to_json(v)))
            .collect(),
    )
}

fn headers(delivery: &Delivery) -> Value {
    delivery
        .properties
        .headers()
        .as_ref()
        .map(table_json)
        .unwrap_or(Value::Null)
}

/// Takes every message from `queue` with basic.get until `count` have come, acking each.
async fn drain(channel: &Channel, queue: &str, count: usize) -> Vec<Delivery> {
    let got = Arc::new(Mutex::new(Vec::new()));
    eventually(
        &format!("{count} messages in {queue}"),
        CONDITION_TIMEOUT,
        || {
            let got = got.clone();
            async move {
                while let Some(message) = channel
                    .basic_get(queue, BasicGetOptions::default())
                    .await
                    .expect("basic.get")
                {
                    message
                        .delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .expect("an ack");
                    got.lock().expect("not poisoned").push(message.delivery);
                }
                (got.lock().expect("not poisoned").len() >= count).then_some(())
            }
        },
    )
    .await;
    std::mem::take(&mut *got.lock().expect("not poisoned"))
}

/// Two consumers with `prefetch`: `slow` never acks until the end, `fast` acks at once. Returns
/// (slow, fast) deliveries once all `messages` are delivered.
pub(crate) async fn competing(broker: &RabbitMq, prefetch: u16, messages: usize) -> (usize, usize) {
    let queue = format!("competing-{prefetch}");
    let (_publisher_connection, publisher) = broker.channel().await;
    declare(&publisher, &queue, false, FieldTable::default()).await;
    let (_slow_connection, _slow_channel, mut slow) =
        consumer(broker, &queue, "slow", prefetch).await;
    let (_fast_connection, _fast_channel, mut fast) =
        consumer(broker, &queue, "fast", prefetch).await;
    let fast_count = Arc::new(Mutex::new(0usize));
    let counter = fast_count.clone();
    let fast_task = tokio::spawn(async move {
        while let Some(Ok(delivery)) = fast.next().await {
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("an ack");
            *counter.lock().expect("not poisoned") += 1;
        }
    });
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = held.clone();
    let slow_task = tokio::spawn(async move {
        while let Some(Ok(delivery)) = slow.next().await {
            holder.lock().expect("not poisoned").push(delivery);
        }
    });
    let bodies: Vec<String> = (1..=messages).map(|n| format!("m{n}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    publish(&publisher, "", &queue, &refs).await;
    eventually("every message delivered", CONDITION_TIMEOUT, || {
        let total =
            held.lock().expect("not poisoned").len() + *fast_count.lock().expect("not poisoned");
        async move { (total == messages).then_some(()) }
    })
    .await;
    let slow_count = held.lock().expect("not poisoned").len();
    let fast_total = *fast_count.lock().expect("not poisoned");
    let taken: Vec<_> = std::mem::take(&mut *held.lock().expect("not poisoned"));
    for delivery in taken {
        delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .expect("an ack");
    }
    fast_task.abort();
    slow_task.abort();
    (slow_count, fast_total)
}

/// m1, m2, m3 on a queue of `queue_type`, read with prefetch 1; m1 is nacked with requeue once.
/// Returns the bodies in delivery order.
pub(crate) async fn nack_requeue(broker: &RabbitMq, queue_type: &str) -> Vec<String> {
    let queue = format!("requeue-{queue_type}");
    let (_publisher_connection, publisher) = broker.channel().await;
    declare(
        &publisher,
        &queue,
        true,
        arguments(&[("x-queue-type", text(queue_type))]),
    )
    .await;
    publish(&publisher, "", &queue, &["m1", "m2", "m3"]).await;
    let (_connection, _channel, mut consumer) = consumer(broker, &queue, "worker", 1).await;
    let mut order = Vec::new();
    let mut nacked = false;
    while order.len() < 4 {
        let delivery = tokio::time::timeout(CONDITION_TIMEOUT, consumer.next())
            .await
            .expect("a delivery in time")
            .expect("the consumer is open")
            .expect("a delivery");
        let name = body(&delivery);
        if name == "m1" && !nacked {
            nacked = true;
            requeue(&delivery).await;
        } else {
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("an ack");
        }
        order.push(name);
    }
    order
}

/// What a dead letter carried.
pub(crate) struct DeadLetter {
    pub(crate) deliveries: usize,
    pub(crate) reason: String,
    pub(crate) death_count: u64,
    pub(crate) last_delivery_count: Value,
}

/// One message on a quorum queue with x-delivery-limit, nacked with requeue every time, until it
/// is dead-lettered.
pub(crate) async fn delivery_limit(broker: &RabbitMq, limit: i64) -> DeadLetter {
    let queue = format!("limited-{limit}");
    let dead = format!("{queue}.dlq");
    let (_publisher_connection, publisher) = broker.channel().await;
    declare(&publisher, &dead, true, FieldTable::default()).await;
    declare(
        &publisher,
        &queue,
        true,
        arguments(&[
            ("x-queue-type", text("quorum")),
            ("x-delivery-limit", AMQPValue::LongLongInt(limit)),
            ("x-dead-letter-exchange", text("")),
            ("x-dead-letter-routing-key", text(&dead)),
        ]),
    )
    .await;
    publish(&publisher, "", &queue, &["m1"]).await;
    let (_connection, _channel, mut consumer) = consumer(broker, &queue, "worker", 1).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        while let Some(Ok(delivery)) = consumer.next().await {
            log.lock()
                .expect("not poisoned")
                .push(headers(&delivery)["x-delivery-count"].clone());
            requeue(&delivery).await;
        }
    });
    let letters = drain(&publisher, &dead, 1).await;
    task.abort();
    let seen = seen.lock().expect("not poisoned").clone();
    let death = headers(&letters[0])["x-death"][0].clone();
    DeadLetter {
        deliveries: seen.len(),
        reason: death["reason"].as_str().unwrap_or_default().to_owned(),
        death_count: death["count"].as_u64().unwrap_or_default(),
        last_delivery_count: seen.last().cloned().unwrap_or(Value::Null),
    }
}

/// `messages` on a queue with x-message-ttl and nobody consuming. Returns the dead letters'
/// x-death reasons.
pub(crate) async fn ttl_expiry(broker: &RabbitMq, ttl_ms: i64, messages: usize) -> Vec<String> {
    let queue = "short-lived";
    let dead = "short-lived.dlq";
    let (_publisher_connection, publisher) = broker.channel().await;
    declare(&publisher, dead, true, FieldTable::default()).await;
    declare(
        &publisher,
        queue,
        true,
        arguments(&[
            ("x-message-ttl", AMQPValue::LongLongInt(ttl_ms)),
            ("x-dead-letter-exchange", text("")),
            ("x-dead-letter-routing-key", text(dead)),
        ]),
    )
    .await;
    let bodies: Vec<String> = (1..=messages).map(|n| format!("m{n}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    publish(&publisher, "", queue, &refs).await;
    drain(&publisher, dead, messages)
        .await
        .iter()
        .map(|d| {
            headers(d)["x-death"][0]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// What happened to a delivery nobody acknowledged.
pub(crate) struct Timeout {
    pub(crate) channel_closed: bool,
    pub(crate) redelivered: bool,
    pub(crate) after_ms: u128,
}

/// One message held unacknowledged past consumer_timeout.
pub(crate) async fn consumer_timeout(broker: &RabbitMq) -> Timeout {
    let queue = "slowpoke";
    let (_publisher_connection, publisher) = broker.channel().await;
    declare(&publisher, queue, true, FieldTable::default()).await;
    publish(&publisher, "", queue, &["m1"]).await;
    let (_connection, channel, mut first) = consumer(broker, queue, "holder", 1).await;
    let held = tokio::time::timeout(CONDITION_TIMEOUT, first.next())
        .await
        .expect("a delivery in time");
    assert!(held.is_some(), "the first delivery");
    let start = Instant::now();
    eventually("the channel to be closed", CONDITION_TIMEOUT * 4, || {
        let closed = !channel.status().connected();
        async move { closed.then_some(()) }
    })
    .await;
    let after_ms = start.elapsed().as_millis();
    let (_second_connection, _second_channel, mut second) =
        consumer(broker, queue, "next", 1).await;
    let again = tokio::time::timeout(CONDITION_TIMEOUT, second.next())
        .await
        .expect("a redelivery in time")
        .expect("the consumer is open")
        .expect("a delivery");
    again
        .acker
        .ack(BasicAckOptions::default())
        .await
        .expect("an ack");
    Timeout {
        channel_closed: true,
        redelivered: again.redelivered,
        after_ms,
    }
}

/// A fanout exchange with a durable queue (billing) and an exclusive one (email). Email's
/// connection is closed while `messages` are published. Returns (billing, email) counts of those
/// messages, read up to a marker published after email came back.
pub(crate) async fn durable_subscriptions(broker: &RabbitMq, messages: usize) -> (usize, usize) {
    let exchange = "orders";
    let (_publisher_connection, publisher) = broker.channel().await;
    publisher
        .exchange_declare(
            exchange,
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("the exchange");
    declare(&publisher, "billing", true, FieldTable::default()).await;
    bind(&publisher, "billing", exchange).await;
    let email = exclusive_subscription(broker, exchange).await;
    email
        .0
        .close(200, "offline")
        .await
        .expect("email goes offline");
    let bodies: Vec<String> = (1..=messages).map(|n| format!("m{n}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    publish(&publisher, exchange, "", &refs).await;
    let (_email_connection, email_channel, email_queue) =
        exclusive_subscription(broker, exchange).await;
    publish(&publisher, exchange, "", &["marker"]).await;
    let billing = drain(&publisher, "billing", messages + 1).await;
    let email = drain(&email_channel, &email_queue, 1).await;
    let before_marker = |got: &[Delivery]| got.iter().take_while(|d| body(d) != "marker").count();
    (before_marker(&billing), before_marker(&email))
}

async fn bind(channel: &Channel, queue: &str, exchange: &str) {
    channel
        .queue_bind(
            queue,
            exchange,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("a binding");
}

/// A server-named exclusive queue bound to `exchange`, gone when its connection closes.
async fn exclusive_subscription(
    broker: &RabbitMq,
    exchange: &str,
) -> (Connection, Channel, String) {
    let (connection, channel) = broker.channel().await;
    let queue = channel
        .queue_declare(
            "",
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("an exclusive queue");
    let name = queue.name().as_str().to_owned();
    bind(&channel, &name, exchange).await;
    (connection, channel, name)
}

/// `records` on a stream queue, read by a consumer with x-stream-offset `offset`. Returns the
/// offsets delivered (the x-stream-offset header of each), up to the last record.
pub(crate) async fn stream_from_offset(
    broker: &RabbitMq,
    records: usize,
    offset: i64,
    consumer_first: bool,
) -> Vec<i64> {
    let queue = if consumer_first {
        "ledger-empty"
    } else {
        "ledger"
    };
    let (_publisher_connection, publisher) = broker.channel().await;
    declare(
        &publisher,
        queue,
        true,
        arguments(&[("x-queue-type", text("stream"))]),
    )
    .await;
    let bodies: Vec<String> = (1..=records).map(|n| format!("m{n}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    if !consumer_first {
        publish(&publisher, "", queue, &refs).await;
    }
    let (_connection, channel) = broker.channel().await;
    // A stream consumer needs a prefetch.
    channel
        .basic_qos(10, BasicQosOptions::default())
        .await
        .expect("qos");
    let mut consumer = channel
        .basic_consume(
            queue,
            "reader",
            BasicConsumeOptions::default(),
            arguments(&[("x-stream-offset", AMQPValue::LongLongInt(offset))]),
        )
        .await
        .expect("a stream consumer");
    if consumer_first {
        publish(&publisher, "", queue, &refs).await;
    }
    let mut offsets = Vec::new();
    loop {
        let delivery = tokio::time::timeout(CONDITION_TIMEOUT, consumer.next())
            .await
            .expect("a delivery in time")
            .expect("the consumer is open")
            .expect("a delivery");
        offsets.push(headers(&delivery)["x-stream-offset"].as_i64().unwrap_or(-1));
        delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .expect("an ack");
        if body(&delivery) == format!("m{records}") {
            return offsets;
        }
    }
}

/// The routing patterns and keys both sides are given: a topic exchange binds one queue per pattern.
pub(crate) const ROUTING_PATTERNS: [&str; 5] = [
    "orders.*.placed",
    "orders.#",
    "#.placed",
    "orders.eu.placed",
    "orders.#.placed",
];
pub(crate) const ROUTING_KEYS: [&str; 6] = [
    "orders.eu.placed",
    "orders.us.placed",
    "orders.eu.cancelled",
    "orders",
    "placed",
    "orders.eu.de.placed",
];

/// A topic exchange with one queue per pattern of [`ROUTING_PATTERNS`], one message published per
/// key of [`ROUTING_KEYS`] (its body is its key). Returns, per pattern, the keys its queue received.
pub(crate) async fn topic_routing(broker: &RabbitMq) -> Vec<Vec<String>> {
    let exchange = "routing";
    let (_connection, channel) = broker.channel().await;
    channel
        .exchange_declare(
            exchange,
            ExchangeKind::Topic,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("the topic exchange");
    for (i, pattern) in ROUTING_PATTERNS.iter().enumerate() {
        let queue = format!("routed-{i}");
        declare(&channel, &queue, false, FieldTable::default()).await;
        channel
            .queue_bind(
                &queue,
                exchange,
                pattern,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("a binding by pattern");
    }
    for key in ROUTING_KEYS {
        publish(&channel, exchange, key, &[key]).await;
    }
    // A marker every binding takes: once it is in a queue, everything before it is too.
    for (i, _) in ROUTING_PATTERNS.iter().enumerate() {
        publish(&channel, "", &format!("routed-{i}"), &["marker"]).await;
    }
    let mut routed = Vec::new();
    for (i, _) in ROUTING_PATTERNS.iter().enumerate() {
        let queue = format!("routed-{i}");
        let mut got = Vec::new();
        while got.last().is_none_or(|b: &String| b != "marker") {
            got.extend(drain(&channel, &queue, 1).await.iter().map(body));
        }
        got.pop();
        routed.push(got);
    }
    routed
}
