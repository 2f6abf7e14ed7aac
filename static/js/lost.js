// Messages lost for a consumer, as visible as a double charge: a count on its node (topology.js) and a
// list that opens from the node or from the Ops tab, in the dialog the dead letters use.
import { h, replace, fmtAt, shortId } from "./dom.js";
import { describe, Names } from "./events.js";

export class LostList {
  constructor(store, { onMessage }) {
    this.store = store;
    this.onMessage = onMessage;
    this.box = document.getElementById("lost-list");
    this.dialog = document.getElementById("dlq-dialog");
    this.key = null;
  }

  /** How many messages `consumer` lost in the whole run (the server's count). */
  count(consumer) {
    return this.store.metrics?.consumers[consumer]?.business.lost ?? 0;
  }

  /** The Ops tab's line per consumer that lost messages; redrawn only when a count changes. */
  render() {
    const t = this.store.topology;
    const rows = t.consumers.map((c) => [c.id, this.count(c.id)]).filter(([, n]) => n > 0);
    const key = rows.map(([c, n]) => `${c}:${n}`).join();
    if (key === this.key || !this.box) return;
    this.key = key;
    replace(this.box, ...rows.map(([c, n]) => h("div", { class: "dlq-row" },
      h("span", {}, t.consumers[c]?.name ?? "?", " · ", h("span", { class: "count-bad" }, String(n)), " lost"),
      h("button", { type: "button", class: "btn btn--small", onclick: () => this.open(c) }, "Show"))));
    if (!rows.length) this.box.append(h("p", { class: "muted small" }, "Nothing lost so far."));
  }

  /** Opens the list of what `consumer` lost, newest first, from the trace this page holds; a row opens
   * that message's journey. */
  open(consumer) {
    const lost = this.store.lost.get(consumer) ?? { listed: [] };
    const total = this.count(consumer);
    const names = new Names(this.store.topology);
    const name = names.consumer(consumer);
    this.dialog.dataset.mode = "lost";
    document.getElementById("dlq-title").textContent = `Lost for ${name}: ${total}`;
    const rows = [...lost.listed].reverse().map((l) => {
      const msg = l.id && this.store.message(l.id);
      const dropped = msg?.events.find((e) => e.type === "dropped" && (e.consumer === undefined || e.consumer === consumer));
      return h("tr", {},
        h("td", { class: "mono" }, fmtAt(l.at)),
        h("td", {}, l.id ? h("button", { type: "button", class: "linkish mono", onclick: () => { this.dialog.close(); this.onMessage(l.id); } }, shortId(l.id)) : "–"),
        h("td", {}, msg ? `${msg.event_type} ${msg.key}` : ""),
        h("td", {}, dropped ? describe(dropped, names, msg) : l.reason));
    });
    replace(document.getElementById("dlq-body"), rows.length
      ? h("table", { class: "table" }, h("thead", {}, h("tr", {}, ...["At (s)", "Message", "Order", "What happened"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, total
        ? `These ${total} were lost before the part of the run this page keeps events for: drag the timeline back before them, or watch the run, to see each one.`
        : `Nothing was lost for ${name} so far.`),
    rows.length && total > rows.length ? h("p", { class: "muted small" }, `The latest ${rows.length} of ${total} are listed: the page keeps the recent part of the run's events.`) : null);
    if (!this.dialog.open) this.dialog.showModal();
  }
}
