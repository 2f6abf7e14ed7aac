// The debrief on the projector: it covers the dashboard with the exercise's questions, what the room did
// and the spotlighted design, in large type. Nothing private: no token, no join link, and no names
// unless the facilitator ticks "Show names".
import { h, replace } from "./dom.js";
import { renderDesigns, renderGoals, renderTotals } from "./session-room.js";

export class Debrief {
  constructor({ designText, proofText, spotlightHref }) {
    this.spotlightHref = spotlightHref;
    this.$ = (id) => document.getElementById(id);
    this.designText = designText;
    this.proofText = proofText;
    this.$("debrief-names").addEventListener("change", () => this.onChange?.());
    this.$("debrief-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.open) this.close();
    });
  }

  get open() {
    return !this.$("debrief").hidden;
  }

  show() {
    this.$("debrief").hidden = false;
    document.body.classList.add("debriefing");
    this.$("debrief-close").focus();
    this.onChange?.();
  }

  close() {
    this.$("debrief").hidden = true;
    document.body.classList.remove("debriefing");
    this.$("debrief-open").focus();
  }

  /** Redraws from the room's state: `session`, the aggregate `room`, and the roster lines. */
  render({ session, room, learners, clock }) {
    if (!this.open || !session) return;
    const names = this.$("debrief-names").checked;
    this.$("debrief-title").textContent = `Debrief: ${room?.title ?? session.exercise}`;
    this.$("debrief-clock").textContent = clock ?? "";
    for (const block of document.querySelectorAll(".debrief__exercise")) {
      const current = block.dataset.exercise === session.exercise;
      block.hidden = !current;
      block.querySelector("[data-solution]").hidden = !(current && session.solution_revealed);
    }
    renderTotals(this.$("debrief-totals"), room);
    renderGoals(this.$("debrief-goals"), room);
    renderDesigns(this.$("debrief-designs"), room);
    const spot = session.spotlight === null ? null : learners.get(session.spotlight);
    if (!spot) {
      return replace(this.$("debrief-spot"), h("p", { class: "muted" }, "Nobody is in the spotlight. Spotlight a learner from the roster or from a design's list."));
    }
    replace(this.$("debrief-spot"),
      h("p", {}, h("strong", {}, names ? spot.name : "One learner's design"), ` · goals met ${spot.goals_met} of ${spot.goals_total} · ${spot.last_proof ? `proof ${this.proofText(spot)}` : "not proven yet"}`),
      h("p", {}, this.designText(spot)),
      h("a", { class: "btn", href: this.spotlightHref, target: "_blank", rel: "noopener" }, "Open their sandbox (read-only)"));
  }
}
