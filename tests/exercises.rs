//! Exercise files: the format, loading and bad files, the catalog and its watcher, and the
//! checker over every bundled exercise.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eda_playground::engine::{Command, Design, Idempotency, World};
use eda_playground::exercise::check::{check_all, run_check};
use eda_playground::exercise::load::parse;
use eda_playground::exercise::model::Origin;
use eda_playground::exercise::{BUNDLED, Catalog, Choices, GoalState, LoadError, run_exercise};

/// A complete, small exercise used as the base of the tests that break it.
const GOOD: &str = r#"
id = "tiny"
title = "Tiny"
part = "failures"
order = 1
minutes = 5
summary = "A tiny exercise."
instructions = "Make billing *idempotent*."
run_for_ms = 20000

[scenario]
[[scenario.channels]]
name = "payments"
kind = "queue"

[[scenario.producers]]
name = "checkout"
channel = "payments"
event_type = "PaymentRequested"
rate_per_sec = 10
count = 100

[[scenario.consumers]]
name = "billing"
channel = "payments"
effect = { kind = "once", label = "charged" }

[scenario.links.billing]
duplicate = 0.2

[[knobs]]
id = "idempotency"
label = "Billing idempotency"
consumer = "billing"
field = "idempotency"
options = [{ value = "none" }, { value = "message_id", label = "Remember message ids" }]

[[goals]]
id = "once"
description = "Every order is charged once"
check = { kind = "exactly_once", consumer = "billing" }

[solution]
knobs = { idempotency = "message_id" }
"#;

fn parse_text(text: &str) -> Result<eda_playground::exercise::Exercise, LoadError> {
    parse(text, "tiny.toml", Origin::File(PathBuf::from("tiny.toml")))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "eda-exercises-{name}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write exercise file");
    path
}

mod format {
    use super::*;

    #[test]
    fn a_good_file_loads_with_its_knobs_goals_and_solution() {
        let exercise = parse_text(GOOD).expect("loads");
        assert_eq!(exercise.id, "tiny");
        assert!(exercise.instructions_html.contains("<em>idempotent</em>"));
        let knob = exercise.knob("idempotency").expect("knob");
        assert!(knob.live);
        assert_eq!(knob.default, "none");
        assert_eq!(knob.options[1].label, "Remember message ids");
        assert_eq!(exercise.goals.len(), 1);
        assert_eq!(exercise.solution.knobs["idempotency"], "message_id");
    }

    #[test]
    fn a_parse_error_names_file_line_column_field_and_expectation() {
        let text = GOOD.replace("minutes = 5", "minutes = \"five\"");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.file, "tiny.toml");
        assert_eq!(error.line, 6, "{error}");
        assert_eq!(error.column, 11, "{error}");
        assert_eq!(error.field, "minutes", "{error}");
        assert!(error.message.contains("expected"), "{error}");
        assert!(
            error.to_string().starts_with("tiny.toml:6:11: minutes:"),
            "{error}"
        );
    }

    #[test]
    fn a_wrong_value_inside_the_scenario_is_located() {
        let text = GOOD.replace("kind = \"queue\"", "kind = \"pipe\"");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!((error.line, error.column), (14, 8), "{error}");
        assert_eq!(error.field, "scenario.channels[0].kind", "{error}");
        assert!(error.message.contains("expected"), "{error}");
        assert!(error.message.contains("queue"), "{error}");
    }

    #[test]
    fn an_unknown_field_is_refused_and_named() {
        let text = GOOD.replace("minutes = 5", "minutes = 5\ncolour = \"red\"");
        let error = parse_text(&text).expect_err("refused");
        assert!(error.message.contains("unknown field `colour`"), "{error}");
        assert_eq!(error.field, "colour", "{error}");
        assert_eq!((error.line, error.column), (7, 1), "{error}");

        let text = GOOD.replace("processing_ms", "procesing_ms").replace(
            "effect = { kind = \"once\", label = \"charged\" }",
            "effect = { kind = \"once\", lable = \"charged\" }",
        );
        let error = parse_text(&text).expect_err("refused");
        assert!(error.message.contains("lable"), "{error}");
        assert_eq!(error.field, "scenario.consumers[0].effect.lable", "{error}");
    }

    #[test]
    fn a_consumer_of_an_unknown_channel_is_refused() {
        let text = GOOD.replace(
            "channel = \"payments\"\neffect",
            "channel = \"paymnts\"\neffect",
        );
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "scenario.consumers[0].channel", "{error}");
        assert!(error.message.contains("\"paymnts\""), "{error}");
        assert_eq!((error.line, error.column), (25, 1), "{error}");
    }

    #[test]
    fn a_goal_about_an_unknown_service_is_refused() {
        let text = GOOD.replace(
            "kind = \"exactly_once\", consumer = \"billing\"",
            "kind = \"exactly_once\", consumer = \"shipping\"",
        );
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "goals[0].check.consumer", "{error}");
        assert!(
            error.message.contains("no consumer named \"shipping\""),
            "{error}"
        );
        assert!(
            error.message.contains("expected one of: billing"),
            "{error}"
        );
        assert_eq!((error.line, error.column), (41, 34), "{error}");
    }

    #[test]
    fn an_unknown_knob_in_the_solution_is_refused() {
        let text = GOOD.replace("knobs = { idempotency", "knobs = { idempotence");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "solution.knobs.idempotence", "{error}");
        assert!(error.message.contains("no knob \"idempotence\""), "{error}");
        assert!(
            error.message.contains("expected one of: idempotency"),
            "{error}"
        );
    }

    #[test]
    fn a_knob_on_an_unknown_field_or_service_is_refused() {
        let text = GOOD.replace("field = \"idempotency\"", "field = \"idempotence\"");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "knobs[0].field", "{error}");
        assert!(
            error.message.contains("no field \"idempotence\""),
            "{error}"
        );

        let text = GOOD.replace(
            "consumer = \"billing\"\nfield",
            "consumer = \"biling\"\nfield",
        );
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "knobs[0].consumer", "{error}");
        assert!(
            error.message.contains("no consumer named \"biling\""),
            "{error}"
        );
    }

    #[test]
    fn a_knob_option_of_the_wrong_type_is_refused() {
        let text = GOOD.replace("{ value = \"none\" }", "{ value = \"sometimes\" }");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "knobs[0].options[0].value", "{error}");
        assert!(error.message.contains("sometimes"), "{error}");
    }

    #[test]
    fn the_knob_default_must_be_an_option() {
        let text = GOOD.replace("{ value = \"none\" }, ", "{ value = \"business_key\" }, ");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "knobs[0].options", "{error}");
        assert!(error.message.contains("\"none\""), "{error}");
    }

    #[test]
    fn allows_only_offered_knobs_with_offered_values() {
        let exercise = parse_text(GOOD).expect("loads");
        let start = exercise.scenario.consumers[0].design.clone();
        let with = |design: Design| Command::SetDesign {
            consumer: "billing".into(),
            design,
        };
        let ok = Design {
            idempotency: Idempotency::MessageId,
            instances: 3,
            ..start.clone()
        };
        assert_eq!(exercise.allows(&with(ok)), Ok(()));
        let not_offered = Design {
            idempotency: Idempotency::BusinessKey,
            ..start.clone()
        };
        assert!(exercise.allows(&with(not_offered)).is_err());
        let not_a_knob = Design {
            prefetch: 10,
            ..start
        };
        let error = exercise.allows(&with(not_a_knob)).expect_err("refused");
        assert!(error.contains("prefetch"), "{error}");
        assert_eq!(
            exercise.allows(&Command::Crash {
                consumer: "billing".into(),
                instance: None
            }),
            Ok(())
        );
    }

    #[test]
    fn a_knob_choice_becomes_a_set_design_command() {
        let exercise = parse_text(GOOD).expect("loads");
        let current = Design {
            instances: 2,
            ..Design::default()
        };
        let command = exercise
            .knob_command("idempotency", "message_id", &current)
            .expect("command");
        let Command::SetDesign { consumer, design } = &command else {
            panic!("not a design change: {command:?}");
        };
        assert_eq!(consumer, "billing");
        assert_eq!(design.idempotency, Idempotency::MessageId);
        assert_eq!(design.instances, 2, "other changes are kept");
        assert_eq!(exercise.allows(&command), Ok(()));
        assert!(
            exercise
                .knob_command("idempotency", "always", &current)
                .is_err()
        );
    }
}

mod catalog {
    use super::*;

    #[test]
    fn every_exercise_file_is_bundled() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("exercises/")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = BUNDLED.iter().map(|(n, _)| (*n).to_owned()).collect();
        bundled.sort();
        assert_eq!(
            on_disk, bundled,
            "server/exercise/bundled.rs lists every file"
        );
    }

    #[test]
    fn the_bundled_catalog_loads_without_errors() {
        let catalog = Catalog::bundled();
        assert_eq!(catalog.errors(), Vec::new());
        assert_eq!(catalog.entries().len(), BUNDLED.len());
        for entry in catalog.entries() {
            assert!(catalog.get(&entry.id).is_some(), "{}", entry.id);
        }
    }

    #[test]
    fn a_broken_file_shows_its_error_and_hides_nothing() {
        let dir = temp_dir("broken");
        write(&dir, "tiny.toml", GOOD);
        write(&dir, "broken.toml", "id = \"broken\"\ntitle = 3\n");
        let catalog = Catalog::load(Some(&dir));
        let entries = catalog.entries();
        assert_eq!(entries.len(), BUNDLED.len() + 2);
        let broken = entries.iter().find(|e| e.id == "broken").expect("listed");
        let error = broken.error.as_deref().expect("error shown");
        assert!(error.contains("broken.toml:2:9: title:"), "{error}");
        assert!(catalog.get("broken").is_none());
        assert!(catalog.get("tiny").is_some());
        assert!(catalog.get("poison-message").is_some());
    }

    #[test]
    fn a_file_overrides_a_bundled_exercise_by_id() {
        let dir = temp_dir("override");
        let text = GOOD
            .replace("id = \"tiny\"", "id = \"poison-message\"")
            .replace("title = \"Tiny\"", "title = \"Our own poison\"");
        write(&dir, "ours.toml", &text);
        let catalog = Catalog::load(Some(&dir));
        assert_eq!(catalog.entries().len(), BUNDLED.len());
        let exercise = catalog.get("poison-message").expect("present");
        assert_eq!(exercise.title, "Our own poison");
    }

    #[test]
    fn reload_keeps_the_last_good_version_while_a_file_is_broken() {
        let dir = temp_dir("reload");
        let path = write(&dir, "tiny.toml", GOOD);
        let catalog = Catalog::load(Some(&dir));
        assert_eq!(catalog.get("tiny").expect("loaded").title, "Tiny");

        std::fs::write(&path, GOOD.replace("title = \"Tiny\"", "title = \"Small\"")).expect("edit");
        catalog.reload_path(&path);
        assert_eq!(catalog.get("tiny").expect("reloaded").title, "Small");

        std::fs::write(&path, GOOD.replace("minutes = 5", "minutes = -1")).expect("break");
        catalog.reload_path(&path);
        assert_eq!(catalog.get("tiny").expect("last good").title, "Small");
        let entry = catalog
            .entries()
            .into_iter()
            .find(|e| e.id == "tiny")
            .expect("listed");
        assert!(entry.error.expect("error").contains("minutes"));

        std::fs::remove_file(&path).expect("delete");
        catalog.reload_path(&path);
        assert!(catalog.get("tiny").is_none());
    }

    #[test]
    fn the_watcher_reloads_an_edited_file() {
        let dir = temp_dir("watch");
        let path = write(&dir, "tiny.toml", GOOD);
        let catalog = Catalog::load(Some(&dir));
        let handle = catalog.watch(&dir).expect("watch");
        std::fs::write(
            &path,
            GOOD.replace("title = \"Tiny\"", "title = \"Watched\""),
        )
        .expect("edit");
        // Waits on the watcher's reload notices (with a generous bound), never a sleep.
        let deadline = Instant::now() + Duration::from_secs(20);
        while catalog.get("tiny").map(|e| e.title.clone()).as_deref() != Some("Watched") {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(handle.next_reload(left).is_some(), "no reload within 20 s");
        }
        handle.clear_reloads();
        std::fs::write(&path, "id = \"tiny\"\nbroken").expect("break");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let entry = catalog.entries().into_iter().find(|e| e.id == "tiny");
            if entry.as_ref().is_some_and(|e| e.error.is_some()) {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(handle.next_reload(left).is_some(), "no reload within 20 s");
        }
        assert_eq!(catalog.get("tiny").expect("last good").title, "Watched");
    }
}

mod schema {
    #[test]
    fn the_committed_schema_is_what_the_schema_command_prints() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises/exercise.schema.json");
        let committed = std::fs::read_to_string(&path).expect("exercises/exercise.schema.json");
        let printed = eda_playground::exercise::schema::schema_json();
        assert!(
            committed == printed,
            "exercises/exercise.schema.json is stale: run `cargo run -- schema > exercises/exercise.schema.json`"
        );
    }

    #[test]
    fn the_schema_describes_goals_and_knobs() {
        let printed = eda_playground::exercise::schema::schema_json();
        for word in [
            "exactly_once",
            "dead_letters",
            "knobs",
            "options",
            "solution",
            "additionalProperties",
        ] {
            assert!(printed.contains(word), "{word}");
        }
    }
}

mod runs {
    use super::*;

    #[test]
    fn the_default_breaks_the_goal_and_the_solution_meets_it() {
        let exercise = parse_text(GOOD).expect("loads");
        let default = run_exercise(&exercise, &Choices::new(), &[], 3).expect("runs");
        let goal = &default.goals[0];
        assert_eq!(goal.state, GoalState::Broken);
        assert!(goal.message.is_some(), "the breaking message is named");
        assert!(
            goal.reason
                .as_deref()
                .unwrap_or("")
                .contains("applied 2 times"),
            "{goal:?}"
        );
        let solved = run_exercise(&exercise, &exercise.solution.knobs, &[], 3).expect("runs");
        assert!(solved.all_met(), "{:?}", solved.goals);
    }

    #[test]
    fn a_restart_knob_changes_the_scenario() {
        let exercise = Catalog::bundled()
            .get("events-vs-commands")
            .expect("bundled");
        let knob = exercise
            .knobs
            .iter()
            .find(|k| !k.live)
            .expect("a restart knob");
        let other = knob
            .options
            .iter()
            .find(|o| o.id != knob.default)
            .expect("option");
        let choices: Choices = [(knob.id.clone(), other.id.clone())].into();
        assert!(exercise.needs_restart(&choices));
        let scenario = exercise.scenario_for(&choices).expect("scenario");
        assert_ne!(scenario, exercise.scenario);
        World::new(&scenario, 1).expect("builds");
    }
}

mod checker {
    use super::*;

    /// The checker over every bundled exercise with the full 100 seeds: each default breaks
    /// a goal, each solution meets every goal under every seed.
    #[test]
    fn every_bundled_exercise_teaches_and_its_solution_holds_under_100_seeds() {
        let started = Instant::now();
        let mut out = Vec::new();
        let report = run_check(None, 100, &mut out, &|_, _, _| {}).expect("report");
        let table = String::from_utf8_lossy(&out);
        eprintln!(
            "{table}\nchecked in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(report.load_errors.is_empty(), "{table}");
        assert!(report.exercises.len() >= 16, "{table}");
        for exercise in &report.exercises {
            assert!(exercise.error.is_none(), "{table}");
            assert!(
                !exercise.default_broken.is_empty(),
                "{}: {table}",
                exercise.id
            );
            assert!(
                exercise.solution_failures.is_empty(),
                "{}: {table}",
                exercise.id
            );
            assert_eq!(exercise.seeds, 100);
        }
        assert!(report.ok());
    }

    #[test]
    fn a_solution_that_fails_is_reported_with_its_shortest_run() {
        let text = GOOD.replace("knobs = { idempotency = \"message_id\" }", "");
        let exercise = std::sync::Arc::new(parse_text(&text).expect("loads"));
        let reports = check_all(&[exercise], 5, &|_, _, _| {});
        let report = &reports[0];
        assert!(!report.ok());
        let failure = &report.solution_failures[0];
        assert_eq!(failure.goal, "once");
        assert_eq!(failure.failing_seeds, 5);
        let message = failure.message.expect("breaking message");
        assert!(!failure.events.is_empty());
        assert!(
            failure
                .events
                .iter()
                .all(|e| e.kind.message() == Some(message))
        );
        let mut out = Vec::new();
        eda_playground::exercise::check::write_report(
            &mut out,
            &eda_playground::exercise::check::CheckReport {
                load_errors: Vec::new(),
                exercises: reports.clone(),
            },
        )
        .expect("write");
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("shortest failing run: --seed"), "{text}");
        assert!(text.contains(&message.to_string()), "{text}");
    }

    #[test]
    fn a_directory_with_a_broken_file_fails_the_check() {
        let dir = temp_dir("check");
        write(&dir, "tiny.toml", GOOD);
        write(&dir, "broken.toml", "id = 1\n");
        let mut out = Vec::new();
        let report = run_check(Some(&dir), 3, &mut out, &|_, _, _| {}).expect("report");
        assert!(!report.ok());
        assert_eq!(report.load_errors.len(), 1);
        assert_eq!(report.exercises.len(), 1);
        assert!(
            report.exercises[0].ok(),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
}
