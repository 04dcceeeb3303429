//! Which exposition format a body is in, chosen from the response's `Content-Type` the way
//! Prometheus 2.42's `textparse.New` chooses its parser.

/// The exposition formats the agent parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, also the fallback for anything unrecognised.
    PrometheusText,
    /// `application/openmetrics-text` (any version).
    OpenMetrics,
}

impl Format {
    /// The media type decides; parameters such as `version` are ignored, and a missing or
    /// unrecognised type falls back to the text format, as in Prometheus (which also falls
    /// back when the header does not parse).
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        let Some(ct) = content_type else {
            return Self::PrometheusText;
        };
        let media = ct.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Self::OpenMetrics
        } else {
            Self::PrometheusText
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_openmetrics_only_for_its_media_type() {
        let om = Some("application/openmetrics-text; version=1.0.0; charset=utf-8");
        assert_eq!(Format::from_content_type(om), Format::OpenMetrics);
        assert_eq!(
            Format::from_content_type(Some("Application/OpenMetrics-Text;version=0.0.1")),
            Format::OpenMetrics
        );
        for other in [
            Some("text/plain; version=0.0.4"),
            Some("application/json"),
            Some(""),
            None,
        ] {
            assert_eq!(
                Format::from_content_type(other),
                Format::PrometheusText,
                "{other:?}"
            );
        }
    }
}
