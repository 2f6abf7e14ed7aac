// The success moment: when every goal holds at the end of a run, and again when a proof passes, say so,
// show what the design changed and the debrief questions, and point to the next exercise. Progress is
// kept in this browser (`localStorage`), for the home page's marks.
import { h, replace } from "./dom.js";
import { markProgress } from "./progress.js";

export class Success {
  constructor(root, design) {
    this.root = root;
    this.design = design;
    this.dialog = document.getElementById("success-dialog");
    this.shownFor = null;
    this.returnFocus = null;
    this.dialog?.querySelector("[data-close]")?.addEventListener("click", () => this.dialog.close());
    // Esc closes a modal <dialog> by itself; either way, focus goes back where it was.
    this.dialog?.addEventListener("close", () => {
      if (this.returnFocus?.isConnected) this.returnFocus.focus();
      this.returnFocus = null;
    });
    this.dialog?.querySelector(".success__prove")?.addEventListener("click", () => {
      this.dialog.close();
      document.getElementById("tab-design")?.click();
      const prove = document.getElementById("btn-prove");
      prove?.focus();
      prove?.click();
    });
  }

  /** After every broadcast: a finished run with every goal met is a success, once per run. */
  check(store) {
    const met = store.finished && store.goals.length && store.goals.every((g) => g.state === "met");
    const key = `${store.seed}:${JSON.stringify(store.design?.choices ?? {})}`;
    if (!met) {
      if (!store.finished) this.shownFor = null;
      return;
    }
    if (this.shownFor === key) return;
    this.shownFor = key;
    markProgress(store.exercise, "done");
    this.show("Every goal met", `This run met every goal on seed ${store.seed}. One seed is one world: Prove it tries your design on a hundred, each with its own faults.`, true);
  }

  proven(report) {
    markProgress(report.exercise, "proven");
    this.show(`Proven on ${report.passed}/${report.seeds} seeds`, `Every goal held on all ${report.seeds} seeds, each with its own faults. That is a design you can defend.`, false);
  }

  show(title, lead, offerProof) {
    if (!this.dialog) return;
    const changes = this.design.changes();
    const debrief = [...document.querySelectorAll(".debrief li")].map((li) => li.cloneNode(true));
    const nextId = this.root.dataset.nextId;
    const nextTitle = this.root.dataset.nextTitle;
    replace(this.dialog.querySelector(".success__body"),
      h("p", { class: "lead" }, lead),
      changes.length
        ? h("div", {}, h("h3", {}, "What your design changed"),
          h("ul", { class: "success__changes" }, ...changes.map((c) => h("li", {}, `${c.knob.label}: `, h("s", {}, c.from), " → ", h("b", {}, c.to),
            c.since > 0 ? h("span", { class: "muted" }, ` since ${(c.since / 1000).toFixed(1)} s`) : null))))
        : h("p", { class: "muted" }, "You kept the default design: the lesson was in what you did, not in a knob."),
      debrief.length ? h("div", {}, h("h3", {}, "Questions for the debrief"), h("ol", { class: "prose" }, ...debrief)) : null,
      nextId ? h("p", { class: "muted small" }, `Up next: ${nextTitle}`) : null);
    const next = this.dialog.querySelector(".success__next");
    next.hidden = !nextId;
    if (nextId) {
      next.setAttribute("href", `/exercises/${encodeURIComponent(nextId)}`);
      next.title = nextTitle;
    }
    const prove = this.dialog.querySelector(".success__prove");
    if (prove) prove.hidden = !offerProof || !document.getElementById("btn-prove");
    const foot = this.dialog.querySelector(".dialog__foot");
    if (foot) foot.hidden = next.hidden && (!prove || prove.hidden);
    this.dialog.querySelector(".success__title").textContent = title;
    if (!this.dialog.open) {
      this.returnFocus = document.activeElement;
      this.dialog.showModal();
    }
    // Focus the way forward: the next exercise, else Prove it, else Close.
    const target = [next, prove, this.dialog.querySelector("[data-close]")].find((el) => el && !el.hidden);
    target?.focus();
  }
}
