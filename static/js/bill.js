// The run's bill beside the goals: what the design costs so far, in credits, line by line, and what it
// buys (each consumer's latency, the throughput). The server prices the run (see the authoring guide's
// "The bill"); this only draws it, in place, so a frame a second costs a few text changes.
import { h } from "./dom.js";

const credits = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ms = (v) => (v === null || v === undefined ? "–" : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);

export class BillView {
  /** Draws into a section placed after the goals. */
  constructor(store) {
    this.store = store;
    const goals = document.querySelector(".goals-panel");
    if (!goals) return;
    this.total = h("span", { class: "bill__total" });
    this.lines = h("dl", { class: "bill__lines small" });
    this.latency = h("table", { class: "bill__latency small" });
    this.box = h("section", { class: "bill-panel", "aria-labelledby": "bill-heading" },
      h("h2", { id: "bill-heading", class: "panel__title" }, "The bill so far ", this.total),
      this.lines, this.latency);
    goals.after(this.box);
    this.key = "";
  }

  render() {
    const bill = this.store.bill;
    if (!this.box || !bill) return;
    const key = JSON.stringify(bill);
    if (key === this.key) return;
    this.key = key;
    this.total.textContent = `${credits(bill.total)} credits`;
    const rows = [
      ["Compute", `${credits(bill.compute)}`, `${bill.instance_seconds.toFixed(0)} instance-seconds`],
      ["Storage", `${credits(bill.storage)}`, `${bill.kilobyte_seconds.toFixed(0)} kilobyte-seconds`],
      ["Retries", `${credits(bill.retries)}`, `${bill.retries_sent} sent again`],
      ["Idempotency", `${credits(bill.dedup)}`, `${bill.dedup_entries} keys kept`],
    ];
    this.lines.replaceChildren(...rows.flatMap(([name, cost, what]) => [
      h("dt", {}, name), h("dd", {}, h("b", {}, cost), " ", h("span", { class: "muted" }, what)),
    ]), h("dt", {}, "Throughput"), h("dd", {}, `${bill.throughput_per_sec.toFixed(1)} effects/s`));
    this.latency.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Consumer"), h("th", { scope: "col" }, "p50"), h("th", { scope: "col" }, "p99"), h("th", { scope: "col" }, "peak"))),
      h("tbody", {}, ...bill.consumers.map((c) => h("tr", { dataset: { consumer: c.name } },
        h("th", { scope: "row" }, c.name), h("td", {}, ms(c.latency_p50_ms)), h("td", {}, ms(c.latency_p99_ms)),
        h("td", {}, `${c.peak_instances}×`)))));
  }
}
