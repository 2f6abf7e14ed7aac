// The dialog that lists one consumer's dead letters (to inspect and redrive) or the messages it lost
// (each opens its journey). Loaded the first time it opens: most runs never need it.
import { h, replace, fmtAt, shortId } from "./dom.js";
import { deadLetterReason, describe, Names } from "./events.js";
import { lostCount } from "./lost.js";

export class LettersDialog {
  constructor(store, { send, command, onMessage }) {
    this.store = store;
    this.send = send;
    this.command = command;
    this.onMessage = onMessage;
    this.$ = (id) => document.getElementById(id);
    this.dialog = this.$("dlq-dialog");
    this.dlqConsumer = null;
    this.dialog.querySelector("[data-close]").addEventListener("click", () => this.dialog.close());
    this.$("dlq-redrive-all").addEventListener("click", () => {
      if (!this.dlqConsumer) return;
      this.command({ kind: "redrive", consumer: this.dlqConsumer });
      this.send({ type: "inspect_dlq", consumer: this.dlqConsumer });
    });
  }

  /** Opens `consumer`'s dead letters; the list comes from the server (`inspect_dlq`). */
  openDlq(consumer) {
    this.dlqConsumer = consumer;
    this.dialog.dataset.mode = "dlq";
    this.$("dlq-title").textContent = `Dead letters of ${consumer}`;
    replace(this.$("dlq-body"), h("p", { class: "muted" }, "Loading…"));
    if (!this.dialog.open) this.dialog.showModal();
    this.send({ type: "inspect_dlq", consumer });
  }

  /** The server's answer to `inspect_dlq`, if the dialog still shows that consumer's dead letters. */
  showDeadLetters(m) {
    if (m.consumer !== this.dlqConsumer || this.dialog.dataset.mode !== "dlq") return;
    const body = this.$("dlq-body");
    this.$("dlq-redrive-all").disabled = !m.letters.length;
    if (!m.letters.length) {
      replace(body, h("p", { class: "muted" }, "The dead-letter queue is empty."));
      return;
    }
    const rows = m.letters.map((l) => h("tr", {},
      h("td", {}, h("button", { type: "button", class: "linkish mono", onclick: () => { this.dialog.close(); this.onMessage(l.message.id); } }, shortId(l.message.id))),
      h("td", {}, l.message.event_type, l.message.malformed ? " (malformed)" : ""),
      h("td", {}, l.message.key, ` #${l.message.seq}`),
      h("td", {}, deadLetterReason(l.reason, l.attempts, this.store.message(l.message.id)?.events ?? [])),
      h("td", {}, String(l.attempts)),
      h("td", { class: "mono" }, fmtAt(l.at)),
      h("td", {}, h("button", { type: "button", class: "btn btn--small", onclick: () => {
        this.command({ kind: "redrive", consumer: m.consumer, message: l.message.id });
        this.send({ type: "inspect_dlq", consumer: m.consumer });
      } }, "Redrive"))));
    replace(body, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ...["Message", "Type", "Key", "Reason", "Attempts", "At (s)", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
    h("p", { class: "muted small" }, "Redriving puts a message back on its queue. If the cause is not fixed, it fails again."));
  }

  /** Opens the list of what `consumer` lost, newest first, from the trace this page holds; a row opens
   * that message's journey. */
  openLost(consumer) {
    const lost = this.store.lost.get(consumer) ?? { listed: [] };
    const total = lostCount(this.store, consumer);
    const names = new Names(this.store.topology);
    const name = names.consumer(consumer);
    this.dialog.dataset.mode = "lost";
    this.$("dlq-title").textContent = `Lost for ${name}: ${total}`;
    const rows = [...lost.listed].reverse().map((l) => {
      const msg = l.id && this.store.message(l.id);
      const dropped = msg?.events.find((e) => (e.type === "dropped" && (e.consumer === undefined || e.consumer === consumer)) || e.type === "schema_refused");
      return h("tr", {},
        h("td", { class: "mono" }, fmtAt(l.at)),
        h("td", {}, l.id ? h("button", { type: "button", class: "linkish mono", onclick: () => { this.dialog.close(); this.onMessage(l.id); } }, shortId(l.id)) : "–"),
        h("td", {}, msg ? `${msg.event_type} ${msg.key}` : ""),
        h("td", {}, dropped ? describe(dropped, names, msg) : l.reason));
    });
    replace(this.$("dlq-body"), rows.length
      ? h("table", { class: "table" }, h("thead", {}, h("tr", {}, ...["At (s)", "Message", "Order", "What happened"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, total
        ? `These ${total} were lost before the part of the run this page keeps events for: drag the timeline back before them, or watch the run, to see each one.`
        : `Nothing was lost for ${name} so far.`),
    rows.length && total > rows.length ? h("p", { class: "muted small" }, `The latest ${rows.length} of ${total} are listed: the page keeps the recent part of the run's events.`) : null);
    if (!this.dialog.open) this.dialog.showModal();
  }
}
