//! Conversions from the parser's `Duration`/`SystemTime` fields to the millisecond integers
//! the evaluator works in (Prometheus evaluates in int64 milliseconds too).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Offset};

/// A duration in whole milliseconds.
/// Durations too long for `i64` milliseconds saturate; evaluation times stay in range.
pub(crate) fn duration_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// An `offset` in milliseconds; negative offsets look forward in time.
pub(crate) fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => duration_ms(d).saturating_neg(),
    }
}

/// A point in time as milliseconds since the epoch (negative before it).
pub(crate) fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(&d),
        Err(e) => duration_ms(&e.duration()).saturating_neg(),
    }
}

/// The time an `@` modifier pins a node to: `start()` and `end()` are the query's.
pub(crate) fn at_ms(at: &Option<AtModifier>, start: i64, end: i64) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(start),
        Some(AtModifier::End) => Some(end),
        Some(AtModifier::At(t)) => Some(system_time_ms(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(offset_ms(&Some(Offset::Neg(Duration::from_secs(2)))), -2000);
        assert_eq!(offset_ms(&None), 0);
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(system_time_ms(&before), -1500);
        assert_eq!(at_ms(&Some(AtModifier::End), 1, 2), Some(2));
        assert_eq!(at_ms(&None, 1, 2), None);
    }
}
