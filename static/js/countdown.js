// A countdown from a time left that the server sent: counted on this device's clock from the moment the
// message arrived, so a laptop whose clock is wrong still shows the right time left.

/** How often the shown time is brought up to date. */
const TICK_MS = 250;

/** `754000` → `"12:34"`; an hour or more → `"1:02:03"`. */
export function formatClock(ms) {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export class Countdown {
  /** `onTick(remainingMs)` runs now and on every tick while a timer runs; `onEnd()` once when it reaches 0. */
  constructor(onTick, onEnd = () => {}) {
    this.onTick = onTick;
    this.onEnd = onEnd;
    this.endsAt = null;
    this.interval = null;
  }

  /** Follows a server's timer view `{ remaining_ms, duration_ms, ended }`, or stops on null. */
  set(timer) {
    clearInterval(this.interval);
    this.interval = null;
    if (!timer) {
      this.endsAt = null;
      this.onTick(null);
      return;
    }
    this.endsAt = performance.now() + timer.remaining_ms;
    this.ended = false;
    this.tick();
    if (timer.remaining_ms > 0) this.interval = setInterval(() => this.tick(), TICK_MS);
  }

  remaining() {
    return this.endsAt === null ? null : Math.max(0, this.endsAt - performance.now());
  }

  tick() {
    const left = this.remaining();
    this.onTick(left);
    if (left === 0 && !this.ended) {
      this.ended = true;
      clearInterval(this.interval);
      this.interval = null;
      this.onEnd();
    }
  }
}
