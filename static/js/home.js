// The home page: marks the exercises this browser has done or proven, and points at the first one not done
// yet ("Start here": the very first exercise for a new visitor).
import { readProgress } from "./progress.js";

const cards = [...document.querySelectorAll(".exercise[data-exercise]")];
const progress = readProgress();

const mark = (card, text, kind) => {
  const badge = document.createElement("span");
  badge.className = `badge exercise__mark exercise__mark--${kind}`;
  badge.textContent = text;
  card.querySelector(".exercise__title")?.append(badge);
};

for (const card of cards) {
  const state = progress[card.dataset.exercise];
  if (state === "proven") mark(card, "✓ Proven", "proven");
  else if (state === "done") mark(card, "✓ Done", "done");
  card.classList.toggle("exercise--done", Boolean(state));
}
// Only an exercise that opens (a broken file without a good version has no link) can be the next one.
const next = cards.find((card) => !progress[card.dataset.exercise] && card.querySelector(".exercise__title a"));
if (next) {
  next.classList.add("exercise--next");
  mark(next, "Start here", "next");
  next.querySelector(".exercise__title a")?.setAttribute("aria-description", "Start here: the first exercise you have not done yet");
}
