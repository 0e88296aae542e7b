//! Durations for people: read from the stack file (`500ms`, `30s`, `2m`,
//! `1h`, or a bare number of seconds) and shown short (`12ms`, `1.23s`,
//! `2m05s`); in JSON, milliseconds.

use std::time::Duration;

/// `12ms`, `1.23s`, `2m05s`: short, and exact enough for people.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

pub fn serialize_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

pub fn serialize_opt_ms<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.as_millis() as u64)),
        None => s.serialize_none(),
    }
}

/// A duration as the stack file writes it.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    // At most a year: beyond that a number is a mistake, and a huge one
    // would not fit a `Duration`.
    (seconds.is_finite() && (0.0..=31_536_000.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn parses_units() {
        assert_eq!(super::parse("30s"), Some(Duration::from_secs(30)));
        assert_eq!(super::parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(super::parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(super::parse("5"), Some(Duration::from_secs(5)));
        assert_eq!(super::parse("5 parsecs"), None);
        assert_eq!(super::parse(""), None);
        assert_eq!(super::parse("1e300"), None);
        assert_eq!(super::parse("99999999999999999999h"), None);
    }
}
