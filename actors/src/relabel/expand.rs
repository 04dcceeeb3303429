//! Go's `Regexp.Expand` template semantics, which Prometheus uses for `replacement` and for
//! `target_label` in `replace`, and for `replacement` in `labelmap`.
//!
//! The rules differ from the `regex` crate's `Captures::expand` in small ways that change
//! results: `$name` takes the longest run of letters, digits and `_` (so `$1x` names the group
//! `1x`, which usually does not exist and expands to ""), a number with a leading zero is a
//! name, `$$` is a literal `$`, and a malformed reference leaves the `$` as text.

use regex::Captures;

/// Expands `template` with the groups of `caps` (matched against `haystack`).
pub fn expand(template: &str, regex: &regex::Regex, caps: &Captures<'_>, out: &mut String) {
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = extract(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        match group_number(name) {
            Some(n) => {
                if let Some(m) = caps.get(n) {
                    out.push_str(m.as_str());
                }
            }
            None => {
                let index = regex.capture_names().position(|n| n == Some(name));
                if let Some(m) = index.and_then(|i| caps.get(i)) {
                    out.push_str(m.as_str());
                }
            }
        }
    }
    out.push_str(rest);
}

/// Reads a reference name after `$`: `name` or `{name}`. Returns the name and the remaining text.
fn extract(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphabetic() || c.is_numeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let rest = &body[len..];
    if braced {
        let rest = rest.strip_prefix('}')?;
        return Some((name, rest));
    }
    Some((name, rest))
}

/// A reference is a group number when it is all ASCII digits, below 1e8, without a leading zero.
fn group_number(name: &str) -> Option<usize> {
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    if name.len() > 8 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(re: &str, haystack: &str, template: &str) -> String {
        let re = regex::Regex::new(re).unwrap();
        let caps = re.captures(haystack).unwrap();
        let mut out = String::new();
        expand(template, &re, &caps, &mut out);
        out
    }

    #[test]
    fn numbered_and_named_groups() {
        assert_eq!(run("(a)(b)", "ab", "$2-$1"), "b-a");
        assert_eq!(run("(a)(b)", "ab", "${2}x${1}"), "bxa");
        assert_eq!(
            run("(?P<host>[^:]+):(?P<port>.*)", "h:9", "${port}@$host"),
            "9@h"
        );
    }

    #[test]
    fn go_quirks() {
        // `$1x` names a group "1x", which does not exist.
        assert_eq!(run("(a)", "a", "$1x"), "");
        assert_eq!(run("(a)", "a", "${1}x"), "ax");
        assert_eq!(run("(a)", "a", "$$1"), "$1");
        assert_eq!(run("(a)", "a", "$"), "$");
        assert_eq!(run("(a)", "a", "${1"), "${1");
        assert_eq!(run("(a)", "a", "$-"), "$-");
        // Leading zero: a name, not a number.
        assert_eq!(run("(a)", "a", "$01"), "");
        // Group that exists but did not participate.
        assert_eq!(run("(a)|(b)", "a", "[$2]"), "[]");
        assert_eq!(run("(a)", "a", "$9"), "");
        assert_eq!(run("(a)", "a", "plain"), "plain");
    }
}
