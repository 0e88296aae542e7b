//! Durations in the stack file: `500ms`, `30s`, `2m`, `1h`, or a bare number
//! of seconds.

use std::time::Duration;

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
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
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
    }
}
