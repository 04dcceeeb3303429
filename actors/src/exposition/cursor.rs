//! A byte cursor over the body with the token shapes both formats share: metric and label
//! names, quoted label values, and line counting.
//!
//! Everything is bounds-checked through `get`, so arbitrary bytes can only produce errors.

use super::error::{Found, ParseErrorKind};

/// `[a-zA-Z_:]`: first byte of a metric name.
const METRIC_START: [bool; 256] = class(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:");
/// `[a-zA-Z0-9_:]`
const METRIC_REST: [bool; 256] =
    class(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:0123456789");
/// `[a-zA-Z_]`: first byte of a label name.
const LABEL_START: [bool; 256] = class(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
/// `[a-zA-Z0-9_]`
const LABEL_REST: [bool; 256] =
    class(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");

const fn class(members: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < members.len() {
        table[members[i] as usize] = true;
        i += 1;
    }
    table
}

pub(super) fn is_metric_start(b: u8) -> bool {
    METRIC_START[b as usize]
}

pub(super) fn is_label_start(b: u8) -> bool {
    LABEL_START[b as usize]
}

pub(super) fn is_label_rest(b: u8) -> bool {
    LABEL_REST[b as usize]
}

/// True when `name` is a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_valid_metric_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.first().is_some_and(|&c| is_metric_start(c))
        && b[1..].iter().all(|&c| METRIC_REST[c as usize])
}

/// Position in the body plus the current 1-based line number.
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    pub line: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            line: 1,
        }
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.buf.get(self.pos + ahead).copied()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn starts_with(&self, s: &[u8]) -> bool {
        self.rest().starts_with(s)
    }

    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    pub fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        self.buf.get(from..to).unwrap_or(&[])
    }

    /// The error for "expected X here".
    pub fn unexpected(&self, expected: &'static str) -> ParseErrorKind {
        ParseErrorKind::Unexpected {
            expected,
            found: Found::at(self.peek()),
        }
    }

    /// Consumes `b` or fails with "expected `what`".
    pub fn expect(&mut self, b: u8, what: &'static str) -> Result<(), ParseErrorKind> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// Consumes a line break (counting it) or fails.
    pub fn expect_newline(&mut self, what: &'static str) -> Result<(), ParseErrorKind> {
        self.expect(b'\n', what)?;
        self.line += 1;
        Ok(())
    }

    /// Skips spaces and tabs (the text format's whitespace).
    pub fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Takes a metric name if one starts here.
    pub fn metric_name(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        if !self.peek().is_some_and(is_metric_start) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(|b| METRIC_REST[b as usize]) {
            self.pos += 1;
        }
        Some(self.slice(start, self.pos))
    }

    /// Takes a label name if one starts here.
    pub fn label_name(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        if !self.peek().is_some_and(is_label_start) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(is_label_rest) {
            self.pos += 1;
        }
        Some(self.slice(start, self.pos))
    }

    /// Takes the bytes up to (not including) the first byte in `stop`, or to the end.
    pub fn take_until(&mut self, stop: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| !stop(b)) {
            self.pos += 1;
        }
        self.slice(start, self.pos)
    }

    /// Takes a quoted label value starting at the opening `"`, returning the raw (escaped)
    /// content. A backslash escapes any byte but a newline; raw newlines are allowed only when
    /// `raw_newlines` (the text format's lexer allows them, OpenMetrics's does not). UTF-8 is
    /// checked once per label block by the caller ([`Cursor::check_utf8`]), which is cheaper
    /// than per value.
    pub fn quoted(&mut self, raw_newlines: bool) -> Result<&'a [u8], ParseErrorKind> {
        self.expect(b'"', "label value")?;
        let start = self.pos;
        loop {
            let rest = self.rest();
            let Some(i) = rest.iter().position(|&b| matches!(b, b'"' | b'\\' | b'\n')) else {
                self.pos = self.buf.len();
                return Err(self.unexpected("closing quote of label value"));
            };
            self.pos += i;
            match rest[i] {
                b'"' => break,
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') | None => {
                        self.pos += 1;
                        return Err(self.unexpected("escaped character in label value"));
                    }
                    Some(_) => self.pos += 2,
                },
                _ if !raw_newlines => return Err(self.unexpected("closing quote of label value")),
                _ => {
                    self.line += 1;
                    self.pos += 1;
                }
            }
        }
        let raw = self.slice(start, self.pos);
        self.pos += 1;
        Ok(raw)
    }

    /// Fails unless the bytes from `start` to the cursor are UTF-8. Used on label blocks,
    /// whose only non-ASCII bytes can be in values.
    pub fn check_utf8(&self, start: usize) -> Result<(), ParseErrorKind> {
        match std::str::from_utf8(self.slice(start, self.pos)) {
            Ok(_) => Ok(()),
            Err(_) => Err(ParseErrorKind::LabelValueNotUtf8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_metric_name("a:b_c9"));
        assert!(!is_valid_metric_name("9a"));
        assert!(!is_valid_metric_name(""));
        let mut c = Cursor::new(b"foo:bar_1{");
        assert_eq!(c.metric_name(), Some(&b"foo:bar_1"[..]));
        assert_eq!(c.peek(), Some(b'{'));
    }

    #[test]
    fn quoted_values_count_lines_and_reject_bad_escapes() {
        let mut c = Cursor::new(b"\"a\\\"b\nc\" rest");
        assert_eq!(c.quoted(true).unwrap(), b"a\\\"b\nc");
        assert_eq!(c.line, 2);
        assert_eq!(c.rest(), b" rest");
        assert!(Cursor::new(b"\"a\nb\"").quoted(false).is_err());
        assert!(Cursor::new(b"\"a\\\nb\"").quoted(true).is_err());
        assert!(Cursor::new(b"\"abc").quoted(true).is_err());
        let mut c = Cursor::new(b"\"\xff\"");
        c.quoted(true).unwrap();
        assert_eq!(c.check_utf8(0), Err(ParseErrorKind::LabelValueNotUtf8));
    }
}
