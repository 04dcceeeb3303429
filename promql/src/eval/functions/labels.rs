//! `label_replace` and `label_join`. Both keep the metric name (they change labels, not values).
//!
//! Regexes are fully anchored as in Prometheus and compiled with the `regex` crate, whose syntax
//! is RE2's; the differences from Go's `regexp` are listed in the crate docs. Compiled regexes
//! are cached per query so a range query does not recompile one per step.

use std::cell::RefCell;
use std::collections::HashMap;

use promql_parser::parser::Expr;
use regex::Regex;

use super::super::Evaluator;
use crate::error::QueryError;
use crate::labels::is_valid_label_name;
use crate::value::VectorSample;

/// Anchored regexes compiled during one query, by source text.
#[derive(Debug, Default)]
pub(crate) struct RegexCache(RefCell<HashMap<String, Regex>>);

impl RegexCache {
    /// The anchored regex for `source`, compiled once per query.
    fn anchored(&self, source: &str) -> Result<Regex, regex::Error> {
        if let Some(re) = self.0.borrow().get(source) {
            return Ok(re.clone());
        }
        let anchored = format!("^(?:{source})$");
        let re = Regex::new(&anchored).or_else(|e| {
            // Go reads a `{` that does not start a repeat as a literal; Rust rejects it.
            Regex::new(&escape_literal_braces(&anchored)).map_err(|_| e)
        })?;
        self.0.borrow_mut().insert(source.to_string(), re.clone());
        Ok(re)
    }
}

/// Escapes every `{` that does not open a repetition (`{n}`, `{n,}`, `{n,m}`).
fn escape_literal_braces(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 4);
    let mut chars = re.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '{' if !starts_repeat(&re[i + 1..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `rest` (the text after a `{`) is `n}`, `n,}` or `n,m}`.
fn starts_repeat(rest: &str) -> bool {
    let Some(end) = rest.find('}') else {
        return false;
    };
    let body = &rest[..end];
    let (min, max) = body.split_once(',').unwrap_or((body, "0"));
    !min.is_empty()
        && min.bytes().all(|b| b.is_ascii_digit())
        && max.bytes().all(|b| b.is_ascii_digit())
}

/// `label_replace(v, dst, replacement, src, regex)`.
pub(super) fn label_replace(
    ev: &Evaluator<'_>,
    args: &[&Expr],
    t: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let input = ev.eval_vector(args[0], t)?;
    let dst = ev.eval_string(args[1], t)?;
    let replacement = ev.eval_string(args[2], t)?;
    let src = ev.eval_string(args[3], t)?;
    let source = ev.eval_string(args[4], t)?;
    let re = ev.regexes.anchored(&source).map_err(|_| {
        QueryError::Execution(format!(
            "invalid regular expression in label_replace(): {source}"
        ))
    })?;
    if !is_valid_label_name(&dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    Ok(input
        .into_iter()
        .map(|s| {
            let value = s.labels.get(&src).unwrap_or("");
            let labels = match re.captures(value) {
                Some(caps) => {
                    let mut res = String::new();
                    caps.expand(&replacement, &mut res);
                    s.labels.with(&dst, &res)
                }
                None => s.labels,
            };
            VectorSample { labels, t, v: s.v }
        })
        .collect())
}

/// `label_join(v, dst, separator, src...)`.
pub(super) fn label_join(
    ev: &Evaluator<'_>,
    args: &[&Expr],
    t: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let input = ev.eval_vector(args[0], t)?;
    let dst = ev.eval_string(args[1], t)?;
    let sep = ev.eval_string(args[2], t)?;
    let mut srcs = Vec::with_capacity(args.len() - 3);
    for a in &args[3..] {
        let src = ev.eval_string(a, t)?;
        if !is_valid_label_name(&src) {
            return Err(QueryError::Execution(format!(
                "invalid source label name in label_join(): {src}"
            )));
        }
        srcs.push(src);
    }
    if !is_valid_label_name(&dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    Ok(input
        .into_iter()
        .map(|s| {
            let joined = srcs
                .iter()
                .map(|n| s.labels.get(n).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(&sep);
            VectorSample {
                labels: s.labels.with(&dst, &joined),
                t,
                v: s.v,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_anchors_and_reuses() {
        let cache = RegexCache::default();
        let re = cache.anchored("a.").unwrap();
        assert!(re.is_match("ab"));
        assert!(!re.is_match("xab"));
        assert!(!re.is_match("abc"));
        assert_eq!(cache.0.borrow().len(), 1);
        cache.anchored("a.").unwrap();
        assert_eq!(cache.0.borrow().len(), 1);
        assert!(cache.anchored("(").is_err());
    }

    #[test]
    fn braces_that_are_not_repeats_are_literal() {
        assert_eq!(
            escape_literal_braces("a{b}c{2}d{1,}e{,3}"),
            r"a\{b}c{2}d{1,}e\{,3}"
        );
        let cache = RegexCache::default();
        assert!(cache.anchored("x{y}").unwrap().is_match("x{y}"));
        assert!(cache.anchored("x{2}").unwrap().is_match("xx"));
    }
}
