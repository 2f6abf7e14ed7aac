// One shape per message state, so a state reads without its colour: the moving dots and the legend draw
// the same glyphs. Each is centred on 0,0 and about 14 units across; colour comes from `currentColor`.
import { s } from "./dom.js";

/** The shape of each state, and what the legend calls it. */
export const GLYPHS = {
  flight: { label: "in flight", parts: () => [s("circle", { r: 6 })] },
  ok: { label: "done", parts: () => [s("circle", { r: 6.5 }), mark("M-3.2,0.2 L-0.8,2.6 L3.4,-2.4")] },
  retry: { label: "retry", parts: () => [s("path", { d: "M0,-7.5 L7.5,0 L0,7.5 L-7.5,0 Z" })] },
  dead: { label: "dead-lettered", parts: () => [s("rect", { x: -6, y: -6, width: 12, height: 12, rx: 1.5 }), mark("M-3,-3 L3,3 M3,-3 L-3,3")] },
  dup: { label: "duplicate", parts: () => [s("circle", { cx: -3, r: 5 }), s("circle", { cx: 3.5, r: 5 })] },
  order: { label: "out of order", parts: () => [s("path", { d: "M0,-7 L7.5,6 L-7.5,6 Z" })] },
  lost: { label: "lost", parts: () => [s("circle", { class: "glyph__hollow", r: 5.5 })] },
  poison: { label: "poison", parts: () => [s("path", { d: "M-3,-7 H3 L7,-3 V3 L3,7 H-3 L-7,3 V-3 Z" }), skull()] },
};

/** A stroke in the panel's colour over a filled shape: the check of "done", the cross of "dead". */
function mark(d) {
  return s("path", { class: "glyph__mark", d });
}

/** A small skull (two eyes and teeth) on the poison octagon. */
function skull() {
  return s("g", { class: "glyph__skull" },
    s("circle", { cx: -2.2, cy: -1, r: 1.4 }), s("circle", { cx: 2.2, cy: -1, r: 1.4 }),
    s("path", { d: "M-2.5,3 V4.5 M0,3 V4.5 M2.5,3 V4.5" }));
}

/** The glyph of `state` as an SVG group at 0,0 (`poison` draws the poison shape in the state's colour). */
export function glyph(state, poison = false) {
  const spec = poison ? GLYPHS.poison : GLYPHS[state] ?? GLYPHS.flight;
  return s("g", { class: `glyph glyph--${state}` }, ...spec.parts());
}

/** A 16-px inline SVG of a state's glyph, for the legend. */
export function legendIcon(state) {
  const poison = state === "poison";
  return s("svg", { class: "legend__glyph", viewBox: "-8 -8 16 16", width: 16, height: 16, "aria-hidden": "true" },
    glyph(poison ? "dead" : state, poison));
}
