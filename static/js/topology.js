// The system as an SVG: producers → channels → (subscriptions) → consumers, laid out in pixel units of the
// element's own size so text stays legible on a projector. `build` draws the static parts once per
// snapshot or resize; `update` changes numbers, bars, instances and cursors in place on every frame.
import { fmtBytes, s } from "./dom.js";
import { fitText, fitFirst, fitSpans } from "./fit.js";
import { ALERT_METRIC } from "./events.js";

/** Preferred node widths; on a narrow stage they shrink together (see `columns`). */
let PRODUCER_W = 124;
let CHANNEL_W = 176;
let SUB_W = 128;
let CONSUMER_W = 188;
const WIDTHS = [124, 176, 128, 188];
/** The smallest gap between two columns, where the edges and the moving dots show. */
const MIN_GAP = 36;
/** Log cells drawn per stream partition; older records scroll off to the left. */
const LOG_CELLS = 14;
/** Partitions drawn per stream; a wider stream shows a "+N more" line. */
const MAX_PARTITIONS = 6;
/** A stage this wide (CSS px) draws the picture at 1:1; a wider one scales it up, text and all, so the
 * diagram fills a projector instead of floating small in empty space. */
const REFERENCE_WIDTH = 800;
/** The largest scale-up: past it, bigger text only costs room. */
const MAX_SCALE = 2;
/** Height a consumer row needs at 1:1 (its node, its dead-letter badge, the gap to the next): the scale
 * stops growing where a stage has no longer room for every row. */
const ROW_NEED = 86;
/** The narrowest drawing, in its own units: a narrower stage (a phone) scrolls the picture sideways
 * rather than shrink its text below legibility. */
export const MIN_DRAWING_WIDTH = 640;
/** Width of a dead-letter badge tucked inside a node that has no room below it. */
const INLINE_DLQ_W = 56;

export class TopologyView {
  constructor(svg, { onConsumer, onDlq, onLost, knobs = [], design = () => null }) {
    this.svg = svg;
    /** The exercise's knobs and the learner's Design: the fields a knob sets are shown first on a node. */
    this.knobs = knobs;
    this.design = design;
    this.onConsumer = onConsumer;
    this.onDlq = onDlq;
    /** Opens the list of what a consumer lost. */
    this.onLost = onLost;
    this.topology = null;
    this.anchors = null;
    this.refs = null;
    this.selected = null;
    this.shape = "";
    this.links = new Map();
    new ResizeObserver(() => this.topology && this.build(this.topology, this.metrics)).observe(svg);
  }

  /** Follows `link_changed` events: a cut link is drawn dashed red, a degraded one dotted, with a label. */
  observeLinks(events, fresh) {
    if (fresh) this.links = new Map();
    let changed = fresh;
    for (const ev of events) {
      if (ev.type !== "link_changed") continue;
      const key = ev.producer !== undefined ? `p${ev.producer}` : `c${ev.consumer}`;
      this.links.set(key, ev.conditions || {});
      changed = true;
    }
    if (changed) this.paintLinks();
  }

  paintLinks() {
    if (!this.refs || !this.linkLabels) return;
    this.linkLabels.replaceChildren();
    const paint = (path, conditions) => {
      const c = conditions || {};
      const degraded = !c.cut && (c.jitter_ms > 0 || c.loss > 0 || c.duplicate > 0 || c.latency_ms >= 100);
      path.classList.toggle("edge--cut", !!c.cut);
      path.classList.toggle("edge--degraded", degraded);
      if (!c.cut && !degraded) return;
      const parts = c.cut ? ["link cut"] : [
        c.jitter_ms > 0 ? `jitter ${c.jitter_ms} ms` : "",
        c.loss > 0 ? `${Math.round(c.loss * 100)} % lost` : "",
        c.duplicate > 0 ? `${Math.round(c.duplicate * 100)} % twice` : "",
        !c.jitter_ms && c.latency_ms >= 100 ? `${c.latency_ms} ms` : "",
      ].filter(Boolean);
      const box = path.getBBox();
      this.linkLabels.append(s("text", { class: c.cut ? "link-label link-label--cut" : "link-label", x: box.x + box.width / 2, y: box.y + box.height / 2 + 16, "text-anchor": "middle" }, parts.join(" · ")));
    };
    for (const [id, path] of this.refs.producerEdges) paint(path, this.links.get(`p${id}`));
    for (const { consumer, path } of this.refs.edges) paint(path, this.links.get(`c${consumer}`));
  }

  select(consumerId) {
    this.selected = consumerId;
    for (const [id, ref] of this.refs?.consumers ?? []) ref.g.classList.toggle("node--selected", id === consumerId);
  }

  /** A key that changes when the drawing must be rebuilt rather than updated. */
  shapeOf(metrics) {
    return (metrics?.consumers ?? []).map((c) => c.instances.length).join(",");
  }

  build(topology, metrics) {
    this.topology = topology;
    this.metrics = metrics;
    this.shape = this.shapeOf(metrics);
    const t = topology;
    const rows = t.channels.reduce((n, ch) => n + Math.max(1, t.consumers.filter((c) => c.channel === ch.id).length), 0);
    const cw = Math.max(this.svg.clientWidth, 1);
    const ch = Math.max(this.svg.clientHeight, 1);
    // Drawn in units of 1/scale px: the same layout, bigger, where the stage has room for it.
    const scale = Math.max(1, Math.min(MAX_SCALE, cw / REFERENCE_WIDTH, ch / (rows * ROW_NEED + 40)));
    this.scale = scale;
    const W = Math.max(cw / scale, MIN_DRAWING_WIDTH);
    const H = Math.max(ch / scale, 260);
    this.svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    // Which size this drawing is for: a resize redraws it (tests wait for it too).
    this.svg.dataset.builtFor = `${this.svg.clientWidth}x${this.svg.clientHeight}`;
    this.svg.replaceChildren();
    const edges = s("g", { class: "edges" });
    const nodes = s("g", { class: "nodes" });
    this.dots = s("g", { class: "dots" });
    // Dead-letter badges are buttons that dead messages fly into: above the dots, so a dot arriving
    // there never takes the click meant for the badge.
    const badges = s("g", { class: "badges" });
    this.svg.append(edges, nodes, this.dots, badges);

    const hasSubs = t.channels.some((c) => c.kind === "topic");
    const x = columns(W, hasSubs);

    // Bands: one per channel, as tall as its busiest column.
    const consumersOf = (ch) => t.consumers.filter((c) => c.channel === ch.id);
    const producersOf = (ch) => t.producers.filter((p) => p.channel === ch.id && p.name !== "console");
    const weights = t.channels.map((ch) => Math.max(1, consumersOf(ch).length, producersOf(ch).length, ch.kind === "stream" ? 1.3 : 1));
    const total = weights.reduce((a, b) => a + b, 0) || 1;
    const top = 6;
    const usable = H - top - 6;
    const slot = usable / total;
    // At least 54: a compact node stacks its title, business line and design line without overlap.
    const consumerH = Math.max(54, Math.min(78, slot - 18));

    const a = { producer: [], channelIn: [], channelOut: [], queueIn: [], queueOut: [], consumerIn: [], consumer: [], consumerTop: [], dlq: [], replyTo: [], emitPath: {} };
    const filters = [];
    const refs = { producers: new Map(), queues: new Map(), streams: new Map(), consumers: new Map(), dlqs: new Map(), edges: [], producerEdges: new Map(), notes: [] };
    let y = top;
    t.channels.forEach((ch, ci) => {
      const bandH = weights[ci] * slot;
      const mid = y + bandH / 2;
      // Channel node.
      const chH = ch.kind === "stream" ? Math.min(bandH - 8, 30 + Math.min(ch.partitions, MAX_PARTITIONS) * 20) : ch.kind === "queue" ? Math.max(52, Math.min(70, bandH - 6)) : 52;
      const chY = mid - chH / 2;
      // A queue whose band has no room below it keeps its dead-letter queue inside, top right.
      const roomy = bandH - chH >= 64;
      const chNode = this.channelNode(ch, x.c, chY, CHANNEL_W, chH, refs, roomy);
      nodes.append(chNode);
      a.channelIn[ch.id] = [x.c, mid];
      a.channelOut[ch.id] = [x.c + CHANNEL_W, mid];
      if (ch.kind === "queue") {
        for (const q of ch.queues) {
          a.queueIn[q] = [x.c, mid];
          a.queueOut[q] = [x.c + CHANNEL_W, mid];
          if (ch.dead_letter && ch.reply_for === null) {
            badges.append(roomy ? this.dlqNode(q, x.c + CHANNEL_W / 2 - 40, chY + chH + 6, a, refs) : this.dlqNode(q, x.c + CHANNEL_W - INLINE_DLQ_W - 4, chY + 4, a, refs, INLINE_DLQ_W, 18));
          }
        }
      }
      // Producers of this channel.
      const ps = producersOf(ch);
      ps.forEach((p, i) => {
        const py = y + (bandH * (i + 0.5)) / ps.length;
        nodes.append(this.producerNode(p, x.p, py - 22, PRODUCER_W, 44, refs));
        a.producer[p.id] = [x.p + PRODUCER_W, py];
        const line = edge([x.p + PRODUCER_W, py], a.channelIn[ch.id]);
        refs.producerEdges.set(p.id, line);
        edges.append(line);
      });
      // Consumers of this channel (and the subscription queue in between for a topic).
      const cs = consumersOf(ch);
      cs.forEach((c, i) => {
        const cy = y + (bandH * (i + 0.5)) / cs.length;
        const inst = metrics?.consumers[c.id]?.instances.length ?? 1;
        const h = consumerH + (inst > 6 ? 12 : 0);
        nodes.append(this.consumerNode(c, x.k, cy - h / 2, CONSUMER_W, h, refs));
        a.consumerIn[c.id] = [x.k, cy];
        a.consumer[c.id] = [x.k + CONSUMER_W / 2, cy];
        a.consumerTop[c.id] = [x.k + CONSUMER_W / 2, cy - h / 2];
        if (ch.kind === "topic") {
          const q = c.dead_letters;
          const roomy = (bandH / cs.length - 46) / 2 >= 26;
          const qh = roomy || !ch.dead_letter ? 46 : 52;
          nodes.append(this.queueNode(q, x.q, cy - qh / 2, SUB_W, qh, refs, roomy || !ch.dead_letter));
          a.queueIn[q] = [x.q, cy];
          a.queueOut[q] = [x.q + SUB_W, cy];
          edges.append(edge(a.channelOut[ch.id], a.queueIn[q]), edge(a.queueOut[q], a.consumerIn[c.id], c.id, refs));
          // The subscription's filter, where its edge enters the subscription: which messages it lets in.
          if (c.filter) filters.push({ at: [x.q + 2, cy - qh / 2 - 4], text: c.filter });
          if (ch.dead_letter) {
            badges.append(roomy ? this.dlqNode(q, x.q + SUB_W / 2 - 40, cy + qh / 2 + 4, a, refs) : this.dlqNode(q, x.q + SUB_W - INLINE_DLQ_W - 4, cy + qh / 2 - 20, a, refs, INLINE_DLQ_W, 17));
          }
        } else {
          edges.append(edge(a.channelOut[ch.id], a.consumerIn[c.id], c.id, refs));
          if (ch.kind === "stream" && ch.dead_letter) {
            badges.append(this.dlqNode(c.dead_letters, x.k + CONSUMER_W - 84, cy + h / 2 + 4, a, refs));
          }
        }
      });
      y += bandH;
    });
    // A consumer that emits follow-up events: a curve back to the channel it publishes to.
    for (const c of t.consumers) {
      for (const target of c.emits) {
        const from = [x.k + CONSUMER_W / 2, a.consumer[c.id][1] + consumerH / 2];
        const to = [a.channelIn[target][0] + CHANNEL_W / 2, a.channelIn[target][1] + 24];
        const path = s("path", { class: "edge edge--emit", d: `M${from[0]},${from[1]} C${from[0]},${H} ${to[0]},${H} ${to[0]},${to[1]}` });
        edges.append(path);
        a.emitPath[`${c.id}:${target}`] = path;
      }
    }
    // Replies travel from their channel back to the requester.
    for (const ch of t.channels) {
      const to = ch.reply_for !== null ? a.producer[ch.reply_for] : null;
      if (!to) continue;
      const from = a.channelIn[ch.id];
      edges.append(s("path", { class: "edge edge--reply", d: `M${from[0]},${from[1]} C${from[0] - 30},${from[1]} ${to[0] + 30},${to[1] + 10} ${to[0]},${to[1] + 10}` }));
      a.replyTo[ch.id] = [to[0], to[1] + 10];
      // The services that answer: the consumers of the channel the requests go to.
      const requests = t.producers[ch.reply_for]?.channel;
      for (const c of t.consumers.filter((k) => k.channel === requests)) {
        const out = a.channelOut[ch.id];
        const src = [x.k, a.consumer[c.id][1] + 12];
        const path = s("path", { class: "edge edge--reply", d: `M${src[0]},${src[1]} C${src[0] - 40},${src[1]} ${out[0] + 40},${out[1]} ${out[0]},${out[1]}` });
        edges.append(path);
        a.emitPath[`${c.id}:${ch.id}`] = path;
      }
    }
    // The console: messages published by hand (yours, or the exercise's scheduled ones, such as a poison
    // message) start from a small tag at the bottom left.
    const consoleP = t.producers.find((p) => p.name === "console");
    if (consoleP) {
      nodes.append(s("g", { class: "node node--console" },
        s("rect", { class: "node__box", x: x.p, y: H - 26, width: 92, height: 22, rx: 11 }),
        s("text", { class: "node__sub", x: x.p + 46, y: H - 11, "text-anchor": "middle" }, "console"),
        s("title", {}, "Messages published by hand: from the Publish tab, a fault, or the exercise's schedule")));
      a.producer[consoleP.id] = [x.p + 92, H - 15];
    }
    this.anchors = a;
    this.refs = refs;
    for (const el of nodes.querySelectorAll("text[data-fit]")) fitText(el, el.textContent, Number(el.dataset.fit));
    this.linkLabels = s("g", { class: "link-labels" });
    this.svg.insertBefore(this.linkLabels, this.dots);
    this.svg.insertBefore(s("g", { class: "filter-labels" }, ...filters.map(({ at, text }) =>
      s("text", { class: "edge-filter", x: at[0], y: at[1] }, text, s("title", {}, `Subscription filter: only messages whose routing key matches ${text}`))), ...refs.notes), this.dots);
    this.paintLinks();
    this.select(this.selected);
    if (metrics) this.update(metrics);
  }

  producerNode(p, x, y, w, h, refs) {
    const sub = s("text", { class: "node__sub", x: x + 10, y: y + 35 }, p.event_type);
    const title = s("title", {}, `producer ${p.name}`);
    // What each event carries besides its fields: the attachment itself, or a claim check for it.
    if (p.attachment_bytes) {
      const size = fmtBytes(p.attachment_bytes);
      const [text, why] = p.claim_check
        ? ["claim check", `${size} in a blob store, fetched by who needs it`]
        : [`+${size} inline`, "Stored for every copy the broker holds"];
      refs.notes.push(s("text", { class: "node__registry", x: x + 4, y: y + h + 14 }, text, s("title", {}, why)));
    }
    const g = s("g", { class: "node node--producer" },
      s("rect", { class: "node__box", x, y, width: w, height: h, rx: 8 }),
      s("text", { class: "node__title", x: x + 10, y: y + 18, "data-fit": w - 20 }, p.name),
      sub, title);
    refs.producers.set(p.id, { g, sub, title, name: p.name, event_type: p.event_type, delivery: p.delivery, width: w - 20 });
    return g;
  }

  channelNode(ch, x, y, w, h, refs, roomy) {
    const g = s("g", { class: `node node--${ch.kind}` });
    if (ch.kind === "topic") {
      const r = h / 2;
      g.append(
        s("path", { class: "node__box", d: `M${x + r},${y} H${x + w - r} L${x + w},${y + r} L${x + w - r},${y + h} H${x + r} L${x},${y + r} Z` }),
        s("text", { class: "node__kind", x: x + w / 2, y: y + 17, "text-anchor": "middle" }, "topic"),
        s("text", { class: "node__title", x: x + w / 2, y: y + 36, "text-anchor": "middle", "data-fit": w - h }, ch.name),
        ch.registry || ch.max_message_bytes ? s("title", {}, channelTitle(ch)) : null);
      // A schema registry: its mode under the topic, where the edges leave room; drawn with the edges'
      // labels, since it is outside the node's border.
      const notes = [ch.registry ? `registry: ${registryMode(ch.registry)}` : null, ch.max_message_bytes ? `max ${fmtBytes(ch.max_message_bytes)}` : null].filter(Boolean);
      if (notes.length) refs.notes.push(s("text", { class: "node__registry", x: x + w / 2, y: y + h + 16, "text-anchor": "middle" }, notes.join(" · "), s("title", {}, channelTitle(ch))));
      return g;
    }
    // Without room, a queue drops its "queue" label (its depth bar says it) for its dead-letter queue.
    const labelled = roomy || ch.kind !== "queue";
    const inlineDlq = !roomy && ch.kind === "queue" && ch.dead_letter && ch.reply_for === null;
    const titleX = x + 10 + (labelled ? kindWidth(ch.kind) : 0);
    g.append(
      s("rect", { class: "node__box", x, y, width: w, height: h, rx: 8 }),
      labelled ? s("text", { class: "node__kind", x: x + 10, y: y + 15 }, ch.kind) : null,
      ch.registry || ch.max_message_bytes ? s("title", {}, channelTitle(ch)) : null,
      s("text", { class: "node__title", x: titleX, y: y + 16, "data-fit": x + w - 8 - titleX - (inlineDlq ? INLINE_DLQ_W + 4 : 0) }, ch.name));
    if (ch.kind === "queue") {
      for (const q of ch.queues) this.depthBar(g, q, x + 10, y + 26, w - 20, refs);
    } else {
      const parts = Math.min(ch.partitions, MAX_PARTITIONS);
      const rowH = Math.min(20, (h - 26) / Math.max(parts, 1));
      // Room on the right for the end offset, past the cursor of a group that has read everything.
      const cellW = (w - 64) / LOG_CELLS;
      const rows = [];
      for (let p = 0; p < parts; p++) {
        const ry = y + 24 + p * rowH;
        const cells = [];
        const row = s("g", {}, s("text", { class: "node__sub", x: x + 8, y: ry + rowH * 0.7 }, `P${p}`));
        for (let i = 0; i < LOG_CELLS; i++) {
          const cell = s("rect", { class: "log-cell", x: x + 28 + i * cellW, y: ry + 2, width: cellW - 1.5, height: rowH - 7, rx: 1.5 });
          cells.push(cell);
          row.append(cell);
        }
        const end = s("text", { class: "node__num", x: x + w - 6, y: ry + rowH * 0.7, "text-anchor": "end" }, "0");
        const cursors = s("g");
        row.append(end, cursors);
        g.append(row);
        rows.push({ cells, end, cursors, x0: x + 28, cellW, y: ry + rowH - 5 });
      }
      if (ch.partitions > parts) g.append(s("text", { class: "node__sub", x: x + 8, y: y + h - 4 }, `+${ch.partitions - parts} more partitions`));
      refs.streams.set(ch.id, { rows });
    }
    return g;
  }

  /** A topic subscription's own queue, named after its subscriber ("for billing"). `roomy`: its
   * dead-letter badge (if any) sits below it; otherwise the badge shares the line of numbers. */
  queueNode(q, x, y, w, h, refs, roomy) {
    const name = this.topology.queues[q]?.name ?? "";
    const label = name.includes("→") ? `for ${name.split("→").pop().trim()}` : name;
    const g = s("g", { class: "node node--queue" },
      s("rect", { class: "node__box", x, y, width: w, height: h, rx: 8 }),
      s("text", { class: "node__sub node__sub--strong", x: x + 8, y: y + 14, "data-fit": w - 16 }, label),
      s("title", {}, `queue ${name}`));
    this.depthBar(g, q, x + 8, y + 20, w - 16, refs, roomy ? 0 : INLINE_DLQ_W + 4);
    return g;
  }

  /** Ready (blue), in flight (green) and waiting for a retry (orange), with numbers under the bar. */
  depthBar(g, q, x, y, w, refs, reserved = 0) {
    const ready = s("rect", { class: "depth__ready", x, y, width: 0, height: 8, rx: 2 });
    const flight = s("rect", { class: "depth__flight", x, y, width: 0, height: 8 });
    const retry = s("rect", { class: "depth__retry", x, y, width: 0, height: 8 });
    const text = s("text", { class: "node__depth", x, y: y + 21 }, "");
    g.append(s("rect", { class: "depth__bg", x, y, width: w, height: 8, rx: 2 }), ready, flight, retry, text);
    refs.queues.set(q, { x, w, ready, flight, retry, text, textWidth: w - reserved });
  }

  dlqNode(q, x, y, a, refs, width = 80, height = 21) {
    if (refs.dlqs.has(q)) return s("g");
    const consumer = this.topology.consumers.find((c) => c.dead_letters === q);
    const text = s("text", { x: x + width / 2, y: y + height / 2 + 4.5, "text-anchor": "middle" }, "DLQ 0");
    // Named by its <title>, so the name need not repeat the count it shows (and a screen reader hears why).
    const g = s("g", { class: "dlq", tabindex: 0, role: "button" },
      s("title", {}, `Dead-letter queue of ${consumer?.name ?? "queue"}: inspect and redrive`),
      s("rect", { x, y, width, height, rx: 5 }), text);
    const open = () => consumer && this.onDlq(consumer.name);
    g.addEventListener("click", open);
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); }
    });
    a.dlq[q] = [x + width / 2, y + height / 2];
    refs.dlqs.set(q, { g, text });
    return g;
  }

  consumerNode(c, x, y, w, h, refs) {
    const biz = s("text", { class: "biz", x: x + 10, y: y + 34 }, "");
    const ch = this.topology.channels[c.channel];
    const group = ch?.kind === "stream" ? this.topology.consumers.filter((o) => o.channel === c.channel).indexOf(c) : -1;
    const inst = s("g");
    // A node too short for a row of instances under its lines shows them on its title line instead.
    const compact = h < 72;
    if (compact) biz.setAttribute("y", y + 31);
    // A compact node's instances share the title line, right-aligned: the title stops before them.
    const shown = Math.min(this.metrics?.consumers[c.id]?.instances.length ?? 1, compact ? 6 : 9);
    const titleX = x + (group >= 0 ? 22 : 10);
    const titleWidth = x + w - 10 - titleX - (compact ? shown * 15 + 4 : 0);
    // The consumer's design, on its last line: what the learner chose is on the picture.
    const design = s("text", { class: "node__design", x: x + 10, y: compact ? y + h - 7 : y + 49 }, "");
    const g = s("g", { class: "node node--consumer", tabindex: 0, role: "button" },
      s("title", {}, `${c.name}: select for controls`),
      s("rect", { class: "node__box", x, y, width: w, height: h, rx: 10 }),
      s("text", { class: "node__title", x: titleX, y: y + 17, "data-fit": titleWidth }, c.name),
      group >= 0 ? s("path", { class: `cursor cursor--g${group % 4}`, d: `M${x + 14},${y + 6} l4,6 h-8 z` }, s("title", {}, "its cursor on the stream")) : null,
      biz, inst, design);
    const pick = () => this.onConsumer(c.id);
    // The "lost!" count opens the list of what was lost; anywhere else on the node selects it.
    g.addEventListener("click", (e) => (e.target.closest?.(".biz--lost") ? this.onLost?.(c.id) : pick()));
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
    });
    refs.consumers.set(c.id, {
      g, biz, inst, design, designText: "", designWidth: w - 18, compact, x: x + 10, right: x + w - 8, y: compact ? y + 7 : y + h - 18, width: w - 20,
    });
    return g;
  }

  update(metrics) {
    this.metrics = metrics;
    if (!this.refs) return;
    if (this.shapeOf(metrics) !== this.shape) {
      this.build(this.topology, metrics);
      return;
    }
    for (const pm of metrics.producers) {
      const ref = this.refs.producers.get(pm.producer);
      if (!ref) continue;
      const extra = pm.publish_failed ? ` · ${pm.publish_failed} failed` : pm.outbox_pending ? ` · outbox ${pm.outbox_pending}` : "";
      // A release: the version it publishes now, and a red build that held one back.
      const release = pm.release;
      const red = release && !release.deployed;
      const version = release || pm.schema_version > 1 ? ` v${pm.schema_version}` : "";
      // The count first: a cut line still says how many were sent.
      // A red build says so alone: which release and which clause are in the tooltip and the log.
      fitText(ref.sub, red ? "BUILD RED" : `${pm.produced} × ${ref.event_type}${version}${extra}`, ref.width);
      ref.g.classList.toggle("node--build-red", !!red);
      ref.title.textContent = red
        ? `${ref.name}'s pipeline went red and held back release “${release.name}”: ${release.problems.join("; ")}`
        : release ? `${ref.name} shipped release “${release.name}”` : `producer ${ref.name}`;
    }
    for (const qm of metrics.queues) {
      const ref = this.refs.queues.get(qm.queue);
      if (ref) {
        const total = qm.ready + qm.in_flight + qm.waiting_retries;
        const scale = ref.w / Math.max(total, 20);
        const wr = Math.min(ref.w, qm.ready * scale);
        const wf = Math.min(ref.w - wr, qm.in_flight * scale);
        const wt = Math.min(ref.w - wr - wf, qm.waiting_retries * scale);
        ref.ready.setAttribute("width", wr);
        ref.flight.setAttribute("x", ref.x + wr);
        ref.flight.setAttribute("width", wf);
        ref.retry.setAttribute("x", ref.x + wr + wf);
        ref.retry.setAttribute("width", wt);
        const retry = qm.waiting_retries ? ` · ${qm.waiting_retries} retry` : "";
        fitFirst(ref.text, [`${qm.ready} ready · ${qm.in_flight} in flight${retry}`, `${qm.ready} ready · ${qm.in_flight} out${retry}`, `${qm.ready} ready`], ref.textWidth);
      }
      const dlq = this.refs.dlqs.get(qm.queue);
      if (dlq) {
        dlq.text.textContent = `DLQ ${qm.dead_letters}`;
        dlq.g.classList.toggle("dlq--full", qm.dead_letters > 0);
      }
    }
    for (const sm of metrics.streams) this.updateStream(sm);
    for (const cm of metrics.consumers) this.updateConsumer(cm);
  }

  /** The design tags of one consumer, the fields its knobs set first (highlighted), cut to the node's
   * width with an ellipsis; the whole line is in the tooltip. Redrawn only when the line changes. */
  drawDesign(ref, view, design) {
    const fields = new Set(this.knobs.filter((k) => k.target?.kind === "consumer" && k.target.name === view.name).map((k) => k.field.split(".")[0]));
    const alerts = this.alertTags(view);
    if (alerts.some((a) => a.knob)) fields.add("alert");
    const tags = [...designTags(design, fields), ...this.builtTags(view.name), ...alerts];
    tags.sort((a, b) => Number(fields.has(b.field)) - Number(fields.has(a.field)));
    const full = tags.map((t) => t.text).join(" · ");
    if (full === ref.designText) return;
    ref.designText = full;
    const text = ref.design;
    text.replaceChildren();
    const fits = () => text.getComputedTextLength() <= ref.designWidth;
    for (const [i, tag] of tags.entries()) {
      const cls = tag.firing ? "node__tag node__tag--firing" : fields.has(tag.field) ? "node__tag node__tag--knob" : "node__tag";
      const span = s("tspan", { class: cls }, `${i ? " · " : ""}${tag.text}`);
      text.append(span);
      if (fits()) continue;
      // Too long: this tag gives way to an ellipsis (the first one is cut, so the line never starts empty).
      if (i === 0) {
        let cut = tag.text.length;
        do span.textContent = `${tag.text.slice(0, --cut)}…`; while (cut > 3 && !fits());
      } else {
        span.remove();
        const more = s("tspan", { class: "node__tag" }, " …");
        text.append(more);
        if (!fits() && text.childNodes.length > 2) text.removeChild(more.previousSibling);
      }
      break;
    }
    text.append(s("title", {}, `Design of ${view.name}: ${full}`));
  }

  /** The alert rules on a consumer, as a design tag each ("alert lag > 20 for 2 s"), marked firing while
   * they fire; a rule a knob sets is highlighted like any knob's field. */
  alertTags(view) {
    return (this.metrics?.alerts ?? []).filter((a) => a.consumer === view.id).map((a) => ({
      field: "alert",
      knob: this.knobs.some((k) => k.target?.kind === "alert" && k.target.name === a.alert),
      firing: a.firing,
      text: `${a.firing ? "ALERT FIRING" : "alert"} ${ALERT_METRIC[a.metric] ?? a.metric} > ${a.above}${a.for_ms ? ` for ${a.for_ms / 1000} s` : ""}`,
    }));
  }

  /** Tags for the consumer's restart knobs, whose fields the running design does not carry (a topic
   * subscription's durability, where a stream group starts, …): read from the learner's Design. */
  builtTags(consumer) {
    return this.knobs
      // A range knob names a path in the design ("retry.max_attempts"): its tag is the running design's.
      .filter((k) => k.target?.kind === "consumer" && k.target.name === consumer && !DESIGN_FIELDS.has(k.field.split(".")[0]))
      .map((k) => {
        const chosen = this.design()?.choices?.[k.id] ?? k.default;
        const value = k.options.find((o) => o.id === chosen)?.value;
        if (k.field === "durable" && typeof value === "boolean") return { field: k.field, text: value ? "durable sub" : "temporary sub" };
        return { field: k.field, text: `${k.field.replaceAll("_", " ")} ${chosen}` };
      });
  }

  updateStream(sm) {
    const ref = this.refs.streams.get(sm.channel);
    if (!ref) return;
    ref.rows.forEach((row, p) => {
      const [base, end] = sm.partitions[p] ?? [0, 0];
      const first = Math.max(base, end - LOG_CELLS);
      row.cells.forEach((cell, i) => {
        const offset = first + i;
        cell.classList.toggle("log-cell--new", offset < end);
        cell.style.opacity = offset < end ? "1" : "0.35";
      });
      row.end.textContent = String(end);
      row.cursors.replaceChildren();
      sm.groups.forEach((grp, gi) => {
        const at = grp.committed[p] ?? base;
        const i = Math.max(-0.5, Math.min(LOG_CELLS, at - first));
        const cx = row.x0 + i * row.cellW;
        const name = this.topology.consumers[grp.consumer]?.name ?? "";
        const lag = grp.lag[p] ?? 0;
        row.cursors.append(
          s("path", { class: `cursor cursor--g${gi % 4}`, d: `M${cx},${row.y - 4 + gi * 2} l4,6 h-8 z` }, s("title", {}, `${name}: committed offset ${at}, lag ${lag}`)));
      });
    });
  }

  /** Records a stream consumer group has not committed yet, over all partitions. */
  lagOf(consumer) {
    let lag = 0;
    for (const sm of this.metrics?.streams ?? []) {
      for (const g of sm.groups) if (g.consumer === consumer) lag += g.lag.reduce((a, b) => a + b, 0);
    }
    return lag;
  }

  updateConsumer(cm) {
    const ref = this.refs.consumers.get(cm.consumer);
    const view = this.topology.consumers[cm.consumer];
    if (!ref || !view) return;
    const b = cm.business;
    ref.biz.replaceChildren();
    const parts = [];
    if (b.duplicate_effects) parts.push([` · ${b.duplicate_effects} twice!`, "biz--bad"]);
    if (b.stale_overwrites) parts.push([` · ${b.stale_overwrites} stale!`, "biz--bad"]);
    // The server counts every loss of the run, also those before a rewind's rebuilt trace.
    const lost = b.lost ?? 0;
    if (lost) parts.push([` · ${lost} lost!`, "biz--bad biz--lost"]);
    // A stale write is the visible harm of an out-of-order event; one of the two is enough on a line.
    if (b.out_of_order && !b.stale_overwrites) parts.push([` · ${b.out_of_order} out of order`, "biz--warn"]);
    const lag = this.lagOf(cm.consumer);
    if (lag) parts.push([` · lag ${lag}`, lag > 8 ? "biz--warn" : ""]);
    if (b.duplicates_skipped) parts.push([` · ${b.duplicates_skipped} dup skipped`, ""]);
    if (b.held_back) parts.push([` · ${b.held_back} held`, "biz--warn"]);
    // The anomalies must show: the effect label gives way first when the line is too long.
    const count = view.effect === "balance" ? ` ${b.balance}` : ` ${b.applied}`;
    const label = view.effect === "balance" ? "balance" : view.effect_label;
    for (const [text, cls] of parts) ref.biz.append(s("tspan", { class: cls || null }, text));
    ref.biz.prepend(s("tspan", {}, label), s("tspan", {}, count));
    const flags = [];
    if (cm.paused) flags.push("paused");
    if (cm.slow_factor > 1) flags.push(`slow ×${cm.slow_factor}`);
    if (cm.dependency_down) flags.push("dependency down");
    const up = cm.instances.filter((i) => i.status === "up").length;
    const status = [`${up}/${cm.instances.length} up`, ...flags].join(" · ");
    if (ref.compact && (flags.length || up < cm.instances.length)) ref.biz.append(s("tspan", { class: "biz--warn" }, ` · ${status}`));
    fitSpans(ref.biz, ref.width);
    ref.g.classList.toggle("node--alarm", b.duplicate_effects > 0 || b.stale_overwrites > 0 || lost > 0);
    ref.g.classList.toggle("node--alerting", (this.metrics?.alerts ?? []).some((a) => a.consumer === cm.consumer && a.firing));
    this.drawDesign(ref, view, cm.design);
    // Instances: a square each, filled when up, dashed red with a cross when crashed. A compact node
    // shows them on its title line, right-aligned, and its status after the business line.
    ref.inst.replaceChildren();
    const size = ref.compact ? 11 : 13;
    const shown = Math.min(cm.instances.length, ref.compact ? 6 : 9);
    cm.instances.slice(0, shown).forEach((inst, i) => {
      const ix = ref.compact ? ref.right - (shown - i) * (size + 4) : ref.x + i * (size + 6);
      const iy = ref.y;
      const status = inst.status === "up" ? (cm.paused ? "paused" : inst.busy ? "busy" : "up") : inst.status;
      const label = `${view.name} #${i}: ${status}${inst.unacked ? `, ${inst.unacked} unacked` : ""}`;
      ref.inst.append(s("rect", { class: `inst inst--${status}`, x: ix, y: iy, width: size, height: size, rx: 3 }, s("title", {}, label)));
      if (status === "crashed") {
        const k = size - 6;
        ref.inst.append(s("path", { class: "inst__x", d: `M${ix + 3},${iy + 3} l${k},${k} M${ix + 3 + k},${iy + 3} l${-k},${k}` }));
      }
    });
    if (!ref.compact) {
      // The failure count joins the status when the row has room for it.
      const room = ref.width - shown * (size + 6) - 2;
      const failed = cm.failed ? s("tspan", { class: "biz--warn" }, ` · ${cm.failed} failed`) : "";
      const line = s("text", { class: "node__sub", x: ref.x + shown * (size + 6) + 2, y: ref.y + 11 }, s("tspan", {}, status), failed);
      ref.inst.append(line);
      if (failed && line.getComputedTextLength() > room) failed.remove();
      if (line.getComputedTextLength() > room) fitText(line, status, room);
    }
  }
}

/** Column positions: node widths shrink (to 75 %) before the gaps between columns get too small. */
function columns(W, hasSubs) {
  const used = hasSubs ? WIDTHS : [WIDTHS[0], WIDTHS[1], 0, WIDTHS[3]];
  const gaps = hasSubs ? 3 : 2;
  const sum = used.reduce((a, b) => a + b, 0);
  const k = Math.max(0.75, Math.min(1, (W - 16 - gaps * MIN_GAP) / sum));
  [PRODUCER_W, CHANNEL_W, SUB_W, CONSUMER_W] = WIDTHS.map((w) => Math.round(w * k));
  const gap = (W - 16 - k * sum) / gaps;
  const p = 8;
  const c = p + PRODUCER_W + gap;
  const q = hasSubs ? c + CHANNEL_W + gap : 0;
  const kx = W - 8 - CONSUMER_W;
  return { p, c, q, k: kx };
}

function kindWidth(kind) {
  return kind === "stream" ? 66 : 56;
}

function edge(from, to, consumer, refs) {
  const path = s("path", { class: "edge", d: `M${from[0]},${from[1]} L${to[0]},${to[1]}` });
  if (refs && consumer !== undefined) refs.edges.push({ consumer, path });
  return path;
}

/** The fields of a consumer's running design (engine `Design`); a knob on any other field rebuilds the run. */
const DESIGN_FIELDS = new Set(["ack_mode", "retry", "idempotency", "ordering", "prefetch", "instances", "tolerant_reader", "upcast", "propagate_correlation", "dedup_ttl_ms", "dedup_capacity"]);

/** A consumer's design as short tags, each with the design field it shows:
 * "ack after work · retry exp ×5 · dedup msg-id · ×4"; a field in `fields` (a knob sets it) always shows. */
export function designTags(d, fields = new Set()) {
  if (!d) return [];
  // A field some knob sets is always shown, even at its quiet default.
  const knob = (field) => fields.has(field);
  const n = d.retry?.max_attempts;
  const retry = { none: "no retry", immediate: `retry now ×${n}`, fixed: `retry fixed ×${n}`, exponential: `retry exp ×${n}` }[d.retry?.strategy] ?? String(d.retry?.strategy);
  const tags = [
    { field: "ack_mode", text: d.ack_mode === "on_receipt" ? "ack on receipt" : "ack after work" },
    { field: "retry", text: retry },
    { field: "idempotency", text: ({ none: "no dedup", message_id: "dedup msg-id", business_key: "dedup key" }[d.idempotency] ?? String(d.idempotency)) + (d.idempotency !== "none" && d.dedup_ttl_ms ? ` ${d.dedup_ttl_ms / 1000} s` : "") + (d.idempotency !== "none" && d.dedup_capacity ? ` ≤${d.dedup_capacity}` : "") },
  ];
  const ordering = d.ordering?.strategy ?? "none";
  if (ordering !== "none" || knob("ordering")) tags.push({ field: "ordering", text: { none: "any order", drop_stale: "drop stale", resequence: "resequence" }[ordering] ?? ordering });
  if (d.tolerant_reader || knob("tolerant_reader")) tags.push({ field: "tolerant_reader", text: d.tolerant_reader ? "tolerant reader" : "strict reader" });
  if (d.upcast || knob("upcast")) tags.push({ field: "upcast", text: d.upcast ? "upcast" : "no upcast" });
  if (d.propagate_correlation === false || knob("propagate_correlation")) tags.push({ field: "propagate_correlation", text: d.propagate_correlation === false ? "new corr-id" : "passes corr-id" });
  if (d.prefetch > 1 || knob("prefetch")) tags.push({ field: "prefetch", text: `prefetch ${d.prefetch}` });
  if (d.instances > 1 || knob("instances")) tags.push({ field: "instances", text: `×${d.instances}` });
  return tags;
}

/** A schema registry's mode as Confluent writes it: BACKWARD, FULL_TRANSITIVE, … */
function registryMode(mode) {
  return mode.toUpperCase();
}

/** What a channel's tooltip says of its registry and its size limit. */
function channelTitle(ch) {
  const limit = ch.max_message_bytes ? `${ch.name} refuses any message over ${fmtBytes(ch.max_message_bytes)}` : null;
  return [ch.registry ? registryTitle(ch) : null, limit].filter(Boolean).join(". ");
}

function registryTitle(ch) {
  return `${ch.name} has a schema registry in mode ${registryMode(ch.registry)}: a producer's new schema version is refused at publish time unless the mode allows it`;
}

/** The tags in one line, for text. */
export function designLine(d) {
  return designTags(d).map((t) => t.text).join(" · ");
}
