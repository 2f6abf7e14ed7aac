//! Durations on the command line: `60s`, `500ms`, `2m`, or a bare number of milliseconds.
use crate::engine::Millis;

/// Parses a virtual duration into milliseconds.
pub fn parse_duration(text: &str) -> Result<Millis, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: Millis = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 60s, 500ms or 2m"))?;
    let factor = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{text:?} has an unknown unit (use ms, s, m or h)")),
    };
    value
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_to_milliseconds() {
        assert_eq!(parse_duration("60s"), Ok(60_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("2m"), Ok(120_000));
        assert_eq!(parse_duration("42"), Ok(42));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
