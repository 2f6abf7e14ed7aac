// Who made each fault happen: you (this page sent it), your facilitator (a fault for the whole room), or
// the exercise (scheduled in its scenario). The server's trace says what happened; this page knows what it
// sent and hears when a facilitator acts, so the log, the journey and the timeline can say who did it.

/** Commands sent but not yet seen in the trace; the oldest is forgotten first. */
const MAX_PENDING = 64;
/** Who did it, as the log and the timeline say it. */
export const ORIGIN_TEXT = { you: "you", facilitator: "your facilitator", exercise: "scheduled by the exercise" };

export class FaultOrigins {
  constructor() {
    /** Commands this page sent, waiting for their `fault` event. */
    this.pending = [];
    /** Facilitator faults announced and not yet seen in the trace. */
    this.announced = 0;
    /** Faults known to be the facilitator's, by time and label: kept across rebuilds of the run. */
    this.byFacilitator = new Set();
  }

  /** This page sent `command`. */
  sent(command) {
    this.pending.push(signature(command));
    if (this.pending.length > MAX_PENDING) this.pending.shift();
  }

  /** A facilitator's fault for the whole room is on its way. */
  facilitator() {
    this.announced += 1;
  }

  /** Sets `origin` on each `fault` event of a frame. `logged`: the run's command log (a snapshot's). */
  observe(events, logged = null) {
    for (const ev of events) {
      if (ev.type !== "fault") continue;
      const sig = signature(ev.command);
      const key = `${ev.at}:${ev.label}`;
      const mine = this.pending.indexOf(sig);
      if (ev.command?.kind === "set_design" && !this.byFacilitator.has(key)) {
        // A design change is the learner's Design, whether chosen now or applied at 0 s on a restart.
        if (mine >= 0) this.pending.splice(mine, 1);
        ev.origin = "you";
      } else if (this.byFacilitator.has(key)) {
        ev.origin = "facilitator";
      } else if (mine >= 0) {
        this.pending.splice(mine, 1);
        ev.origin = "you";
      } else if (this.announced > 0 && !logged) {
        this.announced -= 1;
        this.byFacilitator.add(key);
        ev.origin = "facilitator";
      } else if (logged?.some((c) => c.at === ev.at && signature(c.command) === sig)) {
        ev.origin = "you";
      } else if (logged || !ev.origin) {
        ev.origin = "exercise";
      }
    }
  }

  /** Copies each fault's origin onto its timeline marker (same time, same label). */
  markOrigins(markers, events) {
    const origins = new Map(events.filter((e) => e.type === "fault").map((e) => [`${e.at}:${e.label}`, e.origin]));
    for (const m of markers) m.origin = origins.get(`${m.at}:${m.label}`) ?? m.origin;
  }
}

/** What a command does and to what: enough to match it with the fault event it caused. */
function signature(command) {
  if (!command) return "";
  return `${command.kind}:${command.consumer ?? command.channel ?? command.service ?? ""}`;
}
