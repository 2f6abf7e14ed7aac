// The roster: one line per learner, with the flags that say who may be stuck, sorted and filtered as the
// facilitator chooses. Flags are worked out here from the server's counts and times, so the threshold
// can change without a round trip.
import { h, replace } from "./dom.js";

/** Resets with a goal still broken from which a learner is flagged: trying the same thing again. */
export const RESETS_FLAG = 3;

const allMet = (l) => l.goals_total > 0 && l.goals_met === l.goals_total;

/** "45 s", "6 min". */
export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** Why `l` may be stuck, as short phrases; none once every goal is met. */
export function stuckFlags(l, room, now, stuckMinutes) {
  if (allMet(l)) return [];
  const flags = [];
  const idle = now - l.last_change_ms;
  if (l.last_change_ms && idle >= stuckMinutes * 60000) flags.push(`no change for ${ago(idle)}`);
  if (l.resets_while_broken >= RESETS_FLAG) flags.push(`reset ${l.resets_while_broken}× with a goal broken`);
  if (room?.hints_total && l.hints_used >= room.hints_total) flags.push("opened every hint");
  return flags;
}

const SORTS = {
  joined: (a, b) => a.id - b.id,
  name: (a, b) => a.name.localeCompare(b.name),
  goals: (a, b) => a.goals_met - b.goals_met || b.goals_broken - a.goals_broken || a.id - b.id,
  change: (a, b) => a.last_change_ms - b.last_change_ms || a.id - b.id,
  stuck: (a, b) => b.flags.length - a.flags.length || a.last_change_ms - b.last_change_ms || a.id - b.id,
};

const FILTERS = {
  all: () => true,
  stuck: (l) => l.flags.length > 0,
  done: allMet,
  offline: (l) => !l.online,
};

/**
 * Draws the roster into `body`. `options`: room, spotlight (a learner id or null), now, stuckMinutes,
 * filter, sort, designText(l), proofText(l), proofClass(l), onSpotlight(l).
 */
export function renderRoster(body, learners, o) {
  const lines = learners.map((l) => ({ ...l, flags: stuckFlags(l, o.room, o.now, o.stuckMinutes) }));
  const shown = lines.filter(FILTERS[o.filter] ?? FILTERS.all).sort(SORTS[o.sort] ?? SORTS.joined);
  if (lines.length === 0) return replace(body, h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Nobody has joined yet.")));
  if (shown.length === 0) return replace(body, h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Nobody matches this filter.")));
  replace(body, ...shown.map((l) => {
    const spot = o.spotlight === l.id;
    const goals = l.goals_total ? `${l.goals_met} / ${l.goals_total}` : "–";
    const goalClass = l.goals_broken ? "goals goals--broken" : allMet(l) ? "goals goals--met" : "goals";
    const rowClass = [spot ? "roster__spot" : "", l.flags.length ? "roster__stuck" : ""].join(" ").trim() || undefined;
    return h("tr", { class: rowClass, dataset: { learner: String(l.id), stuck: String(l.flags.length > 0) } },
      h("td", {}, h("span", { class: l.online ? "dot dot--on" : "dot", title: l.online ? "connected" : "not connected" }), l.name),
      h("td", { class: goalClass }, goals),
      h("td", { class: "roster__design", title: o.designText(l) }, o.designText(l, false)),
      h("td", { class: o.proofClass(l), title: l.last_proof?.failing_goal ?? "" }, o.proofText(l)),
      h("td", {}, o.room?.hints_total ? `${l.hints_used} / ${o.room.hints_total}` : String(l.hints_used)),
      h("td", { class: "roster__flags" }, ...l.flags.map((f) => h("span", { class: "flag" }, f))),
      h("td", { class: "muted" }, l.last_change_ms ? `${ago(o.now - l.last_change_ms)} ago` : "–"),
      h("td", {}, h("button", {
        type: "button", class: "btn btn--small",
        "aria-label": `${spot ? "Unspotlight" : "Spotlight"} ${l.name}`,
        onclick: () => o.onSpotlight(l, !spot),
      }, spot ? "Unspotlight" : "Spotlight")));
  }));
}
