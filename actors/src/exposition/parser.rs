//! The parser: an iterator of entries over one scraped body, in the format its Content-Type
//! names.

use super::cursor::Cursor;
use super::entry::Entry;
use super::error::ParseError;
use super::format::Format;
use super::{openmetrics, text};

/// Iterates the entries of a body. It stops (returns `None`) after the first error, at the end
/// of a text-format body, and after OpenMetrics's `# EOF` entry. It never panics, whatever the
/// bytes.
#[derive(Debug)]
pub struct Parser<'a> {
    format: Format,
    cursor: Cursor<'a>,
    done: bool,
}

impl<'a> Parser<'a> {
    pub fn new(body: &'a [u8], format: Format) -> Self {
        Self {
            format,
            cursor: Cursor::new(body),
            done: false,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match self.format {
            Format::PrometheusText => text::next_entry(&mut self.cursor),
            Format::OpenMetrics => Some(openmetrics::next_entry(&mut self.cursor)),
        };
        if matches!(next, None | Some(Err(_)) | Some(Ok(Entry::Eof))) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    const TEXT: &str = "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\n\
        go_goroutines 42\nhttp_requests_total{code=\"200\",handler=\"/\"} 7 1700000000000\n\
        h_bucket{le=\"+Inf\"} 3\n";
    const OPENMETRICS: &str = "# TYPE go_goroutines gauge\ngo_goroutines 42\n\
        http_requests_total{code=\"200\",handler=\"/\"} 7 1700000000.5 # {trace=\"a\"} 1\n# EOF\n";

    fn count(body: &[u8], format: Format) -> (usize, Option<ParseError>) {
        let mut n = 0;
        for e in Parser::new(body, format) {
            match e {
                Ok(_) => n += 1,
                Err(e) => return (n, Some(e)),
            }
        }
        (n, None)
    }

    #[test]
    fn stops_after_errors_and_eof() {
        assert_eq!(count(TEXT.as_bytes(), Format::PrometheusText), (5, None));
        assert_eq!(
            count(OPENMETRICS.as_bytes(), Format::OpenMetrics),
            (4, None)
        );
        let (n, err) = count(b"a 1\nb{ 2\nc 3\n", Format::PrometheusText);
        assert_eq!((n, err.map(|e| e.line)), (1, Some(2)));
        let mut p = Parser::new(b"bad bad\ngood 1\n", Format::PrometheusText);
        assert!(p.next().unwrap().is_err());
        assert!(p.next().is_none(), "fused after an error");
    }

    #[test]
    fn the_same_body_in_both_formats_gives_the_same_series() {
        let keys = |body: &str, format| -> Vec<(Vec<u8>, f64)> {
            Parser::new(body.as_bytes(), format)
                .filter_map(|e| match e.unwrap() {
                    Entry::Series(s) => Some((s.key.to_vec(), s.value)),
                    _ => None,
                })
                .collect()
        };
        let text = keys(TEXT, Format::PrometheusText);
        let om = keys(OPENMETRICS, Format::OpenMetrics);
        assert_eq!(text[..2], om[..]);
    }

    /// Arbitrary bytes, and mutations of valid bodies, must only ever produce entries or an
    /// error: no panic, no endless loop.
    #[test]
    fn garbage_never_panics() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let alphabet = b"a_:{}=\",# \t\n\\01.eE+-InfNa\xff\x00";
        for round in 0..20_000 {
            let len = rng.random_range(0..64);
            let body: Vec<u8> = if round % 2 == 0 {
                (0..len)
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect()
            } else {
                let base = if round % 4 == 1 { TEXT } else { OPENMETRICS };
                let mut b = base.as_bytes().to_vec();
                for _ in 0..rng.random_range(1..4) {
                    let i = rng.random_range(0..b.len());
                    b[i] = rng.random();
                }
                b
            };
            for format in [Format::PrometheusText, Format::OpenMetrics] {
                let mut entries = 0;
                for e in Parser::new(&body, format) {
                    if let Ok(Entry::Series(s)) = e {
                        s.labels().for_each(drop);
                    }
                    entries += 1;
                    assert!(entries <= body.len() + 1, "progress on every entry");
                }
            }
        }
    }
}
