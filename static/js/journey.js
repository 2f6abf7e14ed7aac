// One message's whole journey: every event kept for it, every attempt, in virtual-time order, with the
// messages it caused and the one that caused it.
import { h, replace, fmtAt, fmtBytes, fmtMs, shortId } from "./dom.js";
import { classOf, describe, isProblem, lastFailure, plural, Names } from "./events.js";
import { KEEP_FIRST } from "./state.js";

export class Journey {
  constructor(store, { onSelect, onCorrelation }) {
    this.store = store;
    this.onSelect = onSelect;
    this.onCorrelation = onCorrelation;
    this.el = document.getElementById("journey");
    this.id = null;
  }

  show(id) {
    this.id = id;
    this.render();
  }

  render() {
    if (!this.id) return;
    const msg = this.store.message(this.id);
    if (!msg) {
      replace(this.el, h("p", { class: "muted" }, `Message ${this.id} is not part of the run at this moment: it comes later, or its events are no longer kept.`));
      return;
    }
    const names = new Names(this.store.topology);
    const children = [...this.store.messages.values()].filter((m) => m.causation_id === msg.id);
    const head = h("div", { class: "journey__head" },
      h("span", { class: "journey__title" }, `${msg.event_type} ${msg.key}`, msg.seq ? ` #${msg.seq}` : ""),
      h("span", { class: "mono", title: "message id" }, msg.id),
      msg.size_bytes
        ? h("span", { class: "muted small", title: "What the broker stores, and bills while it holds it" },
          fmtBytes(msg.size_bytes))
        : null,
      msg.correlation_id
        ? h("button", { type: "button", class: "linkish small", onclick: () => this.onCorrelation(msg.correlation_id) },
          `correlation ${shortId(msg.correlation_id)} → sequence`)
        : null,
      msg.causation_id
        ? h("button", { type: "button", class: "linkish small", onclick: () => this.onSelect(msg.causation_id) }, `caused by ${shortId(msg.causation_id)}`)
        : null,
      ...children.slice(0, 6).map((c) =>
        h("button", { type: "button", class: "linkish small", onclick: () => this.onSelect(c.id) }, `caused ${c.event_type} ${shortId(c.id)}`)));
    const [cls, outcome] = outcomeOf(msg, this.store.at, names);
    const summary = h("p", { class: `journey__outcome journey__outcome--${cls}` }, outcome);
    const steps = h("ol", { class: "journey__steps" });
    let prev = null;
    msg.events.forEach((ev, i) => {
      if (msg.dropped && i === KEEP_FIRST) {
        steps.append(h("li", {}, h("span"), h("span"), h("span", { class: "muted" }, `… ${msg.dropped} events in between not kept`)));
      }
      const cls = classOf(ev);
      let text = describe(ev, names, msg);
      if (ev.type === "retry_scheduled" && ev.due_at > this.store.at) text += ` (due in ${fmtMs(ev.due_at - this.store.at)})`;
      const gap = prev !== null && ev.at - prev >= 1 ? `+${fmtMs(ev.at - prev)}` : "";
      steps.append(h("li", { class: isProblem(ev) ? "is-bad" : null, title: gap },
        h("span", { class: "log__at" }, fmtAt(ev.at)),
        h("span", { class: `journey__dot journey__dot--${cls}` }),
        h("span", {}, text)));
      prev = ev.at;
    });
    replace(this.el, head, summary, steps);
  }
}

/** Where the message stands now, in one line: the answer a learner looks for first. */
function outcomeOf(msg, now, names) {
  const last = (types) => {
    for (let i = msg.events.length - 1; i >= 0; i--) if (types.includes(msg.events[i].type)) return msg.events[i];
    return null;
  };
  const dup = last(["duplicate_effect"]);
  if (dup) return ["dup", `Applied more than once: ${names.consumer(dup.consumer)} did it ${dup.times} times.`];
  const moved = last(["dead_lettered", "redriven", "delivered", "dropped", "retry_scheduled", "acked", "effect_applied"]);
  if (moved?.type === "dead_lettered") {
    const cause = lastFailure(msg.events);
    return ["dead", `In the dead-letter queue since ${fmtAt(moved.at)} s, after ${plural(moved.attempts, "attempt")}${cause ? `; the last failure: ${cause}` : ""}.`];
  }
  const lostFor = [...new Set(msg.events.filter((e) => e.type === "dropped" && e.consumer !== undefined).map((e) => names.consumer(e.consumer)))];
  const doneBy = [...new Set(msg.events.filter((e) => e.type === "effect_applied" || e.type === "acked").map((e) => names.consumer(e.consumer)))];
  if (lostFor.length) {
    return ["lost", `Lost for ${lostFor.join(", ")} at ${fmtAt(msg.events.find((e) => e.type === "dropped").at)} s${doneBy.length ? `; processed by ${doneBy.join(", ")}` : ""}.`];
  }
  if (moved?.type === "dropped") return ["lost", `Lost at ${fmtAt(moved.at)} s. Nobody will process it.`];
  if (last(["publish_failed", "enqueued", "appended"])?.type === "publish_failed") return ["lost", "It never reached the broker."];
  if (moved?.type === "retry_scheduled" && moved.due_at > now) return ["retry", `Waiting for attempt ${moved.next_attempt}, due in ${fmtMs(moved.due_at - now)}.`];
  const stale = last(["stale_overwrite", "out_of_order"]);
  if (stale) return ["order", `Applied out of order by ${names.consumer(stale.consumer)}.`];
  const done = msg.events.filter((e) => e.type === "effect_applied" || e.type === "acked").map((e) => names.consumer(e.consumer));
  if (done.length) return ["ok", `Processed by ${[...new Set(done)].join(", ")}.`];
  return ["flight", "On its way."];
}
