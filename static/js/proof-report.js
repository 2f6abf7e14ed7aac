// The report of a proof: the verdict, each goal with the seeds it held on, and for a goal that broke, the
// counterexample to open. Loaded with the first report; the Design panel (design.js) runs the proof.
import { h, replace } from "./dom.js";

export class ProofReport {
  /** `box`: where the report goes; `panel`: the DesignPanel, for its knobs and to open a counterexample. */
  constructor(box, panel) {
    this.box = box;
    this.panel = panel;
    this.shown = null;
  }

  /** Shows `report`, and tells the panel when it proves the design. */
  show(report) {
    this.shown = report;
    const proven = report.passed === report.seeds;
    const goals = (report.goals || []).map((g) => {
      const total = g.passed + g.failed;
      const ok = g.failed === 0;
      const example = g.counterexample;
      // Widths through the CSSOM: the CSP refuses style attributes.
      const fill = h("span", { class: "proof-bar__fill" });
      fill.style.width = `${total ? (100 * g.passed) / total : 0}%`;
      return h("li", { class: ok ? "proof-goal proof-goal--ok" : "proof-goal", dataset: { goal: g.id } },
        h("div", { class: "proof-goal__head" }, h("span", {}, g.description), h("b", {}, `${g.passed}/${total}`)),
        h("span", { class: "proof-bar", role: "img", "aria-label": `held on ${g.passed} of ${total} seeds` },
          fill),
        example ? h("div", { class: "proof-example" },
          h("p", { class: "small" }, example.sentence),
          h("button", { type: "button", class: "btn btn--small", dataset: { counterexample: g.id }, onclick: () => this.panel.open(example) }, "Open counterexample"))
          : null);
    });
    replace(this.box,
      h("p", { class: proven ? "proof-verdict proof-verdict--ok" : "proof-verdict proof-verdict--bad" },
        proven ? `Proven on ${report.seeds}/${report.seeds} seeds` : `Not proven: every goal held on ${report.passed}/${report.seeds} seeds`),
      report.chaos ? h("p", { class: "muted small" }, `Chaos: ${report.chaos}.${report.cached ? " (From the cache: the same design was proven before.)" : ""}`) : null,
      h("p", { class: "muted small proof-stale", hidden: true }, "This report is for an earlier design."),
      h("ul", { class: "proof-goals" }, goals));
    this.freshness();
    // The verdict is below the knobs: bring it into view in the panel (not the page) when it is shown.
    if (this.box.offsetParent) this.box.scrollIntoView({ block: "start" });
    if (proven) this.panel.onProven?.(report);
  }

  /** Says so when the Design changed since the shown report was made. */
  freshness() {
    const stale = this.box?.querySelector(".proof-stale");
    if (!stale || !this.shown) return;
    const now = {};
    for (const k of this.panel.knobs) if (this.panel.chosen(k) !== k.default) now[k.id] = this.panel.chosen(k);
    const proven = Object.fromEntries(Object.entries(this.shown.design || {}).filter(([id, o]) => this.panel.knobs.find((k) => k.id === id)?.default !== o));
    stale.hidden = sameChoices(now, proven);
  }
}

function sameChoices(a, b) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
