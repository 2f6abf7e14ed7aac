// The client's copy of a sandbox: applies `snapshot` and `frame` messages and keeps bounded indexes of the
// trace for the log, journeys and sequence diagrams. Views subscribe and redraw from it.

/** Trace events kept for the log; older ones are forgotten first (journeys keep their own copy). */
export const MAX_EVENTS = 6000;
/** Messages whose journey is kept; the oldest message is forgotten first. */
export const MAX_MESSAGES = 4000;
/** Events kept per message: every attempt of a hundred-attempt retry policy. Past it, the oldest events
 * after the first `KEEP_FIRST` go, so a journey always shows how it started and how it ends. */
export const MAX_EVENTS_PER_MESSAGE = 640;
export const KEEP_FIRST = 60;
/** Why a message fails that says it will fail every time: a poison message, drawn as one. */
const POISON_REASONS = new Set(["malformed", "poison_type", "unknown_schema_version", "missing_field"]);
/** Lost messages listed per consumer (the server counts them all); the oldest listed go first. */
export const MAX_LOST_LISTED = 200;
/** Metric samples kept for the sparklines (one per frame, about ten a second). */
export const MAX_SAMPLES = 240;

export class Store {
  constructor() {
    this.listeners = new Set();
    /** Whether this page has seen the run play; kept across snapshots (a reset does not bring back "Start"). */
    this.played = false;
    this.reset();
  }

  reset() {
    this.topology = { channels: [], queues: [], producers: [], consumers: [] };
    this.metrics = null;
    this.goals = [];
    this.markers = [];
    this.commands = [];
    this.choices = {};
    this.design = { choices: {}, since_ms: {} };
    this.events = [];
    this.messages = new Map();
    this.byCorrelation = new Map();
    this.samples = [];
    /** Per consumer: what the events this page holds show as lost for it, `{ listed: [{ at, id, reason }] }`. */
    this.lost = new Map();
    this.seq = 0;
    this.at = 0;
    this.seed = null;
    this.speed = 1;
    this.paused = false;
    this.finished = false;
    this.runForMs = 0;
    this.historyMs = 0;
    this.exercise = "";
  }

  /** The option a knob is at in the learner's Design. */
  chosen(knob) {
    return this.design.choices[knob.id] ?? knob.default;
  }

  subscribe(fn) {
    this.listeners.add(fn);
  }

  emit(kind, fresh) {
    for (const fn of this.listeners) fn(kind, fresh);
  }

  applySnapshot(m) {
    // A rewind of the same run: the faults after the new present stay on the timeline, hollow, as the
    // future a fork from here would leave out.
    const sameRun = m.seed === this.seed && m.exercise === this.exercise && (m.history_ms || 0) > m.at;
    const later = sameRun ? this.markers.filter((k) => k.at > m.at).map((k) => ({ ...k, ghost: true })) : [];
    this.reset();
    this.topology = m.topology;
    this.seed = m.seed;
    this.exercise = m.exercise;
    this.runForMs = m.run_for_ms;
    this.markers = [...(m.markers || []), ...later];
    this.commands = m.commands || [];
    this.choices = m.choices || {};
    this.applyCommon(m);
    this.historyMs = Math.max(m.history_ms || 0, m.at);
    this.addEvents(m.events || []);
    this.emit("snapshot", m.events || []);
  }

  applyFrame(m) {
    this.applyCommon(m);
    this.historyMs = Math.max(this.historyMs, m.at);
    if (m.markers?.length) {
      // A marker the run reaches again replaces its ghost.
      const again = new Set(m.markers.map((k) => `${k.at}:${k.label}`));
      this.markers = this.markers.filter((k) => !k.ghost || !again.has(`${k.at}:${k.label}`));
      this.markers.push(...m.markers);
    }
    this.addEvents(m.events || []);
    this.emit("frame", m.events || []);
  }

  applyCommon(m) {
    this.seq = m.seq ?? this.seq;
    this.at = m.at;
    this.speed = m.speed;
    this.paused = m.paused;
    this.finished = m.finished;
    if (m.metrics) {
      this.metrics = m.metrics;
      this.sample(m.metrics);
    }
    if (m.goals) this.goals = m.goals;
    if (m.bill) this.bill = m.bill;
    if (m.design) this.design = { choices: m.design.choices ?? {}, since_ms: m.design.since_ms ?? {} };
    // A fresh sandbox opens paused at 0 s; once it has run, "Start" gives way to Play and Pause.
    if (!m.paused || m.at > 0) this.played = true;
  }

  addEvents(events) {
    for (const ev of events) {
      this.events.push(ev);
      if (ev.type === "records_missed") {
        this.lostFor(ev.consumer, { at: ev.at, id: null, reason: `offsets ${ev.from_offset}–${ev.to_offset} of partition ${ev.partition}, never read` });
      }
      const id = ev.message ?? ev.request;
      if (!id) continue;
      let msg = this.messages.get(id);
      if (!msg) {
        msg = { id, key: "?", event_type: "?", correlation_id: null, events: [], dropped: 0 };
        this.messages.set(id, msg);
        if (this.messages.size > MAX_MESSAGES) {
          const oldest = this.messages.keys().next().value;
          this.forget(oldest);
        }
      }
      if (ev.type === "schema_refused" && msg.key === "?") {
        // Refused before it left the service: known by what it would have been, and missing for every
        // consumer of its channel.
        Object.assign(msg, { key: ev.key, event_type: ev.event_type, version: ev.schema_version, channel: ev.channel, from: ev.from, refused: true });
        this.noteLost({ at: ev.at, reason: "schema_refused" }, msg);
      }
      if (ev.type === "published" && msg.key === "?") {
        msg.key = ev.key;
        msg.event_type = ev.event_type;
        msg.seq = ev.seq;
        msg.version = ev.schema_version;
        msg.size_bytes = ev.size_bytes;
        msg.correlation_id = ev.correlation_id;
        msg.causation_id = ev.causation_id ?? null;
        msg.channel = ev.channel;
        msg.from = ev.from;
        msg.malformed = !!ev.malformed;
        msg.poison = msg.malformed;
        let ids = this.byCorrelation.get(ev.correlation_id);
        if (!ids) this.byCorrelation.set(ev.correlation_id, (ids = []));
        ids.push(id);
      }
      if (ev.type === "processing_failed" && POISON_REASONS.has(ev.reason)) msg.poison = true;
      if (ev.type === "dropped") this.noteLost(ev, msg);
      if (msg.events.length >= MAX_EVENTS_PER_MESSAGE) {
        msg.events.splice(KEEP_FIRST, 1);
        msg.dropped += 1;
      }
      msg.events.push(ev);
    }
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** A message lost for a consumer, or (lost before any queue) for every consumer of its channel. */
  noteLost(ev, msg) {
    const consumers = ev.consumer !== undefined ? [ev.consumer] : this.topology.consumers.filter((c) => c.channel === msg.channel).map((c) => c.id);
    for (const c of consumers) this.lostFor(c, { at: ev.at, id: msg.id, reason: ev.reason });
  }

  lostFor(consumer, entry) {
    let lost = this.lost.get(consumer);
    if (!lost) this.lost.set(consumer, (lost = { listed: [] }));
    lost.listed.push(entry);
    if (lost.listed.length > MAX_LOST_LISTED) lost.listed.shift();
  }

  forget(id) {
    const msg = this.messages.get(id);
    this.messages.delete(id);
    const ids = msg && this.byCorrelation.get(msg.correlation_id);
    if (ids) {
      const at = ids.indexOf(id);
      if (at >= 0) ids.splice(at, 1);
      if (!ids.length) this.byCorrelation.delete(msg.correlation_id);
    }
  }

  /** One point per frame for the sparklines: totals, from which rates are derived. */
  sample(metrics) {
    const sum = (list, f) => list.reduce((a, x) => a + f(x), 0);
    const point = {
      at: metrics.at,
      produced: sum(metrics.producers, (p) => p.produced),
      acked: sum(metrics.consumers, (c) => c.succeeded),
      retries: sum(metrics.queues, (q) => q.retries),
      dlq: sum(metrics.queues, (q) => q.dead_letters),
      lag: sum(metrics.queues, (q) => q.ready) + sum(metrics.streams, (st) => sum(st.groups, (g) => sum(g.lag, (l) => l))),
    };
    const last = this.samples[this.samples.length - 1];
    if (last && point.at < last.at) this.samples = [];
    if (last && point.at === last.at) this.samples[this.samples.length - 1] = point;
    else this.samples.push(point);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  /** The message record (key, type, correlation id, its events) or undefined. */
  message(id) {
    return this.messages.get(id);
  }

  /** Every message of one correlation id, oldest first. */
  correlated(correlationId) {
    return (this.byCorrelation.get(correlationId) || []).map((id) => this.messages.get(id)).filter(Boolean);
  }

  consumerByName(name) {
    return this.topology.consumers.find((c) => c.name === name);
  }
}
