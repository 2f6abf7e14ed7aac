// The room as a whole, drawn from the server's aggregate (`room` on every dashboard message): per goal how
// many learners have it met, broken or pending, and per knob how many chose each option. The dashboard
// and the debrief draw the same pictures; the debrief's are not clickable.
import { h, replace } from "./dom.js";

const pct = (n, total) => (total ? `${(100 * n) / total}%` : "0%");

/** "12 learners · 5 with every goal met · 3 proven on every seed". */
export function renderTotals(el, room) {
  if (!room) return replace(el);
  replace(el,
    h("strong", {}, String(room.learners)), room.learners === 1 ? " learner · " : " learners · ",
    h("strong", {}, String(room.all_met)), " with every goal met · ",
    h("strong", {}, String(room.proven)), ` proven on every seed (${room.proofs} tried a proof)`);
}

/** One stacked bar per goal: met, broken, pending. */
export function renderGoals(list, room) {
  if (!room || room.learners === 0) {
    return replace(list, h("li", { class: "muted" }, "Nobody is on this exercise yet."));
  }
  replace(list, ...room.goals.map((g) => {
    const counts = `${g.met} met · ${g.broken} broken · ${g.pending} pending`;
    return h("li", { class: "goal-bar", dataset: { goal: g.id } },
      h("div", { class: "goal-bar__text" }, h("span", {}, g.description), h("span", { class: "goal-bar__counts" }, counts)),
      h("div", { class: "bar", role: "img", "aria-label": `${g.description}: ${counts}` },
        h("span", { class: "bar__met", dataset: { w: pct(g.met, room.learners) } }),
        h("span", { class: "bar__broken", dataset: { w: pct(g.broken, room.learners) } }),
        h("span", { class: "bar__pending", dataset: { w: pct(g.pending, room.learners) } })));
  }));
  sizeBars(list);
}

/**
 * Per knob, a bar per option with its count, then the combinations the room converged on. With
 * `onPick(knob, option)`, an option is a button that lists who chose it; `expanded` is the open one.
 */
export function renderDesigns(el, room, { onPick, expanded } = {}) {
  if (!room) return replace(el);
  if (room.knobs.length === 0) {
    return replace(el, h("p", { class: "muted" }, "This exercise has no design choices: it is about what happens, not what to pick."));
  }
  const knobs = room.knobs.map((knob) => h("section", { class: "knob" },
    h("h3", {}, knob.label),
    h("ul", { class: "knob__options" }, ...shownOptions(knob).map((option) => {
      const open = expanded && expanded.knob === knob.id && expanded.option === option.id;
      const body = [
        h("span", {}, option.label,
          option.default ? h("span", { class: "tag" }, "default") : null,
          option.solution ? h("span", { class: "tag tag--solution" }, "solution") : null),
        h("span", { class: "bar", "aria-hidden": "true" }, h("span", { class: "bar__option", dataset: { w: pct(option.learners.length, room.learners) } })),
        h("span", { class: "knob__count" }, String(option.learners.length)),
      ];
      return h("li", {}, onPick
        ? h("button", {
          type: "button", class: "knob__option", "aria-expanded": String(Boolean(open)),
          title: "Show who chose this",
          onclick: () => onPick(knob, option),
        }, ...body)
        : h("div", { class: "knob__option" }, ...body));
    }))));
  // With one knob the bars already are the whole designs.
  const combos = room.knobs.length > 1 && room.combinations.length
    ? h("section", { class: "knob" },
      h("h3", {}, "Whole designs, most chosen first"),
      h("ol", { class: "combos" }, ...room.combinations.map((c) =>
        h("li", {}, h("strong", {}, `${c.learners.length} × `), c.choices.join(" · ")))),
      room.other_combinations ? h("p", { class: "muted" }, `${room.other_combinations} more on other designs.`) : null)
    : null;
  replace(el, ...knobs, combos);
  sizeBars(el);
}

/** A menu shows every option; a range (a slider's many values) only those someone chose, and the default
 * and the solution, in order. */
export const MAX_OPTIONS_SHOWN = 8;
function shownOptions(knob) {
  if (knob.options.length <= MAX_OPTIONS_SHOWN) return knob.options;
  return knob.options.filter((o) => o.learners.length || o.default || o.solution);
}

/** Bar widths go through the CSSOM: the page's policy refuses style attributes. */
function sizeBars(root) {
  for (const bar of root.querySelectorAll("[data-w]")) bar.style.width = bar.dataset.w;
}
