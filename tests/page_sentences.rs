//! What the page says about faults and dead letters, checked in Node.js against the page's own modules
//! (`static/js/origins.js`, `static/js/events.js`): who made a fault happen, what a design change is
//! called, and a dead letter's reason and count. Needs Node.js; skips loudly without it.
use std::process::Command;

/// Runs `script` as an ES module next to the page's modules and returns what it prints.
fn node(script: &str) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("\n!!! SKIPPED a page-sentence test: node not found.\n");
        return None;
    }
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/js");
    let script = script.replace("JS/", &format!("file://{}/", js.display()));
    let output = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn each_fault_says_who_made_it_happen() {
    let Some(out) = node(
        r#"
        import { FaultOrigins } from "JS/origins.js";
        import { describe, tagOf, classOf, Names } from "JS/events.js";
        const names = new Names({ channels: [], queues: [], producers: [], consumers: [{ name: "billing" }] });
        const fault = (at, kind, label) => ({ type: "fault", at, label, command: { kind, consumer: "billing" } });
        const origins = new FaultOrigins();
        origins.sent({ kind: "crash", consumer: "billing" });
        const mine = fault(100, "crash", "crash");
        const scheduled = fault(200, "pause", "pause");
        origins.observe([mine, scheduled]);
        origins.facilitator();
        const theirs = fault(300, "slow", "slow down");
        origins.observe([theirs]);
        const design = fault(400, "set_design", "change design");
        origins.sent({ kind: "set_design", consumer: "billing" });
        origins.observe([design]);
        // A rewind: the snapshot's command log holds the page's crash; the facilitator's fault is remembered.
        const again = [fault(100, "crash", "crash"), fault(200, "pause", "pause"), fault(300, "slow", "slow down")];
        origins.observe(again, [{ at: 100, command: { kind: "crash", consumer: "billing" } }, { at: 300, command: { kind: "slow", consumer: "billing" } }]);
        for (const ev of [mine, scheduled, theirs, design, ...again]) console.log(`${tagOf(ev)} | ${classOf(ev)} | ${describe(ev, names)}`);
        "#,
    ) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "fault | fault | crash on billing (by you)",
            "fault | fault | pause on billing (scheduled by the exercise)",
            "fault | fault | slow down on billing (by your facilitator)",
            "design | info | design change by you on billing",
            "fault | fault | crash on billing (by you)",
            "fault | fault | pause on billing (scheduled by the exercise)",
            "fault | fault | slow down on billing (by your facilitator)",
        ]
    );
}

#[test]
fn a_dead_letter_gives_its_reason_and_counts_in_words() {
    let Some(out) = node(
        r#"
        import { describe, Names } from "JS/events.js";
        const names = new Names({ channels: [], queues: [{ name: "payments" }], producers: [], consumers: [] });
        const failed = { type: "processing_failed", at: 5, reason: "dependency_down", attempt: 1 };
        const msg = { event_type: "PaymentRequested", key: "order-7", events: [failed] };
        const dead = (attempts) => ({ type: "dead_lettered", at: 10, queue: 0, attempts, reason: "rejected" });
        console.log(describe(dead(1), names, msg));
        console.log(describe(dead(3), names, msg));
        "#,
    ) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "dead-lettered in payments after 1 attempt: its consumer rejected it, with no retry, on its dependency being down",
            "dead-lettered in payments after 3 attempts: its consumer rejected it after its retries, on its dependency being down",
        ]
    );
}
