//! The Prometheus text format 0.0.4, with the token rules of Prometheus 2.42's `promlex.l`.
//!
//! Spaces and tabs may separate any two tokens (and lead a line); blank lines and free `#`
//! comments are allowed; the last line needs no newline. A NUL byte where a line starts ends
//! the body, as Prometheus's lexer treats it.

use super::cursor::Cursor;
use super::entry::{Entry, MetricType, Series};
use super::error::{ParseError, ParseErrorKind};
use super::escape::{unescape, Escapes};
use super::float::{parse_ms_timestamp, parse_value};

/// Parses the next entry, or returns `None` at the end of the body.
/// Errors carry the line the entry starts on.
pub(super) fn next_entry<'a>(c: &mut Cursor<'a>) -> Option<Result<Entry<'a>, ParseError>> {
    loop {
        c.skip_blanks();
        match c.peek() {
            None | Some(0) => {
                c.pos = c.buf.len();
                return None;
            }
            Some(b'\n') => {
                c.pos += 1;
                c.line += 1;
            }
            Some(first) => {
                let line = c.line;
                let entry = if first == b'#' {
                    comment(c)
                } else {
                    series(c).map(Entry::Series)
                };
                return Some(entry.map_err(|kind| ParseError { line, kind }));
            }
        }
    }
}

/// Ends a line: a newline, or the end of the body.
fn end_of_line(c: &mut Cursor<'_>, what: &'static str) -> Result<(), ParseErrorKind> {
    if c.at_end() {
        Ok(())
    } else {
        c.expect_newline(what)
    }
}

/// `# HELP`, `# TYPE`, or any other comment.
fn comment<'a>(c: &mut Cursor<'a>) -> Result<Entry<'a>, ParseErrorKind> {
    let start = c.pos;
    c.advance(1);
    let spaced = matches!(c.peek(), Some(b' ' | b'\t'));
    c.skip_blanks();
    let keyword = [b"HELP", b"TYPE"]
        .into_iter()
        .find(|k| c.starts_with(*k) && matches!(c.peek_at(4), Some(b' ' | b'\t')));
    let Some(keyword) = keyword.filter(|_| spaced) else {
        c.take_until(|b| b == b'\n');
        let line = c.slice(start, c.pos);
        end_of_line(c, "end of comment")?;
        return Ok(Entry::Comment(line));
    };
    c.advance(4);
    c.skip_blanks();
    let what = if keyword == b"HELP" {
        "metric name after HELP"
    } else {
        "metric name after TYPE"
    };
    let metric = c.metric_name().ok_or_else(|| c.unexpected(what))?;
    let metric = std::str::from_utf8(metric).map_err(|_| c.unexpected(what))?;
    // Prometheus keeps everything after the name but its first byte (the separator).
    let rest = c.take_until(|b| b == b'\n');
    let text = rest.get(1..).unwrap_or(&[]);
    end_of_line(c, "end of metadata line")?;
    if keyword == b"TYPE" {
        let kind = MetricType::from_text(text).ok_or_else(|| ParseErrorKind::invalid_type(text))?;
        return Ok(Entry::Type { metric, kind });
    }
    let text = std::str::from_utf8(text).map_err(|_| ParseErrorKind::HelpNotUtf8)?;
    Ok(Entry::Help {
        metric,
        text: unescape(text, Escapes::TextHelp),
    })
}

fn series<'a>(c: &mut Cursor<'a>) -> Result<Series<'a>, ParseErrorKind> {
    let start = c.pos;
    let name = c
        .metric_name()
        .ok_or_else(|| c.unexpected("metric name or comment"))?;
    let name = std::str::from_utf8(name).map_err(|_| c.unexpected("metric name"))?;
    let mut key_end = c.pos;
    c.skip_blanks();
    let mut label_block: &[u8] = &[];
    if c.peek() == Some(b'{') {
        c.advance(1);
        let block_start = c.pos;
        labels(c)?;
        label_block = c.slice(block_start, c.pos - 1);
        key_end = c.pos;
        c.skip_blanks();
    }
    let raw_value = c.take_until(|b| matches!(b, b' ' | b'\t' | b'\n' | b'{'));
    if raw_value.is_empty() {
        return Err(c.unexpected("value after metric"));
    }
    let value = parse_value(raw_value).ok_or_else(|| ParseErrorKind::invalid_value(raw_value))?;
    c.skip_blanks();
    let mut timestamp_ms = None;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let raw = c.take_until(|b| !b.is_ascii_digit());
        timestamp_ms =
            Some(parse_ms_timestamp(raw).ok_or_else(|| ParseErrorKind::invalid_timestamp(raw))?);
        c.skip_blanks();
        end_of_line(c, "end of line after timestamp")?;
    } else {
        end_of_line(c, "timestamp or end of line")?;
    }
    Ok(Series {
        key: c.slice(start, key_end),
        name,
        value,
        timestamp_ms,
        label_block,
    })
}

/// Validates a label block; the cursor is just past `{` and ends just past `}`.
fn labels(c: &mut Cursor<'_>) -> Result<(), ParseErrorKind> {
    let start = c.pos;
    loop {
        c.skip_blanks();
        if c.peek() == Some(b'}') {
            c.advance(1);
            return c.check_utf8(start);
        }
        c.label_name().ok_or_else(|| c.unexpected("label name"))?;
        c.skip_blanks();
        c.expect(b'=', "'=' after label name")?;
        c.skip_blanks();
        c.quoted(true)?;
        c.skip_blanks();
        if c.peek() == Some(b',') {
            c.advance(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &(impl AsRef<[u8]> + ?Sized)) -> Result<Vec<Entry<'_>>, (usize, ParseErrorKind)> {
        let mut c = Cursor::new(body.as_ref());
        let mut out = Vec::new();
        while let Some(e) = next_entry(&mut c) {
            out.push(e.map_err(|e| (e.line, e.kind))?);
        }
        Ok(out)
    }

    fn series_of(body: &str) -> Series<'_> {
        match all(body).unwrap().pop() {
            Some(Entry::Series(s)) => s,
            other => panic!("not a series: {other:?}"),
        }
    }

    #[test]
    fn parses_a_typical_body() {
        let body = "# HELP http_requests_total The total.\\nSecond line \\\\ \\\"q\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
                    \n\
                    # a free comment\n\
                    rpc_duration_seconds{quantile=\"0.5\"} 4773\n\
                    metric_without_labels 12.47";
        let entries = all(body).unwrap();
        assert_eq!(entries.len(), 6);
        assert_eq!(
            entries[0],
            Entry::Help {
                metric: "http_requests_total",
                text: "The total.\nSecond line \\ \\\"q".into()
            }
        );
        assert_eq!(
            entries[1],
            Entry::Type {
                metric: "http_requests_total",
                kind: MetricType::Counter
            }
        );
        let Entry::Series(s) = &entries[2] else {
            panic!()
        };
        assert_eq!(s.key, br#"http_requests_total{method="post",code="200"}"#);
        assert_eq!(s.name, "http_requests_total");
        assert_eq!(s.value, 1027.0);
        assert_eq!(s.timestamp_ms, Some(1_395_066_363_000));
        let labels: Vec<_> = s.labels().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(labels, ["method=post", "code=200"]);
        assert_eq!(entries[3], Entry::Comment(b"# a free comment"));
        let Entry::Series(s) = &entries[5] else {
            panic!()
        };
        assert_eq!(
            (s.key, s.value, s.timestamp_ms),
            (&b"metric_without_labels"[..], 12.47, None)
        );
    }

    #[test]
    fn accepts_prometheus_lenient_spacing_and_commas() {
        let s = series_of("  foo { a = \"1\" b=\"2\", } \t -Inf  123  \n");
        assert_eq!(s.key, b"foo { a = \"1\" b=\"2\", }");
        assert_eq!(s.labels().count(), 2);
        assert_eq!(s.value, f64::NEG_INFINITY);
        assert_eq!(s.timestamp_ms, Some(123));
        assert_eq!(series_of("foo{}1").value, 1.0);
        let s = series_of("foo{a=\"multi\nline\"} 1\n");
        assert_eq!(s.labels().next().unwrap().1, "multi\nline");
        assert_eq!(
            series_of("foo{a=\"x\\ty\"} 1").labels().next().unwrap().1,
            "x\\ty"
        );
        assert!(series_of("nan_metric NaN").value.is_nan());
    }

    #[test]
    fn histograms_and_summaries_are_plain_series() {
        let body = "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.4\nh_count 3\n\
                    # TYPE s summary\ns{quantile=\"0.99\"} 2\ns_sum 5\ns_count 9\n";
        let names: Vec<_> = all(body)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e {
                Entry::Series(s) => Some(s.name),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            ["h_bucket", "h_bucket", "h_sum", "h_count", "s", "s_sum", "s_count"]
        );
    }

    #[test]
    fn nul_at_line_start_ends_the_body() {
        assert_eq!(all("a 1\n\0garbage{{{\n").unwrap().len(), 1);
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        let cases: &[(&str, usize)] = &[
            ("a 1\nfoo{a=\"1\"\n", 2),
            ("foo{,a=\"1\"} 1", 1),
            ("foo{a=\"1\",,} 1", 1),
            ("foo{a=1} 1", 1),
            ("foo{a:b=\"1\"} 1", 1),
            ("foo{1=\"1\"} 1", 1),
            ("foo", 1),
            ("foo{a=\"1\"}", 1),
            ("foo 1 2 3", 1),
            ("foo 1 -2", 1),
            ("foo 1 1.5", 1),
            ("foo 1 99999999999999999999", 1),
            ("foo 0x1p3", 1),
            ("foo 1\r\n", 1),
            ("{a=\"1\"} 1", 1),
            ("1foo 1", 1),
            ("# TYPE foo unknown\n", 1),
            ("# TYPE foo counter \n", 1),
            ("# TYPE foo\n", 1),
            ("# HELP 1foo x\n", 1),
            ("foo{a=\"1\"} 1 {", 1),
            ("foo{a=\"1\"}{b=\"2\"} 1", 1),
            ("\n\nfoo{a=\"unterminated} 1\n", 3),
        ];
        for (body, line) in cases {
            match all(body) {
                Err((l, _)) => assert_eq!(l, *line, "{body:?}"),
                Ok(e) => panic!("{body:?} was accepted: {e:?}"),
            }
        }
        assert_eq!(
            all(b"# HELP foo \xff\n").unwrap_err(),
            (1, ParseErrorKind::HelpNotUtf8)
        );
        assert_eq!(
            all(b"foo{a=\"\xff\"} 1").unwrap_err(),
            (1, ParseErrorKind::LabelValueNotUtf8)
        );
    }

    #[test]
    fn comments_that_only_look_like_metadata() {
        let e = all("#HELP foo bar\n# HELPER x\n#\n").unwrap();
        assert_eq!(
            e,
            [
                Entry::Comment(b"#HELP foo bar"),
                Entry::Comment(b"# HELPER x"),
                Entry::Comment(b"#")
            ]
        );
        assert_eq!(
            all("# HELP foo\n").unwrap(),
            [Entry::Help {
                metric: "foo",
                text: "".into()
            }]
        );
    }
}
