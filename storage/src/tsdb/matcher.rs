//! Label matchers, with Prometheus's semantics: `=`, `!=`, `=~`, `!~`; regular expressions
//! are anchored at both ends (`^(?s:re)$`); a series without the label is treated as having
//! the empty value, so `{foo=""}` and `{foo!~".+"}` select the series without `foo`.

use super::error::StorageError;
use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<Regex>,
}

impl Matcher {
    /// A matcher on label `name`; `value` is a regular expression for the regex operators.
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Self, StorageError> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Regex::new(&format!("^(?s:{value})$")).map_err(|source| {
                    StorageError::InvalidRegex {
                        name: name.to_owned(),
                        pattern: value.to_owned(),
                        source: Box::new(source),
                    }
                })?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchOp {
        self.op
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (the empty string for an absent label) matches.
    pub fn matches(&self, value: &str) -> bool {
        match (&self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // `new` compiles a regex for both regex operators.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored_and_dot_matches_newlines() {
        let m = Matcher::new(MatchOp::Regex, "job", "no.e").unwrap();
        assert!(m.matches("node"));
        assert!(!m.matches("xnode"));
        assert!(!m.matches("nodex"));
        assert!(Matcher::new(MatchOp::Regex, "a", "x.y")
            .unwrap()
            .matches("x\ny"));
        let alt = Matcher::new(MatchOp::Regex, "a", "b|c").unwrap();
        assert!(alt.matches("c") && !alt.matches("bc"));
        let not = Matcher::new(MatchOp::NotRegex, "a", ".+").unwrap();
        assert!(not.matches("") && !not.matches("x"));
    }

    #[test]
    fn equality_and_bad_patterns() {
        let eq = Matcher::new(MatchOp::Equal, "a", "").unwrap();
        assert!(eq.matches("") && !eq.matches("x"));
        let ne = Matcher::new(MatchOp::NotEqual, "a", "x").unwrap();
        assert!(ne.matches("") && !ne.matches("x"));
        assert!(matches!(
            Matcher::new(MatchOp::Regex, "a", "("),
            Err(StorageError::InvalidRegex { .. })
        ));
    }
}
