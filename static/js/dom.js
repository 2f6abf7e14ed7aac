// Tiny DOM helpers. Text always goes in through textContent, never through HTML parsing, so whatever a
// learner typed (a key, a payload, an event type) is shown as text.

/** An HTML element: `h("li", { class: "x", onclick }, "text", child)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element; numbers are written as attributes. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** `1234` → `"1.2 s"`, `450` → `"450 ms"`. */
export function fmtMs(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** A size as people read it: `600000` → `"600 KB"`, `262144` → `"256 KiB"`, `180` → `"180 B"`. */
export function fmtBytes(n) {
  const whole = (v) => (Number.isInteger(v) ? `${v}` : v.toFixed(1));
  if (n >= 1048576 && n % 1048576 === 0) return `${n / 1048576} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  if (n >= 1e6) return `${whole(n / 1e6)} MB`;
  if (n >= 1000) return `${whole(Math.round(n / 100) / 10)} KB`;
  return `${n} B`;
}

/** Virtual time as the log shows it: seconds, to the millisecond. */
export function fmtAt(ms) {
  return (ms / 1000).toFixed(3);
}

/** The short form of a 16-hex message id. */
export function shortId(id) {
  return id ? id.slice(0, 8) : "";
}

/** Shows a short notice in the corner; errors stay a little longer. */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const ms = kind === "error" ? 7000 : 3500;
  // The same sentence again (three knobs applied in a row) refreshes the one shown instead of stacking.
  const same = [...box.children].find((t) => t.dataset.text === text);
  if (same) {
    clearTimeout(same.timer);
    same.timer = setTimeout(() => same.remove(), ms);
    return;
  }
  const item = h("div", { class: `toast toast--${kind}`, dataset: { text } }, text);
  box.append(item);
  while (box.children.length > 4) box.firstElementChild.remove();
  item.timer = setTimeout(() => item.remove(), ms);
}
