//! The checkpoint: the live series definitions of deleted segments (format in
//! [`format`](super::format)). Written atomically (tmp, fsync, rename, directory fsync) before
//! any segment it covers is deleted, so a crash at any point leaves either the old checkpoint
//! and all segments, or the new checkpoint.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::codec::{self, SeriesEntries, SERIES_RECORD_TARGET_LEN};
use super::error::WalError;
use super::format::{begin_frame, finish_frame, FrameReader, ReadFault, RecordKind};
use super::layout;
use super::segment::{self, OpenedSegment, READ_BUFFER_LEN};
use super::WalPos;
use crate::sample::SeriesRef;

/// The first bytes of a checkpoint: name and format version.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"SKYCKPT\x01";

/// Magic, `next_ref`, `covered_end` and the header's checksum.
pub const CHECKPOINT_HEADER_LEN: usize = 28;

/// An opened checkpoint.
#[derive(Debug)]
pub struct OpenedCheckpoint {
    /// The next reference the WAL would have assigned when the checkpoint was written.
    pub next_ref: u64,
    /// The end of the last segment the checkpoint replaced: a consumer that acknowledged up
    /// to here lost nothing when those segments went.
    pub covered_end: WalPos,
    pub frames: FrameReader<BufReader<File>>,
}

/// Opens a checkpoint; `Ok(None)` when its header is damaged (it is then ignored).
pub fn open(path: &Path) -> Result<Option<OpenedCheckpoint>, WalError> {
    let file = File::open(path).map_err(|e| WalError::io("opening checkpoint", path, e))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER_LEN, file);
    let mut header = [0u8; CHECKPOINT_HEADER_LEN];
    if let Err(e) = reader.read_exact(&mut header) {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            return Ok(None);
        }
        return Err(WalError::io("reading checkpoint", path, e));
    }
    let stored = u32::from_le_bytes([header[24], header[25], header[26], header[27]]);
    if header[..8] != CHECKPOINT_MAGIC || crc32c::crc32c(&header[..24]) != stored {
        return Ok(None);
    }
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    Ok(Some(OpenedCheckpoint {
        next_ref: word(8),
        covered_end: WalPos::from_u64(word(16)),
        frames: FrameReader::new(reader, CHECKPOINT_HEADER_LEN as u64),
    }))
}

/// What a new checkpoint is built from.
#[derive(Debug)]
pub struct Sources<'a> {
    pub dir: &'a Path,
    /// The checkpoint being replaced.
    pub checkpoint: Option<u32>,
    /// The segments being deleted.
    pub segments: &'a [u32],
}

/// The header fields of a new checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub next_ref: u64,
    pub covered_end: WalPos,
}

/// The outcome of [`write`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Series definitions kept.
    pub kept: usize,
    /// References whose definitions were dropped because they are no longer live.
    pub dropped: Vec<SeriesRef>,
}

/// Writes `checkpoint.<number>` from the series records of `sources`, keeping the series for
/// which `live` holds, and makes it durable. It does not delete anything.
pub fn write(
    sources: &Sources<'_>,
    number: u32,
    header: Header,
    mut live: impl FnMut(SeriesRef) -> bool,
) -> Result<Written, WalError> {
    let tmp = layout::checkpoint_tmp_path(sources.dir, number);
    let result = write_tmp(sources, &tmp, header, &mut live);
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            // The partial file is garbage; replay would delete it too.
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let path = layout::checkpoint_path(sources.dir, number);
    std::fs::rename(&tmp, &path).map_err(|e| WalError::io("renaming checkpoint", &tmp, e))?;
    layout::sync_dir(sources.dir)?;
    Ok(written)
}

fn write_tmp(
    sources: &Sources<'_>,
    tmp: &Path,
    fields: Header,
    live: &mut impl FnMut(SeriesRef) -> bool,
) -> Result<Written, WalError> {
    let file = File::create(tmp).map_err(|e| WalError::io("creating checkpoint", tmp, e))?;
    let mut out = Output {
        path: tmp,
        writer: BufWriter::new(file),
        entries: Vec::new(),
        count: 0,
    };
    let mut header = [0u8; CHECKPOINT_HEADER_LEN];
    header[..8].copy_from_slice(&CHECKPOINT_MAGIC);
    header[8..16].copy_from_slice(&fields.next_ref.to_le_bytes());
    header[16..24].copy_from_slice(&fields.covered_end.as_u64().to_le_bytes());
    let crc = crc32c::crc32c(&header[..24]);
    header[24..].copy_from_slice(&crc.to_le_bytes());
    out.write(&header)?;

    let mut written = Written::default();
    let mut inputs: Vec<(PathBuf, Option<FrameReader<BufReader<File>>>)> = Vec::new();
    if let Some(n) = sources.checkpoint {
        let path = layout::checkpoint_path(sources.dir, n);
        let frames = open(&path)?.map(|c| c.frames);
        inputs.push((path, frames));
    }
    for &n in sources.segments {
        let path = layout::segment_path(sources.dir, n);
        let frames = match segment::open(&path)? {
            OpenedSegment::Frames(f) => Some(f),
            OpenedSegment::BadMagic { .. } => None,
        };
        inputs.push((path, frames));
    }
    for (path, frames) in inputs {
        let Some(mut frames) = frames else {
            tracing::warn!(file = %path.display(), "WAL checkpoint source has a damaged header; its series are skipped");
            continue;
        };
        loop {
            let frame = match frames.next(true) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(ReadFault::Io(e)) => return Err(WalError::io("reading", &path, e)),
                Err(ReadFault::Frame { offset, fault }) => {
                    tracing::warn!(file = %path.display(), offset, %fault, "WAL checkpoint source is damaged; the rest of it is skipped");
                    break;
                }
            };
            let Some(payload) = frame.payload.filter(|_| frame.kind == RecordKind::Series) else {
                continue;
            };
            let entries = SeriesEntries::new(payload).map(|e| e.collect::<Result<Vec<_>, _>>());
            let Ok(Ok(entries)) = entries else {
                tracing::warn!(file = %path.display(), offset = frame.start, "WAL series record does not decode; skipped");
                continue;
            };
            for entry in entries {
                if live(entry.series) {
                    out.push(entry.raw)?;
                    written.kept += 1;
                } else {
                    written.dropped.push(entry.series);
                }
            }
        }
    }
    out.flush_record()?;
    let file = out
        .writer
        .into_inner()
        .map_err(|e| WalError::io("writing checkpoint", tmp, e.into_error()))?;
    file.sync_all()
        .map_err(|e| WalError::io("fsyncing checkpoint", tmp, e))?;
    Ok(written)
}

/// Groups kept entries into series records of about [`SERIES_RECORD_TARGET_LEN`] bytes.
struct Output<'a> {
    path: &'a Path,
    writer: BufWriter<File>,
    entries: Vec<u8>,
    count: u64,
}

impl Output<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), WalError> {
        self.writer
            .write_all(bytes)
            .map_err(|e| WalError::io("writing checkpoint", self.path, e))
    }

    fn push(&mut self, raw_entry: &[u8]) -> Result<(), WalError> {
        self.entries.extend_from_slice(raw_entry);
        self.count += 1;
        if self.entries.len() >= SERIES_RECORD_TARGET_LEN {
            self.flush_record()?;
        }
        Ok(())
    }

    fn flush_record(&mut self) -> Result<(), WalError> {
        if self.count == 0 {
            return Ok(());
        }
        let mut record = Vec::with_capacity(self.entries.len() + 16);
        let start = begin_frame(&mut record);
        codec::put_uvarint(&mut record, self.count);
        record.extend_from_slice(&self.entries);
        finish_frame(&mut record, start, RecordKind::Series);
        self.entries.clear();
        self.count = 0;
        self.write(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Labels;
    use crate::wal::segment::ActiveSegment;

    fn series_record(out: &mut Vec<u8>, series: &[(SeriesRef, &Labels)]) {
        let start = begin_frame(out);
        codec::put_uvarint(out, series.len() as u64);
        for (r, l) in series {
            codec::put_series_entry(out, *r, l);
        }
        finish_frame(out, start, RecordKind::Series);
    }

    fn read_series(path: &Path) -> (Header, Vec<(SeriesRef, Labels)>) {
        let mut c = open(path).unwrap().expect("valid header");
        let mut out = Vec::new();
        while let Some(f) = c.frames.next(false).unwrap() {
            out.extend(codec::decode_series(f.payload.unwrap()).unwrap());
        }
        (
            Header {
                next_ref: c.next_ref,
                covered_end: c.covered_end,
            },
            out,
        )
    }

    fn header(next_ref: u64, segment: u32) -> Header {
        Header {
            next_ref,
            covered_end: WalPos {
                segment,
                offset: 100,
            },
        }
    }

    #[test]
    fn keeps_live_series_from_old_checkpoint_and_segments() {
        let dir = tempfile::tempdir().unwrap();
        let l = |v: &str| Labels::from_pairs([("__name__", v)]);
        let mut seg = ActiveSegment::create(dir.path(), 1).unwrap();
        let mut buf = Vec::new();
        series_record(&mut buf, &[(1, &l("a")), (2, &l("b"))]);
        seg.write(&buf).unwrap();
        let mut seg = ActiveSegment::create(dir.path(), 2).unwrap();
        buf.clear();
        series_record(&mut buf, &[(3, &l("c"))]);
        seg.write(&buf).unwrap();

        let first = Sources {
            dir: dir.path(),
            checkpoint: None,
            segments: &[1],
        };
        let w = write(&first, 2, header(4, 1), |r| r != 2).unwrap();
        assert_eq!(
            w,
            Written {
                kept: 1,
                dropped: vec![2]
            }
        );

        let second = Sources {
            dir: dir.path(),
            checkpoint: Some(2),
            segments: &[2],
        };
        let w = write(&second, 3, header(9, 2), |_| true).unwrap();
        assert_eq!(w.kept, 2);
        let (fields, series) = read_series(&layout::checkpoint_path(dir.path(), 3));
        assert_eq!(fields, header(9, 2));
        assert_eq!(series, vec![(1, l("a")), (3, l("c"))]);
        assert!(layout::list(dir.path()).unwrap().leftovers.is_empty());
    }

    #[test]
    fn damaged_header_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let empty = Sources {
            dir: dir.path(),
            checkpoint: None,
            segments: &[],
        };
        write(&empty, 5, header(1, 4), |_| true).unwrap();
        let path = layout::checkpoint_path(dir.path(), 5);
        assert_eq!(read_series(&path), (header(1, 4), vec![]));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[9] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(open(&path).unwrap().is_none());
        std::fs::write(&path, b"SKY").unwrap();
        assert!(open(&path).unwrap().is_none());
    }
}
