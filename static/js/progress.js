// What this browser has achieved, kept in `localStorage` only: exercise id → "done" (every goal met at the
// end of a run) or "proven" (a proof passed on every seed). The home page marks its cards from it.

/** `localStorage` key of the progress record. */
export const PROGRESS_KEY = "eda-progress";

export function readProgress() {
  try {
    const value = JSON.parse(localStorage.getItem(PROGRESS_KEY) || "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** Records `level` ("done" or "proven") unless the exercise already has the better mark. */
export function markProgress(exercise, level) {
  if (!exercise) return;
  const progress = readProgress();
  if (progress[exercise] === "proven" && level === "done") return;
  progress[exercise] = level;
  try {
    localStorage.setItem(PROGRESS_KEY, JSON.stringify(progress));
  } catch {
    // Storage full or disabled: the marks are a convenience, the run is unaffected.
  }
}
