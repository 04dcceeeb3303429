//! The WAL writer: everything the Wal actor does, without actix, so it can be driven and
//! tested directly.
//!
//! * [`WalWriter::append`] validates an [`Append`], assigns references to its new series and
//!   encodes series records, then samples records, into a buffer (rolling over to a new
//!   segment at the segment size). Nothing is durable yet.
//! * [`WalWriter::commit`] writes the buffer and fsyncs once for every append since the last
//!   commit (group commit); only then may those appends be acknowledged.
//! * [`WalWriter::maintain`] runs the [`retention`] plan: it writes the checkpoint for the
//!   segments to delete, counts unacknowledged samples the budget throws away, deletes.
//!
//! A failed write or fsync is fatal: the writer refuses everything afterwards, because the
//! kernel may have dropped the unsynced pages and a later fsync would report success for data
//! that is gone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::activity::{liveness_horizon, SeriesActivity};
use super::checkpoint::{self, Header, Sources};
use super::codec::{self, MAX_SAMPLES_PER_RECORD, MAX_SERIES_ENTRY_LEN, SERIES_RECORD_TARGET_LEN};
use super::error::WalError;
use super::format::{begin_frame, finish_frame, RecordKind};
use super::layout;
use super::options::WalOptions;
use super::replay::replay;
use super::retention::{self, Budget, Consumers, DeleteReason};
use super::segment::{self, ActiveSegment, SegmentMeta, SEGMENT_HEADER_LEN};
use super::{Append, Appended, SeriesId, WalPos};
use crate::metrics::AgentMetrics;
use crate::sample::{RefSample, SeriesRef};

/// After a burst, a write buffer larger than this is released instead of kept for reuse.
const RETAINED_BUFFER_LEN: usize = 4 << 20;

/// After a failed maintenance (checkpoint write), wait this long before trying again.
const MAINTENANCE_RETRY_MS: i64 = 5_000;

/// The single writer of a WAL directory.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    segment_size: u64,
    budget: Budget,
    metrics: Arc<AgentMetrics>,
    /// Every readable segment, ascending; the last is `active`.
    segments: Vec<SegmentMeta>,
    active: ActiveSegment,
    /// Encoded records not yet written to `active`.
    buf: Vec<u8>,
    /// Bytes were written to `active` since its last fsync.
    dirty: bool,
    durable: WalPos,
    unsynced_samples: u64,
    next_ref: SeriesRef,
    activity: SeriesActivity,
    checkpoint: Option<u32>,
    consumers: Consumers,
    failed: Option<Arc<WalError>>,
    maintenance_retry_at: i64,
}

impl WalWriter {
    /// Replays `opts.dir` and starts a new segment to write.
    pub fn open(opts: &WalOptions, metrics: Arc<AgentMetrics>) -> Result<Self, WalError> {
        opts.validate()?;
        let replayed = replay(&opts.dir, &metrics)?;
        let active = ActiveSegment::create(&opts.dir, replayed.last_number + 1)?;
        let mut segments = replayed.segments;
        segments.push(SegmentMeta::new(active.number));
        let durable = WalPos {
            segment: active.number,
            offset: active.len,
        };
        let writer = Self {
            dir: opts.dir.clone(),
            segment_size: opts.segment_size,
            budget: opts.budget(),
            metrics,
            segments,
            active,
            buf: Vec::new(),
            dirty: false,
            durable,
            unsynced_samples: 0,
            next_ref: replayed.next_ref,
            activity: replayed.activity,
            checkpoint: replayed.checkpoint,
            consumers: Consumers::default(),
            failed: None,
            maintenance_retry_at: i64::MIN,
        };
        tracing::info!(
            dir = %writer.dir.display(),
            segments = writer.segments.len(),
            series = writer.activity.count(),
            next_ref = writer.next_ref,
            writing = %durable,
            "WAL replayed"
        );
        writer.update_gauges();
        Ok(writer)
    }

    /// Encodes an append into the buffer. The result is not durable until [`Self::commit`].
    /// A request error leaves the WAL unchanged.
    pub fn append(&mut self, req: &Append) -> Result<Appended, WalError> {
        self.check_failed()?;
        self.validate(req)?;
        let base = self.next_ref;
        self.next_ref += req.new_series.len() as u64;
        let refs: Vec<SeriesRef> = (base..self.next_ref).collect();
        for &r in &refs {
            self.activity.define(r);
        }

        let mut i = 0;
        while i < refs.len() {
            let (mut j, mut size) = (i, 0);
            while j < refs.len() && (j == i || size < SERIES_RECORD_TARGET_LEN) {
                size += codec::series_entry_len(refs[j], &req.new_series[j]);
                j += 1;
            }
            let (labels, chunk_refs) = (&req.new_series[i..j], &refs[i..j]);
            self.record(RecordKind::Series, |out| {
                codec::put_uvarint(out, labels.len() as u64);
                for (&r, l) in chunk_refs.iter().zip(labels) {
                    codec::put_series_entry(out, r, l);
                }
            })?;
            i = j;
        }

        let resolve = |id: SeriesId| match id {
            SeriesId::Ref(r) => r,
            SeriesId::New(i) => base + u64::from(i),
        };
        for chunk in req.samples.chunks(MAX_SAMPLES_PER_RECORD) {
            self.record(RecordKind::Samples, |out| {
                let samples = chunk.iter().map(|s| RefSample {
                    series: resolve(s.series),
                    t: s.t,
                    v: s.v,
                });
                codec::put_samples(out, chunk.len(), samples);
            })?;
            if let Some(meta) = self.segments.last_mut() {
                for s in chunk {
                    meta.observe(s.t);
                    self.activity.observe(resolve(s.series), s.t);
                }
            }
        }
        self.unsynced_samples += req.samples.len() as u64;
        Ok(Appended {
            refs,
            end: self.position(),
        })
    }

    fn validate(&self, req: &Append) -> Result<(), WalError> {
        for (index, labels) in req.new_series.iter().enumerate() {
            let bytes = codec::series_entry_len(u64::MAX, labels);
            if bytes > MAX_SERIES_ENTRY_LEN {
                return Err(WalError::SeriesTooLarge {
                    index,
                    bytes,
                    limit: MAX_SERIES_ENTRY_LEN,
                });
            }
        }
        for s in &req.samples {
            match s.series {
                SeriesId::Ref(series_ref) if !self.activity.contains(series_ref) => {
                    return Err(WalError::UnknownSeries { series_ref });
                }
                SeriesId::New(index) if index as usize >= req.new_series.len() => {
                    return Err(WalError::NewSeriesOutOfRange {
                        index,
                        new_series: req.new_series.len(),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Appends one record to the buffer, rolling over first when the segment is full.
    fn record(
        &mut self,
        kind: RecordKind,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), WalError> {
        let end = u64::from(self.position().offset);
        if end >= self.segment_size && end > u64::from(SEGMENT_HEADER_LEN) {
            self.roll()?;
        }
        let start = begin_frame(&mut self.buf);
        encode(&mut self.buf);
        finish_frame(&mut self.buf, start, kind);
        let offset = self.position().offset;
        if let Some(meta) = self.segments.last_mut() {
            meta.bytes = offset;
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<(), WalError> {
        self.sync()?;
        let next = self.active.number + 1;
        self.active = match ActiveSegment::create(&self.dir, next) {
            Ok(seg) => seg,
            Err(e) => return Err(self.fail(e)),
        };
        self.segments.push(SegmentMeta::new(next));
        self.metrics.wal_segments.set(self.segments.len() as i64);
        tracing::debug!(segment = next, "WAL rolled over to a new segment");
        Ok(())
    }

    /// Writes the buffer and fsyncs `active` if anything is unsynced.
    fn sync(&mut self) -> Result<(), WalError> {
        if !self.buf.is_empty() {
            if let Err(e) = self.active.write(&self.buf) {
                return Err(self.fail(e));
            }
            self.buf.clear();
            if self.buf.capacity() > RETAINED_BUFFER_LEN {
                self.buf = Vec::new();
            }
            self.dirty = true;
        }
        if self.dirty {
            let started = Instant::now();
            if let Err(e) = self.active.sync() {
                return Err(self.fail(e));
            }
            self.metrics.wal_fsyncs_total.inc();
            self.metrics
                .wal_fsync_duration_seconds
                .observe(started.elapsed().as_secs_f64());
            self.dirty = false;
        }
        self.durable = WalPos {
            segment: self.active.number,
            offset: self.active.len,
        };
        Ok(())
    }

    /// Makes every append so far durable with one fsync; returns the durable end of the log.
    pub fn commit(&mut self) -> Result<WalPos, WalError> {
        self.check_failed()?;
        self.sync()?;
        self.metrics
            .wal_appended_samples_total
            .inc_by(self.unsynced_samples);
        self.unsynced_samples = 0;
        self.update_gauges();
        Ok(self.durable)
    }

    /// The end of the fsynced data.
    pub fn durable(&self) -> WalPos {
        self.durable
    }

    /// The end of the data appended so far, durable or not.
    fn position(&self) -> WalPos {
        WalPos {
            segment: self.active.number,
            offset: self.active.len + self.buf.len() as u32,
        }
    }

    /// The first position a new reader can read from.
    pub fn first(&self) -> WalPos {
        WalPos {
            segment: self
                .segments
                .first()
                .map_or(self.active.number, |s| s.number),
            offset: 0,
        }
    }

    fn check_failed(&self) -> Result<(), WalError> {
        match &self.failed {
            Some(cause) => Err(WalError::Failed(cause.clone())),
            None => Ok(()),
        }
    }

    fn fail(&mut self, cause: WalError) -> WalError {
        tracing::error!(dir = %self.dir.display(), error = %cause, "WAL write failed: the WAL accepts no more writes and nothing more is acknowledged");
        let cause = Arc::new(cause);
        self.failed = Some(cause.clone());
        WalError::Failed(cause)
    }

    pub fn subscribe(&mut self, consumer: &str) {
        self.consumers.subscribe(consumer);
    }

    pub fn unsubscribe(&mut self, consumer: &str) -> bool {
        self.consumers.unsubscribe(consumer)
    }

    /// Records a consumer's acknowledgement; false for a consumer that is not subscribed.
    pub fn progress(&mut self, consumer: &str, acked: WalPos) -> bool {
        self.consumers.progress(consumer, acked)
    }

    /// Deletes the segments that every consumer acknowledged or that the budget forces out,
    /// after checkpointing their live series. Returns how many segments were deleted.
    pub fn maintain(&mut self, now_ms: i64) -> Result<usize, WalError> {
        if self.failed.is_some() || now_ms < self.maintenance_retry_at {
            return Ok(0);
        }
        let plan = retention::plan(&self.segments, self.consumers.floor(), self.budget, now_ms);
        if plan.is_empty() {
            return Ok(0);
        }
        let result = self.delete(&plan, now_ms);
        if let Err(e) = &result {
            tracing::error!(dir = %self.dir.display(), error = %e, "WAL segment deletion failed; retrying later");
            self.maintenance_retry_at = now_ms.saturating_add(MAINTENANCE_RETRY_MS);
        }
        result
    }

    /// Executes `plan`. The new checkpoint is the commit point: once it is durable the
    /// segments are gone as far as the WAL is concerned (replay deletes segments a checkpoint
    /// covers), so a failure to remove the files afterwards is only logged.
    fn delete(&mut self, plan: &[retention::Deletion], now_ms: i64) -> Result<usize, WalError> {
        let numbers: Vec<u32> = plan.iter().map(|d| d.segment).collect();
        // Count the unacknowledged samples while the files are still there.
        let lost: Vec<Option<u64>> = plan
            .iter()
            .zip(&self.segments)
            .map(|(d, meta)| d.unacked_from.map(|from| self.unacked_samples(meta, from)))
            .collect();

        let retained = &self.segments[plan.len()..];
        let first_retained = retained.first().map_or(self.active.number, |s| s.number);
        let horizon = liveness_horizon(retained, now_ms);
        let sources = Sources {
            dir: &self.dir,
            checkpoint: self.checkpoint,
            segments: &numbers,
        };
        let header = Header {
            next_ref: self.next_ref,
            covered_end: self.segments[plan.len() - 1].end(),
        };
        let activity = &self.activity;
        let written = checkpoint::write(&sources, first_retained, header, |r| {
            activity.is_live(r, horizon)
        })?;

        for ((deletion, meta), lost) in plan.iter().zip(&self.segments).zip(lost) {
            let Some(lost) = lost else {
                self.metrics.wal_truncations_total.inc();
                tracing::debug!(
                    segment = meta.number,
                    "deleted a WAL segment every consumer acknowledged"
                );
                continue;
            };
            self.metrics.wal_dropped_samples_total.inc_by(lost);
            let budget = match deletion.reason {
                DeleteReason::OverAge => "age",
                DeleteReason::OverSize | DeleteReason::Acknowledged => "size",
            };
            if lost > 0 {
                tracing::warn!(
                    segment = meta.number,
                    file = %layout::segment_path(&self.dir, meta.number).display(),
                    budget,
                    dropped_samples = lost,
                    segment_samples = meta.samples,
                    bytes = meta.bytes,
                    "the WAL budget deleted a segment before every consumer acknowledged it"
                );
            }
        }
        let old_checkpoint = self.checkpoint.replace(first_retained);
        for r in &written.dropped {
            self.activity.forget(*r);
        }
        self.segments.drain(..plan.len());
        self.update_gauges();
        tracing::info!(
            deleted = ?numbers,
            checkpoint = first_retained,
            kept_series = written.kept,
            expired_series = written.dropped.len(),
            "WAL segments deleted"
        );

        let mut obsolete: Vec<PathBuf> = numbers
            .iter()
            .map(|&n| layout::segment_path(&self.dir, n))
            .collect();
        obsolete.extend(old_checkpoint.map(|n| layout::checkpoint_path(&self.dir, n)));
        let removed = obsolete.iter().try_for_each(|p| layout::remove(p));
        if let Err(e) = removed.and_then(|()| layout::sync_dir(&self.dir)) {
            tracing::error!(error = %e, "removing WAL files the checkpoint covers failed; they are removed on the next start");
        }
        Ok(plan.len())
    }

    /// The samples of `meta` in records starting at or after `from`.
    fn unacked_samples(&self, meta: &SegmentMeta, from: u32) -> u64 {
        if from <= SEGMENT_HEADER_LEN {
            return meta.samples;
        }
        let path = layout::segment_path(&self.dir, meta.number);
        segment::count_samples_from(&path, from).unwrap_or_else(|e| {
            tracing::warn!(error = %e, segment = meta.number, "cannot count the unacknowledged samples; counting the whole segment");
            meta.samples
        })
    }

    fn update_gauges(&self) {
        let bytes: u64 = self.segments.iter().map(|s| u64::from(s.bytes)).sum();
        self.metrics.wal_bytes.set(bytes as i64);
        self.metrics.wal_segments.set(self.segments.len() as i64);
        self.metrics.wal_series.set(self.activity.count() as i64);
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::{Seek, SeekFrom, Write};

    use super::*;
    use crate::labels::Labels;
    use crate::wal::testkit::{self, new_series, now_ms, options, read_all, samples};
    use crate::wal::{Record, WalReader};

    fn segment_numbers(dir: &std::path::Path) -> Vec<u32> {
        layout::list(dir).unwrap().segments
    }

    #[test]
    fn replay_after_clean_close_restores_refs_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), 1 << 20);
        let t = now_ms();
        let (mut w, metrics) = testkit::open(&opts);
        let first = testkit::append(&mut w, &new_series("a", 3, t));
        assert_eq!(first.refs, [1, 2, 3]);
        testkit::append(&mut w, &samples(&first.refs, t + 1));
        assert_eq!(metrics.wal_appended_samples_total.get(), 6);
        assert_eq!(metrics.wal_series.get(), 3);
        let end = w.durable();
        drop(w);

        let (mut w, metrics) = testkit::open(&opts);
        assert_eq!(metrics.wal_corruptions_total.get(), 0);
        assert_eq!(metrics.wal_series.get(), 3);
        assert!(w.durable() > end, "a reopened WAL writes a new segment");
        let more = testkit::append(&mut w, &new_series("b", 1, t + 2));
        assert_eq!(more.refs, [4], "references are never reused");
        testkit::append(&mut w, &samples(&[1], t + 3));

        let back = read_all(dir.path(), WalPos::ZERO, w.durable());
        let refs: Vec<_> = back.series.iter().map(|s| s.0).collect();
        assert_eq!(refs, [1, 2, 3, 4]);
        assert_eq!(back.series[3].1, testkit::labels("b", 0));
        let ts: Vec<_> = back.samples.iter().map(|(_, s)| (s.series, s.t)).collect();
        assert_eq!(
            ts,
            [
                (1, t),
                (2, t),
                (3, t),
                (1, t + 1),
                (2, t + 1),
                (3, t + 1),
                (4, t + 2),
                (1, t + 3)
            ]
        );
    }

    #[test]
    fn bad_appends_are_rejected_without_side_effects() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = testkit::open(&options(dir.path(), 1 << 20));
        let before = w.position();
        assert!(matches!(
            w.append(&samples(&[42], 1)),
            Err(WalError::UnknownSeries { series_ref: 42 })
        ));
        let mut req = new_series("a", 1, 1);
        req.samples[0].series = SeriesId::New(1);
        assert!(matches!(
            w.append(&req),
            Err(WalError::NewSeriesOutOfRange {
                index: 1,
                new_series: 1
            })
        ));
        let huge = Append {
            new_series: vec![Labels::from_pairs([(
                "big",
                "x".repeat(MAX_SERIES_ENTRY_LEN),
            )])],
            samples: Vec::new(),
        };
        assert!(matches!(
            w.append(&huge),
            Err(WalError::SeriesTooLarge { index: 0, .. })
        ));
        assert_eq!(w.position(), before);
        assert_eq!(
            testkit::append(&mut w, &new_series("a", 1, 1)).refs,
            [1],
            "no reference was consumed"
        );
    }

    /// The segment file and record boundaries of the last two appends.
    fn write_two_appends(dir: &std::path::Path) -> (PathBuf, u32, i64) {
        let (mut w, _) = testkit::open(&options(dir, 1 << 20));
        let t = now_ms();
        let a = testkit::append(&mut w, &new_series("a", 2, t));
        testkit::append(&mut w, &samples(&a.refs, t + 1));
        let path = layout::segment_path(dir, w.active.number);
        (path, a.end.offset, t)
    }

    fn assert_repaired(dir: &std::path::Path, path: &std::path::Path, good_end: u32, t: i64) {
        let (mut w, metrics) = testkit::open(&options(dir, 1 << 20));
        assert_eq!(metrics.wal_corruptions_total.get(), 1);
        assert_eq!(
            std::fs::metadata(path).unwrap().len(),
            u64::from(good_end),
            "truncated at the last good record"
        );
        testkit::append(&mut w, &samples(&[1, 2], t + 5));
        let back = read_all(dir, WalPos::ZERO, w.durable());
        let ts: Vec<_> = back.samples.iter().map(|(_, s)| s.t).collect();
        assert_eq!(
            ts,
            [t, t, t + 5, t + 5],
            "the torn append is gone, later appends continue"
        );
        drop(w);
        let (_, metrics) = testkit::open(&options(dir, 1 << 20));
        assert_eq!(
            metrics.wal_corruptions_total.get(),
            0,
            "the repair is durable"
        );
    }

    #[test]
    fn torn_tail_is_truncated_counted_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let (path, good_end, t) = write_two_appends(dir.path());
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        assert_repaired(dir.path(), &path, good_end, t);
    }

    #[test]
    fn flipped_bytes_in_the_tail_are_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let (path, good_end, t) = write_two_appends(dir.path());
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        f.seek(SeekFrom::Start(u64::from(good_end) + 12)).unwrap();
        f.write_all(&[0xde, 0xad]).unwrap();
        assert_repaired(dir.path(), &path, good_end, t);
    }

    #[test]
    fn zero_filled_tail_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, t) = write_two_appends(dir.path());
        let good_end = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0u8; 4096]).unwrap();
        let (mut w, metrics) = testkit::open(&options(dir.path(), 1 << 20));
        assert_eq!(metrics.wal_corruptions_total.get(), 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_end);
        testkit::append(&mut w, &samples(&[1], t + 9));
        assert_eq!(
            read_all(dir.path(), WalPos::ZERO, w.durable())
                .samples
                .len(),
            5
        );
    }

    #[test]
    fn corruption_in_an_older_segment_ends_only_that_segment() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), 1024);
        let (mut w, _) = testkit::open(&opts);
        let t = now_ms();
        let refs = testkit::append(&mut w, &new_series("a", 20, t)).refs;
        let mut ends = Vec::new();
        for i in 1..=20 {
            ends.push(testkit::append(&mut w, &samples(&refs, t + i)).end);
        }
        let damaged = segment_numbers(dir.path())[1];
        // Damage a record in the middle of an older segment; the records after it there are lost.
        let path = layout::segment_path(dir.path(), damaged);
        let len = std::fs::metadata(&path).unwrap().len();
        let second_record = ends
            .iter()
            .find(|p| p.segment == damaged && u64::from(p.offset) + 30 < len)
            .expect("a record in the middle of the segment")
            .offset;
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(u64::from(second_record) + 20))
            .unwrap();
        f.write_all(&[0xff; 4]).unwrap();
        drop((f, w));

        let (w, metrics) = testkit::open(&opts);
        assert_eq!(metrics.wal_corruptions_total.get(), 1);
        let back = read_all(dir.path(), WalPos::ZERO, w.durable());
        let segments: std::collections::BTreeSet<u32> =
            back.samples.iter().map(|(p, _)| p.segment).collect();
        assert!(
            segments.len() > 2,
            "later segments are still read: {segments:?}"
        );
        let lost = 20 * 21 - back.samples.len();
        assert!(
            lost > 0 && lost < 20 * 21 / 2,
            "only the damaged segment's tail is lost ({lost})"
        );
    }

    #[test]
    fn rollover_starts_a_new_segment_at_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, metrics) = testkit::open(&options(dir.path(), 4096));
        let t = now_ms();
        let refs = testkit::append(&mut w, &new_series("a", 50, t)).refs;
        for i in 1..40 {
            testkit::append(&mut w, &samples(&refs, t + i));
        }
        let numbers = segment_numbers(dir.path());
        assert!(numbers.len() > 3, "{numbers:?}");
        assert_eq!(metrics.wal_segments.get(), numbers.len() as i64);
        for &n in &numbers[..numbers.len() - 1] {
            let len = std::fs::metadata(layout::segment_path(dir.path(), n))
                .unwrap()
                .len();
            assert!(
                (4096..4096 + 1024).contains(&len),
                "segment {n} holds {len} bytes"
            );
        }
        let back = read_all(dir.path(), WalPos::ZERO, w.durable());
        assert_eq!(back.samples.len(), 50 * 40);
        assert!(
            back.samples.windows(2).all(|p| p[0].1.t <= p[1].1.t),
            "order is kept across segments"
        );
    }

    /// A writer with several closed segments of 10 samples per append; returns the references.
    fn fill(w: &mut WalWriter, appends: i64, t: i64) -> Vec<SeriesRef> {
        let refs = testkit::append(w, &new_series("a", 10, t)).refs;
        for i in 1..appends {
            testkit::append(w, &samples(&refs, t + i));
        }
        refs
    }

    #[test]
    fn segments_are_deleted_only_after_every_consumer_acknowledged_them() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, metrics) = testkit::open(&options(dir.path(), 1024));
        let t = now_ms();
        fill(&mut w, 60, t);
        let numbers = segment_numbers(dir.path());
        assert!(numbers.len() >= 4);
        assert_eq!(
            w.maintain(t).unwrap(),
            0,
            "no consumers, no budget: nothing goes"
        );

        w.subscribe("a");
        w.subscribe("b");
        assert!(w.progress("a", w.durable()));
        assert_eq!(w.maintain(t).unwrap(), 0, "b has not reported");
        let second_end = w.segments[1].end();
        assert!(w.progress("b", second_end));
        assert_eq!(w.maintain(t).unwrap(), 2);
        assert_eq!(segment_numbers(dir.path()), numbers[2..]);
        assert_eq!(metrics.wal_truncations_total.get(), 2);
        assert_eq!(metrics.wal_dropped_samples_total.get(), 0);

        assert!(w.unsubscribe("b"));
        assert_eq!(w.maintain(t).unwrap(), numbers.len() - 3);
        assert_eq!(
            segment_numbers(dir.path()),
            [w.active.number],
            "never the segment being written"
        );
        assert_eq!(metrics.wal_segments.get(), 1);
    }

    #[test]
    fn size_budget_deletes_unacknowledged_segments_and_counts_the_loss() {
        let dir = tempfile::tempdir().unwrap();
        let opts = WalOptions {
            max_bytes: 3000,
            ..options(dir.path(), 1024)
        };
        let (mut w, metrics) = testkit::open(&opts);
        let t = now_ms();
        let refs = testkit::append(&mut w, &new_series("a", 10, t)).refs;
        let acked = testkit::append(&mut w, &samples(&refs, t + 1)).end;
        for i in 2..60 {
            testkit::append(&mut w, &samples(&refs, t + i));
        }
        w.subscribe("slow");
        w.progress("slow", acked);
        let total: u64 = w.segments.iter().map(|s| s.samples).sum();
        let deleted = w.maintain(t + 60).unwrap();
        assert!(deleted > 0);
        let kept: u64 = w.segments.iter().map(|s| s.samples).sum();
        let bytes: u64 = w.segments.iter().map(|s| u64::from(s.bytes)).sum();
        assert!(bytes <= 3000, "{bytes} bytes left");
        // The consumer had 20 samples acknowledged; everything else that went is lost.
        assert_eq!(metrics.wal_dropped_samples_total.get(), total - kept - 20);
        assert_eq!(metrics.wal_truncations_total.get(), 0);

        // The reader from the consumer's position reports the gap and still knows every series.
        let mut reader = WalReader::open(dir.path(), acked).unwrap();
        let mut defined = std::collections::HashSet::new();
        while let Some((_, record)) = reader.next(w.durable()).unwrap() {
            match record {
                Record::Series(s) => defined.extend(s.into_iter().map(|s| s.0)),
                Record::Samples(s) => assert!(s.iter().all(|s| defined.contains(&s.series))),
            }
        }
        let skipped = reader.take_skipped().expect("skip reported");
        assert_eq!(skipped.from, acked);
        assert_eq!(skipped.to, w.first());
    }

    #[test]
    fn age_budget_deletes_segments_whose_newest_sample_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let opts = WalOptions {
            max_age: std::time::Duration::from_secs(60),
            ..options(dir.path(), 1024)
        };
        let (mut w, metrics) = testkit::open(&opts);
        let now = now_ms();
        let old_t = now - 3_600_000;
        let refs = fill(&mut w, 30, old_t);
        for i in 0..30 {
            testkit::append(&mut w, &samples(&refs, now + i));
        }
        assert!(w.maintain(now).unwrap() > 0);
        assert_eq!(metrics.wal_truncations_total.get(), 0);
        for seg in &w.segments[..w.segments.len() - 1] {
            assert!(
                seg.max_t.unwrap() >= now - 60_000,
                "segment {} is over age",
                seg.number
            );
        }
        // Every old sample is either still readable or counted as dropped.
        let back = read_all(dir.path(), WalPos::ZERO, w.durable());
        let old_left = back.samples.iter().filter(|(_, s)| s.t < now).count() as u64;
        assert_eq!(metrics.wal_dropped_samples_total.get() + old_left, 300);
        assert!(old_left < 300);
        assert_eq!(
            back.samples.len() as u64 - old_left,
            300,
            "no recent sample was dropped"
        );
    }

    #[test]
    fn checkpoint_keeps_live_series_and_expires_dead_ones() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), 1024);
        let (mut w, _) = testkit::open(&opts);
        let now = now_ms();
        // "gone" appeared once, two hours ago; "kept" keeps appearing.
        let gone = testkit::append(&mut w, &new_series("gone", 3, now - 7_200_000)).refs;
        let kept = testkit::append(&mut w, &new_series("kept", 5, now - 7_200_000)).refs;
        for i in 0..60 {
            testkit::append(&mut w, &samples(&kept, now - 60_000 + i));
        }
        w.subscribe("a");
        w.progress("a", w.segments[w.segments.len() - 2].end());
        assert!(w.maintain(now).unwrap() > 0);
        assert!(layout::list(dir.path())
            .unwrap()
            .latest_checkpoint()
            .is_some());

        // A reader from the durable end of the log still gets labels for every sample after.
        let late = w.durable();
        testkit::append(&mut w, &samples(&kept, now + 1));
        let back = read_all(dir.path(), late, w.durable());
        let defined: std::collections::HashMap<_, _> = back.series.into_iter().collect();
        assert_eq!(back.samples.len(), 5);
        for (_, s) in &back.samples {
            assert!(
                defined.contains_key(&s.series),
                "ref {} has labels",
                s.series
            );
        }
        assert_eq!(defined[&kept[0]], testkit::labels("kept", 0));
        assert!(
            gone.iter().all(|r| !defined.contains_key(r)),
            "dead series were not kept"
        );

        // A dead reference is refused, so the scraper sends the series again.
        assert!(matches!(
            w.append(&samples(&gone[..1], now)),
            Err(WalError::UnknownSeries { .. })
        ));
        drop(w);
        let (mut w, _) = testkit::open(&opts);
        testkit::append(&mut w, &samples(&kept, now + 2));
        let fresh = testkit::append(&mut w, &new_series("new", 1, now + 2)).refs;
        assert_eq!(fresh, [9], "the checkpoint remembers the next reference");
    }

    #[test]
    fn a_failed_write_is_fatal_and_refuses_everything_after() {
        let dir = tempfile::tempdir().unwrap();
        let wal_dir = dir.path().join("wal");
        let (mut w, _) = testkit::open(&options(&wal_dir, 1024));
        let t = now_ms();
        let refs = testkit::append(&mut w, &new_series("a", 10, t)).refs;
        // The directory vanishing makes the next rollover fail to create its segment.
        std::fs::remove_dir_all(&wal_dir).unwrap();
        let mut failure = None;
        for i in 1..20 {
            if let Err(e) = w.append(&samples(&refs, t + i)) {
                failure = Some(e);
                break;
            }
        }
        let failure = failure.expect("the rollover failed");
        assert!(failure.is_fatal(), "{failure}");
        assert!(
            matches!(&failure, WalError::Failed(cause) if matches!(**cause, WalError::Io { .. }))
        );
        assert!(matches!(w.commit(), Err(WalError::Failed(_))));
        assert!(matches!(
            w.append(&samples(&refs, t)),
            Err(WalError::Failed(_))
        ));
    }

    #[test]
    fn replay_finishes_an_interrupted_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), 1024);
        let (mut w, _) = testkit::open(&opts);
        fill(&mut w, 40, now_ms());
        let numbers = segment_numbers(dir.path());
        let covered = numbers[2];
        // A crash after the rename of checkpoint.<covered> but before deleting its segments.
        let header = Header {
            next_ref: 11,
            covered_end: w.segments[1].end(),
        };
        let sources = Sources {
            dir: dir.path(),
            checkpoint: None,
            segments: &numbers[..2],
        };
        checkpoint::write(&sources, covered, header, |_| true).unwrap();
        std::fs::write(layout::checkpoint_tmp_path(dir.path(), 99), b"partial").unwrap();
        drop(w);

        let (w, _) = testkit::open(&opts);
        let listing = layout::list(dir.path()).unwrap();
        assert_eq!(listing.segments[0], covered);
        assert!(listing.leftovers.is_empty());
        assert_eq!(
            w.first(),
            WalPos {
                segment: covered,
                offset: 0
            }
        );
        let back = read_all(dir.path(), WalPos::ZERO, w.durable());
        assert_eq!(
            back.series.len(),
            10,
            "definitions come from the checkpoint"
        );
    }
}
