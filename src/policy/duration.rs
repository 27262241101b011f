//! Prometheus durations: `30s`, `5m`, `1h30m`, `1d`, `250ms`.
//!
//! Units `y` (365d), `w`, `d`, `h`, `m`, `s`, `ms`, each at most once, largest first, as
//! Prometheus accepts them in rules and flags.

use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("a duration is digits followed by a unit")]
    Shape,
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    #[error("units must go from largest to smallest, each at most once")]
    Order,
    #[error("the duration is too long")]
    Overflow,
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

pub fn parse(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Shape);
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or(DurationError::Shape)?;
        if digits_end == 0 {
            return Err(DurationError::Shape);
        }
        let value: u64 = rest[..digits_end]
            .parse()
            .map_err(|_| DurationError::Overflow)?;
        rest = &rest[digits_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let index = UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
        if index < next_unit {
            return Err(DurationError::Order);
        }
        next_unit = index + 1;
        millis = value
            .checked_mul(UNITS[index].1)
            .and_then(|ms| ms.checked_add(millis))
            .ok_or(DurationError::Overflow)?;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_millis(millis))
}

/// The shortest Prometheus spelling of a duration: 5400s -> `1h30m`.
pub fn format(duration: Duration) -> String {
    let mut millis = duration.as_millis() as u64;
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1d2h"), Ok(Duration::from_secs(26 * 3600)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        assert_eq!(parse("30m1h"), Err(DurationError::Order));
        assert_eq!(parse("1m1m"), Err(DurationError::Order));
        assert_eq!(parse("5min"), Err(DurationError::UnknownUnit("min".into())));
        assert_eq!(parse("5"), Err(DurationError::Shape));
        assert_eq!(parse(""), Err(DurationError::Shape));
        assert_eq!(parse("99999999999999999999y"), Err(DurationError::Overflow));
    }

    #[test]
    fn formats_back_to_the_shortest_form() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
