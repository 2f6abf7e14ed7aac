// Every control a learner has but the design (design.js): faults, the publish form, the Ops tab's dead
// letters (their dialog is letters.js) and stream replay, run controls, and run files. Each sends one
// protocol message.
import { h, replace, toast } from "./dom.js";
import { FAULTS, faultCommand } from "./faults.js";
import { MAX_MESSAGE_BYTES, MAX_PAYLOAD_DEPTH } from "./socket.js";
/** What a fault button does, where its label alone does not say. */
const FAULT_HELP = {
  inject_poison: "Publish a payload no consumer can parse",
  duplicate: "The broker delivers the last message again, same id",
  producer_retry: "The producer sends the last message again under a new id",
  restore_link: "Back to the link the exercise started with: not cut, and without the jitter or loss added since",
};
/** A fault label longer than this takes a whole row of its grid. */
const WIDE_LABEL_CHARS = 14;
/** Largest run file accepted from disk; the server checks its own limit too. */
const MAX_RUN_FILE_BYTES = 4 * 1024 * 1024;

/** Wires a tablist: click or arrow keys select a tab and show its panel. */
export function setupTabs(list, onChange) {
  const tabs = [...list.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    onChange?.(tab.id);
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (d) {
        e.preventDefault();
        select(tabs[(i + d + tabs.length) % tabs.length], true);
      }
    });
  });
  return (id) => select(document.getElementById(id), false);
}

export class Controls {
  constructor(store, { send, command, onSelect, onDeadLetters }) {
    this.store = store;
    this.send = send;
    this.command = command;
    this.onSelect = onSelect;
    this.onDeadLetters = onDeadLetters;
    this.$ = (id) => document.getElementById(id);
    this.runControls();
    this.faults();
    this.publishForm();
    this.runFiles();
  }

  runControls() {
    this.$("btn-play").addEventListener("click", () => this.togglePlay());
    this.$("btn-step").addEventListener("click", () => this.send({ type: "step" }));
    this.$("speed").addEventListener("change", (e) => this.send({ type: "speed", speed: Number(e.target.value) }));
    this.$("btn-reset").addEventListener("click", () => this.send({ type: "reset", new_seed: false }));
    this.$("btn-new-seed").addEventListener("click", () => this.send({ type: "reset", new_seed: true }));
  }

  togglePlay() {
    this.send({ type: this.store.paused ? "play" : "pause" });
  }

  /** One button per fault of faults.js, in the grid of what it aims at. */
  faults() {
    for (const grid of document.querySelectorAll("[data-faults]")) {
      grid.replaceChildren(...FAULTS.filter((f) => f.target === grid.dataset.faults).map((f) => h("button", {
        type: "button",
        class: f.label.length > WIDE_LABEL_CHARS ? "btn btn--wide" : "btn",
        dataset: { fault: f.id },
        title: FAULT_HELP[f.id],
        onclick: () => {
          const cmd = this.faultCommand(f.id);
          if (cmd) this.command(cmd);
        },
      }, f.label)));
    }
    this.$("fault-consumer").addEventListener("change", (e) => this.onSelect(Number(e.target.value)));
  }

  faultCommand(kind) {
    const t = this.store.topology;
    return faultCommand(kind, {
      consumer: t.consumers[Number(this.$("fault-consumer").value)]?.name,
      channel: t.channels[Number(this.$("fault-channel").value)]?.name,
      service: this.$("fault-service").value,
    });
  }

  /** Fills the selects from a new topology; keeps the current choices where they still exist. */
  setTopology(topology, selected) {
    const fill = (el, items) => {
      const keep = el.value;
      replace(el, ...items.map(([value, label]) => h("option", { value }, label)));
      if (items.some(([v]) => String(v) === keep)) el.value = keep;
    };
    fill(this.$("fault-consumer"), topology.consumers.map((c) => [c.id, c.name]));
    fill(this.$("fault-channel"), topology.channels.map((c) => [c.id, `${c.name} (${c.kind})`]));
    fill(this.$("pub-channel"), topology.channels.map((c) => [c.name, `${c.name} (${c.kind})`]));
    const services = [...topology.producers.filter((p) => p.name !== "console"), ...topology.consumers].map((x) => [x.name, x.name]);
    fill(this.$("fault-service"), services);
    const types = new Set(topology.producers.map((p) => p.event_type).filter((t) => t !== "Manual"));
    replace(this.$("pub-types"), ...[...types].map((t) => h("option", { value: t })));
    if (!this.$("pub-type").value && types.size) this.$("pub-type").value = [...types][0];
    if (selected !== null && selected !== undefined) this.$("fault-consumer").value = String(selected);
    this.renderOps();
  }

  selectConsumer(id) {
    this.$("fault-consumer").value = String(id);
  }

  publishForm() {
    const form = this.$("publish-form");
    const error = this.$("pub-error");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      let payload;
      try {
        payload = JSON.parse(this.$("pub-payload").value || "{}");
      } catch {
        error.textContent = "The payload is not valid JSON (tick “Malformed” to send a broken message on purpose).";
        error.hidden = false;
        return;
      }
      const cmd = {
        kind: "publish",
        channel: this.$("pub-channel").value,
        event_type: this.$("pub-type").value.trim(),
        key: this.$("pub-key").value.trim(),
        payload,
        schema_version: Number(this.$("pub-version").value) || 1,
        malformed: this.$("pub-malformed").checked,
      };
      // Refused here, with the limit named, rather than sent for the server to close the connection on.
      const bytes = new TextEncoder().encode(JSON.stringify({ type: "command", command: cmd })).length;
      const depth = depthOf(payload);
      const refusal = bytes > MAX_MESSAGE_BYTES
        ? `This message is ${(bytes / 1024).toFixed(1)} KiB; the sandbox takes at most ${MAX_MESSAGE_BYTES / 1024} KiB (${MAX_MESSAGE_BYTES} bytes) per message. Send a smaller payload.`
        : depth > MAX_PAYLOAD_DEPTH
          ? `The payload nests arrays and objects ${depth} levels deep; the sandbox reads at most ${MAX_PAYLOAD_DEPTH}. Flatten it.`
          : "";
      error.textContent = refusal;
      error.hidden = !refusal;
      if (refusal) return;
      this.command(cmd);
      const key = this.$("pub-key");
      const m = /^(.*?)(\d+)$/.exec(key.value);
      if (m) key.value = `${m[1]}${Number(m[2]) + 1}`;
    });
  }

  renderOps() {
    const t = this.store.topology;
    const withDlq = t.consumers.filter((c) => t.channels[c.channel]?.dead_letter);
    replace(this.$("dlq-list"), ...withDlq.map((c) => {
      const count = h("span", { class: "dlq-count", dataset: { queue: c.dead_letters } }, "0");
      return h("div", { class: "dlq-row" },
        h("span", {}, c.name, " · ", count, " dead"),
        h("button", { type: "button", class: "btn btn--small", onclick: () => this.onDeadLetters(c.name) }, "Inspect"));
    }));
    if (!withDlq.length) this.$("dlq-list").append(h("p", { class: "muted small" }, "No channel here has a dead-letter queue."));
    const streamConsumers = t.consumers.filter((c) => t.channels[c.channel]?.kind === "stream");
    const group = this.$("replay-group");
    group.hidden = !streamConsumers.length;
    if (!streamConsumers.length) return;
    const who = h("select", { "aria-label": "Consumer group" }, ...streamConsumers.map((c) => h("option", { value: c.name }, c.name)));
    const from = h("select", { "aria-label": "Replay from" },
      h("option", { value: "earliest" }, "earliest record"), h("option", { value: "latest" }, "latest (skip the rest)"), h("option", { value: "offset" }, "offset below"));
    const offset = h("input", { type: "number", min: 0, value: 0, "aria-label": "Offset" });
    const seek = () => {
      const to = from.value === "offset" ? { from: "offset", offset: Number(offset.value) || 0 } : { from: from.value };
      this.command({ kind: "seek", consumer: who.value, to });
    };
    replace(this.$("replay"),
      h("label", {}, "Group", who),
      h("label", {}, "Replay from", from),
      h("label", {}, "Offset", offset),
      h("div", { class: "btn-grid" },
        h("button", { type: "button", class: "btn btn--wide", onclick: seek }, "Move the group's position"),
        h("button", { type: "button", class: "btn", onclick: () => this.command({ kind: "rebuild", consumer: who.value, from_checkpoint: false }) }, "Rebuild from start"),
        h("button", { type: "button", class: "btn", onclick: () => this.command({ kind: "rebuild", consumer: who.value, from_checkpoint: true }) }, "From checkpoint")));
  }

  updateOps() {
    const metrics = this.store.metrics;
    if (!metrics) return;
    for (const el of document.querySelectorAll(".dlq-count")) {
      const n = metrics.queues[Number(el.dataset.queue)]?.dead_letters ?? 0;
      el.textContent = String(n);
      el.classList.toggle("count-bad", n > 0);
    }
  }

  runFiles() {
    this.$("btn-export").addEventListener("click", () => this.send({ type: "export" }));
    this.$("import-file").addEventListener("change", async (e) => {
      const file = e.target.files?.[0];
      e.target.value = "";
      if (!file) return;
      if (file.size > MAX_RUN_FILE_BYTES) {
        toast("That file is too big to be a run file.", "error");
        return;
      }
      let run;
      try {
        run = JSON.parse(await file.text());
      } catch {
        toast("That file is not a run file (not JSON).", "error");
        return;
      }
      this.send({ type: "import", run });
    });
  }

  /** Offers the exported run as a download: no request leaves the browser. */
  download(run) {
    const blob = new Blob([JSON.stringify(run, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const name = `${this.store.exercise || "run"}-seed-${this.store.seed}.json`;
    const a = h("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    toast(`Saved ${name}`);
  }

  /** Reflects the run state on the run controls. */
  render() {
    const st = this.store;
    const play = this.$("btn-play");
    // Before the first play the run has not started: the button says so.
    play.textContent = st.paused ? (st.played ? "Play" : "Start") : "Pause";
    play.setAttribute("aria-pressed", String(!st.paused));
    for (const id of ["btn-step", "speed", "btn-reset", "btn-new-seed", "btn-export"]) this.$(id).disabled = false;
    play.disabled = st.finished;
    play.title = st.finished ? "The run reached its end: reset, or drag the timeline back" : "Play or pause (Space)";
    const speed = this.$("speed");
    if (document.activeElement !== speed && [...speed.options].some((o) => Number(o.value) === st.speed)) speed.value = String(st.speed);
    this.updateOps();
  }
}

/** How deep `value` nests arrays and objects (a number is 0), without recursion: a payload can be deep. */
function depthOf(value) {
  let deepest = 0;
  const stack = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop();
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}
