//! Keeps queries to the PromQL dialect of Prometheus 2.42.
//!
//! `promql-parser` follows newer Prometheus releases and accepts syntax 2.42 does not have
//! (functions such as `sort_by_label`, the `limitk` aggregation, `fill` modifiers, `or` inside
//! selectors). Running those would give answers Prometheus 2.42 cannot, so they are rejected as
//! `bad_data`, the way 2.42's parser rejects them.

use promql_parser::parser::token::{T_LIMITK, T_LIMIT_RATIO};
use promql_parser::parser::{Expr, VectorSelector};

use crate::error::QueryError;
use crate::eval::PROMETHEUS_2_42_FUNCTIONS;

/// Fails on the first construct Prometheus 2.42 does not have.
pub(crate) fn check_dialect(expr: &Expr) -> Result<(), QueryError> {
    let bad = |msg: String| Err(QueryError::BadData(msg));
    match expr {
        Expr::VectorSelector(vs) => check_selector(vs),
        Expr::MatrixSelector(ms) => check_selector(&ms.vs),
        Expr::Subquery(sq) => check_dialect(&sq.expr),
        Expr::Aggregate(a) => {
            let op = a.op.id();
            if op == T_LIMITK || op == T_LIMIT_RATIO {
                return bad(format!("unknown aggregation {}", a.op));
            }
            if let Some(p) = &a.param {
                check_dialect(p)?;
            }
            check_dialect(&a.expr)
        }
        Expr::Unary(u) => check_dialect(&u.expr),
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier {
                if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                    return bad("fill modifiers are not supported".to_string());
                }
            }
            check_dialect(&b.lhs)?;
            check_dialect(&b.rhs)
        }
        Expr::Paren(p) => check_dialect(&p.expr),
        Expr::Call(c) => {
            if !PROMETHEUS_2_42_FUNCTIONS.contains(&c.func.name) {
                return bad(format!("unknown function with name {:?}", c.func.name));
            }
            c.args.args.iter().try_for_each(|a| check_dialect(a))
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::Extension(_) => bad("extension expressions are not supported".to_string()),
    }
}

/// `or` between matcher sets inside braces is newer than 2.42.
fn check_selector(vs: &VectorSelector) -> Result<(), QueryError> {
    if vs.matchers.or_matchers.is_empty() {
        Ok(())
    } else {
        Err(QueryError::BadData(
            "`or` inside a vector selector is not supported".to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str) -> Result<(), QueryError> {
        check_dialect(&promql_parser::parser::parse(q).unwrap())
    }

    #[test]
    fn accepts_2_42_and_rejects_newer_syntax() {
        assert!(check("sum by (a) (rate(x[5m])) / on(a) group_left y").is_ok());
        assert!(check("sort_by_label(x, \"a\")").is_err());
        assert!(check("limitk(2, x)").is_err());
        assert!(check("mad_over_time(x[5m])").is_err());
    }
}
