// The faults a person can inject, shared by the playground and the facilitator's "fault for everyone":
// what each is called, what it aims at, and the engine command it sends.

/** Extra delay a "slow consumer" fault multiplies processing time by. */
export const SLOW_FACTOR = 5;
/** How long the "dependency down" fault lasts, in virtual milliseconds. */
export const OUTAGE_MS = 3000;
/** How long the broker stays down when restarted. */
export const BROKER_DOWNTIME_MS = 2000;

/** Every fault: its id, what it aims at (a consumer, a channel, a service's link, or the broker) and its label. */
export const FAULTS = [
  { id: "crash", target: "consumer", label: "Crash" },
  { id: "restart", target: "consumer", label: "Restart" },
  { id: "pause", target: "consumer", label: "Pause" },
  { id: "resume", target: "consumer", label: "Resume" },
  { id: "slow", target: "consumer", label: `Slow ×${SLOW_FACTOR}` },
  { id: "unslow", target: "consumer", label: "Normal speed" },
  { id: "add_instance", target: "consumer", label: "+ Instance" },
  { id: "remove_instance", target: "consumer", label: "− Instance" },
  { id: "dependency_outage", target: "consumer", label: `Dependency down ${OUTAGE_MS / 1000} s` },
  { id: "inject_poison", target: "channel", label: "Poison" },
  { id: "duplicate", target: "channel", label: "Duplicate" },
  { id: "producer_retry", target: "channel", label: "Producer retries last" },
  { id: "jitter", target: "service", label: "Jitter 300 ms" },
  { id: "lossy", target: "service", label: "Lose 20 %" },
  { id: "cut_link", target: "service", label: "Cut link" },
  { id: "restore_link", target: "service", label: "Restore link" },
  { id: "restart_broker", target: "broker", label: `Restart broker (${BROKER_DOWNTIME_MS / 1000} s down)` },
];

/** What each target is called in a form. */
export const TARGET_LABELS = { consumer: "consumer", channel: "channel", service: "service's link", broker: "the broker" };

/**
 * The engine command for fault `id` aimed at `{ consumer, channel, service }` (the one its target needs),
 * or null when that target is missing.
 */
export function faultCommand(id, { consumer, channel, service } = {}) {
  const link = (conditions) => ({ kind: "set_link", service, conditions: { latency_ms: 5, jitter_ms: 0, loss: 0, duplicate: 0, cut: false, ...conditions } });
  switch (id) {
    case "crash": case "restart": case "pause": case "resume": case "add_instance": case "remove_instance":
      return consumer ? { kind: id, consumer } : null;
    case "slow": return consumer ? { kind: "slow", consumer, factor: SLOW_FACTOR } : null;
    case "unslow": return consumer ? { kind: "slow", consumer, factor: 1 } : null;
    case "dependency_outage": return consumer ? { kind: id, consumer, duration_ms: OUTAGE_MS } : null;
    case "inject_poison": return channel ? { kind: id, channel } : null;
    case "duplicate": return channel ? { kind: id, channel, same_id: true } : null;
    case "producer_retry": return channel ? { kind: "duplicate", channel, same_id: false } : null;
    case "jitter": return service ? link({ latency_ms: 20, jitter_ms: 300 }) : null;
    case "lossy": return service ? link({ loss: 0.2 }) : null;
    case "cut_link": case "restore_link": return service ? { kind: id, service } : null;
    case "restart_broker": return { kind: id, downtime_ms: BROKER_DOWNTIME_MS };
    default: return null;
  }
}
