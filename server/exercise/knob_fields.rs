//! Reading and writing the field a knob sets, in a scenario or in a running consumer's design,
//! by way of their JSON form, so that every field of every service can be a knob without a
//! line of code per field. A field may be a path into a table: `retry.max_attempts` sets one
//! number of the retry policy and keeps the rest.
//!
//! A range knob (`range = { min, max, step }`) is expanded here into one option per value, so
//! the rest of the product (the Design, `check`, proofs, the room's distribution) sees the
//! same knob ids and option ids as for a menu.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::{Design, Scenario};

use super::model::{Knob, KnobTarget};

/// The most values a range knob may offer: beyond it the control is a haystack, not a choice,
/// and every value is checked at load time. A wider range is refused with this number.
pub const MAX_RANGE_VALUES: usize = 100;

/// A numeric knob, offered as a slider from `min` to `max` in `step`s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnobRange {
    pub min: f64,
    pub max: f64,
    /// Defaults to 1.
    #[serde(default = "one")]
    pub step: f64,
}

fn one() -> f64 {
    1.0
}

impl KnobRange {
    /// Every value of the range, as the JSON numbers the field takes (integers when `integer`).
    pub fn values(&self, integer: bool) -> Result<Vec<Value>, String> {
        let finite = [self.min, self.max, self.step]
            .iter()
            .all(|v| v.is_finite());
        if !finite || self.step <= 0.0 || self.min >= self.max {
            return Err(format!(
                "expected min < max and a step above 0, got min {}, max {}, step {}",
                self.min, self.max, self.step
            ));
        }
        let count = ((self.max - self.min) / self.step + 1e-9).floor() as usize + 1;
        if count > MAX_RANGE_VALUES {
            return Err(format!(
                "offers {count} values; expected at most {MAX_RANGE_VALUES} (make the step larger)"
            ));
        }
        let whole = |v: f64| v.fract() == 0.0;
        if integer && !(whole(self.min) && whole(self.step)) {
            return Err("the field takes whole numbers; expected a whole min and step".to_owned());
        }
        Ok((0..count)
            .map(|i| {
                let v = self.min + self.step * i as f64;
                if integer {
                    Value::from(v.round() as i64)
                } else {
                    // Rounded to the step's precision, so 0.1 steps give 0.3, not 0.30000000000000004.
                    Value::from((v * 1e9).round() / 1e9)
                }
            })
            .collect())
    }
}

/// The first segment of a field path: the field of the service or design.
fn head(field: &str) -> &str {
    field.split('.').next().unwrap_or(field)
}

/// The value at `path` (dot-separated) inside `value`; a number picks an item of a list
/// (`releases.0.at_ms`).
pub(crate) fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(key),
    })
}

/// Sets `path` (dot-separated) inside `fields` to `value`; every table on the way must exist.
pub(crate) fn set_path(
    fields: &mut Map<String, Value>,
    path: &str,
    value: Value,
) -> Result<(), String> {
    let Some((head, rest)) = path.split_once('.') else {
        fields.insert(path.to_owned(), value);
        return Ok(());
    };
    let not_table = || format!("{head:?} is not a table here, so {path:?} cannot be set");
    match fields.get_mut(head) {
        Some(Value::Object(inner)) => set_path(inner, rest, value),
        // A list item, by its index: the item must be a table, and the rest of the path is in it.
        Some(Value::Array(items)) => {
            let (index, rest) = rest.split_once('.').ok_or_else(not_table)?;
            match index.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(Value::Object(item)) => set_path(item, rest, value),
                _ => Err(format!(
                    "{head:?} has no item {index}, so {path:?} cannot be set"
                )),
            }
        }
        _ => Err(not_table()),
    }
}

/// The names of `Design`'s fields: the knobs that change a running consumer.
pub(crate) fn is_design_field(field: &str) -> bool {
    design_fields(&Design::default()).contains_key(head(field))
}

/// The JSON value of one field (or path) of a consumer's design.
pub(crate) fn design_field(design: &Design, field: &str) -> Option<Value> {
    get_path(&Value::Object(design_fields(design)), field).cloned()
}

pub(crate) fn design_fields(design: &Design) -> Map<String, Value> {
    match serde_json::to_value(design) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

pub(crate) fn set_design_field(
    design: &Design,
    field: &str,
    value: &Value,
) -> Result<Design, String> {
    let mut fields = design_fields(design);
    set_path(&mut fields, field, value.clone())?;
    serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
}

/// The service (or its design) a knob's field lives in, inside the scenario's JSON form.
fn entity_fields<'a>(
    json: &'a mut Value,
    target: &KnobTarget,
    live: bool,
) -> Result<&'a mut Map<String, Value>, String> {
    let (list, name) = match target {
        KnobTarget::Consumer(name) => ("consumers", name),
        KnobTarget::Producer(name) => ("producers", name),
        KnobTarget::Channel(name) => ("channels", name),
        KnobTarget::Alert(name) => ("alerts", name),
        KnobTarget::Contract(name) => ("contracts", name),
    };
    let entity = json
        .get_mut(list)
        .and_then(Value::as_array_mut)
        .and_then(|items| {
            items
                .iter_mut()
                .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
        })
        .ok_or_else(|| format!("there is no {} named {name:?}", &list[..list.len() - 1]))?;
    let slot = if live {
        entity.get_mut("design")
    } else {
        Some(entity)
    };
    match slot {
        Some(Value::Object(fields)) => Ok(fields),
        _ => Err("the scenario has an unexpected shape".to_owned()),
    }
}

/// The scenario with one knob's field set to `value`.
pub(crate) fn apply_to_scenario(
    scenario: &Scenario,
    knob: &Knob,
    value: &Value,
) -> Result<Scenario, String> {
    let mut json = serde_json::to_value(scenario).map_err(|e| e.to_string())?;
    let fields = entity_fields(&mut json, &knob.target, knob.live)?;
    set_path(fields, &knob.field, value.clone())?;
    serde_json::from_value(json).map_err(|e| e.to_string())
}

/// The value a field (or path) has in the scenario; `None` when the service has no such field.
/// A field the scenario leaves out but the service has reads as null.
pub(crate) fn current_value(
    scenario: &Scenario,
    target: &KnobTarget,
    field: &str,
    live: bool,
) -> Option<Value> {
    let mut json = serde_json::to_value(scenario).ok()?;
    let fields = entity_fields(&mut json, target, live).ok()?;
    if !fields.contains_key(head(field)) {
        return None;
    }
    let fields = Value::Object(std::mem::take(fields));
    Some(get_path(&fields, field).cloned().unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_lists_its_values() {
        let range = KnobRange {
            min: 1.0,
            max: 4.0,
            step: 1.0,
        };
        assert_eq!(range.values(true).unwrap(), vec![1, 2, 3, 4]);
        let tenths = KnobRange {
            min: 0.0,
            max: 0.3,
            step: 0.1,
        };
        assert_eq!(
            tenths.values(false).unwrap(),
            vec![Value::from(0.0), 0.1.into(), 0.2.into(), 0.3.into()]
        );
        let huge = KnobRange {
            min: 0.0,
            max: 1000.0,
            step: 1.0,
        };
        assert!(huge.values(true).unwrap_err().contains("at most 100"));
        let halves = KnobRange {
            min: 0.0,
            max: 2.0,
            step: 0.5,
        };
        assert!(halves.values(true).unwrap_err().contains("whole"));
    }

    #[test]
    fn a_path_sets_one_number_of_a_table() {
        let design: Design = serde_json::from_value(serde_json::json!({
            "instances": 1,
            "retry": { "strategy": "immediate", "max_attempts": 5 }
        }))
        .unwrap();
        assert!(is_design_field("retry.max_attempts"));
        assert_eq!(design_field(&design, "retry.max_attempts"), Some(5.into()));
        let changed = set_design_field(&design, "retry.max_attempts", &3.into()).unwrap();
        assert_eq!(design_field(&changed, "retry.max_attempts"), Some(3.into()));
        assert_eq!(
            design_field(&changed, "retry.strategy"),
            Some("immediate".into())
        );
        assert!(set_design_field(&design, "instances.count", &3.into()).is_err());
    }
}
