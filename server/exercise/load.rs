//! From the text of an exercise file to a checked [`Exercise`], or an error that names the
//! file, the line and column, the field and what was expected.
//!
//! Parsing is serde's job (unknown fields are refused); this module then checks what serde
//! cannot: the names a knob, a goal or the solution refers to, the knob options (each one
//! must give a scenario the engine accepts), and the engine's own scenario checks.
use std::collections::BTreeSet;
use std::path::Path;

use thiserror::Error;

use crate::engine::World;

use super::markdown;
use super::model::{
    Exercise, ExerciseFile, Knob, KnobOption, KnobOptionSpec, KnobTarget, Origin, Solution,
    apply_to_scenario, current_value, is_design_field,
};

/// The largest exercise file read; a larger one is refused before it is parsed.
pub const MAX_EXERCISE_FILE_BYTES: u64 = 256 * 1024;

/// Knobs, goals, hints and debrief questions one exercise may have; more is refused at
/// load, as a playground with more controls than that teaches nothing.
pub const MAX_KNOBS: usize = 16;
pub const MAX_GOALS: usize = 16;
pub const MAX_HINTS: usize = 16;

/// Why an exercise file does not load.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{column}: {field}: {message}")]
pub struct LoadError {
    /// The file as the facilitator knows it (its path, or `exercises/NAME` when bundled).
    pub file: String,
    /// 1-based line and column of the fault; 1:1 when no place in the file can be named.
    pub line: usize,
    pub column: usize,
    /// The field at fault, as a path such as `scenario.consumers[1].channel`.
    pub field: String,
    /// What is wrong, ending with what was expected.
    pub message: String,
}

impl LoadError {
    fn at(file: &str, text: &str, field: String, message: String) -> Self {
        let (line, column) = locate(text, &field);
        Self {
            file: file.to_owned(),
            line,
            column,
            field,
            message,
        }
    }
}

/// Reads and checks one exercise file.
pub fn load_file(path: &Path) -> Result<Exercise, LoadError> {
    let shown = path.display().to_string();
    let plain = |message: String| LoadError {
        file: shown.clone(),
        line: 1,
        column: 1,
        field: "(file)".to_owned(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| plain(format!("cannot read the file: {e}")))?
        .len();
    if size > MAX_EXERCISE_FILE_BYTES {
        return Err(plain(format!(
            "the file has {size} bytes; expected at most {MAX_EXERCISE_FILE_BYTES}"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| plain(format!("cannot read the file: {e}")))?;
    parse(&text, &shown, Origin::File(path.to_path_buf()))
}

/// Parses and checks the text of an exercise file; `file` names it in errors.
pub fn parse(text: &str, file: &str, origin: Origin) -> Result<Exercise, LoadError> {
    let raw: ExerciseFile = toml::from_str(text).map_err(|e| toml_error(text, file, &e))?;
    check(raw, text, file, origin)
}

fn toml_error(text: &str, file: &str, error: &toml::de::Error) -> LoadError {
    let offset = error.span().map_or(0, |span| span.start);
    let (line, column) = line_column(text, offset);
    let message = error.message().trim().to_owned();
    let field = field_at(text, offset, &message);
    let message = if message.contains("expected") {
        message
    } else {
        format!("{message}; expected a valid exercise file (see exercises/README.md)")
    };
    LoadError {
        file: file.to_owned(),
        line,
        column,
        field,
        message,
    }
}

fn check(
    mut raw: ExerciseFile,
    text: &str,
    file: &str,
    origin: Origin,
) -> Result<Exercise, LoadError> {
    let fail = |field: &str, message: String| LoadError::at(file, text, field.to_owned(), message);
    let id_ok = !raw.id.is_empty()
        && raw.id.len() <= 64
        && raw
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err(fail(
            "id",
            format!(
                "{:?} is not a valid id; expected 1 to 64 lowercase letters, digits and dashes",
                raw.id
            ),
        ));
    }
    for (field, value) in [("title", &raw.title), ("summary", &raw.summary)] {
        if value.trim().is_empty() {
            return Err(fail(field, "is empty; expected some text".to_owned()));
        }
    }
    if raw.run_for_ms == 0 || raw.run_for_ms > crate::engine::MAX_DURATION_MS {
        return Err(fail(
            "run_for_ms",
            format!(
                "expected a duration above 0 and at most {} ms",
                crate::engine::MAX_DURATION_MS
            ),
        ));
    }
    if raw.knobs.len() > MAX_KNOBS || raw.goals.len() > MAX_GOALS || raw.hints.len() > MAX_HINTS {
        return Err(fail(
            "knobs",
            format!("expected at most {MAX_KNOBS} knobs, {MAX_GOALS} goals and {MAX_HINTS} hints"),
        ));
    }
    // The declared schemas are the ones a channel's registry judges by.
    if !raw.scenario.schemas.is_empty() {
        return Err(fail(
            "scenario.schemas",
            "declare payload schemas in [[schemas]] at the top level; expected no scenario.schemas"
                .to_owned(),
        ));
    }
    super::payload_schema::check_declared(&raw.schemas, &raw.scenario)
        .map_err(|(field, reason)| fail(&field, reason))?;
    raw.scenario.schemas = raw.schemas.clone();
    // The engine's own checks: values in range and every name a service or fault uses.
    World::new(&raw.scenario, raw.seed).map_err(|e| {
        fail(
            &format!("scenario.{}", e.field),
            with_expected(&raw.scenario, &e.reason),
        )
    })?;
    let scenario = &raw.scenario;
    let knobs = check_knobs(&raw, text, file)?;
    if raw.goals.is_empty() {
        return Err(fail(
            "goals",
            "is empty; expected at least one goal".to_owned(),
        ));
    }
    let mut goal_ids = BTreeSet::new();
    for (i, goal) in raw.goals.iter().enumerate() {
        if !goal_ids.insert(goal.id.as_str()) {
            return Err(fail(
                &format!("goals[{i}].id"),
                format!("{:?} is used twice; expected unique goal ids", goal.id),
            ));
        }
        if let Err((field, reason)) = super::alert_goals::check_goal(&goal.check)
            .and_then(|()| super::release_goals::check_goal(&goal.check, scenario))
        {
            return Err(fail(&format!("goals[{i}].check.{field}"), reason));
        }
        for (role, name) in goal.check.references() {
            let known = if role == "producer" {
                scenario.producers.iter().any(|p| p.name == name)
            } else {
                scenario.consumers.iter().any(|c| c.name == name)
            };
            if !known {
                let kind = if role == "producer" {
                    "producer"
                } else {
                    "consumer"
                };
                return Err(fail(
                    &format!("goals[{i}].check.{role}"),
                    format!(
                        "there is no {kind} named {name:?}; expected one of: {}",
                        names(scenario, kind)
                    ),
                ));
            }
        }
    }
    let choice_sets = std::iter::once(("solution.knobs".to_owned(), &raw.solution.knobs)).chain(
        raw.must_fail
            .iter()
            .enumerate()
            .map(|(i, design)| (format!("must_fail[{i}].knobs"), &design.knobs)),
    );
    for (table, choices) in choice_sets {
        for (knob, option) in choices {
            let field = format!("{table}.{knob}");
            let Some(found) = knobs.iter().find(|k| &k.id == knob) else {
                let ids: Vec<_> = knobs.iter().map(|k| k.id.as_str()).collect();
                return Err(fail(
                    &field,
                    format!(
                        "there is no knob {knob:?}; expected one of: {}",
                        ids.join(", ")
                    ),
                ));
            };
            if found.option(option).is_none() {
                let ids: Vec<_> = found.options.iter().map(|o| o.id.as_str()).collect();
                return Err(fail(
                    &field,
                    format!(
                        "knob {knob:?} has no option {option:?}; expected one of: {}",
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
    let prices = [
        ("instance_second", raw.cost.instance_second),
        ("kilobyte_second", raw.cost.kilobyte_second),
        ("retry", raw.cost.retry),
        ("dedup_entry", raw.cost.dedup_entry),
    ];
    for (name, price) in prices {
        if !price.is_finite() || price < 0.0 {
            return Err(fail(
                &format!("cost.{name}"),
                format!("{price} is not a price; expected a number of credits, 0 or more"),
            ));
        }
    }
    for (i, action) in raw.solution.actions.iter().enumerate() {
        let mut probe = raw.scenario.clone();
        probe.faults = vec![crate::engine::scenario::ScheduledFault {
            at_ms: action.at_ms,
            fault: action.action.clone(),
        }];
        World::new(&probe, raw.seed)
            .map_err(|e| fail(&format!("solution.actions[{i}].action"), e.reason.clone()))?;
    }
    raw.chaos
        .validate(&raw.scenario, raw.run_for_ms)
        .map_err(|(field, reason)| fail(&field, reason))?;
    let render_all = |items: &[String]| items.iter().map(|s| markdown::render(s)).collect();
    Ok(Exercise {
        id: raw.id.clone(),
        title: raw.title.clone(),
        part: raw.part,
        order: raw.order,
        minutes: raw.minutes,
        summary: raw.summary.clone(),
        instructions_html: markdown::render(&raw.instructions),
        scenario: raw.scenario.clone(),
        run_for_ms: raw.run_for_ms,
        default_seed: raw.seed,
        hints: render_all(&raw.hints),
        debrief: render_all(&raw.debrief),
        knobs,
        goals: raw.goals.clone(),
        solution: Solution {
            knobs: raw.solution.knobs.clone(),
            actions: raw.solution.actions.clone(),
            explanation_html: markdown::render(&raw.solution.explanation),
        },
        chaos: raw.chaos.clone(),
        cost: raw.cost,
        must_fail: raw.must_fail.clone(),
        schemas: raw.schemas.clone(),
        origin,
    })
}

/// The engine's reason for refusing a scenario, with the names it would have accepted when
/// the fault is an unknown name.
fn with_expected(scenario: &crate::engine::Scenario, reason: &str) -> String {
    let kind = ["channel", "consumer", "service"]
        .into_iter()
        .find(|kind| reason.starts_with(&format!("there is no {kind} named")));
    match kind {
        Some("service") => format!(
            "{reason}; expected one of: {}, {}",
            names(scenario, "producer"),
            names(scenario, "consumer")
        ),
        Some(kind) => format!("{reason}; expected one of: {}", names(scenario, kind)),
        None => reason.to_owned(),
    }
}

fn names(scenario: &crate::engine::Scenario, kind: &str) -> String {
    let list: Vec<&str> = match kind {
        "producer" => scenario.producers.iter().map(|p| p.name.as_str()).collect(),
        "channel" => scenario.channels.iter().map(|c| c.name.as_str()).collect(),
        "alert" => scenario.alerts.iter().map(|a| a.name.as_str()).collect(),
        "contract" => scenario.contracts.iter().map(|c| c.name.as_str()).collect(),
        _ => scenario.consumers.iter().map(|c| c.name.as_str()).collect(),
    };
    if list.is_empty() {
        "(none declared)".to_owned()
    } else {
        list.join(", ")
    }
}

fn check_knobs(raw: &ExerciseFile, text: &str, file: &str) -> Result<Vec<Knob>, LoadError> {
    let fail = |field: String, message: String| LoadError::at(file, text, field, message);
    let scenario = &raw.scenario;
    let mut knobs: Vec<Knob> = Vec::new();
    for (i, spec) in raw.knobs.iter().enumerate() {
        let field = format!("knobs[{i}]");
        if knobs.iter().any(|k| k.id == spec.id) {
            return Err(fail(
                format!("{field}.id"),
                format!("{:?} is used twice; expected unique knob ids", spec.id),
            ));
        }
        let targets = [
            spec.consumer.clone().map(KnobTarget::Consumer),
            spec.producer.clone().map(KnobTarget::Producer),
            spec.channel.clone().map(KnobTarget::Channel),
            spec.alert.clone().map(KnobTarget::Alert),
            spec.contract.clone().map(KnobTarget::Contract),
        ];
        let mut given = targets.into_iter().flatten();
        let (Some(target), None) = (given.next(), given.next()) else {
            return Err(fail(
                field,
                "expected exactly one of `consumer`, `producer`, `channel`, `alert` or `contract`"
                    .to_owned(),
            ));
        };
        let (kind, name) = match &target {
            KnobTarget::Consumer(n) => ("consumer", n),
            KnobTarget::Producer(n) => ("producer", n),
            KnobTarget::Channel(n) => ("channel", n),
            KnobTarget::Alert(n) => ("alert", n),
            KnobTarget::Contract(n) => ("contract", n),
        };
        let exists = match &target {
            KnobTarget::Consumer(n) => scenario.consumers.iter().any(|c| &c.name == n),
            KnobTarget::Producer(n) => scenario.producers.iter().any(|p| &p.name == n),
            KnobTarget::Channel(n) => scenario.channels.iter().any(|c| &c.name == n),
            KnobTarget::Alert(n) => scenario.alerts.iter().any(|a| &a.name == n),
            KnobTarget::Contract(n) => scenario.contracts.iter().any(|c| &c.name == n),
        };
        if !exists {
            return Err(fail(
                format!("{field}.{kind}"),
                format!(
                    "there is no {kind} named {name:?}; expected one of: {}",
                    names(scenario, kind)
                ),
            ));
        }
        let live = matches!(target, KnobTarget::Consumer(_)) && is_design_field(&spec.field);
        if spec.field == "name" || spec.field == "design" {
            return Err(fail(
                format!("{field}.field"),
                format!(
                    "{:?} cannot be a knob; expected a field of the {kind}",
                    spec.field
                ),
            ));
        }
        let Some(start) = current_value(scenario, &target, &spec.field, live) else {
            let hint = if kind == "consumer" {
                " (or of its design)"
            } else {
                ""
            };
            return Err(fail(
                format!("{field}.field"),
                format!(
                    "a {kind} has no field {:?}; expected a field of the {kind}{hint}",
                    spec.field
                ),
            ));
        };
        let offered: Vec<KnobOptionSpec> = match (&spec.range, spec.options.is_empty()) {
            (Some(_), false) => {
                return Err(fail(
                    format!("{field}.range"),
                    "a knob has options or a range, not both".to_owned(),
                ));
            }
            (Some(range), true) => {
                let integer = start.is_i64() || start.is_u64();
                let values = range
                    .values(integer)
                    .map_err(|reason| fail(format!("{field}.range"), reason))?;
                values
                    .into_iter()
                    .map(|value| KnobOptionSpec {
                        id: Some(number_text(&value)),
                        label: Some(range_label(&value, spec.unit.as_deref())),
                        value: Some(value),
                    })
                    .collect()
            }
            (None, _) if spec.options.len() < 2 => {
                return Err(fail(
                    format!("{field}.options"),
                    "expected at least two options, or a range".to_owned(),
                ));
            }
            (None, _) => spec.options.clone(),
        };
        let mut knob = Knob {
            id: spec.id.clone(),
            label: spec.label.clone(),
            help: spec.help.clone(),
            target,
            field: spec.field.clone(),
            live,
            options: Vec::new(),
            default: String::new(),
            range: spec.range,
            unit: spec.unit.clone(),
        };
        for (j, option) in offered.iter().enumerate() {
            let option_field = format!("{field}.options[{j}]");
            let value = option.value.clone().unwrap_or(serde_json::Value::Null);
            let id = match (&option.id, &value) {
                (Some(id), _) => id.clone(),
                (None, serde_json::Value::String(s)) => s.clone(),
                (None, serde_json::Value::Number(n)) => n.to_string(),
                (None, serde_json::Value::Bool(b)) => b.to_string(),
                (None, _) => {
                    return Err(fail(
                        format!("{option_field}.id"),
                        "is missing; expected an id when the value is a table or left out"
                            .to_owned(),
                    ));
                }
            };
            if knob.options.iter().any(|o| o.id == id) {
                return Err(fail(
                    option_field,
                    format!("option id {id:?} is used twice; expected unique option ids"),
                ));
            }
            // Each option must give a scenario the engine accepts, so a learner can never
            // pick a choice that fails.
            let changed = apply_to_scenario(scenario, &knob, &value).map_err(|reason| {
                fail(
                    format!("{option_field}.value"),
                    format!("does not fit {kind} field {:?}: {reason}", spec.field),
                )
            })?;
            World::new(&changed, raw.seed).map_err(|e| {
                fail(
                    format!("{option_field}.value"),
                    format!("gives a scenario the engine refuses: {e}"),
                )
            })?;
            // The value as the scenario would hold it, so comparisons are exact.
            let normalised =
                current_value(&changed, &knob.target, &knob.field, live).unwrap_or(value.clone());
            knob.options.push(KnobOption {
                label: option.label.clone().unwrap_or_else(|| id.clone()),
                id,
                value: normalised,
            });
        }
        let Some(default) = knob.options.iter().find(|o| o.value == start) else {
            let what = if spec.range.is_some() {
                "range"
            } else {
                "options"
            };
            return Err(fail(
                format!("{field}.{what}"),
                format!(
                    "none of the options is the scenario's current value {start}; expected it \
                     among the options (it is the knob's default)"
                ),
            ));
        };
        knob.default = default.id.clone();
        // Two knobs on one field, or on a table and a path inside it, would each undo the
        // other depending on the order they are applied in.
        if let Some(other) = knobs
            .iter()
            .find(|other| other.target == knob.target && fields_overlap(&other.field, &knob.field))
        {
            return Err(fail(
                format!("{field}.field"),
                format!(
                    "{:?} overlaps knob {:?}'s field {:?}; expected each knob on a field of its own",
                    knob.field, other.id, other.field
                ),
            ));
        }
        knobs.push(knob);
    }
    Ok(knobs)
}

/// "3 instances", "1 instance", "250 ms": a range's value with its unit, which is written in the plural;
/// one of a word longer than an abbreviation drops its final "s".
fn range_label(value: &serde_json::Value, unit: Option<&str>) -> String {
    let number = number_text(value);
    match unit {
        None => number,
        Some(unit) if value.as_f64() == Some(1.0) && unit.len() > 3 => {
            format!("{number} {}", unit.strip_suffix('s').unwrap_or(unit))
        }
        Some(unit) => format!("{number} {unit}"),
    }
}

/// A range's value as a person writes it: a whole number of a decimal field without its ".0", so the
/// option ids of a threshold read "20", as the ids of a count do.
fn number_text(value: &serde_json::Value) -> String {
    match value.as_f64() {
        Some(v) if value.is_f64() && v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        _ => value.to_string(),
    }
}

/// Whether one field is the other, or a table that holds it (`retry` and `retry.max_attempts`).
fn fields_overlap(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    inside(a, b) || inside(b, a)
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The largest char boundary at or below `offset`.
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One line of a TOML file, as the locator sees it.
struct Line<'a> {
    start: usize,
    /// The table path in force on this line, with array indexes (`scenario.consumers[1]`).
    table: String,
    /// The key this line assigns, if it assigns one.
    key: Option<&'a str>,
    text: &'a str,
}

/// Walks the file's lines, tracking `[table]` and `[[array]]` headers. Good enough for the
/// way exercise files are written (one key per line, inline tables on one line); an error
/// anywhere else is still reported at the start of its table.
fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut table = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut start = 0;
    let mut in_multiline = false;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let mut key = None;
        if in_multiline {
            if trimmed.contains("\"\"\"") || trimmed.contains("'''") {
                in_multiline = false;
            }
        } else if let Some(inner) = trimmed
            .strip_prefix("[[")
            .and_then(|r| r.split("]]").next())
        {
            let name = inner.trim().to_owned();
            let index = counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{index}]");
            *index += 1;
            // Nested arrays restart under a new parent.
            counts.retain(|k, _| !k.starts_with(&format!("{name}.")));
        } else if let Some(inner) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = qualify(&counts, inner.trim());
        } else if let Some((name, rest)) = trimmed.split_once('=') {
            let name = name.trim().trim_matches('"');
            if !name.is_empty() && !name.starts_with('#') {
                key = Some(name);
                let quotes = rest.matches("\"\"\"").count() + rest.matches("'''").count();
                in_multiline = quotes % 2 == 1;
            }
        }
        out.push(Line {
            start,
            table: table.clone(),
            key,
            text: line,
        });
        start += raw.len();
    }
    out
}

/// `scenario.links.billing` under `[[scenario.consumers]]` headers already seen stays as
/// written; a sub-table of the latest array element gets that element's index.
fn qualify(counts: &std::collections::HashMap<String, usize>, name: &str) -> String {
    let mut best: Option<(&String, usize)> = None;
    for (array, count) in counts {
        if name.starts_with(&format!("{array}.")) && best.is_none_or(|(b, _)| b.len() < array.len())
        {
            best = Some((array, *count));
        }
    }
    match best {
        Some((array, count)) => format!("{array}[{}]{}", count - 1, &name[array.len()..]),
        None => name.to_owned(),
    }
}

fn join(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    }
}

/// The field path at a byte offset: the table header in force, the key of that line, and
/// the key of an inline table that the offset is inside of.
fn field_at(text: &str, offset: usize, message: &str) -> String {
    let all = lines(text);
    let Some(line) = all.iter().rev().find(|l| l.start <= offset) else {
        return "(file)".to_owned();
    };
    let mut path = match line.key {
        Some(key) => join(&line.table, key),
        None => {
            // The error is about a table as a whole: say which.
            let table = if line.table.is_empty() {
                "(top level)"
            } else {
                &line.table
            };
            table.to_owned()
        }
    };
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let column = offset.saturating_sub(line.start).min(line.text.len());
    let head = &line.text[..floor_boundary(line.text, column)];
    let inline = head.find('{').map(|brace| &head[brace + 1..]);
    match (unknown, inline) {
        // serde names an unknown field in its message: that is the field at fault.
        (Some(name), _) if line.key == Some(name) => {}
        (Some(name), _) => path = join(&path, name),
        // Inside an inline table: the last `name =` before the offset on that line.
        (None, Some(inner)) => {
            if let Some(name) = inner
                .rsplit([',', '{'])
                .find_map(|part| part.split_once('=').map(|(k, _)| k.trim()))
            {
                path = format!("{path}.{name}");
            }
        }
        (None, None) => {}
    }
    path
}

/// Where a field path is written in the file, as 1-based line and column: the line that
/// assigns the longest matching prefix of the path.
fn locate(text: &str, field: &str) -> (usize, usize) {
    let all = lines(text);
    let mut best: Option<(usize, usize, usize)> = None;
    for line in &all {
        let candidates = [
            line.key.map(|k| join(&line.table, k)),
            (line.key.is_none() && !line.table.is_empty()).then(|| line.table.clone()),
        ];
        for path in candidates.into_iter().flatten() {
            let matches = field == path
                || field.starts_with(&format!("{path}."))
                || field.starts_with(&format!("{path}["));
            if matches && best.is_none_or(|(len, _, _)| path.len() > len) {
                // Point at the innermost key named on the line, if it is there.
                let last = field.rsplit(['.', '[']).next().unwrap_or("");
                let column = line
                    .text
                    .find(&format!("{last} "))
                    .or_else(|| line.text.find(&format!("{last}=")))
                    .or_else(|| line.text.find(|c: char| !c.is_whitespace()))
                    .unwrap_or(0);
                best = Some((path.len(), line.start, column));
            }
        }
    }
    match best {
        Some((_, start, column)) => {
            let (line, _) = line_column(text, start);
            (line, column + 1)
        }
        None => (1, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "id = \"x\"\n[scenario]\n[[scenario.channels]]\nname = \"a\"\n[[scenario.channels]]\nname = \"b\"\n[[scenario.consumers]]\nname = \"c\"\nchannel = \"zzz\"\n[scenario.links.c]\nloss = 2\n[[goals]]\nid = \"g\"\ncheck = { kind = \"no_loss\", consumer = \"nope\" }\n";

    #[test]
    fn a_field_path_is_found_in_the_file() {
        assert_eq!(locate(FILE, "scenario.consumers[0].channel"), (9, 1));
        assert_eq!(locate(FILE, "scenario.channels[1].name"), (6, 1));
        assert_eq!(locate(FILE, "scenario.links.c.loss"), (11, 1));
        assert_eq!(locate(FILE, "goals[0].check.consumer"), (14, 29));
    }

    #[test]
    fn an_offset_gives_its_field_path() {
        let offset = FILE.find("\"zzz\"").unwrap_or(0);
        assert_eq!(field_at(FILE, offset, ""), "scenario.consumers[0].channel");
        let offset = FILE.find("\"nope\"").unwrap_or(0);
        assert_eq!(field_at(FILE, offset, ""), "goals[0].check.consumer");
    }
}
