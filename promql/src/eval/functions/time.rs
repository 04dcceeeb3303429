//! Calendar functions (`minute`, `hour`, `day_of_month`, `day_of_week`, `day_of_year`,
//! `days_in_month`, `month`, `year`), in UTC as Prometheus computes them. Without an argument
//! they use the evaluation time; with one, each element's value is read as Unix seconds
//! (truncated to an integer, as Go's `int64()` conversion does).

use promql_parser::parser::Expr;

use super::super::Evaluator;
use crate::error::QueryError;
use crate::labels::Labels;
use crate::value::VectorSample;

const DATE_FUNCTIONS: &[&str] = &[
    "minute",
    "hour",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "month",
    "year",
];

pub(super) fn is_date_function(name: &str) -> bool {
    DATE_FUNCTIONS.contains(&name)
}

pub(super) fn eval(
    ev: &Evaluator<'_>,
    name: &str,
    args: &[&Expr],
    t: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let Some(arg) = args.first() else {
        return Ok(vec![VectorSample {
            labels: Labels::empty(),
            t,
            v: component(name, t / 1000),
        }]);
    };
    Ok(ev
        .eval_vector(arg, t)?
        .into_iter()
        .map(|s| VectorSample {
            labels: s.labels.drop_metric_name(),
            t,
            v: component(name, s.v as i64),
        })
        .collect())
}

/// A calendar field of the UTC time `secs` seconds after the epoch.
fn component(name: &str, secs: i64) -> f64 {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let v = match name {
        "minute" => (of_day / 60) % 60,
        "hour" => of_day / 3600,
        "day_of_month" => d,
        // 1970-01-01 was a Thursday; Sunday is 0.
        "day_of_week" => (days + 4).rem_euclid(7),
        "day_of_year" => days - days_from_civil(y, 1, 1) + 1,
        "days_in_month" => days_in_month(y, m),
        "month" => m,
        _ => y,
    };
    v as f64
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of a day count since 1970-01-01, in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields() {
        // 2016-02-29T13:14:15Z, a Monday, the 60th day of a leap year.
        let t = 1_456_751_655;
        assert_eq!(component("year", t), 2016.0);
        assert_eq!(component("month", t), 2.0);
        assert_eq!(component("day_of_month", t), 29.0);
        assert_eq!(component("day_of_week", t), 1.0);
        assert_eq!(component("day_of_year", t), 60.0);
        assert_eq!(component("days_in_month", t), 29.0);
        assert_eq!(component("hour", t), 13.0);
        assert_eq!(component("minute", t), 14.0);
        assert_eq!(component("day_of_week", 0), 4.0);
        assert_eq!(component("year", -1), 1969.0);
        assert_eq!(component("days_in_month", 0), 31.0);
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 59, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
