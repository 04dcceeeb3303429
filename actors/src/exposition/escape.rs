//! Unescaping of label values and HELP text. Prometheus replaces only a fixed set of escape
//! sequences and leaves any other backslash as it is; allocation happens only when a
//! backslash is present.

use std::borrow::Cow;

/// Which escape sequences are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Escapes {
    /// `\\`, `\"`, `\n`: label values (both formats) and OpenMetrics HELP text.
    LabelValue,
    /// `\\`, `\n`: text-format HELP text.
    TextHelp,
}

/// Unescapes `raw`, which must be valid UTF-8 (the caller has checked it).
pub(super) fn unescape(raw: &str, escapes: Escapes) -> Cow<'_, str> {
    if !raw.as_bytes().contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut lookahead = chars.clone();
        match lookahead.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if escapes == Escapes::LabelValue => out.push('"'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars = lookahead;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_known_escapes() {
        assert!(matches!(
            unescape("plain", Escapes::LabelValue),
            Cow::Borrowed("plain")
        ));
        assert_eq!(
            unescape(r#"a\"b\\c\nd\te"#, Escapes::LabelValue),
            "a\"b\\c\nd\\te"
        );
        assert_eq!(unescape(r#"a\"b\\n"#, Escapes::TextHelp), "a\\\"b\\n");
        assert_eq!(unescape("end\\", Escapes::LabelValue), "end\\");
    }
}
