//! The largest message a broker accepts: one message under the limit and one over it, published
//! to a real RabbitMQ (max_message_size) and a real NATS server (max_payload).
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;

use crate::nats::Nats;
use crate::process::CONDITION_TIMEOUT;
use crate::rabbitmq::RabbitMq;
use crate::rabbitmq_scenarios::declare;

/// What a broker did with each body: accepted (true) or refused (false), and the words of the
/// first refusal.
pub(crate) struct Outcome {
    pub(crate) accepted: Vec<bool>,
    pub(crate) refusal: String,
}

/// Publishes a body of each size to a queue, each on a channel of its own with publisher
/// confirms (the node closes the channel of a publish it refuses), then counts the queue.
pub(crate) async fn rabbitmq(broker: &RabbitMq, sizes: &[usize]) -> Outcome {
    let queue = "sized";
    let (_setup_connection, setup) = broker.channel().await;
    declare(&setup, queue, true, FieldTable::default()).await;
    let mut accepted = Vec::new();
    let mut refusal = String::new();
    for &size in sizes {
        let (_connection, channel) = broker.channel().await;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        let body = vec![b'x'; size];
        let published = async {
            channel
                .basic_publish(
                    "",
                    queue,
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default(),
                )
                .await?
                .await
        };
        let outcome = tokio::time::timeout(CONDITION_TIMEOUT, published)
            .await
            .expect("a confirm or an error in time");
        match outcome {
            Ok(confirmation) if confirmation.is_ack() => accepted.push(true),
            Ok(confirmation) => {
                accepted.push(false);
                refusal = format!("{confirmation:?}");
            }
            Err(error) => {
                accepted.push(false);
                if refusal.is_empty() {
                    refusal = error.to_string();
                }
            }
        }
    }
    let depth = setup
        .queue_declare(
            queue,
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("the queue's depth")
        .message_count();
    assert_eq!(
        depth as usize,
        accepted.iter().filter(|&&a| a).count(),
        "the queue holds what was confirmed"
    );
    Outcome { accepted, refusal }
}

/// Publishes a body of each size on a core subject: the client refuses what is over the
/// server's max_payload, which the server announced when the client connected.
pub(crate) async fn nats(server: &Nats, sizes: &[usize]) -> Outcome {
    let mut accepted = Vec::new();
    let mut refusal = String::new();
    for &size in sizes {
        let body = vec![b'x'; size];
        match server.client.publish("sized", body.into()).await {
            Ok(()) => accepted.push(true),
            Err(error) => {
                accepted.push(false);
                if refusal.is_empty() {
                    refusal = error.to_string();
                }
            }
        }
    }
    Outcome { accepted, refusal }
}
