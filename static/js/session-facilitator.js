// The facilitator dashboard: the token comes from the private link's fragment (never sent to the server
// by the browser), is kept in this browser, and goes out as a bearer header on every action. The roster
// arrives over a WebSocket: the whole roster on connect, then changed lines.
import { h, toast } from "./dom.js";

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
  let exerciseShown = false;

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
      const outcome = await post(`/api/sessions/${code}/actions`, action);
      $("outcome").textContent = outcome.message;
    } catch (error) {
      $("outcome").textContent = error.message;
      toast(error.message, "error");
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
  $("fault").addEventListener("submit", (e) => {
    e.preventDefault();
    const kind = $("fault-kind").value;
    const consumer = $("fault-target").value;
    const command = { kind };
    if (kind === "restart_broker") command.downtime_ms = 3000;
    else {
      if (!consumer) return toast("This exercise has no consumer to aim at.", "error");
      command.consumer = consumer;
      if (kind === "dependency_outage") command.duration_ms = 10000;
    }
    act({ type: "fault", command });
  });

  const ago = (ms) => {
    if (!ms) return "–";
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
  };
  const renderSession = () => {
    if (!session) return;
    $("count").textContent = String(session.learners);
    $("summary").textContent = `${session.learners} of ${session.max_learners} · ${session.exercise}`
      + (session.paused ? " · paused" : "")
      + (session.spotlight !== null ? ` · spotlight on #${session.spotlight}` : "");
    $("btn-pause").textContent = session.paused ? "Resume everyone" : "Pause everyone";
    if (!exerciseShown) {
      $("exercise").value = session.exercise;
      exerciseShown = true;
    }
    fillConsumers(session.exercise);
  };
  const renderRoster = () => {
    const body = $("roster");
    if (learners.size === 0) return;
    body.replaceChildren(
      ...[...learners.values()].map((l) => {
        const goals = l.goals_total ? `${l.goals_met} / ${l.goals_total}` : "–";
        const spot = session?.spotlight === l.id;
        return h("tr", { class: spot ? "roster__spot" : undefined, dataset: { learner: String(l.id) } },
          h("td", {}, h("span", { class: l.online ? "dot dot--on" : "dot", title: l.online ? "connected" : "not connected" }), l.name),
          h("td", {}, l.exercise),
          h("td", { class: l.goals_broken ? "goals goals--broken" : l.goals_total && l.goals_met === l.goals_total ? "goals goals--met" : "goals" }, goals),
          h("td", { class: "roster__design" }, designText(l.design, l.exercise)),
          h("td", { class: proofClass(l.last_proof), title: l.last_proof?.failing_goal ?? "" }, proofText(l.last_proof)),
          h("td", {}, String(l.hints_used)),
          h("td", { class: "muted" }, ago(l.last_activity_ms)),
          h("td", {}, h("button", {
            type: "button", class: "btn btn--small",
            onclick: () => act({ type: "spotlight", learner: spot ? null : l.id }),
          }, spot ? "Unspotlight" : "Spotlight")));
      }),
    );
  };

  const connect = async () => {
    try {
      // The cookie the dashboard socket and the spotlight page authenticate with.
      await post(`/api/sessions/${code}/facilitator`);
    } catch (error) {
      $("outcome").textContent = error.message;
      return;
    }
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + `/ws/sessions/${code}/dashboard`);
    ws.addEventListener("message", (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m.type === "roster") {
        session = m.session;
        learners.clear();
        for (const l of m.learners) learners.set(l.id, l);
        $("store").hidden = !m.store_error;
        $("store").textContent = m.store_error || "";
      } else if (m.type === "learners") {
        for (const l of m.learners) learners.set(l.id, l);
      } else if (m.type === "session") {
        session = m.session;
      } else if (m.type === "notice") {
        toast(m.message, m.error ? "error" : undefined);
        if (m.error) { $("store").hidden = false; $("store").textContent = m.message; }
      }
      renderSession();
      renderRoster();
    });
    ws.addEventListener("close", () => setTimeout(connect, 2000));
  };
  connect();
  setInterval(renderRoster, 10000);
}

/** What each exercise offers the dashboard: its consumers and its knobs' labels (see the page's data). */
let exercisesInfo = null;
function exerciseInfo(exercise) {
  if (!exercisesInfo) {
    try {
      exercisesInfo = JSON.parse(document.getElementById("fault").dataset.exercises || "{}");
    } catch {
      exercisesInfo = {};
    }
  }
  return exercisesInfo[exercise] ?? { consumers: [], knobs: {} };
}

/** A learner's Design as it differs from the exercise's default, in the labels the learner saw:
 * "How billing recognises a message: By order (business key)", or "default". */
function designText(design, exercise) {
  const entries = Object.entries(design ?? {});
  if (!entries.length) return "default";
  const knobs = exerciseInfo(exercise).knobs;
  return entries
    .map(([knob, option]) => `${knobs[knob]?.label ?? knob}: ${knobs[knob]?.options?.[option] ?? option}`)
    .join("; ");
}

/** The learner's last proof: "100/100 ✓", "62/100", or "–" when they have not proven anything yet. */
function proofText(proof) {
  if (!proof) return "–";
  return proof.passed === proof.seeds ? `${proof.passed}/${proof.seeds} ✓` : `${proof.passed}/${proof.seeds}`;
}

function proofClass(proof) {
  if (!proof) return "muted";
  return proof.passed === proof.seeds ? "goals goals--met" : "goals goals--broken";
}

/** The fault form's consumers: those of the room's exercise, chosen from a list rather than typed. */
let consumersShownFor = null;
function fillConsumers(exercise) {
  if (consumersShownFor === exercise) return;
  consumersShownFor = exercise;
  const select = document.getElementById("fault-target");
  select.replaceChildren(...exerciseInfo(exercise).consumers.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    return option;
  }));
}
