//! Parse errors. Each names the line it was found on and what was wrong, so the warning logged
//! for a failed scrape is enough to fix the target's output.

use std::fmt;

/// Longest excerpt of the body quoted in an error; bodies can be megabytes of garbage.
const MAX_EXCERPT: usize = 64;

/// A malformed exposition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// 1-based line number where the problem was found.
    pub line: usize,
    pub kind: ParseErrorKind,
}

/// What was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("expected {expected}, found {found}")]
    Unexpected {
        expected: &'static str,
        found: Found,
    },
    #[error("invalid value {text:?}")]
    InvalidValue { text: String },
    #[error("invalid timestamp {text:?}")]
    InvalidTimestamp { text: String },
    #[error("label value is not valid UTF-8")]
    LabelValueNotUtf8,
    #[error("HELP text is not valid UTF-8")]
    HelpNotUtf8,
    #[error("invalid metric type {text:?}")]
    InvalidMetricType { text: String },
    #[error("unit {unit:?} is not a suffix of metric {metric:?}")]
    UnitNotSuffix { unit: String, metric: String },
    #[error("data does not end with # EOF")]
    MissingEof,
    #[error("unexpected data after # EOF")]
    DataAfterEof,
}

impl ParseErrorKind {
    pub(super) fn invalid_value(text: &[u8]) -> Self {
        Self::InvalidValue {
            text: excerpt(text),
        }
    }

    pub(super) fn invalid_timestamp(text: &[u8]) -> Self {
        Self::InvalidTimestamp {
            text: excerpt(text),
        }
    }

    pub(super) fn invalid_type(text: &[u8]) -> Self {
        Self::InvalidMetricType {
            text: excerpt(text),
        }
    }
}

/// What the parser found where it expected something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    Byte(u8),
    Newline,
    EndOfInput,
}

impl Found {
    pub(super) fn at(b: Option<u8>) -> Self {
        match b {
            None => Self::EndOfInput,
            Some(b'\n') => Self::Newline,
            Some(b) => Self::Byte(b),
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Byte(b) if b.is_ascii_graphic() || *b == b' ' => write!(f, "{:?}", *b as char),
            Self::Byte(b) => write!(f, "byte 0x{b:02x}"),
            Self::Newline => f.write_str("end of line"),
            Self::EndOfInput => f.write_str("end of input"),
        }
    }
}

/// A bounded, lossy rendering of body bytes for an error message.
pub(super) fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_EXCERPT)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > MAX_EXCERPT {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_line_and_problem() {
        let e = ParseError {
            line: 7,
            kind: ParseErrorKind::Unexpected {
                expected: "label name",
                found: Found::Byte(b'1'),
            },
        };
        assert_eq!(e.to_string(), "line 7: expected label name, found '1'");
        let e = ParseError {
            line: 1,
            kind: ParseErrorKind::invalid_value(&[b'x'; 100]),
        };
        assert!(e.to_string().len() < 100, "excerpt is bounded: {e}");
        assert_eq!(Found::at(Some(0)).to_string(), "byte 0x00");
    }
}
