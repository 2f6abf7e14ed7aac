//! serde's messages, rewritten as sentences a learner can act on. serde speaks of `u64` and backticks;
//! a toast should say "-5 is not allowed here: expected a whole number of 0 or more".
//!
//! Only the shapes serde_json produces for our types are rewritten; anything else passes through with its
//! position ("at line 1 column 40") removed, since the learner did not write the JSON by hand.

/// A serde_json error as a sentence, without the line and column of the page's generated JSON.
pub fn plain(error: &serde_json::Error) -> String {
    plain_text(&error.to_string())
}

/// The rewrite itself, on serde's text.
pub fn plain_text(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    if let Some(field) = between(message, "missing field `", "`") {
        return format!("the field \"{field}\" is missing");
    }
    if let Some(field) = between(message, "unknown field `", "`") {
        let known = message
            .split_once("expected ")
            .map(|(_, rest)| format!("; expected {}", names(rest)))
            .unwrap_or_default();
        return format!("there is no field \"{field}\"{known}");
    }
    if let Some(variant) = between(message, "unknown variant `", "`") {
        let known = message
            .split_once("expected ")
            .map(|(_, rest)| format!(": expected {}", names(rest)))
            .unwrap_or_default();
        return format!("\"{variant}\" is not a choice here{known}");
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "{} is not allowed here: expected {}",
                value(found),
                kind(expected)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "{} is the wrong kind of value: expected {}",
                value(found),
                kind(expected)
            );
        }
    }
    if message.starts_with("expected ") || message.starts_with("EOF while parsing") {
        return "this is not valid JSON".to_owned();
    }
    message.to_owned()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// "`a`, `b` or `c`" → "a, b or c"; "one of `a`, `b`" → "one of a, b".
fn names(text: &str) -> String {
    text.replace('`', "")
}

/// serde's description of what it found: "integer `-5`" → "-5"; "string \"x\"" → "\"x\"".
fn value(found: &str) -> String {
    let found = found.trim();
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(rest) = found.strip_prefix(prefix) {
            return rest.trim_matches('`').to_owned();
        }
    }
    if let Some(rest) = found.strip_prefix("string ") {
        return rest.to_owned();
    }
    match found {
        "null" => "nothing (null)".to_owned(),
        "map" => "an object".to_owned(),
        "sequence" => "a list".to_owned(),
        other => other.to_owned(),
    }
}

/// serde's name of what it expected: "u64" → "a whole number of 0 or more".
fn kind(expected: &str) -> String {
    match expected.trim() {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a string" => "text".to_owned(),
        "a boolean" => "true or false".to_owned(),
        other => names(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_sentences() {
        assert_eq!(
            plain_text("invalid value: integer `-5`, expected u64 at line 1 column 25"),
            "-5 is not allowed here: expected a whole number of 0 or more"
        );
        assert_eq!(
            plain_text("missing field `format`"),
            "the field \"format\" is missing"
        );
        assert_eq!(
            plain_text("invalid type: string \"fast\", expected f64 at line 1 column 30"),
            "\"fast\" is the wrong kind of value: expected a number"
        );
        assert_eq!(
            plain_text("unknown variant `crsh`, expected one of `publish`, `crash`"),
            "\"crsh\" is not a choice here: expected one of publish, crash"
        );
        assert_eq!(
            plain_text("expected value at line 1 column 1"),
            "this is not valid JSON"
        );
    }
}
