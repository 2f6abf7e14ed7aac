//! Conformance: the same small scenarios on a real RabbitMQ, a real NATS JetStream server and the
//! engine, with the counts compared. Each broker runs as a child process on a free loopback port
//! with its data in a temporary directory. A broker that is not installed skips its test with a
//! printed reason (`.ci/run` installs both); one that is installed but misbehaves fails it.
//!
//! The assertions are on counts and orders the brokers guarantee, never on timing. Where a broker
//! differs from the engine on purpose, the assertion pins the broker's behaviour and the engine's
//! side by side, and docs/BROKERS.md explains the difference.
mod engine;
mod exports;
mod nats;
mod nats_scenarios;
mod process;
mod rabbitmq;
mod rabbitmq_scenarios;
mod report;
mod size_limits;

use report::Row;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn rabbitmq_behaves_as_the_engine_says() {
    runtime().block_on(async {
        let broker = match rabbitmq::RabbitMq::start().await {
            Ok(broker) => broker,
            Err(reason) => {
                println!("SKIPPED: RabbitMQ conformance: {reason}");
                return;
            }
        };
        let mut rows = Vec::new();

        for prefetch in [1u16, 10] {
            let real = rabbitmq_scenarios::competing(&broker, prefetch, 30).await;
            let simulated = engine::competing(u32::from(prefetch), 30);
            assert_eq!(real, (usize::from(prefetch), 30 - usize::from(prefetch)));
            assert_eq!(simulated, real);
            rows.push(Row {
                scenario: if prefetch == 1 {
                    "competing consumers, prefetch 1, 30 messages (slow, fast)"
                } else {
                    "competing consumers, prefetch 10, 30 messages (slow, fast)"
                },
                broker: format!("{real:?}"),
                engine: format!("{simulated:?}"),
                verdict: "same",
            });
        }

        let real = rabbitmq_scenarios::nack_requeue(&broker, "classic").await;
        let simulated = engine::nack_requeue();
        assert_eq!(simulated, ["m1", "m1", "m2", "m3"]);
        assert_eq!(real, simulated);
        rows.push(Row {
            scenario: "nack m1 with requeue, prefetch 1: delivery order (classic queue)",
            broker: real.join(", "),
            engine: simulated.join(", "),
            verdict: "same: the requeued message goes back to the head",
        });
        let real = rabbitmq_scenarios::nack_requeue(&broker, "quorum").await;
        assert_eq!(real, ["m1", "m2", "m3", "m1"]);
        rows.push(Row {
            scenario: "nack m1 with requeue, prefetch 1: delivery order (quorum queue)",
            broker: real.join(", "),
            engine: simulated.join(", "),
            verdict: "documented: a quorum queue returns a requeued message to the back",
        });

        let real = rabbitmq_scenarios::delivery_limit(&broker, 2).await;
        let simulated = engine::delivery_limit(3);
        assert_eq!(real.deliveries, 3, "x-delivery-limit 2 allows 3 deliveries");
        assert_eq!(real.reason, "delivery_limit");
        assert_eq!(real.death_count, 1, "dead-lettered once from this queue");
        assert_eq!(
            real.last_delivery_count, 2,
            "x-delivery-count counts returns before this delivery"
        );
        assert_eq!(
            simulated,
            (3, "max_deliveries".to_owned(), 3),
            "max_deliveries 3 allows 3 deliveries; the dead letter carries them"
        );
        rows.push(Row {
            scenario: "delivery limit to the DLQ: deliveries, reason, metadata",
            broker: format!(
                "x-delivery-limit 2: {} deliveries; x-death reason {}, count {}; x-delivery-count on the last delivery {}",
                real.deliveries, real.reason, real.death_count, real.last_delivery_count
            ),
            engine: format!(
                "max_deliveries 3: {} deliveries; reason {}, attempts {}",
                simulated.0, simulated.1, simulated.2
            ),
            verdict: "same count, off by one in the setting: RabbitMQ counts returns, the engine deliveries",
        });

        let real = rabbitmq_scenarios::ttl_expiry(&broker, 200, 3).await;
        let simulated = engine::ttl_expiry(200, 3);
        assert_eq!(real, ["expired"; 3]);
        assert_eq!(simulated, ["expired"; 3]);
        rows.push(Row {
            scenario: "TTL 200 ms, 3 messages, no consumer running",
            broker: format!("{} dead-lettered, reason expired", real.len()),
            engine: format!("{} dead-lettered, reason expired", simulated.len()),
            verdict: "same",
        });

        // The node checks consumer_timeout on each channel tick, shortened for this node to 200 ms.
        let simulated = engine::ack_deadline(1_000);
        assert_eq!(simulated, [1, 2]);
        let real = rabbitmq_scenarios::consumer_timeout(&broker).await;
        assert!(real.channel_closed && real.redelivered);
        let broker_side = format!(
            "consumer_timeout 1 s: the channel was closed {} ms after the delivery; the message was redelivered (redelivered=true) on a new channel",
            real.after_ms
        );
        rows.push(Row {
            scenario: "a delivery held past the ack deadline (1 s)",
            broker: broker_side,
            engine: format!(
                "ack_timeout at 1 s: that delivery alone goes back to the head, attempts {simulated:?}; the consumer keeps going"
            ),
            verdict: "documented: RabbitMQ ends the whole channel",
        });

        let real = rabbitmq_scenarios::stream_from_offset(&broker, 5, 2, false).await;
        let simulated = engine::start_at_offset(5, 2, false);
        assert_eq!(real, [2, 3, 4]);
        assert_eq!(simulated, [2, 3, 4]);
        rows.push(Row {
            scenario: "start position: a stream of 5 records read from offset 2",
            broker: format!("x-stream-offset 2: offsets {real:?}"),
            engine: format!("start offset 2: offsets {simulated:?}"),
            verdict: "same: offsets count from 0",
        });

        let real = rabbitmq_scenarios::stream_from_offset(&broker, 5, 2, true).await;
        let simulated = engine::start_at_offset(5, 2, true);
        assert_eq!(real, [2, 3, 4], "a stream consumer waits for its offset");
        assert_eq!(simulated, [0, 1, 2, 3, 4]);
        rows.push(Row {
            scenario: "start position: offset 2 on a stream still empty, then 5 records",
            broker: format!("x-stream-offset 2: offsets {real:?}, it waits for offset 2"),
            engine: format!("start offset 2: offsets {simulated:?}, clamped to the end"),
            verdict: "documented: the engine clamps, as JetStream does",
        });

        let real = rabbitmq_scenarios::durable_subscriptions(&broker, 5).await;
        let simulated = engine::durable_subscriptions(5);
        assert_eq!(real, (5, 0));
        assert_eq!(simulated, (5, 0));
        rows.push(Row {
            scenario: "5 messages while both subscribers are away (durable, non-durable)",
            broker: format!("{real:?}"),
            engine: format!("{simulated:?}"),
            verdict: "same",
        });

        let real = rabbitmq_scenarios::topic_routing(&broker).await;
        let simulated = engine::topic_routing(
            &rabbitmq_scenarios::ROUTING_PATTERNS,
            &rabbitmq_scenarios::ROUTING_KEYS,
        );
        assert_eq!(simulated, real, "the engine's filters route as a topic exchange binds");
        rows.push(Row {
            scenario: "topic routing: 5 patterns (*, #, exact) against 6 keys",
            broker: format!("{real:?}"),
            engine: format!("{simulated:?}"),
            verdict: "same",
        });

        let limit = rabbitmq::MAX_MESSAGE_SIZE;
        let sizes = [limit as usize - 4_096, limit as usize + 4_096];
        let real = size_limits::rabbitmq(&broker, &sizes).await;
        let simulated = engine::size_limit(limit, &[limit - 4_096, limit + 4_096]);
        assert_eq!(real.accepted, [true, false]);
        assert!(real.refusal.contains("larger than configured max size"), "{}", real.refusal);
        assert_eq!(simulated, real.accepted);
        rows.push(Row {
            scenario: "max message size 64 KiB: a body 4 KiB under it, then one 4 KiB over it",
            broker: format!(
                "max_message_size {limit}: accepted {:?}; the refused publish: {}",
                real.accepted, real.refusal
            ),
            engine: format!(
                "max_message_bytes {limit}: accepted {simulated:?}; publish_failed, reason too_large"
            ),
            verdict: "same; RabbitMQ also closes the publisher's channel",
        });

        let imported = exports::rabbitmq(&broker).await;
        println!("{imported} exports imported into RabbitMQ and read back");

        let (_, overview) = broker.api_get("/api/overview").await;
        let version = overview["rabbitmq_version"].as_str().unwrap_or("?");
        println!("{}", report::table(&format!("RabbitMQ {version}"), &rows));
    });
}

#[test]
fn nats_jetstream_behaves_as_the_engine_says() {
    runtime().block_on(async {
        let server = match nats::Nats::start().await {
            Ok(server) => server,
            Err(reason) => {
                println!("SKIPPED: NATS conformance: {reason}");
                return;
            }
        };
        let loaded = exports::nats(&server).await;
        println!("{loaded} exports loaded into JetStream and read back");
        let mut rows = Vec::new();

        for (prefetch, max_ack_pending, scenario) in [
            (1usize, 2i64, "competing consumers, prefetch 1, 30 messages (slow, fast): MaxAckPending 2, prefetch x instances"),
            (10, 20, "competing consumers, prefetch 10, 30 messages (slow, fast): MaxAckPending 20, prefetch x instances"),
        ] {
            let real = nats_scenarios::competing(&server, prefetch, max_ack_pending, 30).await;
            let simulated = engine::competing(prefetch as u32, 30);
            assert_eq!(real, (prefetch, 30 - prefetch));
            assert_eq!(simulated, real);
            rows.push(Row {
                scenario,
                broker: format!("{real:?}"),
                engine: format!("{simulated:?}"),
                verdict: "same",
            });
        }
        let real = nats_scenarios::competing(&server, 10, 10, 30).await;
        let simulated = engine::competing(10, 30);
        assert_eq!(real, (10, 0), "MaxAckPending counts for every instance together");
        rows.push(Row {
            scenario: "competing consumers, prefetch 10, 30 messages (slow, fast): MaxAckPending 10",
            broker: format!("{real:?}: the slow instance's 10 unacknowledged block the fast one"),
            engine: format!("{simulated:?}: prefetch 10 per instance"),
            verdict: "documented: MaxAckPending is for the whole consumer",
        });

        let (window, ack_wait, max_ack_pending, max_deliver) = nats_scenarios::defaults(&server).await;
        assert_eq!(window, std::time::Duration::from_secs(120));
        assert_eq!(ack_wait, std::time::Duration::from_secs(30));
        assert_eq!((max_ack_pending, max_deliver), (1_000, -1));
        rows.push(Row {
            scenario: "the defaults the notes quote",
            broker: format!(
                "Duplicates window {window:?}, AckWait {ack_wait:?}, MaxAckPending {max_ack_pending}, MaxDeliver {max_deliver} (unlimited)"
            ),
            engine: "ack deadline 3 s, max deliveries 10, prefetch 1 per instance".to_owned(),
            verdict: "as docs/BROKERS.md says",
        });

        let real = nats_scenarios::nak_order(&server).await;
        let simulated = engine::nack_requeue();
        assert_eq!(real, simulated);
        rows.push(Row {
            scenario: "nak m1, pulling one at a time: delivery order",
            broker: real.join(", "),
            engine: simulated.join(", "),
            verdict: "same: a nak'd message is redelivered before new ones",
        });

        let real = nats_scenarios::max_deliver(&server, 3).await;
        let simulated = engine::delivery_limit(3);
        assert_eq!(real.deliveries, 3);
        assert_eq!(real.advisory_deliveries, 3);
        assert_eq!(real.still_in_stream, 1);
        assert_eq!((simulated.0, simulated.2), (3, 3));
        rows.push(Row {
            scenario: "delivery limit: deliveries, and where the message goes",
            broker: format!(
                "MaxDeliver 3: {} deliveries; MAX_DELIVERIES advisory with deliveries {}; the message stays in the stream",
                real.deliveries, real.advisory_deliveries
            ),
            engine: format!(
                "max_deliveries 3: {} deliveries; dead-lettered, reason {}, attempts {}",
                simulated.0, simulated.1, simulated.2
            ),
            verdict: "same count; documented: JetStream has no dead-letter queue",
        });

        let found = nats_scenarios::max_age(&server, std::time::Duration::from_millis(300), 3).await;
        let simulated = engine::ttl_expiry(300, 3);
        assert_eq!(found, 0);
        assert_eq!(simulated, ["expired"; 3]);
        rows.push(Row {
            scenario: "MaxAge / TTL 300 ms, 3 messages, no consumer",
            broker: "removed from the stream; a consumer finds 0; nothing dead-lettered".to_owned(),
            engine: format!("{} dead-lettered, reason expired", simulated.len()),
            verdict: "documented: JetStream deletes expired messages",
        });

        let real = nats_scenarios::ack_wait(&server, std::time::Duration::from_millis(500)).await;
        let simulated = engine::ack_deadline(500);
        assert_eq!(real, [1, 2]);
        assert_eq!(simulated, [1, 2]);
        rows.push(Row {
            scenario: "a delivery held past the ack deadline (500 ms)",
            broker: format!("AckWait: delivery counts {real:?}, the same stream sequence"),
            engine: format!("ack_timeout: attempts {simulated:?}"),
            verdict: "same",
        });

        let real = nats_scenarios::from_sequence(&server, 5, 3, false).await;
        let simulated = engine::start_at_offset(5, 2, false);
        assert_eq!(real, [3, 4, 5]);
        assert_eq!(simulated, [2, 3, 4]);
        rows.push(Row {
            scenario: "start position: a stream of 5 records read from the third",
            broker: format!("DeliverPolicy by_start_sequence 3: sequences {real:?}"),
            engine: format!("start offset 2: offsets {simulated:?}"),
            verdict: "same records; documented: sequences count from 1 (the export adds one)",
        });

        let real = nats_scenarios::from_sequence(&server, 5, 3, true).await;
        let simulated = engine::start_at_offset(5, 2, true);
        assert_eq!(real, [1, 2, 3, 4, 5], "a start past the end is clamped");
        assert_eq!(simulated, [0, 1, 2, 3, 4]);
        rows.push(Row {
            scenario: "start position: the third record on a stream still empty, then 5 records",
            broker: format!("by_start_sequence 3: sequences {real:?}, clamped to the end"),
            engine: format!("start offset 2: offsets {simulated:?}, clamped to the end"),
            verdict: "same",
        });

        let real = nats_scenarios::durable_subscriptions(&server, 5).await;
        let simulated = engine::durable_subscriptions(5);
        assert_eq!(real, (5, 0));
        assert_eq!(simulated, (5, 0));
        rows.push(Row {
            scenario: "5 messages while both subscribers are away (durable consumer, core subscription)",
            broker: format!("{real:?}"),
            engine: format!("{simulated:?}"),
            verdict: "same",
        });

        let limit = nats::MAX_PAYLOAD;
        let real = size_limits::nats(&server, &[limit as usize - 4_096, limit as usize + 4_096]).await;
        let simulated = engine::size_limit(limit, &[limit - 4_096, limit + 4_096]);
        assert_eq!(real.accepted, [true, false]);
        assert!(real.refusal.contains("exceeded"), "{}", real.refusal);
        assert_eq!(simulated, real.accepted);
        rows.push(Row {
            scenario: "max message size 64 KiB: a body 4 KiB under it, then one 4 KiB over it",
            broker: format!(
                "max_payload {limit}: accepted {:?}; the refused publish: {}",
                real.accepted, real.refusal
            ),
            engine: format!(
                "max_message_bytes {limit}: accepted {simulated:?}; publish_failed, reason too_large"
            ),
            verdict: "same; the NATS client refuses it before sending",
        });

        println!("{}", report::table("NATS JetStream 2.9", &rows));
    });
}
