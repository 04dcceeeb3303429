//! OpenMetrics 1.0.0 text, with the token rules of Prometheus 2.42's `openmetricslex.l`:
//! exactly one space between tokens, every line ends with a newline, no blank lines or free
//! comments, and the body ends with `# EOF` (optionally followed by one newline).

use super::cursor::Cursor;
use super::entry::{Entry, MetricType, Series};
use super::error::{ParseError, ParseErrorKind};
use super::escape::{unescape, Escapes};
use super::float::{parse_om_timestamp, parse_value};

/// Parses the next entry. `# EOF` yields [`Entry::Eof`]; the caller stops after it.
pub(super) fn next_entry<'a>(c: &mut Cursor<'a>) -> Result<Entry<'a>, ParseError> {
    let line = c.line;
    let entry = match c.peek() {
        None => Err(ParseErrorKind::MissingEof),
        Some(b'#') => comment(c),
        Some(_) => series(c).map(Entry::Series),
    };
    entry.map_err(|kind| ParseError { line, kind })
}

/// The body's line break: a newline, or the missing-EOF error at the end of the body.
fn newline(c: &mut Cursor<'_>, what: &'static str) -> Result<(), ParseErrorKind> {
    if c.at_end() {
        return Err(ParseErrorKind::MissingEof);
    }
    c.expect_newline(what)
}

/// A single-space-prefixed token: `[^ \n]+`.
fn spaced_token<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<&'a [u8], ParseErrorKind> {
    if c.at_end() {
        return Err(ParseErrorKind::MissingEof);
    }
    c.expect(b' ', what)?;
    let token = c.take_until(|b| b == b' ' || b == b'\n');
    if token.is_empty() {
        return Err(c.unexpected(what));
    }
    Ok(token)
}

fn comment<'a>(c: &mut Cursor<'a>) -> Result<Entry<'a>, ParseErrorKind> {
    c.advance(1);
    c.expect(b' ', "HELP, TYPE, UNIT or EOF after '#'")?;
    if c.starts_with(b"EOF") {
        c.advance(3);
        if c.peek() == Some(b'\n') {
            c.advance(1);
        }
        return if c.at_end() {
            Ok(Entry::Eof)
        } else {
            Err(ParseErrorKind::DataAfterEof)
        };
    }
    let keyword = [&b"HELP "[..], b"TYPE ", b"UNIT "]
        .into_iter()
        .find(|k| c.starts_with(k))
        .ok_or_else(|| c.unexpected("HELP, TYPE, UNIT or EOF after '#'"))?;
    c.advance(keyword.len());
    let metric = c.metric_name().ok_or_else(|| c.unexpected("metric name"))?;
    let metric = std::str::from_utf8(metric).map_err(|_| c.unexpected("metric name"))?;
    c.expect(b' ', "space and text after metric name")?;
    let text = c.take_until(|b| b == b'\n');
    newline(c, "end of metadata line")?;
    match keyword {
        b"TYPE " => {
            let kind = MetricType::from_openmetrics(text)
                .ok_or_else(|| ParseErrorKind::invalid_type(text))?;
            Ok(Entry::Type { metric, kind })
        }
        b"UNIT " => {
            let unit = std::str::from_utf8(text).map_err(|_| ParseErrorKind::invalid_type(text))?;
            let is_suffix = metric
                .strip_suffix(unit)
                .is_some_and(|head| head.ends_with('_'));
            if !unit.is_empty() && !is_suffix {
                return Err(ParseErrorKind::UnitNotSuffix {
                    unit: unit.to_owned(),
                    metric: metric.to_owned(),
                });
            }
            Ok(Entry::Unit { metric, unit })
        }
        _ => {
            let text = std::str::from_utf8(text).map_err(|_| ParseErrorKind::HelpNotUtf8)?;
            Ok(Entry::Help {
                metric,
                text: unescape(text, Escapes::LabelValue),
            })
        }
    }
}

fn series<'a>(c: &mut Cursor<'a>) -> Result<Series<'a>, ParseErrorKind> {
    let start = c.pos;
    let name = c
        .metric_name()
        .ok_or_else(|| c.unexpected("metric name or '#'"))?;
    let name = std::str::from_utf8(name).map_err(|_| c.unexpected("metric name"))?;
    let mut label_block: &[u8] = &[];
    if c.peek() == Some(b'{') {
        c.advance(1);
        let block_start = c.pos;
        labels(c)?;
        label_block = c.slice(block_start, c.pos - 1);
    }
    let key = c.slice(start, c.pos);
    let raw = spaced_token(c, "space and value")?;
    let value = parse_value(raw).ok_or_else(|| ParseErrorKind::invalid_value(raw))?;
    let mut timestamp_ms = None;
    if c.peek() == Some(b' ') && !c.starts_with(b" # {") {
        let raw = spaced_token(c, "timestamp")?;
        timestamp_ms =
            Some(parse_om_timestamp(raw).ok_or_else(|| ParseErrorKind::invalid_timestamp(raw))?);
    }
    if c.starts_with(b" # {") {
        c.advance(4);
        exemplar(c)?;
    }
    newline(c, "end of line")?;
    Ok(Series {
        key,
        name,
        value,
        timestamp_ms,
        label_block,
    })
}

/// Validates an exemplar (`# {labels} value [timestamp]`) so a malformed one fails the
/// scrape as in Prometheus; its content is not kept. The cursor is just past the `{`.
fn exemplar(c: &mut Cursor<'_>) -> Result<(), ParseErrorKind> {
    labels(c)?;
    let raw = spaced_token(c, "exemplar value")?;
    parse_value(raw).ok_or_else(|| ParseErrorKind::invalid_value(raw))?;
    if c.peek() == Some(b' ') {
        let raw = spaced_token(c, "exemplar timestamp")?;
        parse_om_timestamp(raw).ok_or_else(|| ParseErrorKind::invalid_timestamp(raw))?;
    }
    Ok(())
}

/// Validates a label block: `name="value"` pairs separated by single commas, no spaces, no
/// trailing comma. The cursor is just past `{` and ends just past `}`.
fn labels(c: &mut Cursor<'_>) -> Result<(), ParseErrorKind> {
    let start = c.pos;
    let mut first = true;
    loop {
        match c.peek() {
            Some(b'}') => {
                c.advance(1);
                return c.check_utf8(start);
            }
            Some(b',') if !first => {
                c.advance(1);
                c.label_name().ok_or_else(|| c.unexpected("label name"))?;
            }
            _ if first => {
                c.label_name()
                    .ok_or_else(|| c.unexpected("label name or '}'"))?;
            }
            _ => return Err(c.unexpected("',' or '}'")),
        }
        first = false;
        c.expect(b'=', "'=' after label name")?;
        c.quoted(false)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &str) -> Result<Vec<Entry<'_>>, (usize, ParseErrorKind)> {
        let mut c = Cursor::new(body.as_bytes());
        let mut out = Vec::new();
        loop {
            let e = next_entry(&mut c).map_err(|e| (e.line, e.kind))?;
            if e == Entry::Eof {
                return Ok(out);
            }
            out.push(e);
        }
    }

    #[test]
    fn parses_a_typical_body() {
        let body = "# HELP acme_http_router_request_seconds Latency \\\"q\\\" \\\\ x\n\
                    # TYPE acme_http_router_request_seconds summary\n\
                    # UNIT acme_http_router_request_seconds seconds\n\
                    acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n\
                    acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0 1520879607.789\n\
                    acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n\
                    # TYPE foo histogram\n\
                    foo_bucket{le=\"0.01\"} 0\n\
                    foo_bucket{le=\"+Inf\"} 17 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
                    foo_count 17 1520879607.789 # {} 1 1520879607\n\
                    # EOF\n";
        let e = all(body).unwrap();
        assert_eq!(e.len(), 10);
        let text = "Latency \"q\" \\ x".into();
        assert_eq!(
            e[0],
            Entry::Help {
                metric: "acme_http_router_request_seconds",
                text
            }
        );
        assert_eq!(
            e[2],
            Entry::Unit {
                metric: "acme_http_router_request_seconds",
                unit: "seconds"
            }
        );
        let Entry::Series(s) = &e[4] else { panic!() };
        assert_eq!(
            s.key,
            br#"acme_http_router_request_seconds_count{path="/api/v1",method="GET"}"#
        );
        assert_eq!(s.timestamp_ms, Some(1_520_879_607_789));
        assert_eq!(s.labels().count(), 2);
        let Entry::Series(s) = &e[5] else { panic!() };
        assert_eq!(
            s.name, "acme_http_router_request_seconds_created",
            "_created is a series"
        );
        let Entry::Series(s) = &e[8] else { panic!() };
        assert_eq!((s.value, s.timestamp_ms), (17.0, None));
        let Entry::Series(s) = &e[9] else { panic!() };
        assert_eq!(
            (s.key, s.timestamp_ms),
            (&b"foo_count"[..], Some(1_520_879_607_789))
        );
    }

    #[test]
    fn eof_rules() {
        assert_eq!(all("# EOF").unwrap(), []);
        assert_eq!(all("a 1\n").unwrap_err(), (2, ParseErrorKind::MissingEof));
        assert_eq!(all("a 1").unwrap_err().1, ParseErrorKind::MissingEof);
        assert_eq!(all("").unwrap_err().1, ParseErrorKind::MissingEof);
        assert_eq!(
            all("# EOF\n\n").unwrap_err(),
            (1, ParseErrorKind::DataAfterEof)
        );
        assert_eq!(
            all("# EOF\na 1\n").unwrap_err().1,
            ParseErrorKind::DataAfterEof
        );
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        let cases: &[(&str, usize)] = &[
            ("\n# EOF\n", 1),
            ("a 1\n\n# EOF\n", 2),
            ("# free comment\n# EOF\n", 1),
            ("#HELP a x\n# EOF\n", 1),
            ("# HELP a\n# EOF\n", 1),
            ("# TYPE a untyped\n# EOF\n", 1),
            ("# TYPE a \n# EOF\n", 1),
            ("# UNIT a_bytes seconds\n# EOF\n", 1),
            ("# UNIT seconds seconds\n# EOF\n", 1),
            ("a  1\n# EOF\n", 1),
            ("a 1 \n# EOF\n", 1),
            ("a{b=\"1\",} 1\n# EOF\n", 1),
            ("a{,b=\"1\"} 1\n# EOF\n", 1),
            ("a{b=\"1\" c=\"2\"} 1\n# EOF\n", 1),
            ("a{b=\"1\"c=\"2\"} 1\n# EOF\n", 1),
            ("a{b = \"1\"} 1\n# EOF\n", 1),
            ("a {b=\"1\"} 1\n# EOF\n", 1),
            ("a{b=\"x\ny\"} 1\n# EOF\n", 1),
            ("a 1 NaN\n# EOF\n", 1),
            ("a 1 +Inf\n# EOF\n", 1),
            ("a 1 2 3\n# EOF\n", 1),
            ("a 1 # {x=\"y\"}\n# EOF\n", 1),
            ("a 1 # {x=\"y\"} 1 2 3\n# EOF\n", 1),
            ("a 1 # {x=y} 1\n# EOF\n", 1),
            ("x 1\na 1 #{x=\"y\"} 1\n# EOF\n", 2),
            ("{a=\"b\"} 1\n# EOF\n", 1),
            ("a -NaN\n# EOF\n", 1),
        ];
        for (body, line) in cases {
            match all(body) {
                Err((l, _)) => assert_eq!(l, *line, "{body:?}"),
                Ok(e) => panic!("{body:?} was accepted: {e:?}"),
            }
        }
    }

    #[test]
    fn accepts_om_specific_forms() {
        let e = all(
            "# TYPE a stateset\n# TYPE b gaugehistogram\n# UNIT c_seconds \nd{} -1.5e3 -1\n# EOF",
        )
        .unwrap();
        assert_eq!(e.len(), 4);
        let Entry::Series(s) = &e[3] else { panic!() };
        assert_eq!(
            (s.key, s.value, s.timestamp_ms),
            (&b"d{}"[..], -1500.0, Some(-1000))
        );
    }
}
