// The room's countdown on a learner's page, when the facilitator shows it: a small clock in the run bar's
// corner that turns to "Time is up" at the end. The server sends `{"type":"timer","timer":…}`.
import { h } from "./dom.js";
import { Countdown, formatClock } from "./countdown.js";

let box = null;
const countdown = new Countdown((left) => {
  if (left === null) {
    box?.remove();
    box = null;
    return;
  }
  if (!box) {
    box = h("p", { class: "room-timer", role: "timer", "aria-label": "Time left for this exercise" });
    // Styled here (through the CSSOM, which the page's policy allows) so the playground's sheet stays the
    // playground's: this only appears in a workshop session.
    Object.assign(box.style, {
      position: "fixed", right: "1rem", bottom: "1rem", zIndex: "30", margin: "0", padding: ".35rem .8rem",
      borderRadius: "8px", border: "1px solid var(--border)", background: "var(--surface)", color: "var(--text)",
      font: "700 1.1rem var(--mono)", boxShadow: "var(--shadow)",
    });
    document.body.append(box);
  }
  box.style.borderColor = left === 0 ? "#d93025" : "var(--border)";
  box.style.borderWidth = left === 0 ? "3px" : "1px";
  box.textContent = left === 0 ? "Time is up" : `${formatClock(left)} left`;
});

/** Shows, updates or hides the countdown from a `timer` message. */
export function showTimer(message) {
  countdown.set(message.timer ?? null);
}
