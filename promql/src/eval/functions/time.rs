//! Calendar functions (`minute`, `hour`, `day_of_month`, `day_of_week`, `day_of_year`,
//! `days_in_month`, `month`, `year`), in UTC as Prometheus computes them. Without an argument
//! they use the evaluation time; with one, each element's value is read as Unix seconds
//! (truncated to an integer, as Go's `int64()` conversion does).

use promql_parser::parser::Expr;

use super::super::Evaluator;
use crate::calendar::{civil_from_days, days_from_civil, days_in_month};
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
}
