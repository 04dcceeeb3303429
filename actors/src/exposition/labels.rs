//! Iteration over the labels of a parsed series, unescaping values on the way.
//!
//! The label block was fully validated when the series was parsed, so this second pass only
//! has to find the pieces again; it is only run on a scrape-cache miss.

use std::borrow::Cow;

use super::cursor::{is_label_rest, is_label_start};
use super::escape::{unescape, Escapes};

/// Yields `(name, unescaped value)` for each label inside a series' braces, in exposition
/// order (duplicates included; the caller decides what a duplicate means).
#[derive(Clone, Debug)]
pub struct LabelIter<'a> {
    block: &'a [u8],
    pos: usize,
}

impl<'a> LabelIter<'a> {
    pub(super) fn new(block: &'a [u8]) -> Self {
        Self { block, pos: 0 }
    }

    fn skip_separators(&mut self) {
        while matches!(self.block.get(self.pos), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        self.skip_separators();
        let start = self.pos;
        if !is_label_start(*self.block.get(self.pos)?) {
            return None;
        }
        while self.block.get(self.pos).is_some_and(|&b| is_label_rest(b)) {
            self.pos += 1;
        }
        let name = std::str::from_utf8(self.block.get(start..self.pos)?).ok()?;
        while matches!(self.block.get(self.pos), Some(b' ' | b'\t' | b'=')) {
            self.pos += 1;
        }
        if self.block.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        let vstart = self.pos;
        loop {
            match self.block.get(self.pos)? {
                b'"' => break,
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        let raw = std::str::from_utf8(self.block.get(vstart..self.pos)?).ok()?;
        self.pos += 1;
        Some((name, unescape(raw, Escapes::LabelValue)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_both_formats_block_shapes() {
        let text = LabelIter::new(br#" a = "1" b="x\"y\\z\n",c="" , "#);
        let got: Vec<_> = text.map(|(n, v)| (n, v.into_owned())).collect();
        assert_eq!(
            got,
            [
                ("a", "1".into()),
                ("b", "x\"y\\z\n".into()),
                ("c", String::new())
            ]
        );
        assert_eq!(LabelIter::new(b"").count(), 0);
        assert_eq!(
            LabelIter::new(br#"a="\"#).count(),
            0,
            "truncated input ends the iteration"
        );
    }
}
