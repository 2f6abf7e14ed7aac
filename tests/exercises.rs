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
    fn declared_payload_schemas_are_checked_against_the_scenario() {
        let schema = |event_type: &str, version: u32, schema: &str| {
            format!(
                "\n[[schemas]]\nevent_type = \"{event_type}\"\nversion = {version}\nschema = {schema}\n"
            )
        };
        let table = "{ type = \"object\", properties = { amount = { type = \"integer\" } } }";
        let good = format!("{GOOD}{}", schema("PaymentRequested", 1, table));
        let exercise = parse_text(&good).expect("a declared schema loads");
        assert_eq!(exercise.schemas.len(), 1);
        assert_eq!(
            exercise.schemas[0].schema["properties"]["amount"]["type"],
            "integer"
        );

        let error =
            parse_text(&format!("{GOOD}{}", schema("OrderPlaced", 1, table))).expect_err("refused");
        assert_eq!(error.field, "schemas[0].event_type", "{error}");
        assert!(
            error.message.contains("expected one of: PaymentRequested"),
            "{error}"
        );

        let twice = format!(
            "{GOOD}{}{}",
            schema("PaymentRequested", 1, table),
            schema("PaymentRequested", 1, table)
        );
        let error = parse_text(&twice).expect_err("refused");
        assert_eq!(error.field, "schemas[1].version", "{error}");
        assert!(
            error
                .message
                .contains("one schema per event type and version"),
            "{error}"
        );

        let error = parse_text(&format!("{GOOD}{}", schema("PaymentRequested", 0, table)))
            .expect_err("refused");
        assert_eq!(error.field, "schemas[0].version", "{error}");

        let error = parse_text(&format!(
            "{GOOD}{}",
            schema("PaymentRequested", 1, "\"object\"")
        ))
        .expect_err("refused");
        assert_eq!(error.field, "schemas[0].schema", "{error}");
        assert!(
            error
                .message
                .contains("expected a JSON Schema written as a TOML table"),
            "{error}"
        );

        let huge = format!("{{ description = \"{}\" }}", "x".repeat(9000));
        let error = parse_text(&format!("{GOOD}{}", schema("PaymentRequested", 1, &huge)))
            .expect_err("refused");
        assert!(error.message.contains("expected at most 8192"), "{error}");
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
        assert!(
            error.message.contains("expected one of: payments"),
            "{error}"
        );
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
        assert!(
            text.contains("shortest failing run (shrunk): seed"),
            "{text}"
        );
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

/// Each goal kind, broken by the default design (with the message that broke it, where one
/// message can) and met by the solution.
mod goal_kinds {
    use super::*;

    fn mini(scenario: &str, knob: &str, check: &str, solution: &str) -> String {
        format!(
            "id = \"mini\"\ntitle = \"Mini\"\npart = \"failures\"\norder = 1\nminutes = 1\n\
             summary = \"s\"\ninstructions = \"i\"\nrun_for_ms = 30000\n\n[scenario]\n{scenario}\n\n\
             [[knobs]]\n{knob}\n\n[[goals]]\nid = \"goal\"\ndescription = \"d\"\ncheck = {check}\n\n\
             [solution]\nknobs = {solution}\n"
        )
    }

    const QUEUE: &str = "[[scenario.channels]]\nname = \"q\"\nkind = \"queue\"\n\
        [[scenario.producers]]\nname = \"p\"\nchannel = \"q\"\nevent_type = \"E\"\nrate_per_sec = 20\ncount = 200\npayload = { amount = 2 }\n";

    /// Runs default and solution; returns the default's goal for further checks.
    fn broken_then_met(text: &str, needs_message: bool) -> eda_playground::exercise::GoalStatus {
        let exercise = parse_text(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let default = run_exercise(&exercise, &Choices::new(), &[], 1).expect("runs");
        let goal = default.goals[0].clone();
        assert_eq!(goal.state, GoalState::Broken, "{goal:?}");
        assert!(goal.reason.is_some(), "{goal:?}");
        if needs_message {
            let message = goal.message.expect("the breaking message is named");
            assert!(goal.at.is_some());
            let _ = message;
        }
        let solved = run_exercise(&exercise, &exercise.solution.knobs, &[], 1).expect("runs");
        assert_eq!(solved.goals[0].state, GoalState::Met, "{:?}", solved.goals);
        goal
    }

    fn consumer(extra: &str) -> String {
        format!(
            "[[scenario.consumers]]\nname = \"c\"\nchannel = \"q\"\nprocessing_ms = 10\n{extra}\n"
        )
    }

    const ACK_KNOB: &str = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"ack_mode\"\noptions = [{ value = \"on_receipt\" }, { value = \"after_processing\" }]";

    #[test]
    fn exactly_once_and_no_duplicates() {
        let goal = broken_then_met(GOOD, true);
        assert!(goal.reason.unwrap_or_default().contains("applied 2 times"));
        let text = GOOD.replace("kind = \"exactly_once\"", "kind = \"no_duplicates\"");
        broken_then_met(&text, true);
    }

    #[test]
    fn no_loss_and_balance() {
        let scenario = format!(
            "{QUEUE}{}",
            consumer(
                "effect = { kind = \"balance\" }\nfailures = { crash_before_ack_probability = 0.05, restart_after_ms = 500 }\ndesign = { ack_mode = \"on_receipt\" }"
            )
        );
        let goal = broken_then_met(
            &mini(
                &scenario,
                ACK_KNOB,
                "{ kind = \"no_loss\", consumer = \"c\" }",
                "{ k = \"after_processing\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("never reached c"));
        let goal = broken_then_met(
            &mini(
                &scenario,
                ACK_KNOB,
                "{ kind = \"balance\", consumer = \"c\", equals = 400 }",
                "{ k = \"after_processing\" }",
            ),
            false,
        );
        assert!(goal.reason.unwrap_or_default().contains("not 400"));
    }

    #[test]
    fn dead_letters() {
        let scenario = format!(
            "{QUEUE}{}[[scenario.faults]]\nat_ms = 1000\nfault = {{ kind = \"inject_poison\", channel = \"q\" }}\n",
            consumer("effect = { kind = \"once\" }")
        );
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"retry\"\noptions = [{ id = \"five\", value = { strategy = \"immediate\", max_attempts = 5 } }, { id = \"three\", value = { strategy = \"immediate\", max_attempts = 3 } }]";
        let goal = broken_then_met(
            &mini(
                &scenario,
                knob,
                "{ kind = \"dead_letters\", consumer = \"c\", event_types = [\"PoisonPill\"], attempts = 3 }",
                "{ k = \"three\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("after 5 attempts"));
    }

    #[test]
    fn in_order() {
        let scenario = "[[scenario.channels]]\nname = \"q\"\nkind = \"queue\"\n\
            [[scenario.producers]]\nname = \"p\"\nchannel = \"q\"\nevent_type = \"E\"\nrate_per_sec = 100\ncount = 1000\nkeys = [\"a\", \"b\"]\n\
            [[scenario.consumers]]\nname = \"c\"\nchannel = \"q\"\nprocessing_ms = 5\neffect = { kind = \"latest\" }\ndesign = { instances = 4, prefetch = 10 }\n\
            [scenario.links.c]\njitter_ms = 100\n";
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"ordering\"\noptions = [{ id = \"none\", value = { strategy = \"none\" } }, { id = \"drop\", value = { strategy = \"drop_stale\" } }]";
        let goal = broken_then_met(
            &mini(
                scenario,
                knob,
                "{ kind = \"in_order\", consumer = \"c\" }",
                "{ k = \"drop\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("version"));
    }

    #[test]
    fn max_lag_processed_within_and_max_failures() {
        let scenario = format!(
            "{QUEUE}{}",
            consumer(
                "effect = { kind = \"once\" }\nfailures = { transient_error_probability = 0.05 }"
            )
        );
        let scenario = scenario.replace("processing_ms = 10\n", "processing_ms = 100\n");
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"instances\"\noptions = [{ value = 1 }, { value = 8 }]";
        broken_then_met(
            &mini(
                &scenario,
                knob,
                "{ kind = \"max_lag\", consumer = \"c\", max = 0 }",
                "{ k = \"8\" }",
            )
            .replace("run_for_ms = 30000", "run_for_ms = 12000"),
            false,
        );
        broken_then_met(
            &mini(
                &scenario,
                knob,
                "{ kind = \"processed_within\", consumer = \"c\", ms = 2000 }",
                "{ k = \"8\" }",
            ),
            true,
        );
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"retry\"\noptions = [{ id = \"five\", value = { strategy = \"immediate\", max_attempts = 5 } }, { id = \"none\", value = { strategy = \"none\" } }]";
        let transient = format!(
            "{QUEUE}{}",
            consumer(
                "effect = { kind = \"once\" }\nfailures = { transient_error_probability = 0.5 }"
            )
        );
        let goal = broken_then_met(
            &mini(
                &transient,
                knob,
                "{ kind = \"max_failures\", consumer = \"c\", max = 140, reason = \"transient\" }",
                "{ k = \"none\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("more than 140"));
    }

    #[test]
    fn compensated() {
        let scenario = "[[scenario.channels]]\nname = \"q\"\nkind = \"queue\"\n[[scenario.channels]]\nname = \"failed\"\nkind = \"queue\"\n\
            [[scenario.producers]]\nname = \"p\"\nchannel = \"q\"\nevent_type = \"E\"\nrate_per_sec = 20\ncount = 200\n\
            [[scenario.consumers]]\nname = \"c\"\nchannel = \"q\"\neffect = { kind = \"once\" }\nfailures = { decline_probability = 0.2 }\n\
            [[scenario.consumers]]\nname = \"undo\"\nchannel = \"failed\"\neffect = { kind = \"once\" }\n";
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"emits\"\noptions = [{ id = \"none\", value = [] }, { id = \"cancel\", value = [{ on = \"declined\", event_type = \"Cancelled\", channel = \"failed\" }] }]";
        let goal = broken_then_met(
            &mini(
                scenario,
                knob,
                "{ kind = \"compensated\", consumer = \"c\", event_type = \"Cancelled\", applied_by = \"undo\" }",
                "{ k = \"cancel\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("no Cancelled"));
    }

    #[test]
    fn correlated() {
        let scenario = "[[scenario.channels]]\nname = \"q\"\nkind = \"queue\"\n[[scenario.channels]]\nname = \"next\"\nkind = \"queue\"\n\
            [[scenario.producers]]\nname = \"p\"\nchannel = \"q\"\nevent_type = \"E\"\nrate_per_sec = 20\ncount = 100\n\
            [[scenario.consumers]]\nname = \"c\"\nchannel = \"q\"\neffect = { kind = \"once\" }\nemits = [{ event_type = \"F\", channel = \"next\" }]\ndesign = { propagate_correlation = false }\n\
            [[scenario.consumers]]\nname = \"d\"\nchannel = \"next\"\neffect = { kind = \"once\" }\n";
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"propagate_correlation\"\noptions = [{ value = false }, { value = true }]";
        let goal = broken_then_met(
            &mini(
                scenario,
                knob,
                "{ kind = \"correlated\", through = [\"c\", \"d\"] }",
                "{ k = \"true\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("correlation id"));
    }

    #[test]
    fn no_timeouts() {
        let scenario = "[[scenario.channels]]\nname = \"q\"\nkind = \"queue\"\n[[scenario.channels]]\nname = \"replies\"\nkind = \"queue\"\n\
            [[scenario.producers]]\nname = \"p\"\nchannel = \"q\"\nevent_type = \"E\"\nrate_per_sec = 20\ncount = 200\nrequest = { reply_channel = \"replies\", timeout_ms = 100 }\n\
            [[scenario.consumers]]\nname = \"c\"\nchannel = \"q\"\nprocessing_ms = 80\nreplies = true\neffect = { kind = \"once\" }\n";
        let knob = "id = \"k\"\nlabel = \"l\"\nconsumer = \"c\"\nfield = \"instances\"\noptions = [{ value = 1 }, { value = 4 }]";
        let goal = broken_then_met(
            &mini(
                scenario,
                knob,
                "{ kind = \"no_timeouts\", producer = \"p\" }",
                "{ k = \"4\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("timed out"));
    }

    #[test]
    fn contract() {
        let scenario = format!(
            "{}{}",
            QUEUE.replace(
                "event_type = \"E\"",
                "event_type = \"E\"\nschema_version = 2"
            ),
            consumer("effect = { kind = \"once\" }")
        );
        let knob = "id = \"k\"\nlabel = \"l\"\nproducer = \"p\"\nfield = \"schema_version\"\noptions = [{ value = 2 }, { value = 1 }]";
        let goal = broken_then_met(
            &mini(
                &scenario,
                knob,
                "{ kind = \"contract\", producer = \"p\", event_types = [\"E\"], schema_versions = [1] }",
                "{ k = \"1\" }",
            ),
            true,
        );
        assert!(goal.reason.unwrap_or_default().contains("version 2"));
    }

    #[test]
    fn live_goals_break_before_the_end_and_end_goals_stay_pending() {
        let exercise = parse_text(GOOD).expect("loads");
        let mut world = World::new(&exercise.scenario, 1).expect("world");
        let mut tracker = eda_playground::exercise::GoalTracker::new(&exercise);
        world.advance_to(100);
        tracker.observe(&world.drain_trace());
        assert_eq!(tracker.status(&world, false)[0].state, GoalState::Pending);
        world.advance_to(20_000);
        tracker.observe(&world.drain_trace());
        let status = &tracker.status(&world, false)[0];
        assert_eq!(
            status.state,
            GoalState::Broken,
            "a double charge breaks it at once"
        );
        assert!(status.at.is_some_and(|at| at < 20_000));
    }

    /// The alerting goals on alert-rules: a rule that never fires misses the slowdown, a rule that fires
    /// on a healthy system is noise, a second rule switched on breaks "one rule", and each reason says
    /// what happened when.
    #[test]
    fn alerting_goals_judge_when_rules_fire() {
        let catalog = Catalog::bundled();
        let exercise = catalog.get("alert-rules").expect("alert-rules");
        let run = |choices: &[(&str, &str)]| {
            let choices: Choices = choices
                .iter()
                .map(|(k, o)| ((*k).to_owned(), (*o).to_owned()))
                .collect();
            run_exercise(&exercise, &choices, &[], exercise.default_seed).expect("runs")
        };
        let state = |outcome: &eda_playground::exercise::runner::RunOutcome, id: &str| {
            let goal = outcome.goals.iter().find(|g| g.id == id).unwrap();
            (goal.state, goal.reason.clone().unwrap_or_default(), goal.at)
        };

        let default = run(&[]);
        let (caught, reason, at) = state(&default, "caught");
        assert_eq!(caught, GoalState::Broken);
        assert_eq!(reason, "the slow down at 12 s fired no alert within 8 s");
        assert_eq!(at, Some(20_000));
        assert_eq!(state(&default, "quiet").0, GoalState::Met);

        let noisy = run(&[
            ("on-call-metric", "lag"),
            ("on-call-above", "0"),
            ("on-call-for", "0"),
        ]);
        let (quiet, reason, at) = state(&noisy, "quiet");
        assert_eq!(quiet, GoalState::Broken);
        assert!(
            reason.starts_with("on-call fired at 0.2 s with no incident in the 8 s before"),
            "{reason}"
        );
        assert_eq!(at, Some(250));
        assert_eq!(
            state(&noisy, "caught").0,
            GoalState::Met,
            "someone is awake already"
        );

        let late = run(&[
            ("on-call-metric", "lag"),
            ("on-call-above", "20"),
            ("on-call-for", "10000"),
        ]);
        assert_eq!(state(&late, "caught").0, GoalState::Broken);

        let solved = run(&[
            ("on-call-metric", "lag"),
            ("on-call-above", "20"),
            ("on-call-for", "2000"),
        ]);
        assert!(solved.all_met(), "{:?}", solved.goals);

        // A second rule switched on: "one rule does it" breaks, from the start.
        let text = eda_playground::exercise::BUNDLED
            .iter()
            .find(|(name, _)| *name == "alert-rules.toml")
            .unwrap()
            .1
            .replace(
                "[chaos]",
                "[[scenario.alerts]]\nname = \"backup\"\nmetric = \"error_rate\"\nconsumer = \"fulfilment\"\nabove = 5\n\n[chaos]",
            );
        let two = parse_text(&text).expect("loads");
        let outcome = run_exercise(&two, &Choices::new(), &[], two.default_seed).unwrap();
        let rules = outcome.goals.iter().find(|g| g.id == "one-rule").unwrap();
        assert_eq!(rules.state, GoalState::Broken);
        assert_eq!(
            rules.reason.as_deref(),
            Some("2 alert rules are switched on; at most 1 may be")
        );

        // An incident label no fault has is refused when the file loads.
        let text = text.replace("incidents = [\"slow down\", \"pause\"], within_ms = 8000 }\n\n[[goals]]\nid = \"quiet\"", "incidents = [\"slowdown\"], within_ms = 8000 }\n\n[[goals]]\nid = \"quiet\"");
        let error = parse_text(&text).expect_err("refused");
        assert_eq!(error.field, "goals[0].check.incidents", "{error}");
        assert!(
            error.message.contains(
                "\"slowdown\" is not a fault label; expected one of: crash, pause, slow down"
            ),
            "{error}"
        );
    }

    fn bundled_text(name: &str) -> String {
        eda_playground::exercise::BUNDLED
            .iter()
            .find(|(file, _)| *file == name)
            .unwrap()
            .1
            .to_owned()
    }

    fn run_with(
        exercise: &eda_playground::exercise::Exercise,
        choices: &[(&str, &str)],
    ) -> eda_playground::exercise::RunOutcome {
        let choices: Choices = choices
            .iter()
            .map(|(k, o)| ((*k).to_owned(), (*o).to_owned()))
            .collect();
        run_exercise(exercise, &choices, &[], exercise.default_seed).expect("runs")
    }

    fn goal(outcome: &eda_playground::exercise::RunOutcome, id: &str) -> (GoalState, String) {
        let goal = outcome.goals.iter().find(|g| g.id == id).unwrap();
        (goal.state, goal.reason.clone().unwrap_or_default())
    }

    #[test]
    fn release_goals_judge_what_the_pipeline_let_through() {
        let catalog = Catalog::bundled();
        let exercise = catalog.get("contract-testing").expect("contract-testing");
        // invoicing's contract asks for nothing: the rename ships and invoicing fails on it.
        let default = run_with(&exercise, &[]);
        let (state, reason) = goal(&default, "rename-blocked");
        assert_eq!(state, GoalState::Broken);
        assert_eq!(
            reason,
            "orders's release \"rename total\" shipped: no consumer's contract caught the breaking change"
        );
        assert_eq!(goal(&default, "gift-wrap-ships").0, GoalState::Met);
        assert_eq!(goal(&default, "invoiced").0, GoalState::Broken);
        // A closed contract stops the harmless release too, and says which clause.
        let strict = run_with(
            &exercise,
            &[("invoicing-total", "yes"), ("invoicing-closed", "yes")],
        );
        let (state, reason) = goal(&strict, "gift-wrap-ships");
        assert_eq!(state, GoalState::Broken);
        assert!(
            reason.contains("invoicing's contract allows no field it does not name, and the release sends `address`"),
            "{reason}"
        );
        assert_eq!(goal(&strict, "rename-blocked").0, GoalState::Met);
        let solved = run_with(
            &exercise,
            &[("invoicing-total", "yes"), ("invoicing-currency", "yes")],
        );
        assert!(solved.all_met(), "{:?}", solved.goals);
    }

    #[test]
    fn the_registry_goal_reads_the_mode_the_design_chose() {
        let catalog = Catalog::bundled();
        let exercise = catalog.get("schema-evolution").expect("schema-evolution");
        let none = run_with(
            &exercise,
            &[
                ("registry-mode", "none"),
                ("web-shop-v2-at", "8000"),
                ("billing-v2-at", "24000"),
            ],
        );
        let (state, reason) = goal(&none, "registry");
        assert_eq!(state, GoalState::Broken);
        assert!(reason.contains("mode NONE"), "{reason}");
        assert_eq!(goal(&none, "billing").0, GoalState::Met);
        // The default BACKWARD refuses v2: the refused orders never reach billing.
        let default = run_with(&exercise, &[]);
        let (state, reason) = goal(&default, "billing");
        assert_eq!(state, GoalState::Broken);
        assert!(reason.contains("never reached billing"), "{reason}");
        assert_eq!(goal(&default, "registry").0, GoalState::Met);
    }

    #[test]
    fn releases_contracts_and_registries_are_checked_when_the_file_loads() {
        let contract = bundled_text("contract-testing.toml");
        let bad_release = contract.replace("release = \"gift wrap\"", "release = \"gift-wrap\"");
        let error = parse_text(&bad_release).expect_err("refused");
        assert_eq!(error.field, "goals[0].check.release", "{error}");
        assert!(
            error
                .message
                .contains("orders has no release named \"gift-wrap\"; expected one of: gift wrap, rename total"),
            "{error}"
        );
        let stranger = contract.replacen(
            "name = \"shipping\"\nevent_type",
            "name = \"shiping\"\nevent_type",
            1,
        );
        let error = parse_text(&stranger).expect_err("refused");
        assert_eq!(error.field, "scenario.contracts[1].name", "{error}");
        assert!(
            error.message.contains("no consumer named \"shiping\""),
            "{error}"
        );

        let evolution = bundled_text("schema-evolution.toml");
        let undeclared = evolution.replace("version = 2\nschema", "version = 3\nschema");
        let error = parse_text(&undeclared).expect_err("refused");
        assert_eq!(error.field, "scenario.channels[0].registry", "{error}");
        assert!(
            error
                .message
                .contains("web-shop publishes OrderPlaced v2 here, which has no schema"),
            "{error}"
        );
        assert!(error.line > 0);
    }
}
