//! Fixtures shared by the WAL's unit tests: scrape-shaped appends and a whole-log reader.

use std::path::Path;
use std::sync::Arc;

use super::writer::WalWriter;
use super::{Append, AppendSample, Appended, Record, SeriesId, WalOptions, WalPos, WalReader};
use crate::labels::Labels;
use crate::metrics::AgentMetrics;
use crate::sample::{RefSample, SeriesRef};

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn labels(name: &str, i: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", name.to_owned()),
        ("instance", format!("host-{i}")),
    ])
}

/// An append defining `n` new series named `name`, one sample each at `t`.
pub fn new_series(name: &str, n: u64, t: i64) -> Append {
    Append {
        new_series: (0..n).map(|i| labels(name, i)).collect(),
        samples: (0..n as u32)
            .map(|i| AppendSample {
                series: SeriesId::New(i),
                t,
                v: f64::from(i),
            })
            .collect(),
    }
}

/// An append of one sample at `t` for each known reference.
pub fn samples(refs: &[SeriesRef], t: i64) -> Append {
    Append {
        new_series: Vec::new(),
        samples: refs
            .iter()
            .map(|&r| AppendSample {
                series: SeriesId::Ref(r),
                t,
                v: r as f64,
            })
            .collect(),
    }
}

pub fn options(dir: &Path, segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        ..WalOptions::new(dir)
    }
}

pub fn open(opts: &WalOptions) -> (WalWriter, Arc<AgentMetrics>) {
    let metrics = Arc::new(AgentMetrics::new());
    (
        WalWriter::open(opts, metrics.clone()).expect("open WAL"),
        metrics,
    )
}

/// Appends and commits.
pub fn append(writer: &mut WalWriter, req: &Append) -> Appended {
    let appended = writer.append(req).expect("append");
    writer.commit().expect("commit");
    appended
}

/// Everything a reader from `from` yields up to `until`, split into definitions and samples.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub series: Vec<(SeriesRef, Labels)>,
    pub samples: Vec<(WalPos, RefSample)>,
}

pub fn read_all(dir: &Path, from: WalPos, until: WalPos) -> ReadBack {
    let mut reader = WalReader::open(dir, from).expect("open reader");
    let mut out = ReadBack::default();
    let mut last = WalPos::ZERO;
    while let Some((pos, record)) = reader.next(until).expect("read") {
        assert!(pos >= last, "positions go forward: {pos} after {last}");
        last = pos;
        match record {
            Record::Series(s) => out.series.extend(s),
            Record::Samples(s) => out.samples.extend(s.into_iter().map(|s| (pos, s))),
        }
    }
    out
}

/// The segments on disk, with the position just past each one's last record.
pub fn segment_ends(dir: &Path) -> Vec<WalPos> {
    super::layout::list(dir)
        .expect("list")
        .segments
        .into_iter()
        .map(|n| {
            let len = std::fs::metadata(super::layout::segment_path(dir, n))
                .expect("stat")
                .len();
            WalPos {
                segment: n,
                offset: len as u32,
            }
        })
        .collect()
}
