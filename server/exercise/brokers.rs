//! What real brokers call each setting: one "in real brokers" note per knob kind and channel
//! setting, in RabbitMQ, Kafka, Amazon SQS/SNS and NATS JetStream, with where their counting
//! differs from the engine's.
//!
//! The page shows a note next to a knob by looking it up with the knob's target kind and field
//! (`GET /api/brokers`); `docs/BROKERS.md` carries the same text, and a test keeps the two equal
//! ([`markdown`] renders the document's section from this table). The claims about counting are
//! checked against real RabbitMQ and NATS servers by `tests/conformance.rs`.
use serde::Serialize;

/// What kind of scenario entry a setting belongs to, as in a knob's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteTarget {
    Channel,
    Consumer,
    Producer,
}

impl NoteTarget {
    fn as_str(self) -> &'static str {
        match self {
            NoteTarget::Channel => "channel",
            NoteTarget::Consumer => "consumer",
            NoteTarget::Producer => "producer",
        }
    }
}

/// One setting as the real brokers name it. Every text is one or two plain sentences.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerNote {
    pub target: NoteTarget,
    /// The field's name, as in the scenario (a consumer's design fields included).
    pub field: &'static str,
    /// What the setting is called in the playground.
    pub title: &'static str,
    /// What the engine does with it.
    pub engine: &'static str,
    pub rabbitmq: &'static str,
    pub kafka: &'static str,
    /// Amazon SQS, and SNS where a topic is involved.
    pub sqs: &'static str,
    pub nats: &'static str,
    /// Where a broker counts differently from the engine, or means something else by the
    /// same word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counting: Option<&'static str>,
}

impl BrokerNote {
    /// The key the page and the document use: `target.field`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.target.as_str(), self.field)
    }
}

use NoteTarget::{Channel, Consumer, Producer};

/// Every note, channel settings first, then consumer and producer settings.
pub const NOTES: &[BrokerNote] = &[
    BrokerNote {
        target: Channel,
        field: "kind",
        title: "Channel kind",
        engine: "A topic gives every subscribing service its own queue; a queue is shared by competing consumers; a stream is a partitioned log read by consumer groups at their own pace.",
        rabbitmq: "Topic: a fanout or topic exchange with one bound queue per subscriber. Queue: one queue (classic or quorum). Stream: a stream queue (x-queue-type=stream), read with an offset.",
        kafka: "Every Kafka topic is a stream. A topic in the engine's sense is one consumer group per subscriber; a queue is one group shared by all instances (or a share group, Kafka 4's queues).",
        sqs: "Topic: an SNS topic with an SQS queue subscribed per service. Queue: an SQS queue. Stream: no SQS equivalent (Kinesis Data Streams is the AWS log).",
        nats: "All three are a JetStream stream. Topic: one durable consumer per subscriber. Queue: a stream with work-queue retention, or one consumer pulled by every instance. Stream: limits retention, a consumer per group.",
        counting: None,
    },
    BrokerNote {
        target: Channel,
        field: "durable",
        title: "Durable channel",
        engine: "Whether the channel's messages survive a broker restart; a non-durable channel loses what it holds when the broker goes down.",
        rabbitmq: "A durable queue (durable=true) keeps persistent messages (delivery_mode 2) across a restart; a transient queue, or a transient message in a classic queue, is lost. Quorum queues and streams are always durable.",
        kafka: "Every record is written to the partition's log; how many copies survive a failure is replication.factor with acks=all and min.insync.replicas.",
        sqs: "Always durable: SQS stores every message redundantly. SNS does not store: a message with no subscriber is gone.",
        nats: "The stream's storage: file survives a restart, memory does not.",
        counting: None,
    },
    BrokerNote {
        target: Channel,
        field: "ack_deadline_ms",
        title: "Ack deadline",
        engine: "How long one delivery may stay unacknowledged. At the deadline that one delivery goes back to the front of the queue with its delivery count kept, and counts towards max deliveries; the instance keeps working and its late ack is ignored.",
        rabbitmq: "No per-message deadline. consumer_timeout (default 30 minutes) closes the whole channel with PRECONDITION_FAILED when a delivery stays unacknowledged too long; every unacknowledged delivery on that channel is requeued with redelivered=true, and the client must open a new channel.",
        kafka: "max.poll.interval.ms (default 5 minutes): a consumer that does not poll again in time leaves its group, its partitions are rebalanced, and the new owner reads again from the last committed offset, so every uncommitted record comes back, not just one.",
        sqs: "The visibility timeout (default 30 s, up to 12 h): a received message is hidden that long, then visible again to any consumer, and its ApproximateReceiveCount grows. ChangeMessageVisibility extends it per message.",
        nats: "AckWait (default 30 s) on the consumer: the message is redelivered when no ack arrived in time, and the redelivery counts towards MaxDeliver. A consumer can ask for more time with an in-progress ack (+WPI).",
        counting: Some(
            "The engine, SQS and JetStream take back one delivery; RabbitMQ takes back the whole channel's deliveries, and Kafka the whole partition from its committed offset.",
        ),
    },
    BrokerNote {
        target: Channel,
        field: "max_deliveries",
        title: "Max deliveries",
        engine: "N means N deliveries in all, the first one included: a message delivered N times and still not acknowledged goes to the dead-letter queue instead of an (N+1)-th delivery.",
        rabbitmq: "Quorum queues only: x-delivery-limit. It counts returns (a nack with requeue is one), not deliveries, so a limit of N allows N+1 deliveries before the message is dead-lettered with reason delivery_limit. Classic queues have no limit: a requeued message comes back forever.",
        kafka: "No broker-side limit: the consumer counts its own attempts (or a retry topic's header) and publishes to a dead-letter topic itself.",
        sqs: "maxReceiveCount in the queue's redrive policy: after that many receives the message moves to the dead-letter queue, so N allows N deliveries, like the engine.",
        nats: "MaxDeliver on the consumer (default -1, unlimited): N deliveries in all, like the engine. Then the message is no longer delivered to that consumer and the server publishes a MAX_DELIVERIES advisory; the message stays in the stream.",
        counting: Some(
            "Engine max deliveries = N matches JetStream MaxDeliver = N and SQS maxReceiveCount = N. In RabbitMQ the same behaviour is x-delivery-limit = N - 1.",
        ),
    },
    BrokerNote {
        target: Channel,
        field: "dead_letter",
        title: "Dead-letter queue",
        engine: "Messages the consumer rejects, that ran out of deliveries or that expired go to the channel's dead-letter queue, with the reason and the number of deliveries; without it they are discarded.",
        rabbitmq: "x-dead-letter-exchange (and optionally x-dead-letter-routing-key) on the queue; a queue bound to that exchange is the DLQ. The message carries an x-death header: queue, reason (rejected, expired, maxlen, delivery_limit), count, time.",
        kafka: "No broker dead-letter queue. A consumer (or Kafka Connect's errors.deadletterqueue.topic.name, or a framework's recoverer) publishes the record to a dead-letter topic with headers it chooses.",
        sqs: "A redrive policy names the dead-letter queue and maxReceiveCount. Only receives move a message there: a message whose retention period ends is deleted, not dead-lettered. A DLQ redrive moves messages back.",
        nats: "No dead-letter stream. The server publishes MAX_DELIVERIES and MSG_TERMINATED advisories with the stream sequence; a small service reads them and copies the message to a dead-letter stream.",
        counting: None,
    },
    BrokerNote {
        target: Channel,
        field: "ttl_ms",
        title: "Message TTL",
        engine: "A message older than this, counted from when it was produced, is dead-lettered with reason expired when it reaches the head of the queue, whether or not a consumer is there.",
        rabbitmq: "x-message-ttl on the queue (or a per-message expiration): counted from when the message entered that queue. Expired messages are dead-lettered with reason expired when they reach the head of the queue.",
        kafka: "No per-message TTL: retention.ms deletes whole log segments by age, silently, whether or not a group has read them.",
        sqs: "MessageRetentionPeriod (60 s to 14 days) deletes old messages silently; they never go to the dead-letter queue. SNS has no TTL.",
        nats: "MaxAge on the stream removes old messages silently (a per-message TTL header arrived in 2.11); nothing is dead-lettered.",
        counting: Some(
            "Only RabbitMQ, like the engine, dead-letters expired messages; the others delete them. The engine counts age from production, RabbitMQ from entry into the queue, which is the same when the publish is immediate.",
        ),
    },
    BrokerNote {
        target: Channel,
        field: "partitions",
        title: "Partitions",
        engine: "A stream's partitions: a key always goes to the same partition, order holds within a partition, and a group spreads partitions over its instances (an instance beyond the partition count is idle).",
        rabbitmq: "A stream has no partitions; a super stream (3.11 and later) is a set of streams with routing by key, read with single active consumer per partition.",
        kafka: "A topic's partitions (num.partitions): the default partitioner hashes the key (murmur2), and a group gives each partition to one member. More members than partitions leaves members idle.",
        sqs: "No partitions: a FIFO queue keeps order per MessageGroupId and hands one group to one consumer at a time.",
        nats: "A stream is one ordered log; partitioning is done with subject mapping (the partition function) into several subjects or streams.",
        counting: None,
    },
    BrokerNote {
        target: Channel,
        field: "retention",
        title: "Retention",
        engine: "Records kept per partition, counted in records; the oldest are removed first, and a group that had not read them misses them.",
        rabbitmq: "Streams keep by size and age (x-max-length-bytes, x-max-age) a segment at a time. A queue's x-max-length counts messages and by default drops from the head (overflow drop-head, or reject-publish).",
        kafka: "retention.ms and retention.bytes per partition, a segment at a time; never a record count.",
        sqs: "By time only: MessageRetentionPeriod.",
        nats: "MaxMsgs (a record count, for the whole stream), MaxBytes, MaxAge, MaxMsgsPerSubject; Discard old removes the oldest.",
        counting: Some(
            "The engine counts records per partition. NATS MaxMsgs counts records per stream; Kafka and RabbitMQ streams count bytes and time, a segment at a time, so they keep somewhat more than the limit.",
        ),
    },
    BrokerNote {
        target: Channel,
        field: "max_message_bytes",
        title: "Largest message",
        engine: "A publish bigger than this many bytes (payload, key, type and envelope) is refused: the producer sees publish_failed with too_large, and the event is gone unless it publishes again.",
        rabbitmq: "max_message_size, 16 MiB by default since 4.0 (128 MiB before); a bigger basic.publish closes the channel with PRECONDITION_FAILED.",
        kafka: "message.max.bytes on the broker (max.message.bytes per topic), about 1 MB by default; the producer gets RecordTooLargeException.",
        sqs: "A message body of at most 1 MiB (256 KiB until 2025); a bigger SendMessage is refused.",
        nats: "max_payload in the server's configuration, 1 MB by default; the client refuses a bigger publish with 'maximum payload exceeded'.",
        counting: Some(
            "Brokers count the body, and some add headers; the engine counts the whole message with a fixed 100-byte envelope, so a limit bites a little earlier here.",
        ),
    },
    BrokerNote {
        target: Channel,
        field: "registry",
        title: "Schema registry",
        engine: "Judges each new schema version published on the channel against the registered ones in a compatibility mode (none, backward, forward, full, and their transitive variants) by the declared JSON Schemas' fields, and refuses an incompatible one at publish time.",
        rabbitmq: "None built in: the broker does not look at payloads. Teams put a registry (Confluent's, Apicurio) beside it and check in the client's serializer.",
        kafka: "Confluent Schema Registry, one subject per topic (or record): the serializer registers the version on first use and the registry refuses it if the subject's compatibility level (BACKWARD by default) forbids it.",
        sqs: "None in SQS/SNS; the AWS Glue Schema Registry does it in the client's serializer, with the same compatibility modes.",
        nats: "None built in; a registry is checked in the client before publishing.",
        counting: Some(
            "The engine judges JSON Schemas by their object fields only (required, type, default, additionalProperties); Confluent's JSON Schema rules also weigh nested objects, numeric ranges and enums.",
        ),
    },
    BrokerNote {
        target: Consumer,
        field: "instances",
        title: "Instances",
        engine: "Running copies of the consumer. On a queue they compete, round-robin among the instances with room under their prefetch; on a stream the group shares the partitions out.",
        rabbitmq: "Several consumers (basic.consume) on one queue: the broker delivers round-robin to those whose prefetch has room.",
        kafka: "Members of one consumer group: each partition goes to exactly one member, so the partition count caps useful instances.",
        sqs: "Any number of pollers calling ReceiveMessage on the queue; none is preferred.",
        nats: "Several clients pulling from one durable pull consumer, or a push consumer with a deliver group (a queue group).",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "prefetch",
        title: "Prefetch",
        engine: "Unacknowledged deliveries the broker may push to one instance; a slow instance with a large prefetch holds messages a fast one could have taken.",
        rabbitmq: "basic.qos prefetch_count, per consumer (global=false): the same limit, per instance.",
        kafka: "No unacknowledged limit: max.poll.records bounds the records one poll returns, and progress is an offset, not per-message acks.",
        sqs: "MaxNumberOfMessages (1 to 10) per ReceiveMessage call; each one stays invisible for the visibility timeout.",
        nats: "MaxAckPending (default 1000) bounds unacknowledged messages for the whole consumer, across all instances; a pull's batch size is the per-instance share.",
        counting: Some(
            "The engine and RabbitMQ count per instance; JetStream's MaxAckPending counts for all instances of the consumer together.",
        ),
    },
    BrokerNote {
        target: Consumer,
        field: "ack_mode",
        title: "Ack mode",
        engine: "on_receipt acknowledges before the work (at most once: a crash loses the message); after_processing acknowledges after it (at least once: a crash after the effect repeats it).",
        rabbitmq: "Automatic acknowledgement (basic.consume no_ack=true) against manual basic.ack after the work.",
        kafka: "Committing the offset before processing (or enable.auto.commit with a fast poll loop) against committing after it (commitSync once the records are handled).",
        sqs: "DeleteMessage right after ReceiveMessage against after the work; a message never deleted comes back after the visibility timeout.",
        nats: "AckPolicy none (push consumers only: a pull consumer must ack explicitly, so it acks on arrival) against explicit, acking each message after the work.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "retry",
        title: "Retry and backoff",
        engine: "What the consumer does after a failure: reject at once, requeue at once, or wait a fixed or exponentially growing delay (with full jitter), up to max_attempts deliveries in all, then reject to the dead-letter queue.",
        rabbitmq: "basic.nack with requeue=true retries at once, at the head of the queue. A delay needs a retry queue with x-message-ttl that dead-letters back to the work queue, or the delayed-message plugin. The attempt count is x-delivery-count (quorum queues) or the x-death count.",
        kafka: "No broker retry: the consumer retries in process, or publishes to retry topics with growing delays and finally to a dead-letter topic.",
        sqs: "A failed message comes back after the visibility timeout; ChangeMessageVisibility with a growing timeout gives per-message backoff.",
        nats: "Nak() redelivers at once; NakWithDelay or the consumer's BackOff list (one delay per redelivery) delays it; MaxDeliver bounds it.",
        counting: Some(
            "max_attempts counts every delivery, the first one included, like MaxDeliver and maxReceiveCount. The channel's max deliveries applies too: the smaller of the two wins.",
        ),
    },
    BrokerNote {
        target: Consumer,
        field: "idempotency",
        title: "Idempotency",
        engine: "The consumer remembers message ids or business keys it has handled and skips a repeat; nothing in the broker does it.",
        rabbitmq: "No deduplication of deliveries: at-least-once delivery means the consumer keeps its own record of handled ids.",
        kafka: "enable.idempotence removes a producer's retried duplicates per partition, and transactions give exactly once between Kafka topics; an effect outside Kafka still needs a consumer-side check.",
        sqs: "FIFO queues drop a send with a MessageDeduplicationId seen in the last 5 minutes; standard queues can deliver twice, so consumers keep their own record.",
        nats: "A Nats-Msg-Id header drops a duplicate publish within the stream's Duplicates window (default 2 minutes); deliveries are still at least once.",
        counting: Some(
            "Broker deduplication is on the publish side and within a time window; the engine's is on the consumer side and for the whole run.",
        ),
    },
    BrokerNote {
        target: Consumer,
        field: "dedup_ttl_ms",
        title: "Deduplication window",
        engine: "How long the consumer's idempotency store remembers a handled message id or business key; a duplicate that arrives later is handled again. Without it the store keeps everything for the whole run.",
        rabbitmq: "None in the broker: the consumer keeps the ids it handled (a table with a unique key, or a cache entry with an expiry) for as long as it chooses.",
        kafka: "The idempotent producer drops a producer's own retries per partition and session; a consumer that must not apply a record twice keeps its own store, or commits its offset in the same transaction as its effect.",
        sqs: "FIFO queues drop a message whose MessageDeduplicationId was seen in the last 5 minutes, a fixed window; standard queues do not deduplicate.",
        nats: "A stream's Duplicates window (2 minutes by default) drops a publish whose Nats-Msg-Id it has seen within it.",
        counting: Some(
            "SQS and JetStream deduplicate publishes in the broker, before a consumer sees them; the engine's window is the consumer's, and applies to redeliveries as well as to duplicates.",
        ),
    },
    BrokerNote {
        target: Consumer,
        field: "dedup_capacity",
        title: "Deduplication store size",
        engine: "How many handled message ids or business keys the consumer's idempotency store keeps; past it the oldest are forgotten first, and a duplicate of one of them is handled again.",
        rabbitmq: "None in the broker: the size is the consumer's table or cache (a Redis maxmemory with an eviction policy, a table pruned by a job).",
        kafka: "The idempotent producer keeps the last five batches per partition in flight; a consumer's own store is sized by the consumer.",
        sqs: "FIFO deduplication is by time (5 minutes), not by count.",
        nats: "A stream's Duplicates window is by time; the ids it tracks in it are bounded by the stream's limits, not set on their own.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "ordering",
        title: "Ordering",
        engine: "Apply in arrival order, drop events older than the last one applied for their key, or hold early ones back until the gap fills or a timeout passes.",
        rabbitmq: "One queue is FIFO, but several consumers, prefetch and requeues reorder; single active consumer (x-single-active-consumer) keeps one reader at a time.",
        kafka: "Order holds within a partition, for one key, as long as the producer keeps max.in.flight.requests.per.connection at 5 or less with idempotence on.",
        sqs: "Standard queues give best-effort order; FIFO queues keep order per MessageGroupId.",
        nats: "A stream keeps publish order; MaxAckPending = 1 processes one message at a time in that order.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "tolerant_reader",
        title: "Tolerant reader",
        engine: "Accept a newer schema version than the consumer knows, ignoring fields it does not understand.",
        rabbitmq: "The broker does not look at payloads; schema checks are the consumer's.",
        kafka: "A schema registry's FORWARD compatibility: old readers accept data written with a newer schema.",
        sqs: "The broker does not look at payloads; schema checks are the consumer's.",
        nats: "The broker does not look at payloads; schema checks are the consumer's.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "upcast",
        title: "Upcasting",
        engine: "Convert an older schema version to the newest one the consumer knows before processing.",
        rabbitmq: "Done in the consumer; the broker carries bytes.",
        kafka: "A schema registry's BACKWARD compatibility lets a new reader read old data; the conversion itself is the consumer's.",
        sqs: "Done in the consumer; the broker carries bytes.",
        nats: "Done in the consumer; the broker carries bytes.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "propagate_correlation",
        title: "Correlation id",
        engine: "Copy the incoming correlation id onto every event the consumer emits, so one business flow can be followed across services.",
        rabbitmq: "The correlation_id message property (or a header such as traceparent), copied by the consumer.",
        kafka: "A record header, copied by the consumer (OpenTelemetry does it with traceparent).",
        sqs: "A message attribute, or the AWSTraceHeader system attribute for X-Ray.",
        nats: "A message header, copied by the consumer.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "durable",
        title: "Durable subscription",
        engine: "A durable subscription keeps messages while no instance of the subscriber is up; a non-durable one exists only while an instance is up, so what is published meanwhile is missed.",
        rabbitmq: "A named durable queue bound to the exchange against an exclusive or auto-delete queue that disappears with its connection; messages published while it is gone are routed nowhere.",
        kafka: "The log keeps every record either way; a group with a committed offset resumes where it stopped, while a reader without one and auto.offset.reset=latest starts after what it missed.",
        sqs: "An SQS queue subscribed to the SNS topic keeps messages; an HTTP or e-mail subscription only retries delivery for a while and keeps nothing.",
        nats: "A durable consumer (Durable name) keeps its position; a core NATS subscription stores nothing, and an ephemeral consumer is removed after its InactiveThreshold.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "group",
        title: "Consumer group",
        engine: "The name under which a stream group's committed offsets are kept; instances with the same group share the partitions.",
        rabbitmq: "A stream consumer's name, under which the server tracks its offset; single active consumer shares one stream among instances.",
        kafka: "group.id.",
        sqs: "No groups: every poller competes on the queue.",
        nats: "The durable consumer's name.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "start",
        title: "Start position",
        engine: "Where a group without a committed offset starts: earliest kept record, only new records, or a given offset.",
        rabbitmq: "x-stream-offset when consuming a stream: first, last, next, an offset or a timestamp.",
        kafka: "auto.offset.reset = earliest or latest, only used when the group has no committed offset; seek() for a given offset.",
        sqs: "No positions: a queue hands out what it holds.",
        nats: "DeliverPolicy: all, last, new, by_start_sequence (OptStartSeq) or by_start_time.",
        counting: Some(
            "Kafka and NATS offsets differ by one at the start: Kafka's first offset is 0, JetStream's first stream sequence is 1.",
        ),
    },
    BrokerNote {
        target: Consumer,
        field: "checkpoint_every",
        title: "Checkpoints",
        engine: "Save the read model with the offsets it covers every this many records, so a rebuild replays from there instead of from the start.",
        rabbitmq: "The consumer stores its snapshot and the stream offset together; the broker tracks only the offset.",
        kafka: "The consumer stores its state and offsets together (or uses Kafka Streams' changelog topics and state stores).",
        sqs: "No replay: a queue forgets what it delivered.",
        nats: "The consumer stores its snapshot with the stream sequence and restarts a consumer at OptStartSeq.",
        counting: None,
    },
    BrokerNote {
        target: Producer,
        field: "delivery",
        title: "Publishing",
        engine: "Direct publish, a dual write (database then broker, with a crash window between), or a transactional outbox relayed until the broker confirms.",
        rabbitmq: "Publisher confirms (confirm.select) tell the publisher the broker has the message; an outbox relay waits for the confirm before marking an entry sent.",
        kafka: "acks=all and enable.idempotence make a publish safe to retry; a change-data-capture relay (such as Debezium's outbox router) reads the outbox table.",
        sqs: "SendMessage answers once the message is stored; an outbox relay deletes its entry after that answer.",
        nats: "A JetStream publish gets a PubAck once stored; a Nats-Msg-Id lets the relay retry without duplicates.",
        counting: None,
    },
    BrokerNote {
        target: Producer,
        field: "request",
        title: "Request and reply",
        engine: "Send each message as a request and wait for a reply on a reply queue, up to a timeout; a late reply finds nobody waiting.",
        rabbitmq: "reply_to and correlation_id properties, often with direct reply-to (amq.rabbitmq.reply-to).",
        kafka: "No built-in request/reply: a reply topic and a correlation header, matched by the requester.",
        sqs: "A reply queue named in a message attribute (the temporary queue client does this).",
        nats: "Built in: a request goes out with a unique inbox subject and waits for one reply, with a timeout.",
        counting: None,
    },
    BrokerNote {
        target: Producer,
        field: "schema_version",
        title: "Schema version",
        engine: "The version of the event schema the producer writes; consumers accept the versions they were written for, or more with a tolerant reader or upcasting.",
        rabbitmq: "A header or content type the producer sets; the broker does not check it.",
        kafka: "A schema registry id in the record; the registry checks compatibility when the producer registers a new version.",
        sqs: "A message attribute the producer sets; the queue does not check it.",
        nats: "A header the producer sets; the server does not check it.",
        counting: None,
    },
    BrokerNote {
        target: Producer,
        field: "partition",
        title: "Fixed partition",
        engine: "Write every message to this partition instead of hashing its key.",
        rabbitmq: "A super stream's routing: by key hash, or a fixed routing key.",
        kafka: "The partition argument of a ProducerRecord overrides the partitioner.",
        sqs: "No partitions: a FIFO queue's MessageGroupId is the nearest thing.",
        nats: "The subject the producer publishes to.",
        counting: None,
    },
    BrokerNote {
        target: Producer,
        field: "claim_check",
        title: "Claim check",
        engine: "The attachment goes to a blob store and the event carries an 80-byte reference; each consumer that reads attachments fetches it (fetch_attachment_ms) when it processes the event.",
        rabbitmq: "Nothing built in: the application stores the content (an object store, a database) and puts its key in the message.",
        kafka: "Nothing built in: producers write big content to object storage and publish a reference, since records stay around 1 MB at most.",
        sqs: "The Amazon SQS Extended Client Library does it: payloads over a threshold go to S3, and the message carries a pointer that the receiving client follows.",
        nats: "The JetStream Object Store keeps big content in chunks; the message carries the object's name.",
        counting: None,
    },
    BrokerNote {
        target: Producer,
        field: "routing_key",
        title: "Routing key",
        engine: "Dot-separated words a topic's subscription filters match; the event type when none is given.",
        rabbitmq: "The routing key of basic.publish to a topic exchange (at most 255 bytes).",
        kafka: "No routing key: the topic name routes, and the record key picks the partition.",
        sqs: "SNS has no key: a filter policy matches message attributes or the payload instead.",
        nats: "The subject itself (orders.eu.placed); subjects are the routing.",
        counting: None,
    },
    BrokerNote {
        target: Consumer,
        field: "filter",
        title: "Subscription filter",
        engine: "A topic subscription receives only messages whose routing key matches: * is one word, # zero or more.",
        rabbitmq: "The binding key of the queue on a topic exchange, with the same * and # semantics.",
        kafka: "No broker-side filter: a consumer reads the whole topic and skips what it does not want.",
        sqs: "An SNS subscription filter policy on attributes or the payload (equals, anything-but, prefix, exists).",
        nats: "The filter subject of a consumer or subscription; * is one token and > is the rest (one or more, where # also takes none).",
        counting: Some("NATS's > needs at least one token where # takes zero or more."),
    },
];

/// The note for one setting, if there is one. A knob's field may be a path into a table
/// (`retry.max_attempts`): its first segment names the setting.
pub fn note(target: NoteTarget, field: &str) -> Option<&'static BrokerNote> {
    let setting = field.split('.').next().unwrap_or(field);
    NOTES
        .iter()
        .find(|n| n.target == target && n.field == setting)
}

/// The notes as the Markdown section of `docs/BROKERS.md`.
pub fn markdown() -> String {
    let mut out = String::new();
    for note in NOTES {
        out.push_str(&format!("### {} (`{}`)\n\n", note.title, note.key()));
        out.push_str(&format!("- **Engine:** {}\n", note.engine));
        out.push_str(&format!("- **RabbitMQ:** {}\n", note.rabbitmq));
        out.push_str(&format!("- **Kafka:** {}\n", note.kafka));
        out.push_str(&format!("- **SQS/SNS:** {}\n", note.sqs));
        out.push_str(&format!("- **NATS JetStream:** {}\n", note.nats));
        if let Some(counting) = note.counting {
            out.push_str(&format!("- **Counting:** {counting}\n"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Design;
    use crate::engine::scenario::{ChannelKind, ChannelSpec};

    fn fields<T: Serialize>(value: &T) -> Vec<String> {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn every_design_field_has_a_note() {
        for field in fields(&Design::default()) {
            assert!(
                note(Consumer, &field).is_some(),
                "the design field {field:?} has no note in server/exercise/brokers.rs"
            );
        }
    }

    #[test]
    fn every_channel_setting_has_a_note() {
        let channel: ChannelSpec = serde_json::from_value(serde_json::json!({
            "name": "orders", "kind": ChannelKind::Queue, "ttl_ms": 1
        }))
        .expect("a minimal channel parses");
        for field in fields(&channel).into_iter().filter(|f| f != "name") {
            assert!(
                note(Channel, &field).is_some(),
                "the channel setting {field:?} has no note in server/exercise/brokers.rs"
            );
        }
    }

    #[test]
    fn a_path_into_a_table_finds_the_note_of_its_field() {
        let retry = note(Consumer, "retry.max_attempts").expect("a note");
        assert_eq!(retry.field, "retry");
        assert!(note(Channel, "retry").is_none(), "targets differ");
    }

    #[test]
    fn keys_are_unique_and_texts_are_filled_in() {
        let mut keys: Vec<_> = NOTES.iter().map(BrokerNote::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), NOTES.len());
        for note in NOTES {
            for text in [note.engine, note.rabbitmq, note.kafka, note.sqs, note.nats] {
                assert!(!text.trim().is_empty(), "{}", note.key());
            }
        }
    }

    #[test]
    fn the_document_carries_the_same_notes() {
        const BEGIN: &str = "<!-- notes:begin -->\n";
        const END: &str = "<!-- notes:end -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/BROKERS.md");
        let doc = std::fs::read_to_string(path).expect("docs/BROKERS.md is readable");
        let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/BROKERS.md has lost its notes markers");
        };
        let written = &doc[begin + BEGIN.len()..end];
        if written != markdown() && std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!(
                "{}{}{}",
                &doc[..begin + BEGIN.len()],
                markdown(),
                &doc[end..]
            );
            std::fs::write(path, updated).expect("docs/BROKERS.md is writable");
            return;
        }
        assert!(
            written == markdown(),
            "docs/BROKERS.md is out of date: run this test with UPDATE_DOCS=1"
        );
    }
}
