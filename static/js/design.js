// The learner's Design and "Prove it". Each knob is set with one `choose` message; the panel is built once
// and then updated in place, so a radio keeps its focus while frames arrive. A live knob applies a moment
// after the last arrow press; a restart knob waits for "Apply and restart", because choosing it starts the
// run again from 0 s. Above the knobs: what the Design changed from the exercise's default. Below them:
// Prove it (queue position, progress, cancel, counterexamples to open; the report itself is proof-report.js).
import { h, replace, toast } from "./dom.js";
import { designLine } from "./topology.js";
import { lazy } from "./lazy.js";

/** Quiet time after the last change of a live knob before it is sent (arrow keys pass through options). */
const LIVE_DEBOUNCE_MS = 300;
/** How long a choice just sent is shown before the server's Design confirms it. */
const AWAIT_MS = 4000;
const DEFAULT_SEEDS = 100;

export class DesignPanel {
  constructor(store, root, { send, onOpenMessage, onProven }) {
    this.store = store;
    this.send = send;
    this.onOpenMessage = onOpenMessage;
    this.onProven = onProven;
    this.knobs = parseKnobs(document.getElementById("knobs-json")?.textContent);
    this.box = document.getElementById("knobs");
    this.tab = document.getElementById("tab-design");
    /** Restart knobs changed but not applied yet: knob id → option id. */
    this.pending = new Map();
    /** Choices sent and not yet in the server's Design: knob id → { option, until }. */
    this.awaiting = new Map();
    this.timers = new Map();
    this.rows = new Map();
    this.key = "";
    this.built = false;
    /** A counterexample's message to open once the imported run's snapshot is here (null: none asked). */
    this.openAfterImport = undefined;
    this.proof = { state: "idle" };
    // The report of a proof: its module loads with the first one.
    this.reportView = lazy(() => import("./proof-report.js").then(({ ProofReport }) => new ProofReport(this.report, this)));
    this.buildKnobs();
    this.buildProof(document.getElementById("proof"));
  }

  /** What the Design changed from the exercise's default: `[{ knob, from, to, since }]`. */
  changes() {
    const out = [];
    for (const knob of this.knobs) {
      const chosen = this.chosen(knob);
      if (chosen === knob.default) continue;
      out.push({ knob, from: optionLabel(knob, knob.default), to: optionLabel(knob, chosen), since: this.store.design?.since_ms?.[knob.id] ?? null });
    }
    return out;
  }

  chosen(knob) {
    return this.store.design?.choices?.[knob.id] ?? knob.default;
  }

  buildKnobs() {
    if (!this.box) return;
    if (!this.knobs.length) return; // drawn by `update` from the consumers' designs
    this.diff = h("div", { class: "design-diff", "aria-live": "polite" });
    replace(this.box, this.diff, ...this.knobs.map((knob) => this.knobRow(knob)), this.exportRow());
    this.built = true;
  }

  knobRow(knob) {
    const { control, inputs, output } = knob.range ? this.rangeControl(knob) : this.menuControl(knob);
    const confirm = knob.live ? null : h("div", { class: "knob__confirm", hidden: true },
      h("button", { type: "button", class: "btn btn--small btn--primary", dataset: { apply: knob.id }, onclick: () => this.apply(knob) }, "Apply and restart"),
      h("button", { type: "button", class: "btn btn--small", onclick: () => this.cancel(knob) }, "Keep current"));
    const row = h("fieldset", { class: knob.live ? "knob" : "knob knob--restart", dataset: { knob: knob.id } },
      h("legend", {}, knob.label, " ", h("span", { class: "knob__target" }, `(${knob.target?.name ?? ""})`)),
      control,
      // The line below says what a restart knob does; a help text that only says the same is left out.
      knob.help && (knob.live || !/^[^.]*restarts? the run\.?$/i.test(knob.help.trim())) ? h("p", { class: "knob__help" }, knob.help) : null,
      knob.live ? null : h("p", { class: "knob__help knob__help--restart" }, "Choosing restarts the run from 0 s with your design; seed and speed stay."),
      brokersNote(knob.brokers),
      confirm);
    this.rows.set(knob.id, { row, inputs, confirm, output });
    return row;
  }

  /** "Take it home": the system with this Design as a real broker's configuration, downloaded. */
  exportRow() {
    const root = document.getElementById("playground");
    if (!root || "readonly" in root.dataset) return null;
    const get = async (format, name) => {
      const query = new URLSearchParams(this.store.design?.choices ?? {});
      try {
        const res = await fetch(`/api/exercises/${encodeURIComponent(root.dataset.exercise)}/export/${format}?${query}`);
        const answer = await res.json();
        if (!res.ok) throw new Error(answer.error || `The server said ${res.status}.`);
        const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(answer.file, null, 2)], { type: "application/json" })), download: name });
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 0);
        if (answer.notes?.length) toast(`Downloaded. Not in the file: ${answer.notes.join(" ")}`);
      } catch (error) {
        toast(error.message, "error");
      }
    };
    const id = root.dataset.exercise;
    return h("div", { class: "design-export" },
      h("p", { class: "muted small" }, "Take your design home, as a real broker's configuration:"),
      h("button", { type: "button", class: "btn btn--small", dataset: { export: "rabbitmq" }, onclick: () => get("rabbitmq", `${id}-rabbitmq-definitions.json`) }, "RabbitMQ definitions"),
      " ",
      h("button", { type: "button", class: "btn btn--small", dataset: { export: "nats" }, onclick: () => get("nats", `${id}-nats-jetstream.json`) }, "NATS JetStream config"));
  }

  /** A menu: one radio per option; arrow keys move between them. */
  menuControl(knob) {
    const inputs = knob.options.map((o) => h("input", {
      type: "radio", name: `knob-${knob.id}`, value: o.id, dataset: { knob: knob.id },
      onchange: () => this.changed(knob, o.id),
      onkeydown: (e) => this.enterApplies(knob, e),
    }));
    const options = knob.options.map((o, i) => h("label", { class: "knob__option" }, inputs[i], h("span", {}, o.label)));
    return { control: h("div", { class: "knob__options" }, options), inputs, output: null };
  }

  /** A range: a slider over the option values, with the value shown beside it. Its `change` comes once
   * a drag ends or a key is pressed, so a live knob is sent after the last one, and a restart knob waits
   * for "Apply and restart" as a menu's does. */
  rangeControl(knob) {
    const { min, max, step } = knob.range;
    const output = h("output", { class: "knob__value", for: `knob-${knob.id}` }, optionLabel(knob, knob.default));
    const slider = h("input", {
      type: "range", id: `knob-${knob.id}`, name: `knob-${knob.id}`, min, max, step, value: knob.default,
      dataset: { knob: knob.id }, "aria-label": knob.label, "aria-valuetext": optionLabel(knob, knob.default),
      oninput: () => {
        output.textContent = optionLabel(knob, slider.value);
        slider.setAttribute("aria-valuetext", output.textContent);
      },
      onchange: () => this.changed(knob, slider.value),
      onkeydown: (e) => this.enterApplies(knob, e),
    });
    const ends = h("span", { class: "knob__ends muted small", "aria-hidden": "true" },
      h("span", {}, optionLabel(knob, knob.options[0]?.id)), h("span", {}, optionLabel(knob, knob.options.at(-1)?.id)));
    return { control: h("div", { class: "knob__range" }, h("div", { class: "knob__slider" }, slider, output), ends), inputs: [slider], output };
  }

  enterApplies(knob, e) {
    if (e.key === "Enter" && this.pending.has(knob.id)) {
      e.preventDefault();
      this.apply(knob);
    }
  }

  changed(knob, option) {
    if (knob.live) {
      this.awaiting.set(knob.id, { option, until: Date.now() + LIVE_DEBOUNCE_MS + AWAIT_MS });
      clearTimeout(this.timers.get(knob.id));
      this.timers.set(knob.id, setTimeout(() => {
        this.timers.delete(knob.id);
        if (this.chosen(knob) === option) {
          this.awaiting.delete(knob.id);
          return;
        }
        this.awaiting.set(knob.id, { option, until: Date.now() + AWAIT_MS });
        this.send({ type: "choose", knob: knob.id, option });
      }, LIVE_DEBOUNCE_MS));
    } else if (option === this.chosen(knob)) {
      this.pending.delete(knob.id);
    } else {
      this.pending.set(knob.id, option);
    }
    this.update(true);
  }

  apply(knob) {
    const option = this.pending.get(knob.id);
    if (option === undefined) return;
    this.pending.delete(knob.id);
    this.awaiting.set(knob.id, { option, until: Date.now() + AWAIT_MS });
    this.send({ type: "choose", knob: knob.id, option });
    // Focus goes back to the chosen option, not to a button about to disappear.
    this.rows.get(knob.id)?.inputs.find((i) => i.value === option)?.focus();
    this.update(true);
  }

  cancel(knob) {
    this.pending.delete(knob.id);
    this.update(true);
    this.rows.get(knob.id)?.inputs.find((i) => i.checked || i.type === "range")?.focus();
  }

  /** A refused choice springs back to what the server's Design says. */
  refused() {
    this.awaiting.clear();
    this.update(true);
  }

  shown(knob) {
    if (this.pending.has(knob.id)) return this.pending.get(knob.id);
    const waiting = this.awaiting.get(knob.id);
    if (waiting) {
      if (this.chosen(knob) === waiting.option || Date.now() > waiting.until) this.awaiting.delete(knob.id);
      else return waiting.option;
    }
    return this.chosen(knob);
  }

  /** After every snapshot and frame: checked options, confirm buttons and the diff, updated in place. */
  update(force = false) {
    if (!this.knobs.length) {
      const lines = this.store.topology.consumers.map((c) => [c.name, designLine(this.store.metrics?.consumers[c.id]?.design) || "–"]);
      const key = JSON.stringify(lines);
      if (key === this.key || !this.box) return;
      this.key = key;
      replace(this.box, h("p", { class: "muted small" }, "This exercise offers no design knobs. What each consumer runs with:"),
        ...lines.map(([name, text]) => h("p", { class: "small" }, h("b", {}, name), ": ", text)));
      return;
    }
    if (!this.built) return;
    const shown = this.knobs.map((k) => this.shown(k));
    const key = JSON.stringify([shown, [...this.pending], this.store.design]);
    if (!force && key === this.key) return;
    this.key = key;
    this.knobs.forEach((knob, i) => {
      const ref = this.rows.get(knob.id);
      for (const input of ref.inputs) {
        if (input.type === "range") {
          // Not under the learner's hand: a drag in progress keeps its place until it is let go.
          if (input.value !== shown[i] && document.activeElement !== input) input.value = shown[i];
          if (document.activeElement !== input || input.value === shown[i]) {
            ref.output.textContent = optionLabel(knob, shown[i]);
            input.setAttribute("aria-valuetext", ref.output.textContent);
          }
          continue;
        }
        const on = input.value === shown[i];
        if (input.checked !== on) input.checked = on;
      }
      if (ref.confirm) ref.confirm.hidden = !this.pending.has(knob.id);
      ref.row.classList.toggle("knob--pending", this.pending.has(knob.id));
    });
    const changes = this.changes();
    this.diff.classList.toggle("design-diff--none", !changes.length);
    replace(this.diff, h("p", { class: "design-diff__title" }, "Your design"),
      changes.length
        ? h("ul", {}, ...changes.map((c) => h("li", { dataset: { knob: c.knob.id } }, `${c.knob.label}: `, h("s", {}, c.from), " → ",
          h("span", { class: "design-diff__to" }, c.to), c.since > 0 ? h("span", { class: "muted" }, ` since ${(c.since / 1000).toFixed(1)} s`) : null)))
        : h("p", { class: "muted small" }, "As the exercise starts it: nothing changed yet."));
    if (this.tab) {
      // A small count on the tab: the Design differs from the default in this many knobs.
      if (changes.length) this.tab.dataset.changed = String(changes.length);
      else delete this.tab.dataset.changed;
      this.tab.setAttribute("aria-label", changes.length ? `Design, ${changes.length} changed` : "Design");
    }
    this.reportView.now?.freshness();
  }

  // ---- Prove it ----

  buildProof(box) {
    if (!box) return;
    this.seeds = h("input", { type: "number", id: "proof-seeds", min: 1, max: 1000, value: DEFAULT_SEEDS, "aria-label": "Seeds to prove on" });
    this.proveButton = h("button", { type: "button", id: "btn-prove", class: "btn btn--primary", onclick: () => this.prove() }, "Prove it");
    this.cancelButton = h("button", { type: "button", id: "btn-cancel-proof", class: "btn btn--small", hidden: true, onclick: () => this.send({ type: "cancel_proof" }) }, "Cancel");
    this.status = h("p", { class: "small proof-status", role: "status" });
    this.bar = h("progress", { id: "proof-progress", max: 1, value: 0, hidden: true });
    this.report = h("div", { id: "proof-report", class: "proof-report", "aria-live": "polite" });
    replace(box,
      h("p", { class: "muted small" }, "Run your design on many seeds, each with its own faults. It is proven when every goal holds on every seed."),
      h("div", { class: "proof-row" }, h("label", { class: "small" }, "Seeds ", this.seeds), this.proveButton, this.cancelButton),
      this.status, this.bar, this.report);
  }

  prove() {
    const n = Math.round(Number(this.seeds.value));
    if (!Number.isFinite(n) || n < 1 || n > 1000) {
      toast("Prove it takes 1 to 1,000 seeds.", "error");
      this.seeds.focus();
      return;
    }
    this.send({ type: "prove", seeds: n });
    this.setProof("sent", "Starting the proof…");
  }

  setProof(state, text) {
    this.proof.state = state;
    const busy = state === "sent" || state === "queued" || state === "running";
    this.status.textContent = text;
    this.cancelButton.hidden = !busy;
    this.proveButton.textContent = busy ? "Proving…" : "Prove it";
    this.proveButton.disabled = busy;
    this.bar.hidden = state !== "running";
  }

  /** Proof messages, and errors that answer a `prove` just sent. */
  handle(m) {
    if (!this.status) return;
    switch (m.type) {
      case "proof_queued":
        this.setProof("queued", `Waiting for a free worker: other proofs are running. You are ${ordinal(m.position)} in line.`);
        break;
      case "proof_progress":
        this.setProof("running", `Proving: ${m.done} of ${m.total} seeds run…`);
        this.bar.max = m.total || 1;
        this.bar.value = m.done;
        break;
      case "proof":
        this.setProof("idle", "");
        this.reportView.use((view) => view.show(m.report));
        break;
      case "proof_cancelled":
        this.setProof("idle", m.message || "Proof cancelled.");
        break;
      case "error":
        if (this.proof.state === "sent") this.setProof("idle", "");
        break;
      default: break;
    }
  }

  open(example) {
    this.openAfterImport = example.message ?? null;
    this.store.played = true; // a counterexample is for stepping through, not a run to start
    this.send({ type: "import", run: example.run });
  }

  /** After a snapshot: an opened counterexample shows the journey of the message that broke the goal. */
  afterSnapshot() {
    if (this.openAfterImport === undefined) return;
    const id = this.openAfterImport;
    this.openAfterImport = undefined;
    this.onOpenMessage?.(id);
    toast(`Counterexample opened at ${(this.store.at / 1000).toFixed(1)} s, paused just before it breaks: press Step (S) to watch it happen.`);
  }
}

export function parseKnobs(text) {
  try {
    const knobs = JSON.parse(text || "[]");
    return Array.isArray(knobs) ? knobs.map(withRangeOptions) : [];
  } catch {
    return [];
  }
}

/** A range knob comes as its values (the page's first render stays light): each becomes an option whose
 * id is the number and whose label is the number and the unit, as the server names them. */
function withRangeOptions(knob) {
  if (knob.options || !Array.isArray(knob.values)) return knob;
  const label = (v) => (knob.unit ? `${v} ${v === 1 && knob.unit_one ? knob.unit_one : knob.unit}` : String(v));
  return { ...knob, options: knob.values.map((v) => ({ id: String(v), label: label(v), value: v })) };
}

/** What real brokers call a knob's setting, folded under it: one line per broker. */
function brokersNote(note) {
  if (!note) return null;
  const line = (name, text) => h("p", {}, h("b", {}, `${name}: `), text);
  return h("details", { class: "knob__brokers small" },
    h("summary", {}, "In real brokers"),
    line("RabbitMQ", note.rabbitmq), line("Kafka", note.kafka), line("Amazon SQS/SNS", note.sqs), line("NATS JetStream", note.nats),
    note.counting ? h("p", { class: "muted" }, note.counting) : null);
}

function optionLabel(knob, id) {
  return knob.options.find((o) => o.id === id)?.label ?? id;
}

function ordinal(n) {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${tail}`;
}
