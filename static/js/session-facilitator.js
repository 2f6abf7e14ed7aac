// The facilitator dashboard: the token comes from the private link's fragment (never sent to the server
// by the browser), is kept in this browser, and goes out as a bearer header on every action. The roster
// and the room's aggregate arrive over a WebSocket: everything on connect, then changed lines with the
// aggregate after the change.
import { h, replace } from "./dom.js";
import { FAULTS, TARGET_LABELS, faultCommand } from "./faults.js";
import { Countdown, formatClock } from "./countdown.js";
import { renderDesigns, renderGoals, renderTotals } from "./session-room.js";
import { renderRoster } from "./session-roster.js";
import { Debrief } from "./session-debrief.js";

/** How often the roster's times and idle flags are brought up to date without a message. */
const REFRESH_MS = 1000;
/** Minutes added by "5 more minutes". */
const EXTRA_MINUTES = 5;
/** Below this much time left the clock turns red. */
const LOW_MS = 60000;

const root = document.getElementById("dashboard");
if (root) start(root);

function start(root) {
  const code = root.dataset.code;
  const storeKey = `eda-facilitator-${code}`;
  const $ = (id) => document.getElementById(id);
  if (location.hash.length > 1) {
    localStorage.setItem(storeKey, location.hash.slice(1));
    // Off the address bar, which is on the projector.
    history.replaceState(null, "", location.pathname);
  }
  const token = localStorage.getItem(storeKey);
  if (!token) {
    $("auth").hidden = false;
    return;
  }
  const learners = new Map();
  let session = null;
  let room = null;
  let expanded = null;
  let exerciseShown = null;
  const info = exercisesInfo();

  const say = (text) => { $("outcome").textContent = text; };
  const post = async (path, body) => {
    const res = await fetch(path, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (res.status === 401 || res.status === 403) $("auth").hidden = false;
    if (!res.ok) throw new Error(answer.error || `The server said ${res.status}.`);
    return answer;
  };
  const act = async (action) => {
    try {
      say((await post(`/api/sessions/${code}/actions`, action)).message);
    } catch (error) {
      say(error.message);
    }
  };

  for (const button of root.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      const type = button.dataset.action;
      if (type === "end" && !confirm("End the session for everyone?")) return;
      if (type === "pause_all" && session?.paused) return act({ type: "resume_all" });
      if (type === "push_exercise" || type === "open_stage") return act({ type, exercise: $("exercise").value });
      act({ type });
    });
  }

  // Faults: the same list as the playground's, aimed at a consumer, channel or service chosen from the
  // room's exercise.
  replace($("fault-kind"), ...["consumer", "channel", "service", "broker"].map((target) =>
    h("optgroup", { label: `On ${TARGET_LABELS[target]}` },
      ...FAULTS.filter((f) => f.target === target).map((f) => h("option", { value: f.id }, f.label)))));
  const fillTargets = () => {
    const fault = FAULTS.find((f) => f.id === $("fault-kind").value);
    const names = fault.target === "broker" ? [] : info(session?.exercise)[`${fault.target}s`] ?? [];
    const select = $("fault-target");
    const keep = select.value;
    replace(select, ...names.map((name) => h("option", { value: name }, name)));
    if (names.includes(keep)) select.value = keep;
    select.disabled = fault.target === "broker";
    if (fault.target === "broker") replace(select, h("option", { value: "" }, "the broker"));
  };
  $("fault-kind").addEventListener("change", fillTargets);
  $("fault").addEventListener("submit", (e) => {
    e.preventDefault();
    const fault = FAULTS.find((f) => f.id === $("fault-kind").value);
    const command = faultCommand(fault.id, { [fault.target]: $("fault-target").value });
    if (!command) return say(`This exercise has no ${TARGET_LABELS[fault.target]} to aim at.`);
    act({ type: "fault", command });
  });

  // Results: a plain link the cookie authenticates; names only when ticked.
  const resultsLinks = () => {
    const names = $("results-names").checked ? "?names=true" : "";
    $("results-csv").href = `/api/sessions/${code}/results.csv${names}`;
    $("results-json").href = `/api/sessions/${code}/results.json${names}`;
  };
  $("results-names").addEventListener("change", resultsLinks);

  // The roster's view settings are this browser's.
  const stuckKey = "eda-stuck-minutes";
  $("stuck-minutes").value = localStorage.getItem(stuckKey) ?? $("stuck-minutes").value;
  const stuckMinutes = () => {
    const value = Number($("stuck-minutes").value);
    return Number.isFinite(value) && value > 0 ? value : 5;
  };
  $("stuck-minutes").addEventListener("change", () => {
    localStorage.setItem(stuckKey, String(stuckMinutes()));
    render();
  });
  for (const id of ["roster-filter", "roster-sort"]) $(id).addEventListener("change", () => render());

  // A learner's Design as it differs from the default, in the labels the learner saw: the options in
  // short, and with each knob's question in full (the roster shows the short form, with the long one as
  // its tooltip).
  const designText = (l, full = true) => {
    const entries = Object.entries(l.design ?? {});
    if (!entries.length) return "default";
    const knobs = info(l.exercise).knobs;
    const option = (knob, id) => knobs[knob]?.options?.[id] ?? id;
    return full
      ? entries.map(([knob, id]) => `${knobs[knob]?.label ?? knob}: ${option(knob, id)}`).join("; ")
      : entries.map(([knob, id]) => option(knob, id)).join(" · ");
  };
  const proofText = (l) => {
    const p = l.last_proof;
    if (!p) return "–";
    return p.passed === p.seeds ? `${p.passed}/${p.seeds} ✓` : `${p.passed}/${p.seeds}`;
  };
  const proofClass = (l) => {
    const p = l.last_proof;
    if (!p) return "muted";
    return p.passed === p.seeds ? "goals goals--met" : "goals goals--broken";
  };
  const spotlight = (l, on) => act({ type: "spotlight", learner: on ? l.id : null });

  // Timer: started from the exercise's minutes unless the facilitator types others.
  const countdown = new Countdown((left) => {
    const clock = left === null ? "–:––" : formatClock(left);
    $("timer-clock").textContent = clock;
    $("timer-clock").classList.toggle("dash-timer__clock--low", left !== null && left < LOW_MS);
    $("debrief-clock").textContent = left === null ? "" : left === 0 ? "Time is up" : `${clock} left`;
  }, () => {
    $("timeup-exercise").textContent = room?.title ?? session?.exercise ?? "this exercise";
    $("timeup").hidden = false;
  });
  $("timer-start").addEventListener("click", () => {
    const minutes = Number($("timer-minutes").value);
    act({ type: "start_timer", minutes: Number.isFinite(minutes) && minutes > 0 ? minutes : undefined });
  });
  $("timer-stop").addEventListener("click", () => act({ type: "stop_timer" }));
  $("timer-learners").addEventListener("change", (e) => act({ type: "show_timer", to_learners: e.target.checked }));
  $("timeup-more").addEventListener("click", () => act({ type: "start_timer", minutes: EXTRA_MINUTES }));

  const debrief = new Debrief({ designText, proofText, spotlightHref: `/sessions/${code}/spotlight` });
  debrief.onChange = () => render();
  $("debrief-open").addEventListener("click", () => debrief.show());
  $("timeup-debrief").addEventListener("click", () => {
    $("timeup").hidden = true;
    debrief.show();
  });

  const pick = (knob, option) => {
    const same = expanded && expanded.knob === knob.id && expanded.option === option.id;
    expanded = same ? null : { knob: knob.id, option: option.id };
    render();
  };
  const renderWho = () => {
    const box = $("design-who");
    const knob = expanded && room?.knobs.find((k) => k.id === expanded.knob);
    const option = knob?.options.find((o) => o.id === expanded.option);
    if (!option) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const who = option.learners.map((id) => learners.get(id)).filter(Boolean);
    replace(box,
      h("p", {}, h("strong", {}, `${knob.label}: ${option.label}`), ` · chosen by ${who.length}`),
      who.length
        ? h("ul", {}, ...who.map((l) => h("li", {}, l.name, h("button", {
          type: "button", class: "btn btn--small", "aria-label": `Spotlight ${l.name}`,
          onclick: () => spotlight(l, true),
        }, session?.spotlight === l.id ? "In the spotlight" : "Spotlight"))))
        : h("p", { class: "muted" }, "Nobody chose this."));
  };

  const renderSession = () => {
    if (!session) return;
    $("count").textContent = String(session.learners);
    $("summary").textContent = `${session.learners} of ${session.max_learners}`
      + (session.paused ? " · paused" : "")
      + (session.spotlight !== null ? ` · spotlight on ${learners.get(session.spotlight)?.name ?? "someone"}` : "");
    $("bar-exercise").textContent = info(session.exercise).title ?? session.exercise;
    $("btn-pause").textContent = session.paused ? "Resume everyone" : "Pause everyone";
    if (exerciseShown !== session.exercise) {
      exerciseShown = session.exercise;
      $("exercise").value = session.exercise;
      $("timer-minutes").value = String(info(session.exercise).minutes ?? 15);
      expanded = null;
      fillTargets();
    }
    $("timer-learners").checked = session.timer_for_learners;
    $("timer-stop").hidden = !session.timer;
    const left = countdown.remaining();
    if (left === null || left > 0) $("timeup").hidden = true;
  };
  const render = () => {
    renderSession();
    renderTotals($("totals"), room);
    renderGoals($("goal-bars"), room);
    renderDesigns($("designs"), room, { onPick: pick, expanded });
    renderWho();
    renderRoster($("roster"), [...learners.values()], {
      room, spotlight: session?.spotlight ?? null, now: Date.now(), stuckMinutes: stuckMinutes(),
      filter: $("roster-filter").value, sort: $("roster-sort").value,
      designText, proofText, proofClass, onSpotlight: spotlight,
    });
    debrief.render({ session, room, learners });
  };

  const connect = async () => {
    try {
      // The cookie the dashboard socket, the spotlight page and the results links authenticate with.
      await post(`/api/sessions/${code}/facilitator`);
    } catch (error) {
      say(error.message);
      return;
    }
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + `/ws/sessions/${code}/dashboard`);
    ws.addEventListener("message", (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m.type === "roster") {
        setSession(m.session);
        room = m.room ?? null;
        learners.clear();
        for (const l of m.learners) learners.set(l.id, l);
        $("store").hidden = !m.store_error;
        $("store").textContent = m.store_error || "";
      } else if (m.type === "learners") {
        for (const l of m.learners) learners.set(l.id, l);
        room = m.room ?? room;
      } else if (m.type === "session") {
        setSession(m.session);
      } else if (m.type === "notice") {
        say(m.message);
        if (m.error) { $("store").hidden = false; $("store").textContent = m.message; }
      }
      render();
    });
    ws.addEventListener("close", () => setTimeout(connect, 2000));
  };
  const setSession = (next) => {
    const timerChanged = JSON.stringify(next.timer) !== JSON.stringify(session?.timer);
    session = next;
    if (timerChanged) countdown.set(session.timer);
  };
  connect();
  setInterval(render, REFRESH_MS);
}

/** What each exercise offers the dashboard: title, minutes, consumers, channels, services and knob labels. */
function exercisesInfo() {
  let all = {};
  try {
    all = JSON.parse(document.getElementById("fault").dataset.exercises || "{}");
  } catch {
    all = {};
  }
  return (exercise) => all[exercise] ?? { consumers: [], channels: [], services: [], knobs: {} };
}
