// The playground page: connects to the sandbox named in `data-ws`, keeps a Store of what the server sends,
// and redraws the views from it. Loaded only on /exercises/{id}.
import { h, toast, fmtMs } from "./dom.js";
import { Store } from "./state.js";
import { Socket } from "./socket.js";
import { TopologyView } from "./topology.js";
import { Animator, RetryClocks } from "./animate.js";
import { EventLog } from "./eventlog.js";
import { Timeline } from "./timeline.js";
import { Goals } from "./goals.js";
import { Controls, setupTabs } from "./controls.js";
import { DesignPanel, parseKnobs } from "./design.js";
import { BillView } from "./bill.js";
import { GLYPHS, legendIcon } from "./glyphs.js";
import { FaultOrigins } from "./origins.js";
import { LostList } from "./lost.js";
import { lazy } from "./lazy.js";

const root = document.getElementById("playground");
if (root) start(root);

function start(root) {
  const store = new Store();
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let selectedConsumer = 0;
  let lastFrameAt = 0;
  const send = (msg) => {
    if (!socket || !socket.send(msg)) toast("Not connected to the sandbox; retrying…", "error");
  };
  const origins = new FaultOrigins();
  const command = (cmd) => {
    origins.sent(cmd);
    send({ type: "command", command: cmd });
  };

  let detailTab = "tab-journey";
  const showDetail = setupTabs(document.querySelector(".pg-detail .tabs"), (tab) => {
    detailTab = tab;
    if (tab === "tab-catalog") catalog.use((c) => c.render(true));
  });
  setupTabs(document.querySelector(".pg-controls .tabs"));

  const selectMessage = (id) => {
    log.select(id);
    journey.use((j) => j.show(id));
    const msg = store.message(id);
    if (msg?.correlation_id) sequence.use((s) => s.show(msg.correlation_id));
    showDetail("tab-journey");
  };
  const selectConsumer = (id) => {
    selectedConsumer = id;
    topo.select(id);
    controls.selectConsumer(id);
  };

  const topo = new TopologyView($("topology"), {
    onConsumer: selectConsumer,
    onDlq: (name) => letters.use((d) => d.openDlq(name)),
    onLost: (consumer) => letters.use((d) => d.openLost(consumer)),
    knobs: parseKnobs($("knobs-json")?.textContent),
    design: () => store.design,
  });
  const animator = new Animator();
  // A moving message is a way into its journey: click or tap a dot (pause first to hold them still).
  $("topology").addEventListener("click", (e) => {
    const dot = e.target instanceof Element ? e.target.closest(".dot[data-message]") : null;
    if (dot) selectMessage(dot.dataset.message);
  });
  $("legend").replaceChildren(...Object.entries(GLYPHS).map(([state, { label }]) => h("li", {}, h("span", { class: `swatch swatch--${state}` }, legendIcon(state)), label)));
  const clocks = new RetryClocks();
  const log = new EventLog(store, { onSelect: selectMessage });
  // The journey, the sequence, the event catalog, the success dialog and the dead letters' dialog load
  // when first needed.
  const journey = lazy(() => import("./journey.js").then(({ Journey }) => new Journey(store, {
    onSelect: selectMessage,
    onCorrelation: (c) => {
      sequence.use((s) => s.show(c));
      showDetail("tab-sequence");
    },
  })));
  const sequence = lazy(() => import("./sequence.js").then(({ Sequence }) => new Sequence(store, { onSelect: selectMessage })));
  const catalog = lazy(() => import("./catalog.js").then(({ Catalog }) => new Catalog(store, { onSelect: selectMessage })));
  let seeking = null;
  const timeline = new Timeline(store, {
    onSeek: (at, clamped) => {
      seeking = { at, from: store.at, clamped };
      send({ type: "seek", at });
    },
  });
  const goals = new Goals(store, { onSelect: selectMessage });
  const bill = new BillView(store);
  const letters = lazy(() => import("./letters.js").then(({ LettersDialog }) => new LettersDialog(store, { send, command, onMessage: selectMessage })));
  const lostList = new LostList(store, { onOpen: (consumer) => letters.use((d) => d.openLost(consumer)) });
  const controls = new Controls(store, { send, command, onSelect: selectConsumer, onDeadLetters: (name) => letters.use((d) => d.openDlq(name)) });
  const design = new DesignPanel(store, root, {
    send,
    onOpenMessage: (id) => {
      if (id) selectMessage(id);
    },
    onProven: (report) => success.use((s) => s.proven(report)),
  });
  const success = lazy(() => import("./success.js").then(({ Success }) => new Success(root, design)));
  // The run opens paused: a call to start it once the task is read.
  const startCta = $("start-cta");
  $("btn-start")?.addEventListener("click", () => {
    send({ type: "play" });
    $("btn-play").focus(); // the call to action goes away; focus moves to the button that now pauses
  });
  // A hint opened is reported: a workshop session counts it on the facilitator's dashboard.
  hints((index) => socket?.send({ type: "hint", index }));

  const renderRun = () => {
    animator.setPaused(store.paused || store.finished);
    $("clock").textContent = `${(store.at / 1000).toFixed(1)} s`;
    $("run-for").textContent = fmtMs(store.runForMs);
    $("seed").textContent = String(store.seed);
    $("broker-down").hidden = store.metrics?.broker_up !== false;
    root.dataset.at = String(store.at);
    if (store.finished) setStatus("finished");
    else if (statusNow === "finished") setStatus("live");
    controls.render();
    design.update();
    if (startCta) startCta.hidden = store.played || !store.paused || store.finished;
    // A success is checked once a run finishes; until the dialog has loaded there is nothing to reset.
    if (store.finished || success.now) success.use((s) => s.check(store));
    timeline.render();
    goals.render();
    bill.render();
    lostList.render();
    clocks.draw(topo, store.at);
    if (detailTab === "tab-catalog") catalog.now?.render();
  };

  store.subscribe((kind, events) => {
    if (kind === "snapshot") {
      animator.clear();
      clocks.clear();
      clocks.observe(events);
      topo.build(store.topology, store.metrics);
      topo.observeLinks(events, true);
      controls.setTopology(store.topology, selectedConsumer);
      topo.select(selectedConsumer);
      log.render();
      journey.now?.render();
      sequence.now?.render();
      if (!performance.getEntriesByName("eda:first-snapshot").length) performance.mark("eda:first-snapshot");
    } else {
      clocks.observe(events);
      topo.observeLinks(events, false);
      topo.update(store.metrics);
      animator.play(topo, store, events, lastFrameAt);
      log.schedule();
      const j = journey.now;
      const s = sequence.now;
      if (j?.id && events.some((e) => (e.message ?? e.request) === j.id)) j.render();
      if (s?.correlation && events.some((e) => store.message(e.message ?? e.request)?.correlation_id === s.correlation)) s.render();
    }
    lastFrameAt = store.at;
    renderRun();
  });

  let statusNow = "connecting";
  const STATUS = { connecting: "Connecting…", live: "Live", lost: "Reconnecting…", gone: "Sandbox closed: reload the page", finished: "Run finished" };
  function setStatus(status, closeCode) {
    // 4001: a workshop facilitator pushed a new exercise; the same address now serves it.
    if (status === "gone" && closeCode === 4001) {
      location.reload();
      return;
    }
    statusNow = status;
    const el = $("conn");
    el.textContent = STATUS[status] ?? status;
    el.className = `conn conn--${status}`;
    root.dataset.status = status;
  }

  const onMessage = (m) => {
    if (m.type === "snapshot" || m.type === "frame") {
      // Before the views see the events: each fault learns who made it happen.
      origins.observe(m.events || [], m.type === "snapshot" ? m.commands || [] : null);
      origins.markOrigins(m.markers || [], m.events || []);
    }
    // The one sign of a facilitator's fault for the room; its fault event follows.
    if (m.type === "notice" && /^Your facilitator injected a fault/.test(m.message)) origins.facilitator();
    switch (m.type) {
      case "snapshot":
        store.applySnapshot(m);
        design.afterSnapshot();
        if (seeking !== null && m.at === seeking.at) {
          const later = store.commands.filter((c) => c.at > m.at).length;
          const fork = later ? ` Play or a new command forks a new run from here, without the ${later} later command${later > 1 ? "s" : ""}.` : "";
          const where = `${(m.at / 1000).toFixed(1)} s`;
          const moved = seeking.clamped
            ? `The run has only reached ${where}: moved there`
            : m.at >= seeking.from ? `Forward to ${where}` : `Back at ${where}`;
          toast(`${moved}, rebuilt from seed ${m.seed} and the command log.${fork}`);
        }
        seeking = null;
        break;
      case "frame": store.applyFrame(m); break;
      case "dead_letters": letters.now?.showDeadLetters(m); break;
      case "run_file": controls.download(m.run); break;
      case "notice": toast(m.message); break;
      // Only a workshop session has a countdown: the module loads the first time one arrives.
      case "timer": import("./room-timer.js").then((timer) => timer.showTimer(m)); break;
      case "error":
        design.handle(m);
        toast(m.message, "error");
        design.refused(); // a refused knob must spring back to what the run really has
        break;
      default:
        design.handle(m);
        break;
    }
  };
  socket = new Socket(root.dataset.ws, { onMessage, onStatus: setStatus });

  // Projector mode: the picture and the timeline fill the screen; the scale of the picture follows.
  const projector = () => {
    const on = root.classList.toggle("is-projector");
    $("btn-projector").setAttribute("aria-pressed", String(on));
  };
  $("btn-projector").addEventListener("click", projector);

  // Keyboard: Space plays or pauses, S steps, P the projector mode, / filters the log, Escape leaves the filter.
  document.addEventListener("keydown", (e) => {
    const target = e.target instanceof Element ? e.target : document.body;
    const typing = target.closest("input, textarea, select, [contenteditable]");
    if (e.key === "Escape" && e.target === $("log-filter")) {
      $("log-filter").blur();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey || document.querySelector("dialog[open]")) return;
    if (e.key === " " && !target.closest("button, [role=button], [role=tab], summary, a, label")) {
      e.preventDefault();
      controls.togglePlay();
    } else if (e.key === "s" || e.key === "S") {
      send({ type: "step" });
    } else if (e.key === "p" || e.key === "P") {
      projector();
    } else if (e.key === "/") {
      e.preventDefault();
      $("log-filter").focus();
    }
  });
}

/** Hints are revealed one at a time; the count left is on the button. `onReveal(index)` hears of each. */
function hints(onReveal) {
  const button = document.getElementById("btn-hint");
  if (!button) return;
  button.addEventListener("click", () => {
    const hidden = [...document.querySelectorAll("#hints li[hidden]")];
    if (hidden.length) {
      hidden[0].hidden = false;
      onReveal(document.querySelectorAll("#hints li").length - hidden.length);
    }
    const left = hidden.length - 1;
    button.textContent = left > 0 ? `Show another hint (${left} left)` : "No more hints";
    button.disabled = left <= 0;
  });
}
