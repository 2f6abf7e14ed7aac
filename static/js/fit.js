// Text that fits its box: SVG text does not wrap or clip, so a label longer than its node would run past
// the border and onto its neighbours. These cut a label with an ellipsis, measured in the drawing's own
// units, and keep the whole text in a tooltip.
import { s } from "./dom.js";

/** Characters a cut label keeps at least, so it still says something. */
const MIN_CHARS = 3;

/** Sets `el`'s text to `text`, cut with "…" to at most `width` units; the full text goes in its tooltip. */
export function fitText(el, text, width) {
  if (el.dataset.full === text && el.dataset.width === String(width)) return;
  el.dataset.full = text;
  el.dataset.width = String(width);
  el.textContent = text;
  if (width <= 0 || el.getComputedTextLength() <= width) return;
  // Binary search on the number of characters kept: each measure lays the text out once.
  let lo = MIN_CHARS;
  let hi = text.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    el.textContent = `${text.slice(0, mid)}…`;
    if (el.getComputedTextLength() <= width) lo = mid;
    else hi = mid - 1;
  }
  el.textContent = `${text.slice(0, lo)}…`;
  el.append(s("title", {}, text));
}

/** Shows the first of `candidates` (longest first) that fits `width`; the last one is cut if none does. */
export function fitFirst(el, candidates, width) {
  const key = candidates.join("\u0000");
  if (el.dataset.candidates === key && el.dataset.width === String(width)) return;
  el.dataset.candidates = key;
  for (const text of candidates.slice(0, -1)) {
    el.textContent = text;
    if (el.getComputedTextLength() <= width) {
      el.dataset.width = String(width);
      el.append(s("title", {}, candidates[0]));
      return;
    }
  }
  delete el.dataset.full; // the loop above changed the text: fit it again
  fitText(el, candidates[candidates.length - 1], width);
}

/** Fits a line of `<tspan>`s: the first span (a label) is cut first, then the last spans give way. The
 * spans are in order of importance, so what is dropped is what matters least. */
export function fitSpans(el, width) {
  const spans = [...el.querySelectorAll("tspan")];
  const full = el.textContent;
  if (!spans.length || el.getComputedTextLength() <= width) return;
  const first = spans[0];
  const label = first.textContent;
  let cut = label.length;
  while (el.getComputedTextLength() > width && cut > MIN_CHARS + 1) {
    cut -= 1;
    first.textContent = `${label.slice(0, cut)}…`;
  }
  while (el.getComputedTextLength() > width && el.querySelectorAll("tspan").length > 1) {
    el.lastElementChild.remove();
  }
  el.append(s("title", {}, full));
}
