// The shared stage as a learner sees it: the stage sandbox's instances and latest events (read-only over
// the WebSocket), and, once they volunteer, the message their own instance holds with ack/fail/offline.
// Every stage action is a POST with the learner's token; the server aims it at their instance only.
import { h, toast } from "./dom.js";
import { Socket } from "./socket.js";

const root = document.getElementById("stage");
if (root) start(root);

const MAX_EVENTS = 30;

function start(root) {
  const code = root.dataset.code;
  const token = localStorage.getItem(`eda-session-${code}`);
  const $ = (id) => document.getElementById(id);
  if (!token) {
    $("stage-auth").hidden = false;
    $("stage-status").textContent = "Not joined.";
    return;
  }
  let names = [];
  let metrics = null;
  let mine = null;
  let held = null;
  const events = [];

  const post = async (body) => {
    const res = await fetch(`/api/sessions/${code}/stage`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.error || `The server said ${res.status}.`);
    return answer;
  };
  const run = async (body) => {
    try {
      const outcome = await post(body);
      mine = outcome.instance === null || body.action === "leave" ? null : { consumer: outcome.consumer, instance: outcome.instance };
      $("stage-outcome").textContent = body.action === "leave" ? "You went offline: what you held goes back to the queue."
        : body.action === "volunteer" ? `You are instance ${outcome.instance} of ${outcome.consumer}.` : "Done.";
    } catch (error) {
      $("stage-outcome").textContent = error.message;
      toast(error.message, "error");
    }
    render();
  };

  $("volunteer").addEventListener("submit", (e) => {
    e.preventDefault();
    run({ action: "volunteer", consumer: $("consumer").value });
  });
  $("btn-ack").addEventListener("click", () => held && run({ action: "settle", message: held, outcome: "ack" }));
  $("btn-fail").addEventListener("click", () => held && run({ action: "settle", message: held, outcome: "fail" }));
  $("btn-leave").addEventListener("click", () => run({ action: "leave" }));

  const render = () => {
    $("me").hidden = Boolean(mine);
    $("holding").hidden = !mine;
    held = null;
    if (mine && metrics) {
      const c = metrics.consumers.find((x) => names[x.consumer] === mine.consumer);
      const inst = c?.instances[mine.instance];
      held = inst?.holding ?? null;
      $("my-instance").textContent = `${mine.consumer} #${mine.instance}`;
      $("held").textContent = inst?.status === "crashed" ? "Your instance is offline."
        : held ? `You hold message ${held}. Ack it when “processed”, or fail it.` : "Waiting for a message…";
    }
    $("btn-ack").disabled = !held;
    $("btn-fail").disabled = !held;
    if (!metrics) return;
    $("instances").replaceChildren(...metrics.consumers.map((c) => h("div", { class: "instances__consumer" },
      h("h3", {}, names[c.consumer] ?? `consumer ${c.consumer}`),
      h("ul", {}, ...c.instances.map((i, n) => h("li", {
        class: `inst inst--${i.status}${i.manual ? " inst--person" : ""}${mine && names[c.consumer] === mine.consumer && mine.instance === n ? " inst--mine" : ""}`,
      }, `#${n} ${i.manual ? "person" : "program"} · ${i.status}${i.holding ? ` · holding ${i.holding}` : ""}`))))));
    $("events").replaceChildren(...events.map((e) => h("li", {}, `${(e.at / 1000).toFixed(1)} s  ${e.kind?.type ?? e.type ?? "event"}`)));
  };

  const onMessage = (m) => {
    if (m.type === "snapshot") {
      names = m.topology.consumers.map((c) => c.name);
      const select = $("consumer");
      select.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
      events.length = 0;
    }
    if (m.type === "snapshot" || m.type === "frame") {
      metrics = m.metrics;
      for (const e of m.events) events.unshift(e);
      events.length = Math.min(events.length, MAX_EVENTS);
      $("stage-status").textContent = `Live · ${(m.at / 1000).toFixed(1)} s${m.paused ? " · paused" : ""}`;
      render();
    } else if (m.type === "notice") toast(m.message);
  };

  fetch(`/api/sessions/${code}/me`, { method: "POST", headers: { Authorization: `Bearer ${token}` } }).then((res) => {
    if (!res.ok) {
      $("stage-auth").hidden = false;
      return;
    }
    new Socket(`/ws/sessions/${code}/stage`, {
      onMessage,
      onStatus: (s) => { if (s !== "live") $("stage-status").textContent = s === "gone" ? "The stage closed: reload the page." : "Connecting…"; },
    });
  });
}
