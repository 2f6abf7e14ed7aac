// The timeline: a scrubber over the run (drag back to travel in time), a marker per fault, and sparklines
// for the rates and depths a learner watches.
import { h, s, fmtMs } from "./dom.js";
import { ORIGIN_TEXT } from "./origins.js";

/** What a release marker says before the release's name. */
const RELEASE_MARKS = { "build red": "the pipeline went red and held back release", "release shipped": "shipped release" };

/** Quiet time after the last change of the scrubber before it seeks: arrow presses add up to one seek. */
const SEEK_SETTLE_MS = 350;

const SPARKS = [
  { key: "rate", label: "published/s", cls: "" },
  { key: "done", label: "processed/s", cls: "" },
  { key: "lag", label: "waiting (lag)", cls: "" },
  { key: "retries", label: "retries/s", cls: "spark--retry" },
  { key: "dlq", label: "dead letters", cls: "spark--dead" },
];

export class Timeline {
  constructor(store, { onSeek }) {
    this.store = store;
    this.scrubber = document.getElementById("scrubber");
    this.markers = document.getElementById("markers");
    this.sparkBox = document.getElementById("sparks");
    this.dragging = false;
    this.markerKey = "";
    this.sparks = SPARKS.map((spec) => {
      const value = h("span", { class: "spark__value" }, "0");
      const line = s("polyline", { points: "" });
      const svg = s("svg", { viewBox: "0 0 100 24", preserveAspectRatio: "none", "aria-hidden": "true" }, line);
      this.sparkBox.append(h("div", { class: `spark ${spec.cls}` }, h("span", {}, spec.label), value, svg));
      return { ...spec, value, line };
    });
    this.scrubber.addEventListener("input", () => {
      this.dragging = true;
      this.scrubber.setAttribute("aria-valuetext", `seek to ${fmtMs(Number(this.scrubber.value))}`);
    });
    let settle = null;
    this.scrubber.addEventListener("change", () => {
      clearTimeout(settle);
      settle = setTimeout(() => {
        this.dragging = false;
        const wanted = Number(this.scrubber.value);
        const at = Math.min(wanted, this.store.historyMs);
        this.scrubber.value = String(at);
        onSeek(at, wanted > at);
      }, SEEK_SETTLE_MS);
    });
  }

  render() {
    const st = this.store;
    const max = Math.max(st.runForMs, st.historyMs, 1);
    this.scrubber.max = String(max);
    this.scrubber.disabled = false;
    if (!this.dragging) {
      this.scrubber.value = String(st.at);
      this.scrubber.setAttribute("aria-valuetext", `${fmtMs(st.at)} of ${fmtMs(max)}`);
    }
    // Markers after the current time belong to a future that a fork would drop: drawn hollow.
    const key = `${st.markers.length}:${max}:${st.markers.filter((m) => m.at > st.at).length}:${st.markers.map((m) => m.origin ?? "").join()}`;
    if (this.markerKey !== key) {
      this.markerKey = key;
      this.markers.replaceChildren(...st.markers.map((m) => {
        const who = ORIGIN_TEXT[m.origin];
        const what = m.label.startsWith("alert") ? `alert ${m.detail} ${m.label.slice(6)}`
          : RELEASE_MARKS[m.label] ? `${RELEASE_MARKS[m.label]} ${m.detail}`
          : `${m.label}${m.detail ? ` on ${m.detail}` : ""}${who ? ` (${m.origin === "exercise" ? who : `by ${who}`})` : ""}`;
        const title = `${fmtMs(m.at)}: ${what}${m.at > st.at ? ", later in the run: a fork from here leaves it out" : ""}`;
        const kind = m.label.startsWith("alert") ? ` marker--alert${m.label === "alert resolved" ? " marker--resolved" : ""}`
          : m.label === "build red" ? " marker--alert" : m.label === "release shipped" ? " marker--alert marker--resolved"
          : m.label === "change design" ? " marker--design" : m.origin === "exercise" ? " marker--exercise" : "";
        const el = h("span", { class: `marker${kind}${m.at > st.at ? " marker--ahead" : ""}`, title });
        el.style.left = `${(100 * m.at) / max}%`;
        return el;
      }));
    }
    this.renderSparks();
  }

  renderSparks() {
    const samples = this.store.samples;
    if (samples.length < 2) {
      // A reset or a rewind starts the lines again: nothing of the run before stays drawn.
      for (const spark of this.sparks) {
        spark.value.textContent = "0";
        spark.line.setAttribute("points", "");
      }
      return;
    }
    // Rates over about one second of virtual time, so a frame's jitter does not show as noise.
    const series = { rate: [], done: [], lag: [], retries: [], dlq: [] };
    for (let i = 1; i < samples.length; i++) {
      const cur = samples[i];
      let j = i - 1;
      while (j > 0 && cur.at - samples[j].at < 1000) j--;
      const prev = samples[j];
      const dt = Math.max(cur.at - prev.at, 1) / 1000;
      series.rate.push((cur.produced - prev.produced) / dt);
      series.done.push((cur.acked - prev.acked) / dt);
      series.retries.push((cur.retries - prev.retries) / dt);
      series.lag.push(cur.lag);
      series.dlq.push(cur.dlq);
    }
    for (const spark of this.sparks) {
      const values = series[spark.key];
      const last = values[values.length - 1] ?? 0;
      spark.value.textContent = Number.isInteger(last) ? String(last) : last.toFixed(1);
      const top = Math.max(...values, 1);
      const step = 100 / Math.max(values.length - 1, 1);
      spark.line.setAttribute("points", values.map((v, i) => `${(i * step).toFixed(1)},${(23 - (22 * v) / top).toFixed(1)}`).join(" "));
    }
  }
}
