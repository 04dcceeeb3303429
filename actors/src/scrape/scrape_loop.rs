//! The per-target scrape logic as a pure state machine: it turns a scrape result into the
//! [`Append`] to send to the WAL and the [`ScrapeReport`], and learns from the WAL's durable
//! reply. The Scraper actor only does the IO around it.
//!
//! One scrape is one append: the samples of the series (cache hits carry their reference,
//! misses carry their labels as new series), the staleness markers of series that went away,
//! and the five report series. Nothing about a scrape is remembered until the WAL confirms it
//! ([`ScrapeLoop::commit`]); if the append fails ([`ScrapeLoop::abort`]) the next scrape
//! starts from the last durable state, so stale markers and new series are sent again rather
//! than lost.
//!
//! A failed scrape (HTTP error, timeout, oversized body, parse error, limit exceeded) appends
//! none of the body's samples: only `up` = 0, the other report series and a stale marker for
//! every series of the last successful scrape, as Prometheus does.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::cache::{CacheKey, Cached, ScrapeCache};
use super::error::ScrapeError;
use super::fast_hash::FastHashBuilder;
use super::metadata::{MetricMetadata, TargetMetadata};
use super::report::{report_labels, ScrapeReport, REPORT_SERIES};
use super::series_labels::series_labels;
use super::settings::ScrapeSettings;
use super::staleness::StalenessTracker;
use crate::exposition::{Entry, Format, Parser};
use crate::labels::Labels;
use crate::sample::{stale_nan, SeriesRef};
use crate::wal::{Append, AppendSample, Appended, SeriesId};

/// A successfully fetched body.
#[derive(Clone, Copy, Debug)]
pub struct Body<'a> {
    pub bytes: &'a [u8],
    pub format: Format,
}

/// What the append in flight will teach the cache once it is durable.
#[derive(Debug, Default)]
struct InFlight {
    /// Series text key and index in `Append::new_series` of each cache miss.
    new_keys: Vec<(CacheKey, u32)>,
    /// Keys of the series texts that metric relabelling dropped.
    dropped_keys: Vec<CacheKey>,
    /// Report series slot and index in `Append::new_series`.
    new_report: Vec<(usize, u32)>,
    /// Whether the scrape succeeded (its series become the staleness baseline and the cache
    /// forgets what it did not see).
    successful: bool,
}

/// The scrape state of one target.
#[derive(Debug)]
pub struct ScrapeLoop {
    target_labels: Labels,
    settings: Arc<ScrapeSettings>,
    cache: ScrapeCache,
    staleness: StalenessTracker,
    report_refs: [Option<SeriesRef>; REPORT_SERIES.len()],
    in_flight: InFlight,
    /// Samples in the previous append, to size the next one in one allocation.
    sample_capacity: usize,
    metadata: TargetMetadata,
}

impl ScrapeLoop {
    pub fn new(target_labels: Labels, settings: Arc<ScrapeSettings>) -> Self {
        Self {
            target_labels,
            settings,
            cache: ScrapeCache::default(),
            staleness: StalenessTracker::default(),
            report_refs: [None; REPORT_SERIES.len()],
            in_flight: InFlight::default(),
            sample_capacity: 0,
            metadata: TargetMetadata::default(),
        }
    }

    /// The target's metric metadata, if it changed since the last call.
    pub fn take_metadata_update(&mut self) -> Option<Arc<[MetricMetadata]>> {
        self.metadata.take_update()
    }

    pub fn settings(&self) -> &Arc<ScrapeSettings> {
        &self.settings
    }

    /// Switches to new settings that keep the cache valid (see
    /// [`ScrapeSettings::cache_compatible`]).
    pub fn set_settings(&mut self, settings: Arc<ScrapeSettings>) {
        self.settings = settings;
    }

    /// Builds the append for a scrape that started at `started` with timestamp `t_ms`.
    pub fn on_scrape(
        &mut self,
        result: Result<Body<'_>, ScrapeError>,
        t_ms: i64,
        started: Instant,
    ) -> (Append, ScrapeReport) {
        self.in_flight = InFlight::default();
        self.staleness.abort();
        let mut append = Append {
            new_series: Vec::new(),
            samples: Vec::with_capacity(self.sample_capacity + 8),
        };
        let mut report = ScrapeReport {
            error: None,
            duration: Default::default(),
            scraped: 0,
            post_relabel: 0,
            series_added: 0,
        };
        self.metadata.begin_scrape();
        let error = match result {
            Ok(body) => self.append_body(body, t_ms, &mut append, &mut report).err(),
            Err(e) => Some(e),
        };
        self.metadata.end_scrape(error.is_none());
        if error.is_some() {
            append.samples.clear();
            append.new_series.clear();
            self.in_flight.new_keys.clear();
            self.staleness.discard_current();
        }
        self.in_flight.successful = error.is_none();
        let stale = stale_nan();
        append
            .samples
            .extend(self.staleness.stale().map(|r| AppendSample {
                series: SeriesId::Ref(r),
                t: t_ms,
                v: stale,
            }));
        report.error = error;
        report.duration = started.elapsed();
        self.append_report(&mut append, t_ms, report.values());
        self.sample_capacity = append.samples.len();
        (append, report)
    }

    /// Builds the append for a target that goes away: a stale marker for every series of the
    /// last successful scrape and for the report series.
    pub fn on_stop(&mut self, t_ms: i64) -> Append {
        self.in_flight = InFlight::default();
        self.staleness.discard_current();
        let stale = stale_nan();
        let marker = |r: SeriesRef| AppendSample {
            series: SeriesId::Ref(r),
            t: t_ms,
            v: stale,
        };
        let mut samples: Vec<AppendSample> = self.staleness.stale().map(marker).collect();
        samples.extend(self.report_refs.iter().flatten().map(|r| marker(*r)));
        Append {
            new_series: Vec::new(),
            samples,
        }
    }

    /// The WAL made the last append durable and assigned `appended.refs` to its new series.
    pub fn commit(&mut self, appended: &Appended) {
        let flight = std::mem::take(&mut self.in_flight);
        let new_ref = |index: u32| appended.refs.get(index as usize).copied();
        for (key, index) in flight.new_keys {
            if let Some(series_ref) = new_ref(index) {
                self.cache.insert(key, Cached::Series { series_ref });
            }
        }
        for key in flight.dropped_keys {
            self.cache.insert(key, Cached::Dropped);
        }
        for (slot, index) in flight.new_report {
            if let Some(series_ref) = new_ref(index) {
                self.report_refs[slot] = Some(series_ref);
            }
        }
        self.staleness.commit(&appended.refs);
        if flight.successful {
            self.cache.end_successful_scrape();
        }
    }

    /// The last append was not made durable; the next scrape starts from the last durable
    /// state.
    pub fn abort(&mut self) {
        self.in_flight = InFlight::default();
        self.staleness.abort();
    }

    /// The WAL no longer knows some of our references: forget every reference so all series
    /// are sent as new again. Stale markers for the forgotten series are lost with them.
    pub fn forget_refs(&mut self) {
        self.abort();
        self.cache = ScrapeCache::default();
        self.staleness = StalenessTracker::default();
        self.report_refs = [None; REPORT_SERIES.len()];
    }

    fn append_body(
        &mut self,
        body: Body<'_>,
        t_ms: i64,
        append: &mut Append,
        report: &mut ScrapeReport,
    ) -> Result<(), ScrapeError> {
        let settings = Arc::clone(&self.settings);
        let limit = settings.sample_limit;
        // Label hash -> index of the new series in the append being built, so a series
        // written twice in one body (or under two spellings) is sent once. Local, so a target
        // whose series are all cached (the steady state) never allocates it or keeps it.
        let mut new_by_hash: HashMap<u64, u32, FastHashBuilder> = HashMap::default();
        for entry in Parser::new(body.bytes, body.format) {
            let series = match entry? {
                Entry::Series(series) => series,
                other => {
                    self.metadata.note(&other);
                    continue;
                }
            };
            report.scraped += 1;
            let timestamp = series.timestamp_ms.filter(|_| settings.honor_timestamps);
            let key = CacheKey::of(series.key);
            let id = match self.cache.get(key) {
                Some(Cached::Dropped) => continue,
                Some(Cached::Series { series_ref }) => SeriesId::Ref(series_ref),
                None => {
                    let Some(labels) = series_labels(&series, &self.target_labels, &settings)?
                    else {
                        self.in_flight.dropped_keys.push(key);
                        continue;
                    };
                    if limit > 0 && report.post_relabel >= limit {
                        // Over the limit: the scrape fails; only keep counting.
                        report.post_relabel += 1;
                        continue;
                    }
                    let index = match new_by_hash.entry(labels.stable_hash()) {
                        MapEntry::Occupied(e) => *e.get(),
                        MapEntry::Vacant(e) => {
                            let index = append.new_series.len() as u32;
                            append.new_series.push(labels);
                            report.series_added += 1;
                            *e.insert(index)
                        }
                    };
                    self.in_flight.new_keys.push((key, index));
                    SeriesId::New(index)
                }
            };
            report.post_relabel += 1;
            if limit > 0 && report.post_relabel > limit {
                continue;
            }
            append.samples.push(AppendSample {
                series: id,
                t: timestamp.unwrap_or(t_ms),
                v: series.value,
            });
            if timestamp.is_none() {
                self.staleness.track(id);
            }
        }
        if limit > 0 && report.post_relabel > limit {
            return Err(ScrapeError::SampleLimit {
                samples: report.post_relabel,
                limit,
            });
        }
        Ok(())
    }

    fn append_report(&mut self, append: &mut Append, t_ms: i64, values: [f64; 5]) {
        for (slot, (name, v)) in REPORT_SERIES.iter().zip(values).enumerate() {
            let series = match self.report_refs[slot] {
                Some(r) => SeriesId::Ref(r),
                None => {
                    let index = append.new_series.len() as u32;
                    append
                        .new_series
                        .push(report_labels(&self.target_labels, name));
                    self.in_flight.new_report.push((slot, index));
                    SeriesId::New(index)
                }
            };
            append.samples.push(AppendSample { series, t: t_ms, v });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GlobalConfig, ScrapeConfig};
    use crate::sample::is_stale_nan;
    use crate::wal::WalPos;

    const T: i64 = 1_700_000_000_000;

    /// A stand-in for the WAL: assigns references and resolves samples to (labels, t, v).
    #[derive(Default)]
    struct FakeWal {
        series: Vec<Labels>,
    }

    impl FakeWal {
        fn apply(&mut self, append: &Append) -> (Appended, Vec<(String, i64, f64)>) {
            let first = self.series.len() as u64;
            self.series.extend(append.new_series.iter().cloned());
            let refs: Vec<u64> = (0..append.new_series.len() as u64)
                .map(|i| first + i)
                .collect();
            let samples = append
                .samples
                .iter()
                .map(|s| {
                    let r = match s.series {
                        SeriesId::Ref(r) => r,
                        SeriesId::New(i) => refs[i as usize],
                    };
                    (self.series[r as usize].to_string(), s.t, s.v)
                })
                .collect();
            (
                Appended {
                    refs,
                    end: WalPos::ZERO,
                },
                samples,
            )
        }
    }

    struct Harness {
        scrape: ScrapeLoop,
        wal: FakeWal,
    }

    impl Harness {
        fn new(yaml: &str) -> Self {
            let sc: ScrapeConfig = serde_yaml_ng::from_str(yaml).unwrap();
            let settings = ScrapeSettings::from_config(&sc, &GlobalConfig::default());
            let target = Labels::from_pairs([("job", "j"), ("instance", "h:1")]);
            Self {
                scrape: ScrapeLoop::new(target, settings),
                wal: FakeWal::default(),
            }
        }

        /// Scrapes `body` (or fails with `err`) at `t`, commits, and returns the report and
        /// the resolved samples.
        fn run(
            &mut self,
            body: Result<&str, ScrapeError>,
            t: i64,
        ) -> (ScrapeReport, Vec<(String, i64, f64)>, Append) {
            let result = body.map(|b| Body {
                bytes: b.as_bytes(),
                format: Format::PrometheusText,
            });
            let (append, report) = self.scrape.on_scrape(result, t, Instant::now());
            let (appended, samples) = self.wal.apply(&append);
            self.scrape.commit(&appended);
            (report, samples, append)
        }
    }

    /// The (non-stale) value appended for `series`.
    fn value_of(samples: &[(String, i64, f64)], series: &str) -> Option<f64> {
        samples
            .iter()
            .find(|(s, _, v)| s == series && !is_stale_nan(*v))
            .map(|(_, _, v)| *v)
    }

    fn stale_series(samples: &[(String, i64, f64)]) -> Vec<&str> {
        let mut v: Vec<&str> = samples
            .iter()
            .filter(|(_, _, v)| is_stale_nan(*v))
            .map(|(s, _, _)| s.as_str())
            .collect();
        v.sort_unstable();
        v
    }

    const UP: &str = r#"up{instance="h:1", job="j"}"#;
    const A: &str = r#"a{instance="h:1", job="j"}"#;
    const B: &str = r#"b{instance="h:1", job="j", x="1"}"#;

    #[test]
    fn second_scrape_hits_the_cache_and_reports() {
        let mut h = Harness::new("{job_name: j}");
        let body = "# TYPE a gauge\na 1\nb{x=\"1\"} 2\n";
        let (report, samples, append) = h.run(Ok(body), T);
        assert!(report.error.is_none());
        assert_eq!(
            (report.scraped, report.post_relabel, report.series_added),
            (2, 2, 2)
        );
        assert_eq!(append.new_series.len(), 2 + REPORT_SERIES.len());
        assert_eq!(value_of(&samples, A), Some(1.0));
        assert_eq!(value_of(&samples, UP), Some(1.0));
        assert_eq!(
            value_of(
                &samples,
                r#"scrape_samples_scraped{instance="h:1", job="j"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            value_of(&samples, r#"scrape_series_added{instance="h:1", job="j"}"#),
            Some(2.0)
        );

        let (report, samples, append) = h.run(Ok(body), T + 5000);
        assert!(
            append.new_series.is_empty(),
            "all cache hits: {:?}",
            append.new_series
        );
        assert!(append
            .samples
            .iter()
            .all(|s| matches!(s.series, SeriesId::Ref(_))));
        assert_eq!(report.series_added, 0);
        assert_eq!(value_of(&samples, B), Some(2.0));
        assert!(samples.iter().all(|(_, t, _)| *t == T + 5000));
    }

    #[test]
    fn vanished_series_get_one_stale_marker() {
        let mut h = Harness::new("{job_name: j}");
        h.run(Ok("a 1\nb{x=\"1\"} 2\n"), T);
        let (_, samples, _) = h.run(Ok("a 1\n"), T + 5000);
        assert_eq!(stale_series(&samples), [B]);
        assert!(samples.iter().any(|(s, t, _)| s == B && *t == T + 5000));
        let (_, samples, _) = h.run(Ok("a 1\n"), T + 10_000);
        assert!(stale_series(&samples).is_empty());
        // It comes back under the same reference.
        let (report, samples, _) = h.run(Ok("a 1\nb{x=\"1\"} 3\n"), T + 15_000);
        assert_eq!(value_of(&samples, B), Some(3.0));
        assert_eq!(
            report.series_added, 1,
            "the cache forgot it after a scrape without it"
        );
    }

    #[test]
    fn failed_scrape_reports_down_and_marks_everything_stale() {
        let mut h = Harness::new("{job_name: j}");
        h.run(Ok("a 1\nb{x=\"1\"} 2\n"), T);
        let (report, samples, _) = h.run(
            Err(ScrapeError::Timeout {
                timeout: Default::default(),
            }),
            T + 5000,
        );
        assert!(matches!(report.error, Some(ScrapeError::Timeout { .. })));
        assert_eq!(value_of(&samples, UP), Some(0.0));
        assert_eq!(stale_series(&samples), [A, B]);
        // Recovery: series return without new stale markers, still from the cache.
        let (report, samples, append) = h.run(Ok("a 1\nb{x=\"1\"} 2\n"), T + 10_000);
        assert_eq!(value_of(&samples, UP), Some(1.0));
        assert!(stale_series(&samples).is_empty());
        assert!(append.new_series.is_empty());
        assert_eq!(report.series_added, 0);
    }

    #[test]
    fn parse_error_fails_the_scrape_and_drops_its_samples() {
        let mut h = Harness::new("{job_name: j}");
        h.run(Ok("a 1\nb{x=\"1\"} 2\n"), T);
        let (report, samples, append) = h.run(Ok("a 1\nnew 5\nb{x=} 2\n"), T + 5000);
        let Some(ScrapeError::Parse(e)) = &report.error else {
            panic!("{:?}", report.error)
        };
        assert_eq!(e.line, 3);
        assert_eq!(report.scraped, 2);
        assert_eq!(
            append.new_series.len(),
            0,
            "report series are known, the new series is discarded"
        );
        assert_eq!(value_of(&samples, A), None);
        assert_eq!(stale_series(&samples), [A, B]);
        assert_eq!(value_of(&samples, UP), Some(0.0));
    }

    #[test]
    fn sample_limit_fails_the_whole_scrape() {
        let mut h = Harness::new("{job_name: j, sample_limit: 2, metric_relabel_configs: [{source_labels: [__name__], regex: dropped, action: drop}]}");
        let (report, samples, _) = h.run(Ok("a 1\ndropped 1\nb{x=\"1\"} 2\n"), T);
        assert!(
            report.error.is_none(),
            "2 samples after relabelling are within the limit"
        );
        assert_eq!((report.scraped, report.post_relabel), (3, 2));
        assert_eq!(value_of(&samples, A), Some(1.0));

        let (report, samples, append) =
            h.run(Ok("a 1\ndropped 1\nb{x=\"1\"} 2\nc 3\nd 4\n"), T + 5000);
        assert!(matches!(
            report.error,
            Some(ScrapeError::SampleLimit {
                samples: 4,
                limit: 2
            })
        ));
        assert_eq!((report.scraped, report.post_relabel), (5, 4));
        assert_eq!(value_of(&samples, UP), Some(0.0));
        assert_eq!(value_of(&samples, A), None);
        assert_eq!(stale_series(&samples), [A, B]);
        assert!(append.new_series.is_empty());
        let post = r#"scrape_samples_post_metric_relabeling{instance="h:1", job="j"}"#;
        assert_eq!(value_of(&samples, post), Some(4.0));
    }

    #[test]
    fn label_limit_fails_the_scrape() {
        let mut h = Harness::new("{job_name: j, label_limit: 3}");
        let (report, samples, _) = h.run(Ok("a 1\nb{x=\"1\"} 2\n"), T);
        assert!(matches!(report.error, Some(ScrapeError::LabelLimit { .. })));
        assert_eq!(value_of(&samples, UP), Some(0.0));
    }

    #[test]
    fn explicit_timestamps_are_honoured_and_not_tracked() {
        let mut h = Harness::new("{job_name: j}");
        let (_, samples, _) = h.run(Ok("a 1 1000\n"), T);
        assert_eq!(
            samples.iter().find(|(s, _, _)| s == A).map(|(_, t, _)| *t),
            Some(1000)
        );
        let (_, samples, _) = h.run(Ok(""), T + 5000);
        assert!(
            stale_series(&samples).is_empty(),
            "series with timestamps are not tracked"
        );

        let mut h = Harness::new("{job_name: j, honor_timestamps: false}");
        let (_, samples, _) = h.run(Ok("a 1 1000\n"), T);
        assert_eq!(
            samples.iter().find(|(s, _, _)| s == A).map(|(_, t, _)| *t),
            Some(T)
        );
        let (_, samples, _) = h.run(Ok(""), T + 5000);
        assert_eq!(stale_series(&samples), [A]);
    }

    #[test]
    fn stop_marks_series_and_report_series_stale() {
        let mut h = Harness::new("{job_name: j}");
        h.run(Ok("a 1\n"), T);
        let append = h.scrape.on_stop(T + 1000);
        let (appended, samples) = h.wal.apply(&append);
        h.scrape.commit(&appended);
        let stale = stale_series(&samples);
        assert_eq!(stale.len(), 1 + REPORT_SERIES.len(), "{stale:?}");
        assert!(stale.contains(&A) && stale.contains(&UP));
        assert!(samples
            .iter()
            .all(|(_, t, v)| *t == T + 1000 && is_stale_nan(*v)));
    }

    #[test]
    fn aborted_append_is_sent_again() {
        let mut h = Harness::new("{job_name: j}");
        let (a1, _) = h.scrape.on_scrape(
            Ok(Body {
                bytes: b"a 1\n",
                format: Format::PrometheusText,
            }),
            T,
            Instant::now(),
        );
        h.scrape.abort();
        let (_, _, a2) = h.run(Ok("a 1\n"), T + 5000);
        assert_eq!(a1.new_series, a2.new_series);
        h.scrape.forget_refs();
        let (_, _, a3) = h.run(Ok("a 1\n"), T + 10_000);
        assert_eq!(
            a3.new_series, a2.new_series,
            "forgotten references are re-sent as new series"
        );
    }

    #[test]
    fn one_series_twice_in_a_body_is_one_new_series() {
        let mut h = Harness::new("{job_name: j}");
        let (report, samples, append) =
            h.run(Ok("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n"), T);
        assert_eq!(report.series_added, 1);
        assert_eq!(append.new_series.len(), 1 + REPORT_SERIES.len());
        assert_eq!(
            samples
                .iter()
                .filter(|(s, _, _)| s.starts_with("a{"))
                .count(),
            2
        );
        let (_, _, append) = h.run(Ok("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n"), T + 5000);
        assert!(append.new_series.is_empty(), "both spellings are cached");
    }

    /// `cargo test -p skyview-actors --release --lib scrape::scrape_loop::tests::bench -- --ignored --nocapture`
    #[test]
    #[ignore = "micro-benchmark; run explicitly"]
    fn bench_scrape_2000_series() {
        let mut body = String::new();
        for i in 0..2000 {
            body.push_str(&format!(
                "http_requests_total{{method=\"GET\",code=\"200\",handler=\"/api/v1/endpoint/{i}\",instance_id=\"abcdef\"}} {}.5\n",
                i * 7
            ));
        }
        let mut h = Harness::new("{job_name: j}");
        h.run(Ok(&body), T);
        let rounds = 200;
        let appended = Appended {
            refs: Vec::new(),
            end: WalPos::ZERO,
        };
        let start = Instant::now();
        for r in 0..rounds {
            let (append, report) = h.scrape.on_scrape(
                Ok(Body {
                    bytes: body.as_bytes(),
                    format: Format::PrometheusText,
                }),
                T + r,
                Instant::now(),
            );
            assert!(report.error.is_none() && append.new_series.is_empty());
            h.scrape.commit(&appended);
        }
        let per_sample = start.elapsed().as_nanos() as f64 / (rounds as f64 * 2000.0);
        println!(
            "scrape loop (parse + cache + staleness): {per_sample:.1} ns/sample, {} bytes/body",
            body.len()
        );
    }
}
