// What each trace event means for a learner: its colour class, whether it is a problem, and one sentence.
// Shared by the log, the journey, the sequence diagram and the animation, so a state has one colour.
import { ORIGIN_TEXT } from "./origins.js";

/** Colour class per event type: flight, ok, retry, dead, dup, order, lost, fault or info. */
const CLASS = {
  published: "flight", enqueued: "flight", appended: "flight", delivered: "flight", received: "flight",
  redriven: "flight", held_back: "order", db_committed: "ok",
  acked: "ok", effect_applied: "ok", offset_committed: "ok", duplicate_skipped: "ok", stale_dropped: "ok",
  outbox_confirmed: "ok", reply_received: "ok",
  processing_failed: "retry", nacked: "retry", retry_scheduled: "retry", ack_timeout: "retry",
  stale_ack: "retry", request_timed_out: "retry", declined: "info",
  dead_lettered: "dead",
  duplicate_effect: "dup", duplicated: "dup",
  out_of_order: "order", stale_overwrite: "order", gap_skipped: "order", late_reply: "order",
  dropped: "lost", publish_failed: "lost", records_missed: "lost",
  fault: "fault", instance_crashed: "fault", broker_down: "fault", link_changed: "fault",
  trace_overflow: "lost", alert_fired: "fault", alert_resolved: "ok",
  schema_refused: "lost", schema_registered: "info", release_deployed: "info", release_blocked: "fault",
};

/** How the page names an alert rule's metric: in the log and on the consumer's design line. */
export const ALERT_METRIC = { lag: "lag", dead_letters: "dead letters", retry_rate: "retries/s", error_rate: "failures/s", oldest_age_ms: "oldest wait (ms)", orders_waiting: "orders waiting", latency_p99_ms: "p99 (ms)" };

export function classOf(ev) {
  // A learner's design change is a choice, not a fault.
  if (ev.type === "fault" && ev.command?.kind === "set_design") return "info";
  return CLASS[ev.type] || "info";
}

/** Events a learner filtering for "problems" wants to see. */
export function isProblem(ev) {
  const c = classOf(ev);
  return c !== "flight" && c !== "ok" && c !== "info";
}

/** Short tag text for the log. */
export function tagOf(ev) {
  switch (ev.type) {
    case "duplicate_effect": return "DUPLICATE";
    case "dead_lettered": return "DEAD LETTER";
    case "dropped": return "LOST";
    case "out_of_order": return "OUT OF ORDER";
    case "stale_overwrite": return "STALE WRITE";
    case "instance_crashed": return "CRASH";
    case "fault": return ev.command?.kind === "set_design" ? "design" : "fault";
    case "alert_fired": return "ALERT";
    case "schema_refused": return "REFUSED";
    case "release_blocked": return "BUILD RED";
    case "release_deployed": return "release";
    default: return ev.type.replaceAll("_", " ");
  }
}

const FAILURE = {
  transient: "a transient error",
  malformed: "a payload it cannot parse",
  poison_type: "an event type it cannot handle",
  unknown_schema_version: "a schema version it does not know",
  missing_field: "a payload without a field its code uses",
  dependency_down: "its dependency being down",
  dependency_overloaded: "its dependency being overloaded",
};

const DROP = {
  link_cut: "the link is cut",
  link_loss: "the network lost it",
  broker_down: "the broker was down",
  producer_crashed: "the producer crashed before publishing",
  no_subscriber: "nobody subscribes to the channel",
  queue_full: "the queue was full",
  expired: "its time to live ran out",
  instance_crashed: "the instance crashed while holding it",
  failed_after_ack: "processing failed after it was already acked (at-most-once)",
  retries_exhausted: "retries ran out after it was acked",
  retention_exceeded: "the stream deleted it before the group read it",
  message_cap: "the sandbox had created as many messages as it allows",
  too_large: "it is bigger than the largest message the channel accepts",
};

/** Why a message was dead-lettered; `attempts` tells a policy that gave up at once from one that retried. */
const DEAD = {
  rejected: (attempts) => (attempts > 1 ? "its consumer rejected it after its retries" : "its consumer rejected it, with no retry"),
  max_deliveries: () => "the broker's delivery limit was reached",
  expired: () => "it expired",
};

/** "1 attempt", "3 attempts". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Why a message is a dead letter, in words: the broker's reason and, when its consumer rejected it, the
 * failure that made it do so (from the message's `events`), so the DLQ and the journey say the same. */
export function deadLetterReason(reason, attempts, events) {
  const why = DEAD[reason]?.(attempts) ?? reason.replaceAll("_", " ");
  const cause = reason === "rejected" ? lastFailure(events) : null;
  return cause ? `${why}, on ${cause}` : why;
}

/** The failure that sent a message to its dead-letter queue: the last `processing_failed` before it. */
export function lastFailure(events) {
  for (let i = events.length - 1; i >= 0; i--) {
    if (events[i].type === "processing_failed") return FAILURE[events[i].reason] ?? events[i].reason;
  }
  return null;
}

/** Names of the topology's parts, by index. */
export class Names {
  constructor(topology) {
    this.t = topology || { channels: [], queues: [], producers: [], consumers: [] };
  }
  channel(i) { return this.t.channels[i]?.name ?? `channel ${i}`; }
  queue(i) { return this.t.queues[i]?.name ?? `queue ${i}`; }
  producer(i) { return this.t.producers[i]?.name ?? `producer ${i}`; }
  consumer(i) { return this.t.consumers[i]?.name ?? `consumer ${i}`; }
  instance(c, i) { return `${this.consumer(c)} #${i}`; }
  from(from) {
    if (!from) return "?";
    return "producer" in from ? this.producer(from.producer) : this.consumer(from.consumer);
  }
}

/** One sentence about an event. `msg` is the message record (key, event type) when known. */
export function describe(ev, names, msg) {
  // A message is known by its type and key from its `published` event on (a database commit comes first).
  const what = msg && msg.event_type !== "?" ? `${msg.event_type} ${msg.key}` : "the message";
  const inst = () => names.instance(ev.consumer, ev.instance);
  switch (ev.type) {
    case "published": {
      const bad = ev.malformed ? " (malformed)" : "";
      return `${names.from(ev.from)} published ${ev.event_type} ${ev.key} #${ev.seq}${bad} to ${names.channel(ev.channel)}`;
    }
    case "db_committed": return `${names.producer(ev.producer)} saved ${what} in its database`;
    case "publish_failed": return `${names.producer(ev.producer)} could not publish ${what}: ${DROP[ev.reason] ?? ev.reason}`;
    case "outbox_confirmed": return `${names.producer(ev.producer)}'s outbox marked ${what} as sent`;
    case "dropped": {
      // A topic copies a message per subscription: say whose copy was lost and why.
      if (ev.reason === "no_subscriber" && ev.consumer !== undefined) {
        const who = names.consumer(ev.consumer);
        return `${who}'s copy of ${what} was lost: ${who} had no instance running and its subscription is not durable, so nobody was subscribed for it`;
      }
      return `${what} was lost${ev.consumer !== undefined ? ` for ${names.consumer(ev.consumer)}` : ""}: ${DROP[ev.reason] ?? ev.reason}`;
    }
    case "duplicated": return `the network delivered ${what} twice`;
    case "enqueued": return `queued in ${names.queue(ev.queue)}`;
    case "not_routed": return `not routed to ${names.consumer(ev.consumer)}: ${ev.reason}`;
    case "appended": return `appended to ${names.channel(ev.channel)} partition ${ev.partition} at offset ${ev.offset}`;
    case "delivered": return `delivered to ${inst()} (attempt ${ev.attempt})`;
    case "received": return `${inst()} received ${what}`;
    case "processing_failed": return `${inst()} failed on ${what}: ${FAILURE[ev.reason] ?? ev.reason} (attempt ${ev.attempt})`;
    case "effect_applied": return `${inst()} ${names.t.consumers[ev.consumer]?.effect_label ?? "processed"} ${what}`;
    case "duplicate_effect": return `${names.consumer(ev.consumer)} did it again: ${names.t.consumers[ev.consumer]?.effect_label ?? "processed"} ${what} ${ev.times} times`;
    case "duplicate_skipped": return `${names.consumer(ev.consumer)} recognised a duplicate of ${what} and skipped it`;
    case "out_of_order": return `${names.consumer(ev.consumer)} got ${what} #${ev.seq} after #${ev.last_seq}: out of order`;
    case "stale_overwrite": return `${names.consumer(ev.consumer)} overwrote #${ev.last_seq} with older #${ev.seq}: stale data`;
    case "stale_dropped": return `${names.consumer(ev.consumer)} dropped stale ${what}`;
    case "held_back": return `${names.consumer(ev.consumer)} holds ${what} back, waiting for #${ev.waiting_for}`;
    case "gap_skipped": return `${names.consumer(ev.consumer)} gave up waiting for ${ev.key} #${ev.from_seq}–#${ev.to_seq}`;
    case "declined": return `${names.consumer(ev.consumer)} declined ${what}`;
    case "acked": return `${inst()} acknowledged it`;
    case "nacked": return `${inst()} rejected it${ev.requeue ? " (back to the queue)" : " for good"}`;
    case "stale_ack": return `a late ack from ${names.consumer(ev.consumer)}: the broker had already taken it back`;
    case "ack_timeout": return `no ack from ${inst()} in time: the broker delivers it again`;
    case "retry_scheduled": return `attempt ${ev.next_attempt} in ${ev.delay_ms} ms`;
    case "dead_lettered":
      return `dead-lettered in ${names.queue(ev.queue)} after ${plural(ev.attempts, "attempt")}: ${deadLetterReason(ev.reason, ev.attempts, msg ? msg.events.filter((e) => e.at <= ev.at) : [])}`;
    case "redriven": return `redriven from the dead-letter queue to ${names.queue(ev.queue)}`;
    case "offset_committed": return `${names.consumer(ev.consumer)} committed offset ${ev.offset} on partition ${ev.partition}`;
    case "offset_reset": return `${names.consumer(ev.consumer)} moved to offset ${ev.offset} on partition ${ev.partition}`;
    case "rebalanced": return `${names.consumer(ev.consumer)} rebalanced (generation ${ev.generation}): ${ev.assignment.map((p, i) => `#${i}→[${p.join(",")}]`).join(" ")}`;
    case "records_missed": return `${names.consumer(ev.consumer)} missed offsets ${ev.from_offset}–${ev.to_offset} of partition ${ev.partition}`;
    case "instance_crashed": return `${inst()} crashed${ev.lost ? `, losing ${ev.lost} in hand` : ""}`;
    case "instance_restarted": return `${inst()} restarted`;
    case "instance_added": return `${inst()} added`;
    case "instance_removed": return `${inst()} removed`;
    case "paused": return `${names.consumer(ev.consumer)} paused`;
    case "resumed": return `${names.consumer(ev.consumer)} resumed`;
    case "broker_down": return `the broker went down: ${ev.lost} lost, ${ev.returned} returned to queues`;
    case "broker_up": return "the broker is back";
    case "link_changed": {
      const who = ev.producer !== undefined ? names.producer(ev.producer) : names.consumer(ev.consumer);
      const c = ev.conditions || {};
      if (c.cut) return `the link of ${who} is cut`;
      return `link of ${who}: latency ${c.latency_ms} ms, jitter ${c.jitter_ms} ms, loss ${Math.round((c.loss || 0) * 100)} %`;
    }
    case "fault": {
      const who = ORIGIN_TEXT[ev.origin];
      if (ev.command?.kind === "set_design") return `design change${who ? ` by ${who}` : ""}${faultTarget(ev.command)}`;
      return `${ev.label}${faultTarget(ev.command)}${who ? ` (${ev.origin === "exercise" ? who : `by ${who}`})` : ""}`;
    }
    case "reply_received": return `${names.producer(ev.producer)} got its reply after ${ev.latency_ms} ms`;
    case "request_timed_out": return `${names.producer(ev.producer)} gave up waiting for a reply`;
    case "late_reply": return `a reply reached ${names.producer(ev.producer)} after it had given up`;
    case "checkpoint_saved": return `${names.consumer(ev.consumer)} saved a checkpoint at [${ev.offsets.join(", ")}]`;
    case "rebuild_started": return `${names.consumer(ev.consumer)} rebuilds its read model${ev.from_checkpoint ? " from its checkpoint" : " from the start"}`;
    case "trace_overflow": return `${ev.missed} events were not kept`;
    case "alert_fired": return `alert ${ev.alert} fired: ${names.consumer(ev.consumer)}'s ${ALERT_METRIC[ev.metric] ?? ev.metric} is ${+ev.value.toFixed(2)}${ev.messages?.length ? "; the oldest waiting message opens from here" : ""}`;
    case "schema_registered": return `the schema registry of ${names.channel(ev.channel)} registered ${ev.event_type} v${ev.schema_version}`;
    case "schema_refused": return `${names.from(ev.from)} could not publish ${ev.event_type} ${ev.key} v${ev.schema_version}: the schema registry of ${names.channel(ev.channel)} refused it. ${ev.reason}`;
    case "release_deployed": {
      const who = ev.producer !== undefined ? names.producer(ev.producer) : names.consumer(ev.consumer);
      return `${who} shipped release “${ev.release}”: it ${ev.summary}${ev.checked ? ", every consumer's contract passed" : ""}`;
    }
    case "release_blocked": return `${names.producer(ev.producer)}'s pipeline is red: release “${ev.release}” stays out of production. ${ev.problems.join("; ")}`;
    case "alert_resolved": return `alert ${ev.alert} resolved: ${names.consumer(ev.consumer)}'s ${ALERT_METRIC[ev.metric] ?? ev.metric} is back to ${+ev.value.toFixed(2)}`;
    default: return ev.type.replaceAll("_", " ");
  }
}

function faultTarget(command) {
  if (!command) return "";
  const target = command.consumer ?? command.channel ?? command.service;
  return target ? ` on ${target}` : "";
}

/** The consumer an event is about, if any (used to place animations and highlight nodes). */
export function consumerOf(ev) {
  return typeof ev.consumer === "number" ? ev.consumer : null;
}
