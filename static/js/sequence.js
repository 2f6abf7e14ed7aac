// A sequence diagram of one correlation id: a lifeline per service and channel, an arrow per hop, so a
// learner can follow one user journey across services.
import { h, s, replace, fmtAt, shortId } from "./dom.js";
import { classOf, Names } from "./events.js";
import { fitText } from "./fit.js";

/** Arrows drawn; a longer story is cut with a note. */
const MAX_ROWS = 80;
const ROW_H = 22;
const HEAD_H = 28;
/** Lanes narrower than this put every other header on a second line, so neighbours do not collide. */
const STAGGER_BELOW_PX = 96;

export class Sequence {
  constructor(store, { onSelect }) {
    this.store = store;
    this.onSelect = onSelect;
    this.el = document.getElementById("sequence");
    this.correlation = null;
  }

  show(correlationId) {
    this.correlation = correlationId;
    this.render();
  }

  render() {
    if (!this.correlation) return;
    const names = new Names(this.store.topology);
    const messages = this.store.correlated(this.correlation);
    const rows = [];
    for (const msg of messages) {
      for (const ev of msg.events) {
        const hop = hopOf(ev, msg, names);
        if (hop) rows.push({ ev, msg, ...hop });
      }
    }
    rows.sort((a, b) => a.ev.at - b.ev.at);
    const lanes = [];
    const lane = (name) => {
      let i = lanes.indexOf(name);
      if (i < 0) i = lanes.push(name) - 1;
      return i;
    };
    for (const r of rows) {
      r.a = lane(r.from);
      r.b = lane(r.to);
    }
    const shown = rows.slice(0, MAX_ROWS);
    const width = Math.max(this.el.clientWidth - 8, 320);
    const left = 56;
    const laneW = (width - left) / Math.max(lanes.length, 1);
    const lx = (i) => left + laneW * (i + 0.5);
    // Many services: headers alternate between two lines, each as wide as two lanes, cut to fit.
    const stagger = laneW < STAGGER_BELOW_PX;
    const headH = stagger ? HEAD_H + 14 : HEAD_H;
    const height = headH + shown.length * ROW_H + 8;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, height, role: "img", "aria-label": `Sequence of correlation ${this.correlation}` },
      s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", fill: "context-stroke" }))));
    const heads = lanes.map((name, i) => s("text", { class: "seq__head", x: lx(i), y: stagger && i % 2 ? 30 : 16, "text-anchor": "middle" }, name));
    lanes.forEach((name, i) => {
      svg.append(s("line", { class: "seq__lane", x1: lx(i), x2: lx(i), y1: (stagger && i % 2 ? 34 : 20), y2: height }), heads[i]);
    });
    shown.forEach((r, i) => {
      const y = headH + i * ROW_H + 12;
      const cls = classOf(r.ev);
      svg.append(s("text", { class: "seq__at", x: 2, y: y + 4 }, fmtAt(r.ev.at)));
      if (r.a === r.b) {
        const x = lx(r.a);
        svg.append(s("path", { class: `seq__arrow seq--${cls}`, d: `M${x},${y - 5} h18 v10 h-16`, "marker-end": "url(#arrow)" }));
        // The last lane's notes go to its left, inside the picture.
        const last = r.a === lanes.length - 1 && lanes.length > 1;
        svg.append(s("text", { class: "seq__label", x: last ? x - 6 : x + 24, y: y + 4, "text-anchor": last ? "end" : "start" }, r.label));
      } else {
        const x1 = lx(r.a);
        const x2 = lx(r.b);
        svg.append(s("line", { class: `seq__arrow seq--${cls}`, x1, x2: x2 + (x2 > x1 ? -3 : 3), y1: y, y2: y, "marker-end": "url(#arrow)" }));
        svg.append(s("text", { class: "seq__label", x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle" }, r.label));
      }
    });
    const first = messages[0];
    const head = h("div", { class: "journey__head" },
      h("span", { class: "journey__title" }, `Correlation ${shortId(this.correlation)}`),
      h("span", { class: "muted small" }, `${plural(messages.length, "message")}, ${plural(rows.length, "hop")}`),
      first ? h("button", { type: "button", class: "linkish small", onclick: () => this.onSelect(first.id) }, "first message's journey") : null);
    const note = rows.length > MAX_ROWS ? h("p", { class: "muted small" }, `First ${MAX_ROWS} hops shown.`) : null;
    replace(this.el, head, svg, note);
    // Measured once drawn: SVG text has a width only on the page.
    heads.forEach((el, i) => fitText(el, lanes[i], (stagger ? 2 : 1) * laneW - 8));
  }
}

/** The arrow an event draws, or null for events that do not move the story. */
function hopOf(ev, msg, names) {
  const channel = msg.channel !== undefined ? names.channel(msg.channel) : "broker";
  const consumer = ev.consumer !== undefined ? names.consumer(ev.consumer) : null;
  const type = msg.event_type;
  switch (ev.type) {
    case "published": return { from: names.from(ev.from), to: names.channel(ev.channel), label: `${type} ${msg.key}` };
    case "delivered": return { from: channel, to: consumer, label: ev.attempt > 1 ? `${type} (attempt ${ev.attempt})` : type };
    case "processing_failed": return { from: consumer, to: consumer, label: `failed: ${ev.reason.replaceAll("_", " ")}` };
    case "effect_applied": return { from: consumer, to: consumer, label: names.t.consumers[ev.consumer]?.effect_label ?? "done" };
    case "duplicate_effect": return { from: consumer, to: consumer, label: `again! ×${ev.times}` };
    case "duplicate_skipped": return { from: consumer, to: consumer, label: "duplicate skipped" };
    case "acked": return { from: consumer, to: channel, label: "ack" };
    case "nacked": return { from: consumer, to: channel, label: ev.requeue ? "nack, requeue" : "nack" };
    case "retry_scheduled": return { from: channel, to: channel, label: `retry in ${ev.delay_ms} ms` };
    case "dead_lettered": return { from: channel, to: channel, label: "→ dead-letter queue" };
    case "redriven": return { from: channel, to: channel, label: "redriven" };
    case "dropped": return { from: consumer ?? channel, to: consumer ?? channel, label: `lost: ${ev.reason.replaceAll("_", " ")}` };
    case "out_of_order": return { from: consumer, to: consumer, label: `out of order (#${ev.seq} after #${ev.last_seq})` };
    case "stale_overwrite": return { from: consumer, to: consumer, label: "stale overwrite" };
    case "reply_received": return { from: channel, to: names.producer(ev.producer), label: "reply" };
    case "request_timed_out": return { from: names.producer(ev.producer), to: names.producer(ev.producer), label: "timed out" };
    default: return null;
  }
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
