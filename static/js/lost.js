// Messages lost for a consumer, as visible as a double charge: a count on its node (topology.js) and a
// line in the Ops tab, each opening the list of what was lost (letters.js).
import { h, replace } from "./dom.js";

/** How many messages `consumer` lost in the whole run (the server's count). */
export function lostCount(store, consumer) {
  return store.metrics?.consumers[consumer]?.business.lost ?? 0;
}

export class LostList {
  constructor(store, { onOpen }) {
    this.store = store;
    this.onOpen = onOpen;
    this.box = document.getElementById("lost-list");
    this.key = null;
  }

  /** The Ops tab's line per consumer that lost messages; redrawn only when a count changes. */
  render() {
    const t = this.store.topology;
    const rows = t.consumers.map((c) => [c.id, lostCount(this.store, c.id)]).filter(([, n]) => n > 0);
    const key = rows.map(([c, n]) => `${c}:${n}`).join();
    if (key === this.key || !this.box) return;
    this.key = key;
    replace(this.box, ...rows.map(([c, n]) => h("div", { class: "dlq-row" },
      h("span", {}, t.consumers[c]?.name ?? "?", " · ", h("span", { class: "count-bad" }, String(n)), " lost"),
      h("button", { type: "button", class: "btn btn--small", onclick: () => this.onOpen(c) }, "Show"))));
    if (!rows.length) this.box.append(h("p", { class: "muted small" }, "Nothing lost so far."));
  }
}
