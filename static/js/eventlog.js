// The live event log: newest first, filtered by message id, correlation id or key, capped to what a
// person can read. Rebuilt at most a few times a second, whatever the event rate.
import { h, fmtAt, shortId } from "./dom.js";
import { classOf, describe, isProblem, tagOf, Names } from "./events.js";

/** Rows drawn at once when the run is paused; the rest are counted, not drawn. */
export const MAX_ROWS = 250;
/** Rows drawn while the run plays: at 16× thousands of events a second arrive, and building 250 rows
 * every redraw took 60 ms; nobody reads that fast, and pausing shows all 250. */
export const LIVE_ROWS = 80;
/** Minimum wall-clock time between two redraws of the list. */
const REDRAW_MS = 250;
/** Keys that move the focus inside the log, and by how many rows. */
const MOVES = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 };

export class EventLog {
  constructor(store, { onSelect }) {
    this.store = store;
    this.onSelect = onSelect;
    this.list = document.getElementById("log");
    this.filter = document.getElementById("log-filter");
    this.problems = document.getElementById("log-problems");
    this.count = document.getElementById("log-count");
    this.selected = null;
    this.pending = false;
    this.last = 0;
    this.countText = "";
    this.held = false;
    this.filter.addEventListener("input", () => this.render());
    this.problems.addEventListener("change", () => this.render());
    // While the pointer or focus is on the list it holds still, so a row does not move away under a click.
    const hold = (on) => {
      this.held = on;
      if (!on) this.schedule();
      this.count.textContent = on ? `${this.countText} · held` : this.countText;
    };
    this.list.addEventListener("pointerenter", () => hold(true));
    this.list.addEventListener("pointerleave", () => hold(this.list.contains(document.activeElement)));
    this.list.addEventListener("focusin", () => hold(true));
    this.list.addEventListener("focusout", (e) => hold(this.list.contains(e.relatedTarget) || this.list.matches(":hover")));
    // One tab stop for the whole log; the arrow keys (and Home, End, Page Up, Page Down) move inside it.
    this.list.addEventListener("keydown", (e) => this.move(e));
  }

  move(e) {
    const buttons = [...this.list.querySelectorAll(".log__msg")];
    const at = buttons.indexOf(document.activeElement);
    if (at < 0 || !buttons.length) return;
    let to;
    if (e.key in MOVES) to = Math.max(0, Math.min(buttons.length - 1, at + MOVES[e.key]));
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = buttons.length - 1;
    else return;
    e.preventDefault();
    this.focusRow(buttons, to);
    buttons[to].focus();
  }

  /** Makes `buttons[index]` the log's one tab stop. */
  focusRow(buttons, index) {
    buttons.forEach((b, i) => { b.tabIndex = i === index ? 0 : -1; });
  }

  /** Shows only what concerns `text` (a message id, a correlation id or a key). */
  setFilter(text) {
    this.filter.value = text;
    this.render();
  }

  select(id) {
    this.selected = id;
    for (const li of this.list.children) li.classList.toggle("is-selected", li.dataset.message === id);
  }

  schedule() {
    if (this.pending || this.held) return;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - this.last));
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.render();
    }, wait);
  }

  matches(ev, needle) {
    if (!needle) return true;
    const id = ev.message ?? ev.request ?? ev.messages?.[0]; // an alert links the oldest message waiting
    if (id && id.startsWith(needle)) return true;
    if (ev.key && ev.key.toLowerCase().includes(needle)) return true;
    const msg = id && this.store.message(id);
    if (!msg) return false;
    return (msg.correlation_id || "").startsWith(needle) || msg.key.toLowerCase().includes(needle);
  }

  /** Draws the rows. While the filter stays the same only the events new since the last draw become
   * rows, put on top, and the oldest rows go: rebuilding 250 rows at 16× speed held the page up for
   * 60 ms at a time. A snapshot, or a filter change, draws the whole list again. */
  render() {
    this.last = performance.now();
    const needle = this.filter.value.trim().toLowerCase();
    const onlyProblems = this.problems.checked;
    const names = new Names(this.store.topology);
    const events = this.store.events;
    const cap = this.store.paused ? MAX_ROWS : LIVE_ROWS;
    const key = `${needle}\u0000${onlyProblems}\u0000${cap}`;
    const since = key === this.key && this.newest ? events.lastIndexOf(this.newest) : -1;
    const rows = [];
    let matched = 0;
    for (let i = events.length - 1; i > since; i--) {
      const ev = events[i];
      if (onlyProblems && !isProblem(ev)) continue;
      if (!this.matches(ev, needle)) continue;
      matched += 1;
      if (rows.length < cap) rows.push(this.row(ev, names));
    }
    if (since >= 0) {
      this.list.prepend(...rows);
      while (this.list.children.length > cap) this.list.lastElementChild.remove();
      this.matched += matched;
    } else {
      this.list.replaceChildren(...rows);
      this.matched = matched;
    }
    this.key = key;
    this.newest = events[events.length - 1] ?? null;
    const buttons = [...this.list.querySelectorAll(".log__msg")];
    const focusable = buttons.findIndex((b) => b.tabIndex === 0 && since >= 0);
    const selected = buttons.findIndex((b) => b.closest("li").dataset.message === this.selected);
    this.focusRow(buttons, focusable >= 0 ? focusable : Math.max(0, selected));
    this.countText = this.matched > cap ? `latest ${cap} of ${this.matched}` : `${this.matched} events`;
    this.count.textContent = this.countText;
  }


  row(ev, names) {
    const id = ev.message ?? ev.request ?? ev.messages?.[0]; // an alert links the oldest message waiting
    const msg = id ? this.store.message(id) : null;
    const cls = classOf(ev);
    const li = h("li", { dataset: id ? { message: id } : {}, class: id && id === this.selected ? "is-selected" : null },
      h("span", { class: "log__at" }, fmtAt(ev.at)),
      h("span", { class: `tag tag--${cls}` }, tagOf(ev)),
      h("span", { class: "log__text", title: describe(ev, names, msg) }, describe(ev, names, msg)),
      id
        ? h("button", { type: "button", class: "linkish log__msg", title: `Follow message ${id}`, onclick: () => this.onSelect(id) },
          `${shortId(id)} ${msg && msg.key !== "?" ? msg.key : ""}`)
        : h("span"));
    return li;
  }
}
