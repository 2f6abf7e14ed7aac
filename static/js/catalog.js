// The event catalog: every event type of the exercise's system, each version with its channel, who
// produces and who consumes it, its payload schema, and the latest messages of it in the live run. It is
// read from the AsyncAPI document the server writes for the current Design (the same one the download
// button saves), so the catalog and the file can never disagree. Loaded when its tab is first opened.
import { h, replace, shortId } from "./dom.js";

/** Live examples listed per message kind: enough to open one, few enough to read. */
const LIVE_EXAMPLES = 3;
/** Fields listed per schema; a deeper or wider payload is in the downloaded document. */
const MAX_SCHEMA_ROWS = 50;
/** The live examples follow the run this often while the tab is open, not at every frame. */
const EXAMPLES_EVERY_MS = 500;

export class Catalog {
  constructor(store, { onSelect }) {
    this.store = store;
    this.onSelect = onSelect;
    this.el = document.getElementById("catalog");
    this.root = document.getElementById("playground");
    this.doc = null;
    this.docFor = null;
    this.examplesKey = "";
    this.examplesAt = 0;
  }

  /** The document's address for the Design the run has now. */
  url() {
    const query = new URLSearchParams(this.store.design?.choices ?? {});
    return `/api/exercises/${encodeURIComponent(this.root.dataset.exercise)}/asyncapi?${query}`;
  }

  /** When the tab is shown, and after every frame while it is: fetches the document again only when the
   * Design changed (a failure is said in the panel, and tried again at the next change or opening), and
   * redraws the live examples at most every EXAMPLES_EVERY_MS. */
  async render(opened = false) {
    const url = this.url();
    if (url !== this.docFor || (opened && !this.doc)) {
      this.docFor = url;
      this.doc = null;
      try {
        const res = await fetch(url);
        const doc = await res.json();
        if (!res.ok) throw new Error(doc.error || `The server said ${res.status}.`);
        if (this.docFor !== url) return; // the Design changed again while this one was on its way
        this.doc = doc;
        this.examplesAt = 0;
        this.examplesKey = "";
        this.draw();
      } catch (error) {
        replace(this.el, h("p", { class: "count-bad" }, `The event catalog could not be loaded: ${error.message}`));
        return;
      }
    }
    const now = performance.now();
    if (now - this.examplesAt < EXAMPLES_EVERY_MS) return;
    this.examplesAt = now;
    this.drawExamples();
  }

  draw() {
    const doc = this.doc;
    const kinds = Object.entries(doc.components?.messages ?? {}).map(([key, m]) => ({ key, ...m }));
    const types = new Map();
    for (const kind of kinds) {
      if (!types.has(kind.name)) types.set(kind.name, []);
      types.get(kind.name).push(kind);
    }
    const name = this.root.dataset.exercise;
    replace(this.el,
      h("div", { class: "catalog__head" },
        h("p", { class: "muted small" }, `${types.size} event type${types.size === 1 ? "" : "s"} in this system, as your Design has it.`),
        h("a", { class: "btn btn--small", href: this.docFor, download: `${name}-asyncapi.json`, id: "catalog-download" }, "Download AsyncAPI 3.0")),
      ...[...types].map(([type, versions]) => h("section", { class: "catalog__event", dataset: { eventType: type } },
        h("h3", {}, type, " ", ...versions.map((v) => h("span", { class: "tag" }, `v${version(v)}`))),
        ...versions.map((v) => this.kind(v)))));
  }

  /** One event type at one version. */
  kind(kind) {
    const channels = Object.values(this.doc.channels ?? {}).filter((c) => Object.keys(c.messages ?? {}).includes(kind.key));
    const byAction = (action) => Object.entries(this.doc.operations ?? {})
      .filter(([, op]) => op.action === action && (op.messages ?? []).some((m) => m.$ref.endsWith(`/messages/${kind.key}`)))
      .map(([id]) => id.split(".")[0]);
    const schema = this.doc.components?.schemas?.[kind.key] ?? {};
    const example = kind.examples?.[0]?.payload;
    return h("div", { class: "catalog__kind", dataset: { kind: kind.key } },
      h("dl", { class: "catalog__facts small" },
        h("dt", {}, "Version"), h("dd", {}, String(version(kind))),
        h("dt", {}, "Channel"), h("dd", {}, channels.map((c) => c.address).join(", ") || "–"),
        h("dt", {}, "Produced by"), h("dd", { class: "catalog__producers" }, unique(byAction("send")).join(", ") || "–"),
        h("dt", {}, "Consumed by"), h("dd", { class: "catalog__consumers" }, unique(byAction("receive")).map((n) => this.withFilter(n)).join(", ") || "–")),
      h("p", { class: "muted small catalog__source" }, schema["x-eda-source"] === "declared" ? "Payload schema declared by the exercise:" : "Payload schema inferred from what the producer sends:"),
      fields(schema),
      example && Object.keys(example).length ? h("details", { class: "small" }, h("summary", {}, "Example payload"), h("pre", { class: "mono" }, JSON.stringify(example, null, 2))) : null,
      h("div", { class: "catalog__live small", dataset: { eventType: kind.name, version: String(version(kind)) } }));
  }

  /** A consumer's name, with the routing-key filter of its subscription when it has one: it only gets
   * the messages whose key matches. */
  withFilter(name) {
    const consumer = this.store.topology?.consumers.find((c) => c.name === name);
    return consumer?.filter ? `${name} (only keys matching ${consumer.filter})` : name;
  }

  /** The latest messages of each kind in the run this page holds; each opens its journey. */
  drawExamples() {
    if (!this.doc) return;
    const latest = new Map();
    for (const msg of [...this.store.messages.values()].reverse()) {
      // A publish the schema registry refused never travelled: it is no example of the event.
      if (msg.refused) continue;
      const key = `${msg.event_type}@${msg.version}`;
      const list = latest.get(key) ?? [];
      if (list.length < LIVE_EXAMPLES) latest.set(key, [...list, msg]);
    }
    const key = [...latest].map(([k, list]) => `${k}:${list.map((m) => m.id).join()}`).join("|");
    if (key === this.examplesKey) return;
    this.examplesKey = key;
    for (const box of this.el.querySelectorAll(".catalog__live")) {
      const list = latest.get(`${box.dataset.eventType}@${box.dataset.version}`) ?? [];
      replace(box, list.length
        ? h("p", {}, "Latest in this run: ", ...list.flatMap((m, i) => [i ? ", " : "",
          h("button", { type: "button", class: "linkish mono", onclick: () => this.onSelect(m.id) }, `${shortId(m.id)} ${m.key}`)]))
        : h("p", { class: "muted" }, "None in this run yet."));
    }
  }
}

/** The version of a message kind, from its headers' schema (the document's own statement of it). */
function version(kind) {
  return kind.headers?.properties?.schema_version?.const ?? 1;
}

function unique(list) {
  return [...new Set(list)];
}

/** A field's type with the constraints a reader needs: "string, one of EUR, GBP", "number ≥ 0". */
function describeField(field) {
  const parts = [field.type === "array" ? `array of ${field.items?.type ?? "any"}` : field.type ?? "any"];
  if (Array.isArray(field.enum)) parts.push(`one of ${field.enum.join(", ")}`);
  if (field.minimum !== undefined) parts.push(`≥ ${field.minimum}`);
  if (field.maximum !== undefined) parts.push(`≤ ${field.maximum}`);
  if (field.format) parts.push(field.format);
  const text = parts.join(", ");
  return field.description ? h("span", { title: field.description }, text, h("span", { class: "muted" }, ` (${field.description})`)) : text;
}

/** A schema's fields as a table: name, type, required. Nested objects are listed with a dotted path. */
function fields(schema) {
  const rows = [];
  const walk = (s, path) => {
    for (const [name, field] of Object.entries(s.properties ?? {})) {
      if (rows.length >= MAX_SCHEMA_ROWS) return;
      const at = path ? `${path}.${name}` : name;
      rows.push(h("tr", {}, h("td", { class: "mono" }, at), h("td", {}, describeField(field)), h("td", {}, (s.required ?? []).includes(name) ? "yes" : "no")));
      if (field.type === "object") walk(field, at);
    }
  };
  walk(schema, "");
  if (!rows.length) return h("p", { class: "muted small" }, "No payload fields.");
  return h("table", { class: "table catalog__schema" },
    h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Type"), h("th", {}, "Required"))),
    h("tbody", {}, rows));
}
