//! The headless commands from the outside: `run` and `bench` as a user calls them.
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_eda-playground");

fn scenario_file(text: &str) -> tempfile_path::TempFile {
    tempfile_path::TempFile::new(text)
}

/// A scenario file in the system's temp directory, removed when dropped.
mod tempfile_path {
    pub(crate) struct TempFile(pub(crate) std::path::PathBuf);

    impl TempFile {
        pub(crate) fn new(text: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("eda-scenario-{}.toml", uuid::Uuid::new_v4()));
            std::fs::write(&path, text).expect("temp dir is writable");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

const ORDERS: &str = r#"
[[channels]]
name = "orders"
kind = "queue"
[[producers]]
name = "checkout"
channel = "orders"
event_type = "OrderPlaced"
rate_per_sec = 10
count = 20
[[consumers]]
name = "billing"
channel = "orders"
effect = { kind = "once", label = "charged" }
"#;

#[test]
fn run_prints_a_summary_of_queues_producers_and_consumers() {
    let file = scenario_file(ORDERS);
    let output = Command::new(BINARY)
        .args([
            "run",
            file.0.to_str().unwrap_or_default(),
            "--seed",
            "4",
            "--until",
            "10s",
        ])
        .output()
        .expect("binary runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("seed 4"), "{text}");
    assert!(text.contains("10000 ms of virtual time"), "{text}");
    assert!(
        text.contains("billing") && text.contains("applied     20"),
        "{text}"
    );
}

#[test]
fn run_json_prints_one_trace_event_per_line_and_is_reproducible() {
    let file = scenario_file(ORDERS);
    let trace = || {
        let output = Command::new(BINARY)
            .args([
                "run",
                file.0.to_str().unwrap_or_default(),
                "--seed",
                "9",
                "--json",
            ])
            .output()
            .expect("binary runs");
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = trace();
    let lines: Vec<serde_json::Value> = first
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert!(lines.len() > 100);
    assert!(
        lines
            .iter()
            .all(|l| l.get("at").is_some() && l.get("type").is_some())
    );
    assert_eq!(first, trace(), "same seed, same bytes");
}

#[test]
fn run_refuses_a_bad_scenario_naming_the_field() {
    let file = scenario_file(&ORDERS.replace("rate_per_sec = 10", "rate_per_sec = 0"));
    let output = Command::new(BINARY)
        .args(["run", file.0.to_str().unwrap_or_default()])
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("producers[0].rate_per_sec"), "{error}");
    let file = scenario_file(&ORDERS.replace("kind = \"queue\"", "kind = \"pipe\""));
    let output = Command::new(BINARY)
        .args(["run", file.0.to_str().unwrap_or_default()])
        .output()
        .expect("binary runs");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("line 4") && error.contains("pipe"),
        "{error}"
    );
}

#[test]
fn bench_json_reports_each_workload_and_the_mpsc_baseline() {
    let output = Command::new(BINARY)
        .args(["bench", "--json", "--messages", "2000"])
        .output()
        .expect("binary runs");
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.get("name")?.as_str())
        .collect();
    for expected in [
        "queue_4_consumers",
        "topic_fanout_8",
        "stream_8_partitions_group_4",
        "exercise_60s_1000_messages",
        "baseline_mpsc",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    assert!(lines.iter().all(|l| {
        l.get("deliveries_per_sec")
            .and_then(|v| v.as_f64())
            .is_some()
    }));
}

/// The exercise files the project ships run as they are, with a Design from `--choose`, and their goals
/// are judged: the default breaks one, the solution's knobs meet them all.
#[test]
fn run_takes_an_exercise_file_and_its_knobs() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/exercises/competing-consumers.toml"
    );
    let default = Command::new(BINARY).args(["run", file]).output().unwrap();
    let text = String::from_utf8_lossy(&default.stdout);
    assert!(
        !default.status.success(),
        "the default breaks a goal: {text}"
    );
    assert!(text.contains("BROKEN"), "{text}");

    let solved = Command::new(BINARY)
        .args(["run", file, "--choose", "packing-instances=2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&solved.stdout);
    assert!(solved.status.success(), "{text}");
    assert!(!text.contains("BROKEN"), "{text}");

    let wrong = Command::new(BINARY)
        .args(["run", file, "--choose", "packing-instances=400"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("has no option"));
}

/// `prove` prints the same report as the playground: a bundled solution is proven on every seed, and the
/// default's failing goal comes with its shrunk counterexample, in text and as JSON.
#[test]
fn prove_reports_pass_rates_and_counterexamples() {
    let solved = Command::new(BINARY)
        .args(["prove", "idempotency", "--solution", "--seeds", "40"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&solved.stdout);
    assert!(solved.status.success(), "{text}");
    assert!(text.contains("PROVEN on 40/40 seeds"), "{text}");

    let default = Command::new(BINARY)
        .args(["prove", "idempotency", "--seeds", "40", "--json"])
        .output()
        .unwrap();
    assert!(!default.status.success());
    let report: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    assert_eq!(report["seeds"], 40);
    let example = report["goals"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|g| g["counterexample"].as_object())
        .expect("a counterexample");
    assert!(example["sentence"].as_str().unwrap().len() > 10);

    // The same request gives the same report, elapsed time aside.
    let again = Command::new(BINARY)
        .args(["prove", "idempotency", "--seeds", "40", "--json"])
        .output()
        .unwrap();
    let mut second: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let mut first = report.clone();
    first["elapsed_ms"] = 0.into();
    second["elapsed_ms"] = 0.into();
    assert_eq!(first, second);

    let bad = Command::new(BINARY)
        .args(["prove", "idempotency", "--seeds", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("between 1 and 1000 seeds"));
}

#[test]
fn export_writes_the_file_to_stdout_and_the_notes_to_stderr() {
    let output = Command::new(BINARY)
        .args([
            "export",
            "--format",
            "rabbitmq",
            "poison-message",
            "--choose",
            "billing-attempts=3",
        ])
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let file: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is the definitions");
    let queue = file["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["name"] == "payments"))
        .expect("the payments queue");
    assert_eq!(queue["arguments"]["x-queue-type"], "quorum");
    let notes = String::from_utf8_lossy(&output.stderr);
    assert!(notes.contains("note: billing:"), "{notes}");
    assert!(notes.contains("up to 3 deliveries"), "{notes}");

    let refused = Command::new(BINARY)
        .args([
            "export",
            "--format",
            "nats",
            "poison-message",
            "--choose",
            "nope=x",
        ])
        .output()
        .expect("the binary runs");
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("no knob \"nope\""), "{error}");
}
