//! Reading the WAL as a consumer (the Shipper): every series definition, and the samples from
//! a resume position on, up to the durable end the Wal actor publishes.
//!
//! A reader yields the checkpoint's series first, then the records of each segment in order.
//! Series records are yielded everywhere, also before `from`, so a consumer resuming mid-log
//! knows every series its samples refer to; sample records only at positions `>= from`. A
//! reference may be defined again (checkpoint, then a segment, or the checkpoint re-read after
//! a gap): consumers treat series records as upserts.
//!
//! Segments can disappear under a reader: the Wal deletes acknowledged segments and, over the
//! budget, unacknowledged ones. An open segment stays readable (the file handle keeps it); a
//! segment deleted before the reader got to it is skipped, reported by
//! [`WalReader::take_skipped`], and the newest checkpoint is re-read because it now holds the
//! definitions those segments carried.
//!
//! The IO is blocking and buffered; run a reader on a blocking thread.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::checkpoint;
use super::codec;
use super::error::WalError;
use super::format::{FrameFault, FrameReader, ReadFault, RecordKind, FRAME_HEADER_LEN};
use super::layout;
use super::segment::{self, OpenedSegment};
use super::{Record, WalPos};

/// How often opening retries when files are deleted between listing and opening them.
const OPEN_ATTEMPTS: usize = 8;

/// A range of the log a reader could not deliver because it was deleted (or damaged) before
/// the reader got to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub from: WalPos,
    pub to: WalPos,
}

/// A sequential reader of a WAL directory.
#[derive(Debug)]
pub struct WalReader {
    dir: PathBuf,
    from: WalPos,
    segment: u32,
    frames: FrameReader<BufReader<File>>,
    /// Checkpoint records still to yield before the current segment's.
    checkpoint: Option<(PathBuf, FrameReader<BufReader<File>>)>,
    skipped: Option<Skipped>,
}

enum Step {
    Record(u64, Record),
    SkippedSamples,
    Damaged(u64, FrameFault),
    End,
}

impl WalReader {
    /// Opens `dir` to read samples from `from` (`WalPos::ZERO`: from the beginning).
    pub fn open(dir: &Path, from: WalPos) -> Result<WalReader, WalError> {
        let mut attempt = 1;
        loop {
            match Self::try_open(dir, from) {
                Err(e) if segment::is_not_found(&e) && attempt < OPEN_ATTEMPTS => attempt += 1,
                result => return result,
            }
        }
    }

    fn try_open(dir: &Path, from: WalPos) -> Result<WalReader, WalError> {
        let listing = layout::list(dir)?;
        let covered = listing.latest_checkpoint().unwrap_or(0);
        let Some(&first) = listing.segments.iter().find(|&&n| n >= covered) else {
            return Err(WalError::NoSegments {
                dir: dir.to_owned(),
            });
        };
        let frames = open_segment(dir, first)?;
        let start = WalPos {
            segment: first,
            offset: 0,
        };
        let mut reader = WalReader {
            dir: dir.to_owned(),
            from,
            segment: first,
            frames,
            checkpoint: None,
            skipped: None,
        };
        let covered_end = match listing.latest_checkpoint() {
            Some(n) => reader.load_checkpoint(n)?.unwrap_or(start),
            None => start,
        };
        if from != WalPos::ZERO && from < covered_end {
            reader.skipped = Some(Skipped { from, to: start });
        }
        Ok(reader)
    }

    /// Queues checkpoint `number`'s series; returns its `covered_end` when the header is valid.
    fn load_checkpoint(&mut self, number: u32) -> Result<Option<WalPos>, WalError> {
        let path = layout::checkpoint_path(&self.dir, number);
        let Some(opened) = checkpoint::open(&path)? else {
            tracing::warn!(file = %path.display(), "WAL checkpoint header is damaged; its series are not read");
            return Ok(None);
        };
        self.checkpoint = Some((path, opened.frames));
        Ok(Some(opened.covered_end))
    }

    /// The position just past the last record read: where a consumer that delivered
    /// everything read so far resumes.
    pub fn position(&self) -> WalPos {
        WalPos {
            segment: self.segment,
            offset: offset32(self.frames.offset()),
        }
    }

    /// The range skipped since the last call, if any.
    pub fn take_skipped(&mut self) -> Option<Skipped> {
        self.skipped.take()
    }

    /// The next record starting before `until` (the durable end), with its start position.
    /// `Ok(None)` means the reader has caught up; call again once `until` moves.
    pub fn next(&mut self, until: WalPos) -> Result<Option<(WalPos, Record)>, WalError> {
        loop {
            if let Some(series) = self.next_checkpoint_record() {
                return Ok(Some((
                    WalPos {
                        segment: self.segment,
                        offset: 0,
                    },
                    series,
                )));
            }
            let pos = self.position();
            if pos >= until {
                return Ok(None);
            }
            match self.step(pos < self.from)? {
                Step::Record(start, record) => {
                    return Ok(Some((
                        WalPos {
                            segment: self.segment,
                            offset: offset32(start),
                        },
                        record,
                    )));
                }
                Step::SkippedSamples => {}
                Step::End if until.segment > self.segment => self.advance()?,
                Step::End => {
                    let need = FRAME_HEADER_LEN as u64;
                    return Err(self.corrupt(pos.offset.into(), FrameFault::Torn { have: 0, need }));
                }
                Step::Damaged(offset, fault) if until.segment > self.segment => {
                    tracing::warn!(segment = self.segment, offset, %fault, "WAL segment is damaged; skipping the rest of it");
                    let next = WalPos {
                        segment: self.segment + 1,
                        offset: 0,
                    };
                    self.add_skipped(Skipped {
                        from: WalPos {
                            segment: self.segment,
                            offset: offset32(offset),
                        },
                        to: next,
                    });
                    self.advance()?;
                }
                Step::Damaged(offset, fault) => return Err(self.corrupt(offset, fault)),
            }
        }
    }

    fn step(&mut self, skip_samples: bool) -> Result<Step, WalError> {
        let frame = match self.frames.next(skip_samples) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(Step::End),
            Err(ReadFault::Frame { offset, fault }) => return Ok(Step::Damaged(offset, fault)),
            Err(ReadFault::Io(e)) => {
                return Err(WalError::io(
                    "reading segment",
                    layout::segment_path(&self.dir, self.segment),
                    e,
                ))
            }
        };
        let Some(payload) = frame.payload else {
            return Ok(Step::SkippedSamples);
        };
        let decoded = match frame.kind {
            RecordKind::Series => codec::decode_series(payload).map(Record::Series),
            RecordKind::Samples => {
                let mut samples = Vec::new();
                codec::decode_samples(payload, &mut samples).map(|()| Record::Samples(samples))
            }
        };
        Ok(match decoded {
            Ok(record) => Step::Record(frame.start, record),
            Err(e) => Step::Damaged(frame.start, e.into()),
        })
    }

    fn next_checkpoint_record(&mut self) -> Option<Record> {
        let (path, frames) = self.checkpoint.as_mut()?;
        loop {
            let fault = match frames.next(true) {
                Ok(Some(frame)) => match (frame.kind, frame.payload) {
                    (RecordKind::Series, Some(payload)) => match codec::decode_series(payload) {
                        Ok(series) => return Some(Record::Series(series)),
                        Err(e) => format!("record at offset {}: {e}", frame.start),
                    },
                    _ => continue,
                },
                Ok(None) => {
                    self.checkpoint = None;
                    return None;
                }
                Err(ReadFault::Frame { offset, fault }) => {
                    format!("record at offset {offset}: {fault}")
                }
                Err(ReadFault::Io(e)) => e.to_string(),
            };
            tracing::warn!(file = %path.display(), fault, "WAL checkpoint is unreadable from here; the rest of its series are not read");
            self.checkpoint = None;
            return None;
        }
    }

    /// Moves to the next segment that exists; a gap means segments were deleted first.
    fn advance(&mut self) -> Result<(), WalError> {
        let expected = self.segment + 1;
        let mut target = expected;
        for _ in 0..OPEN_ATTEMPTS {
            match open_segment(&self.dir, target) {
                Ok(frames) => {
                    self.segment = target;
                    self.frames = frames;
                    if target != expected {
                        let to = WalPos {
                            segment: target,
                            offset: 0,
                        };
                        tracing::warn!(
                            from = expected,
                            to = target,
                            "WAL segments were deleted before this reader got to them"
                        );
                        self.add_skipped(Skipped {
                            from: WalPos {
                                segment: expected,
                                offset: 0,
                            },
                            to,
                        });
                        if let Some(n) = layout::list(&self.dir)?.latest_checkpoint() {
                            self.load_checkpoint(n)?;
                        }
                    }
                    return Ok(());
                }
                Err(e) if segment::is_not_found(&e) => {
                    let listing = layout::list(&self.dir)?;
                    match listing.segments.iter().find(|&&n| n > self.segment) {
                        Some(&n) => target = n,
                        None => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(WalError::io(
            "opening segment",
            layout::segment_path(&self.dir, target),
            std::io::ErrorKind::NotFound.into(),
        ))
    }

    fn add_skipped(&mut self, skipped: Skipped) {
        self.skipped = Some(match self.skipped {
            Some(prev) => Skipped {
                from: prev.from.min(skipped.from),
                to: prev.to.max(skipped.to),
            },
            None => skipped,
        });
    }

    fn corrupt(&self, offset: u64, fault: FrameFault) -> WalError {
        WalError::Corrupt {
            path: layout::segment_path(&self.dir, self.segment),
            offset,
            fault,
        }
    }
}

fn open_segment(dir: &Path, number: u32) -> Result<FrameReader<BufReader<File>>, WalError> {
    let path = layout::segment_path(dir, number);
    match segment::open(&path)? {
        OpenedSegment::Frames(frames) => Ok(frames),
        OpenedSegment::BadMagic { .. } => Err(WalError::Corrupt {
            path,
            offset: 0,
            fault: FrameFault::BadMagic,
        }),
    }
}

/// Segment offsets fit 32 bits (segments are capped at 1 GiB plus one record).
fn offset32(offset: u64) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::sample::SeriesRef;
    use crate::wal::testkit::{self, new_series, now_ms, options, samples};

    /// Checks that every sample's series was defined before it; returns the sample count.
    fn drain(reader: &mut WalReader, until: WalPos, defined: &mut HashSet<SeriesRef>) -> usize {
        let mut count = 0;
        while let Some((pos, record)) = reader.next(until).unwrap() {
            assert!(pos < until, "{pos} is not before {until}");
            match record {
                Record::Series(s) => defined.extend(s.into_iter().map(|(r, _)| r)),
                Record::Samples(s) => {
                    for sample in &s {
                        assert!(
                            defined.contains(&sample.series),
                            "ref {} used before its definition",
                            sample.series
                        );
                    }
                    count += s.len();
                }
            }
        }
        count
    }

    #[test]
    fn tails_across_segments_while_the_writer_appends() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = testkit::open(&options(dir.path(), 2048));
        let (tx, rx) = std::sync::mpsc::channel::<WalPos>();
        let reader_dir = dir.path().to_owned();
        let tail = std::thread::spawn(move || {
            let mut reader = WalReader::open(&reader_dir, WalPos::ZERO).unwrap();
            let (mut defined, mut count, mut segments) = (HashSet::new(), 0, HashSet::new());
            for until in rx {
                count += drain(&mut reader, until, &mut defined);
                segments.insert(reader.position().segment);
                assert!(reader.position() <= until);
            }
            assert!(reader.take_skipped().is_none());
            (count, segments.len())
        });
        let t = now_ms();
        let mut refs = Vec::new();
        let mut expected = 0;
        for i in 0..200 {
            let appended = if i % 20 == 0 {
                let req = new_series(&format!("m{i}"), 5, t + i);
                expected += req.samples.len();
                testkit::append(&mut w, &req).refs
            } else {
                expected += refs.len();
                testkit::append(&mut w, &samples(&refs, t + i));
                Vec::new()
            };
            refs.extend(appended);
            tx.send(w.durable()).unwrap();
        }
        drop(tx);
        let (count, segments) = tail.join().unwrap();
        assert_eq!(count, expected);
        assert!(segments > 5, "the reader followed {segments} segments");
    }

    #[test]
    fn segments_deleted_under_a_reader_are_skipped_and_the_checkpoint_is_reread() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = testkit::open(&options(dir.path(), 1024));
        let t = now_ms();
        let mut refs = testkit::append(&mut w, &new_series("early", 10, t)).refs;
        let mut reader = WalReader::open(dir.path(), WalPos::ZERO).unwrap();
        let mut defined = HashSet::new();
        let head = WalPos {
            segment: 1,
            offset: 300,
        };
        drain(&mut reader, head, &mut defined);
        assert_eq!(defined.len(), 10);

        for i in 1..40 {
            if i == 15 {
                refs.extend(testkit::append(&mut w, &new_series("late", 3, t + i)).refs);
            }
            testkit::append(&mut w, &samples(&refs, t + i));
        }
        // Everything but the last two closed segments is acknowledged and deleted.
        w.subscribe("other");
        let ends = testkit::segment_ends(dir.path());
        w.progress("other", ends[ends.len() - 3]);
        assert!(w.maintain(t).unwrap() > 2);

        let count = drain(&mut reader, w.durable(), &mut defined);
        assert!(count > 0);
        assert_eq!(
            defined.len(),
            13,
            "the late series came from the re-read checkpoint"
        );
        let skipped = reader.take_skipped().expect("the gap is reported");
        assert_eq!(
            skipped.from,
            WalPos {
                segment: 2,
                offset: 0
            }
        );
        assert_eq!(skipped.to, w.first());
    }

    #[test]
    fn resuming_exactly_where_the_deleted_segments_ended_skips_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = testkit::open(&options(dir.path(), 1024));
        let t = now_ms();
        let refs = testkit::append(&mut w, &new_series("a", 10, t)).refs;
        for i in 1..30 {
            testkit::append(&mut w, &samples(&refs, t + i));
        }
        let acked = testkit::segment_ends(dir.path())[1];
        w.subscribe("a");
        w.progress("a", acked);
        assert_eq!(w.maintain(t).unwrap(), 2);

        let mut reader = WalReader::open(dir.path(), acked).unwrap();
        let mut defined = HashSet::new();
        drain(&mut reader, w.durable(), &mut defined);
        assert_eq!(defined.len(), 10);
        assert_eq!(reader.take_skipped(), None);

        let before = WalPos {
            segment: acked.segment,
            offset: acked.offset - 1,
        };
        let mut reader = WalReader::open(dir.path(), before).unwrap();
        assert_eq!(
            reader.take_skipped(),
            Some(Skipped {
                from: before,
                to: w.first()
            })
        );
    }

    #[test]
    fn samples_before_from_are_not_yielded_but_series_are() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = testkit::open(&options(dir.path(), 1 << 20));
        let t = now_ms();
        let first = testkit::append(&mut w, &new_series("a", 4, t));
        let from = first.end;
        testkit::append(&mut w, &samples(&first.refs, t + 1));
        let back = testkit::read_all(dir.path(), from, w.durable());
        assert_eq!(back.series.len(), 4);
        assert_eq!(back.samples.len(), 4);
        assert!(back.samples.iter().all(|(p, s)| *p >= from && s.t == t + 1));
    }

    #[test]
    fn damaged_durable_data_in_the_active_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = testkit::open(&options(dir.path(), 1 << 20));
        let appended = testkit::append(&mut w, &new_series("a", 4, now_ms()));
        let path = layout::segment_path(dir.path(), appended.end.segment);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = WalReader::open(dir.path(), WalPos::ZERO).unwrap();
        let err = reader.next(w.durable()).unwrap_err();
        assert!(matches!(err, WalError::Corrupt { offset: 8, .. }), "{err}");
    }
}
