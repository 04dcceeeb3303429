//! Replay on open: reads the checkpoint and every segment, repairs damage (see the "Replay
//! and damage" section of [`format`](super::format)), and rebuilds what the writer needs: the
//! segment list with sizes, sample counts and time ranges, the next series reference, and each
//! series' newest sample.

use std::fs::OpenOptions;
use std::path::Path;

use super::activity::SeriesActivity;
use super::checkpoint;
use super::codec;
use super::error::WalError;
use super::format::{FrameFault, ReadFault, RecordKind};
use super::layout;
use super::segment::{self, OpenedSegment, SegmentMeta};
use crate::metrics::AgentMetrics;
use crate::sample::RefSample;

/// The state rebuilt from disk.
#[derive(Debug)]
pub struct Replayed {
    /// Readable segments, ascending.
    pub segments: Vec<SegmentMeta>,
    pub checkpoint: Option<u32>,
    pub next_ref: u64,
    pub activity: SeriesActivity,
    /// The highest segment number that ever existed, so new segments never reuse a number
    /// a reader may have seen.
    pub last_number: u32,
}

/// Replays `dir`, creating it when missing.
pub fn replay(dir: &Path, metrics: &AgentMetrics) -> Result<Replayed, WalError> {
    std::fs::create_dir_all(dir).map_err(|e| WalError::io("creating directory", dir, e))?;
    let listing = layout::list(dir)?;
    let checkpoint = listing.latest_checkpoint();
    let mut cleaned = false;
    for path in &listing.leftovers {
        tracing::info!(file = %path.display(), "deleting an interrupted WAL checkpoint");
        layout::remove(path)?;
        cleaned = true;
    }
    for &n in listing
        .checkpoints
        .iter()
        .filter(|&&n| Some(n) != checkpoint)
    {
        layout::remove(&layout::checkpoint_path(dir, n))?;
        cleaned = true;
    }
    let covered = checkpoint.unwrap_or(0);
    for &n in listing.segments.iter().filter(|&&n| n < covered) {
        tracing::info!(
            segment = n,
            checkpoint = covered,
            "deleting a WAL segment the checkpoint already covers"
        );
        layout::remove(&layout::segment_path(dir, n))?;
        cleaned = true;
    }

    let mut replayed = Replayed {
        segments: Vec::new(),
        checkpoint,
        next_ref: 1,
        activity: SeriesActivity::default(),
        last_number: listing
            .segments
            .last()
            .copied()
            .unwrap_or(0)
            .max(covered.saturating_sub(1)),
    };
    let mut max_ref = 0u64;
    if let Some(n) = checkpoint {
        max_ref = replay_checkpoint(dir, n, &mut replayed, metrics)?;
    }
    let live: Vec<u32> = listing
        .segments
        .iter()
        .copied()
        .filter(|&n| n >= covered)
        .collect();
    for (i, &n) in live.iter().enumerate() {
        let last = i + 1 == live.len();
        if let Some(meta) =
            replay_segment(dir, n, last, &mut replayed.activity, &mut max_ref, metrics)?
        {
            replayed.segments.push(meta);
        } else {
            cleaned = true;
        }
    }
    if cleaned {
        layout::sync_dir(dir)?;
    }
    replayed.next_ref = replayed.next_ref.max(max_ref + 1);
    Ok(replayed)
}

/// Loads the checkpoint's series; returns the highest reference seen.
fn replay_checkpoint(
    dir: &Path,
    number: u32,
    replayed: &mut Replayed,
    metrics: &AgentMetrics,
) -> Result<u64, WalError> {
    let path = layout::checkpoint_path(dir, number);
    let Some(mut opened) = checkpoint::open(&path)? else {
        tracing::error!(file = %path.display(), "WAL checkpoint header is damaged; its series definitions are lost");
        metrics.wal_corruptions_total.inc();
        return Ok(0);
    };
    replayed.next_ref = opened.next_ref;
    let mut max_ref = 0;
    let (offset, fault) = loop {
        let frame = match opened.frames.next(false) {
            Ok(None) => return Ok(max_ref),
            Ok(Some(frame)) => frame,
            Err(ReadFault::Io(e)) => return Err(WalError::io("reading checkpoint", &path, e)),
            Err(ReadFault::Frame { offset, fault }) => break (offset, fault),
        };
        if frame.kind != RecordKind::Series {
            continue;
        }
        match codec::decode_series(frame.payload.unwrap_or_default()) {
            Ok(series) => {
                for (r, _) in series {
                    replayed.activity.define(r);
                    max_ref = max_ref.max(r);
                }
            }
            Err(e) => break (frame.start, FrameFault::from(e)),
        }
    };
    tracing::error!(file = %path.display(), offset, %fault, "WAL checkpoint is damaged; series defined after this offset are lost");
    metrics.wal_corruptions_total.inc();
    Ok(max_ref)
}

/// Replays one segment, truncating it at the first damaged record. `None` when the segment
/// had no valid header and was deleted.
fn replay_segment(
    dir: &Path,
    number: u32,
    last: bool,
    activity: &mut SeriesActivity,
    max_ref: &mut u64,
    metrics: &AgentMetrics,
) -> Result<Option<SegmentMeta>, WalError> {
    let path = layout::segment_path(dir, number);
    let mut frames = match segment::open(&path)? {
        OpenedSegment::Frames(frames) => frames,
        OpenedSegment::BadMagic { len } => {
            if len > 0 {
                tracing::warn!(file = %path.display(), len, last, "WAL segment has a torn or foreign header; deleting it");
                metrics.wal_corruptions_total.inc();
            }
            layout::remove(&path)?;
            return Ok(None);
        }
    };
    let mut meta = SegmentMeta::new(number);
    let mut samples: Vec<RefSample> = Vec::new();
    let damage = loop {
        let frame = match frames.next(false) {
            Ok(Some(frame)) => frame,
            Ok(None) => break None,
            Err(ReadFault::Io(e)) => return Err(WalError::io("reading segment", &path, e)),
            Err(ReadFault::Frame { offset, fault }) => break Some((offset, fault)),
        };
        let payload = frame.payload.unwrap_or_default();
        let decoded = match frame.kind {
            RecordKind::Series => codec::decode_series(payload).map(|series| {
                for (r, _) in series {
                    activity.define(r);
                    *max_ref = (*max_ref).max(r);
                }
            }),
            RecordKind::Samples => {
                samples.clear();
                codec::decode_samples(payload, &mut samples).map(|()| {
                    for s in &samples {
                        activity.observe(s.series, s.t);
                        meta.observe(s.t);
                    }
                })
            }
        };
        if let Err(e) = decoded {
            break Some((frame.start, FrameFault::from(e)));
        }
    };
    let valid = frames.offset();
    meta.bytes = u32::try_from(valid).unwrap_or(u32::MAX);
    let file = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| WalError::io("opening segment", &path, e))?;
    if let Some((offset, fault)) = &damage {
        if last {
            tracing::warn!(file = %path.display(), offset, %fault, "truncating the torn or corrupt tail of the last WAL segment");
        } else {
            tracing::error!(file = %path.display(), offset, %fault, "WAL segment is corrupt before its end; the records after this offset are lost");
        }
        metrics.wal_corruptions_total.inc();
        file.set_len(valid)
            .map_err(|e| WalError::io("truncating segment", &path, e))?;
    }
    if last || damage.is_some() {
        // The last segment may hold data a crashed process wrote but never fsynced; make it
        // durable before anyone reads it as durable.
        file.sync_all()
            .map_err(|e| WalError::io("fsyncing segment", &path, e))?;
    }
    Ok(Some(meta))
}
