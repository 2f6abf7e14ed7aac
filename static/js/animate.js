// Messages moving along the edges. Each trace event that moves a message becomes a dot travelling from
// one anchor of the topology to another; anomalies become a ring with a label where they happen.
import { s, fmtMs } from "./dom.js";
import { glyph } from "./glyphs.js";

/** Dots and rings on screen at once; the oldest is removed first, so a burst of traffic stays cheap. */
export const MAX_SPRITES = 140;
/** Wall-clock time a dot takes to travel one edge. */
const TRAVEL_MS = 650;
/** Wall-clock time a ring stays on screen. */
const BURST_MS = 1800;
/** A frame's events are spread over at most this much wall-clock time, in their virtual order. */
const SPREAD_MS = 400;
/** Dots travelling one edge at once. Past it, the edge shows a count riding on it instead of a blur of
 * dots: "×23" messages on this edge in the last moment. */
export const MAX_DOTS_PER_EDGE = 5;
/** Radius of a dot's invisible target: bigger than the dot, so a moving message can be clicked or tapped. */
const HIT_RADIUS = 12;

export class Animator {
  constructor() {
    this.sprites = [];
    /** Per edge: the dots on it now and the count badge when it is busy. */
    this.edges = new Map();
    this.edgeIds = 0;
    this.running = false;
    /** When the run was paused (wall clock), or null: dots drawn before it hold still until Play. */
    this.pausedAt = null;
    this.reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  /** Holds the dots where they are while the run is paused, so any of them can be clicked. */
  setPaused(paused) {
    const now = performance.now();
    if (paused && this.pausedAt === null) {
      this.pausedAt = now;
    } else if (!paused && this.pausedAt !== null) {
      const held = now - this.pausedAt;
      for (const sp of this.sprites) {
        if (sp.ring || sp.born > this.pausedAt) continue;
        sp.start += held;
        sp.end += held;
      }
      this.pausedAt = null;
      this.loop();
    }
  }

  /** Turns a frame's events into sprites on `view` (a TopologyView with anchors and a dots layer). */
  play(view, store, events, frameStart) {
    const a = view.anchors;
    if (!a || !view.dots || document.hidden) return;
    const speed = Math.max(store.speed || 1, 0.25);
    const t0 = performance.now();
    for (const ev of events) {
      const delay = Math.min(SPREAD_MS, Math.max(0, (ev.at - frameStart) / speed));
      const start = t0 + delay;
      switch (ev.type) {
        case "published": {
          // A consumer's follow-up or reply travels back, right to left, to the channel's outer side.
          const byProducer = "producer" in ev.from;
          const path = byProducer ? null : a.emitPath[`${ev.from.consumer}:${ev.channel}`];
          const from = byProducer ? a.producer[ev.from.producer] : a.consumerIn[ev.from.consumer];
          const to = byProducer ? a.channelIn[ev.channel] : a.channelOut[ev.channel];
          this.dot(view, from, to, "flight", start, TRAVEL_MS, path, ev.message, store);
          break;
        }
        case "duplicated": {
          const msg = store.message(ev.message);
          if (msg && msg.channel !== undefined) {
            const from = ev.consumer !== undefined ? a.consumer[ev.consumer] : a.producer[msg.from?.producer];
            this.dot(view, from, a.channelIn[msg.channel], "dup", start, TRAVEL_MS, null, ev.message, store);
          }
          this.burst(view, ev.consumer !== undefined ? a.consumerIn[ev.consumer] : a.channelIn[msg?.channel], "dup", "×2", start);
          break;
        }
        case "enqueued": {
          const q = store.topology.queues[ev.queue];
          const ch = q && store.topology.channels[q.channel];
          if (ch && ch.kind === "topic") this.dot(view, a.channelOut[ch.id], a.queueIn[ev.queue], "flight", start, TRAVEL_MS, null, ev.message, store);
          break;
        }
        case "delivered": {
          const from = ev.queue !== undefined ? a.queueOut[ev.queue] : a.channelOut[store.topology.consumers[ev.consumer]?.channel];
          this.dot(view, from, a.consumerIn[ev.consumer], ev.attempt > 1 ? "retry" : "flight", start, TRAVEL_MS, null, ev.message, store);
          break;
        }
        case "acked":
          this.dot(view, a.consumerIn[ev.consumer], nudge(a.consumerIn[ev.consumer], -26), "ok", start, 350, null, ev.message, store);
          break;
        case "nacked":
          if (ev.requeue) this.dot(view, a.consumerIn[ev.consumer], queueOf(store, a, ev.consumer), "retry", start, TRAVEL_MS, null, ev.message, store);
          break;
        case "ack_timeout":
          this.burst(view, midpoint(queueOf(store, a, ev.consumer), a.consumerIn[ev.consumer]), "retry", "ack timeout", start);
          break;
        case "dead_lettered":
          this.dot(view, a.queueOut[ev.queue] ?? a.channelOut[store.topology.queues[ev.queue]?.channel], a.dlq[ev.queue], "dead", start, TRAVEL_MS, null, ev.message, store);
          this.burst(view, a.dlq[ev.queue], "dead", "dead letter", start + TRAVEL_MS);
          break;
        case "redriven":
          this.dot(view, a.dlq[ev.queue], a.queueOut[ev.queue] ?? a.channelOut[store.topology.queues[ev.queue]?.channel], "flight", start, TRAVEL_MS, null, ev.message, store);
          break;
        case "duplicate_effect":
          this.burst(view, above(a.consumerTop[ev.consumer]), "dup", `twice! ×${ev.times}`, start);
          break;
        case "out_of_order":
        case "stale_overwrite":
          this.burst(view, above(a.consumerTop[ev.consumer]), "order", ev.type === "stale_overwrite" ? "stale write" : "out of order", start);
          break;
        case "reply_received":
        case "late_reply": {
          const ch = store.topology.channels.find((c) => c.reply_for === ev.producer);
          if (ch) this.dot(view, a.channelIn[ch.id], a.replyTo[ch.id], ev.type === "late_reply" ? "order" : "ok", start, TRAVEL_MS, null, ev.request, store);
          break;
        }
        case "dropped":
        case "publish_failed":
        case "records_missed": {
          const where = ev.consumer !== undefined ? a.consumerIn[ev.consumer] : ev.producer !== undefined ? a.producer[ev.producer] : null;
          this.burst(view, where, "lost", "lost", start);
          break;
        }
        case "instance_crashed":
          this.burst(view, above(a.consumerTop[ev.consumer]), "crash", "crash", start);
          break;
        case "schema_refused":
          if ("producer" in ev.from) this.burst(view, a.producer[ev.from.producer], "lost", "refused", start);
          break;
        default:
          break;
      }
    }
    this.loop();
  }

  /** A dot for `message` from `from` to `to`, or along `path` (an SVG path element) when the edge is a
   * curve: the state's glyph (a poison message's own), a target to click, and the message's id. */
  dot(view, from, to, cls, start, travel = TRAVEL_MS, path = null, message = null, store = null) {
    if (!path && (!from || !to)) return;
    const key = path ? `path:${path.getAttribute("d")}` : `${from}>${to}`;
    if (this.crowded(view, key, from, to, path, start + travel)) return;
    const origin = path ? path.getPointAtLength(0) : { x: from[0], y: from[1] };
    const poison = !!(message && store?.message(message)?.poison);
    const el = s("g", { class: `dot dot--${cls}${poison ? " dot--poison" : ""}`, transform: `translate(${origin.x},${origin.y})`, opacity: 0, dataset: { edge: this.edges.get(key).id, ...(message ? { message } : {}) } },
      s("circle", { class: "dot__hit", r: HIT_RADIUS }), glyph(cls, poison));
    this.add(view, { el, key, from, to, path, length: path ? path.getTotalLength() : 0, start, end: start + travel, born: performance.now() });
  }

  /** True when `key`'s edge already carries its share of dots: the message is counted on the edge's
   * badge instead, which stays until the last message counted would have arrived. */
  crowded(view, key, from, to, path, until) {
    let edge = this.edges.get(key);
    if (!edge) this.edges.set(key, (edge = { id: this.edgeIds++, dots: 0, extra: 0, badge: null, until: 0 }));
    if (edge.dots < MAX_DOTS_PER_EDGE) {
      edge.dots += 1;
      return false;
    }
    edge.extra += 1;
    edge.until = Math.max(edge.until, until);
    if (!edge.badge) {
      const mid = path ? path.getPointAtLength(path.getTotalLength() / 2) : { x: (from[0] + to[0]) / 2, y: (from[1] + to[1]) / 2 };
      edge.text = s("text", { class: "edge-count__text", y: 4, "text-anchor": "middle" }, "");
      edge.title = s("title", {}, "");
      edge.badge = s("g", { class: "edge-count", transform: `translate(${mid.x},${mid.y - 12})` }, s("rect", { x: -20, y: -9, width: 40, height: 18, rx: 9 }), edge.text, edge.title);
      view.dots.append(edge.badge);
    }
    edge.text.textContent = `+${edge.extra}`;
    edge.title.textContent = `${edge.extra} more messages on this edge than the ${MAX_DOTS_PER_EDGE} drawn`;
    this.loop();
    return true;
  }

  burst(view, at, cls, label, start) {
    if (!at) return;
    // One ring per place and kind at a time: a storm of stale writes reads as one, not a smear.
    const key = `${at[0]},${at[1]},${label}`;
    if (this.sprites.some((sp) => sp.key === key && start - sp.start < BURST_MS / 2)) return;
    const ring = s("circle", { class: "burst", cx: at[0], cy: at[1], r: 8, opacity: 0 });
    const text = s("text", { class: "burst__label", x: at[0], y: Math.max(12, at[1] - 14), "text-anchor": "middle", opacity: 0 }, label);
    const el = s("g", { class: `burst--${cls}` }, ring, text);
    this.add(view, { el, ring, text, at, key, start, end: start + BURST_MS });
  }

  add(view, sprite) {
    view.dots.append(sprite.el);
    this.sprites.push(sprite);
    while (this.sprites.length > MAX_SPRITES) this.retire(this.sprites.shift());
  }

  /** Takes a sprite off the picture and off its edge's count. */
  retire(sp) {
    sp.el.remove();
    const edge = sp.key && !sp.ring ? this.edges.get(sp.key) : null;
    if (edge) edge.dots = Math.max(0, edge.dots - 1);
  }

  /** Drops every sprite: the drawing was rebuilt or the run jumped in time. */
  clear() {
    for (const sp of this.sprites) sp.el.remove();
    for (const edge of this.edges.values()) edge.badge?.remove();
    this.sprites = [];
    this.edges.clear();
  }

  /** Removes the count of an edge whose counted messages have all arrived. */
  expireBadges(now) {
    for (const [key, edge] of this.edges) {
      if (edge.badge && now >= edge.until && this.pausedAt === null) {
        edge.badge.remove();
        edge.badge = null;
        edge.extra = 0;
      }
      if (!edge.badge && !edge.dots) this.edges.delete(key);
    }
  }

  loop() {
    if (this.running) return;
    this.running = true;
    const tick = (now) => {
      const paused = this.pausedAt;
      this.sprites = this.sprites.filter((sp) => {
        // Paused: a dot drawn before the pause holds its place (and its click target).
        if (paused !== null && !sp.ring && sp.born <= paused) return sp.el.isConnected;
        if (now >= sp.end || !sp.el.isConnected) {
          this.retire(sp);
          return false;
        }
        if (now < sp.start) return true;
        const k = (now - sp.start) / (sp.end - sp.start);
        if (sp.ring) {
          const r = this.reduced ? 10 : 6 + 10 * k;
          sp.ring.setAttribute("r", r);
          sp.ring.setAttribute("opacity", 1 - k * 0.8);
          sp.text.setAttribute("opacity", k < 0.8 ? 1 : (1 - k) * 5);
        } else {
          const e = this.reduced ? 1 : ease(k);
          const p = sp.path
            ? sp.path.getPointAtLength(sp.length * e)
            : { x: sp.from[0] + (sp.to[0] - sp.from[0]) * e, y: sp.from[1] + (sp.to[1] - sp.from[1]) * e };
          sp.el.setAttribute("transform", `translate(${p.x},${p.y})`);
          sp.el.setAttribute("opacity", k > 0.85 ? (1 - k) / 0.15 : 1);
        }
        return true;
      });
      this.expireBadges(now);
      // Paused dots need no frames; rings and counts still run out.
      const moving = this.sprites.some((sp) => sp.ring || paused === null || sp.born > paused);
      if (moving || [...this.edges.values()].some((e) => e.badge && paused === null)) requestAnimationFrame(tick);
      else this.running = false;
    };
    requestAnimationFrame(tick);
  }
}

function ease(k) {
  return k < 0.5 ? 2 * k * k : 1 - (-2 * k + 2) ** 2 / 2;
}

function midpoint(p, q) {
  return p && q && [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
}

/** Just above a node's top edge: a ring there marks the node without covering its title. */
function above(point) {
  return point && [point[0], point[1] - 8];
}

function nudge(point, dx) {
  return point && [point[0] + dx, point[1]];
}

function queueOf(store, a, consumer) {
  const c = store.topology.consumers[consumer];
  if (!c) return null;
  return a.queueOut[c.dead_letters] ?? a.channelOut[c.channel];
}

/** Countdowns for messages waiting for a retry, drawn next to the consumer that will get them again. */
export class RetryClocks {
  constructor() {
    this.pending = new Map();
  }

  clear() {
    this.pending.clear();
  }

  observe(events) {
    for (const ev of events) {
      if (ev.type === "retry_scheduled") this.pending.set(`${ev.consumer}:${ev.message}`, { consumer: ev.consumer, due: ev.due_at });
      else if (ev.type === "delivered" || ev.type === "dead_lettered" || ev.type === "dropped") {
        for (const key of this.pending.keys()) if (key.endsWith(`:${ev.message}`)) this.pending.delete(key);
      }
    }
  }

  draw(view, now) {
    if (!view.dots) return;
    view.dots.querySelectorAll(".retry-clock").forEach((el) => el.remove());
    const soonest = new Map();
    for (const [key, p] of this.pending) {
      if (p.due < now - 50) {
        this.pending.delete(key);
        continue;
      }
      const cur = soonest.get(p.consumer);
      soonest.set(p.consumer, { due: Math.min(cur?.due ?? Infinity, p.due), n: (cur?.n ?? 0) + 1 });
    }
    for (const [consumer, { due, n }] of soonest) {
      // Just above the consumer's box, where the message will come back.
      const left = view.anchors?.consumerIn[consumer];
      const top = view.anchors?.consumerTop[consumer];
      if (!left || !top) continue;
      const label = `↻ ${n > 1 ? `${n} waiting · next` : "retry"} in ${fmtMs(Math.max(0, due - now))}`;
      view.dots.append(s("text", { class: "retry-clock", x: left[0] + 2, y: Math.max(11, top[1] - 5) }, label));
    }
  }
}
