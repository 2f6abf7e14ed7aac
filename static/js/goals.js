// The exercise's goals, live: pending, met or broken with the reason and the message that broke it.
import { h, replace, shortId } from "./dom.js";

const ICON = { pending: "○", met: "✓", broken: "✗" };
const WORD = { pending: "pending", met: "met", broken: "broken" };

export class Goals {
  constructor(store, { onSelect }) {
    this.store = store;
    this.onSelect = onSelect;
    this.el = document.getElementById("goals");
    this.lastKey = "";
  }

  render() {
    const goals = this.store.goals;
    const key = JSON.stringify(goals);
    if (key === this.lastKey) return;
    this.lastKey = key;
    if (!goals.length) {
      replace(this.el, h("li", { class: "goal goal--pending" }, h("span", { class: "goal__text" }, "This exercise has no goals: explore freely.")));
      return;
    }
    replace(this.el, ...goals.map((g) => h("li", { class: `goal goal--${g.state}`, dataset: { goal: g.id, state: g.state } },
      h("span", { class: "goal__icon", "aria-hidden": "true" }, ICON[g.state] ?? "?"),
      h("span", { class: "goal__text" }, h("span", { class: "visually-hidden" }, `${WORD[g.state] ?? g.state}: `), g.description),
      g.reason ? h("span", { class: "goal__reason" }, g.reason) : null,
      g.message
        ? h("button", { type: "button", class: "linkish goal__link", onclick: () => this.onSelect(g.message) }, `Show message ${shortId(g.message)}`)
        : null)));
  }
}
