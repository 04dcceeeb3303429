//! Segment files: the magic header, the one segment being written, opening a segment for
//! reading, and the per-segment facts (size, samples, time range) that retention decides on.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::codec;
use super::error::WalError;
use super::format::{FrameReader, ReadFault, RecordKind};
use super::layout;
use super::WalPos;

/// The first bytes of every segment: name, NUL, format version.
pub const SEGMENT_MAGIC: [u8; 8] = *b"SKYWAL\x00\x01";

/// The offset of a segment's first record.
pub const SEGMENT_HEADER_LEN: u32 = SEGMENT_MAGIC.len() as u32;

/// Buffer size for sequential segment reads.
pub const READ_BUFFER_LEN: usize = 64 << 10;

/// What the WAL knows about one segment without reading it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentMeta {
    pub number: u32,
    /// Valid bytes, header included (for the segment being written: written plus buffered).
    pub bytes: u32,
    pub samples: u64,
    /// Oldest and newest sample timestamp (ms); `None` while the segment has no sample.
    pub min_t: Option<i64>,
    pub max_t: Option<i64>,
}

impl SegmentMeta {
    pub fn new(number: u32) -> Self {
        Self {
            number,
            bytes: SEGMENT_HEADER_LEN,
            samples: 0,
            min_t: None,
            max_t: None,
        }
    }

    pub fn observe(&mut self, t: i64) {
        self.samples += 1;
        self.min_t = Some(self.min_t.map_or(t, |m| m.min(t)));
        self.max_t = Some(self.max_t.map_or(t, |m| m.max(t)));
    }

    /// The position just past the segment's last record.
    pub fn end(&self) -> WalPos {
        WalPos {
            segment: self.number,
            offset: self.bytes,
        }
    }
}

/// The segment being written. Writes go straight to the file; durability comes from
/// [`ActiveSegment::sync`].
#[derive(Debug)]
pub struct ActiveSegment {
    pub number: u32,
    path: PathBuf,
    file: File,
    /// Bytes written to the file so far.
    pub len: u32,
}

impl ActiveSegment {
    /// Creates segment `number` with its header, fsynced together with the directory, so the
    /// file exists after a crash whenever anything was acknowledged from it.
    pub fn create(dir: &Path, number: u32) -> Result<Self, WalError> {
        let path = layout::segment_path(dir, number);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| WalError::io("creating segment", &path, e))?;
        file.write_all(&SEGMENT_MAGIC)
            .map_err(|e| WalError::io("writing segment", &path, e))?;
        file.sync_all()
            .map_err(|e| WalError::io("fsyncing segment", &path, e))?;
        layout::sync_dir(dir)?;
        Ok(Self {
            number,
            path,
            file,
            len: SEGMENT_HEADER_LEN,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WalError> {
        self.file
            .write_all(bytes)
            .map_err(|e| WalError::io("writing segment", &self.path, e))?;
        self.len += bytes.len() as u32;
        Ok(())
    }

    pub fn sync(&self) -> Result<(), WalError> {
        self.file
            .sync_data()
            .map_err(|e| WalError::io("fsyncing segment", &self.path, e))
    }
}

/// A segment opened for reading.
#[derive(Debug)]
pub enum OpenedSegment {
    /// The magic was valid; frames start at [`SEGMENT_HEADER_LEN`].
    Frames(FrameReader<BufReader<File>>),
    /// The file is shorter than the magic or does not start with it; `len` is its size.
    BadMagic { len: u64 },
}

/// Opens a segment and checks its magic. A missing file is an `Io` error of kind `NotFound`.
pub fn open(path: &Path) -> Result<OpenedSegment, WalError> {
    let file = File::open(path).map_err(|e| WalError::io("opening segment", path, e))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER_LEN, file);
    let mut magic = [0u8; SEGMENT_MAGIC.len()];
    let mut have = 0;
    while have < magic.len() {
        match reader.read(&mut magic[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WalError::io("reading segment", path, e)),
        }
    }
    if have < magic.len() || magic != SEGMENT_MAGIC {
        let len = reader
            .get_ref()
            .metadata()
            .map(|m| m.len())
            .unwrap_or(have as u64);
        return Ok(OpenedSegment::BadMagic { len });
    }
    Ok(OpenedSegment::Frames(FrameReader::new(
        reader,
        u64::from(SEGMENT_HEADER_LEN),
    )))
}

/// True when `e` says the file does not exist (deleted under a reader, for example).
pub fn is_not_found(e: &WalError) -> bool {
    matches!(e, WalError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Counts the samples in records starting at or after `from` in a closed segment, for the
/// drop accounting of a budget deletion. Damage ends the count (replay truncated the segment,
/// so damage here is new and the records behind it are unreadable anyway).
pub fn count_samples_from(path: &Path, from: u32) -> Result<u64, WalError> {
    let OpenedSegment::Frames(mut frames) = open(path)? else {
        return Ok(0);
    };
    let mut samples = 0u64;
    loop {
        match frames.next(false) {
            Ok(Some(frame)) => {
                if frame.kind == RecordKind::Samples && frame.start >= u64::from(from) {
                    let payload = frame.payload.unwrap_or_default();
                    samples += codec::samples_count(payload).unwrap_or(0) as u64;
                }
            }
            Ok(None) | Err(ReadFault::Frame { .. }) => return Ok(samples),
            Err(ReadFault::Io(e)) => return Err(WalError::io("reading segment", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::RefSample;
    use crate::wal::format::{begin_frame, finish_frame};

    fn samples_record(out: &mut Vec<u8>, n: usize) {
        let start = begin_frame(out);
        let samples = (0..n as u64).map(|i| RefSample {
            series: i,
            t: 1,
            v: 0.0,
        });
        codec::put_samples(out, n, samples);
        finish_frame(out, start, RecordKind::Samples);
    }

    #[test]
    fn created_segment_reads_back_and_counts_samples_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = ActiveSegment::create(dir.path(), 7).unwrap();
        let mut buf = Vec::new();
        samples_record(&mut buf, 3);
        let second = SEGMENT_HEADER_LEN + buf.len() as u32;
        samples_record(&mut buf, 5);
        seg.write(&buf).unwrap();
        seg.sync().unwrap();
        assert_eq!(seg.len, SEGMENT_HEADER_LEN + buf.len() as u32);
        let path = layout::segment_path(dir.path(), 7);
        assert_eq!(count_samples_from(&path, 0).unwrap(), 8);
        assert_eq!(count_samples_from(&path, second).unwrap(), 5);
        assert_eq!(count_samples_from(&path, seg.len).unwrap(), 0);
        assert!(
            ActiveSegment::create(dir.path(), 7).is_err(),
            "never overwrites a segment"
        );
    }

    #[test]
    fn short_or_foreign_files_have_bad_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000001");
        std::fs::write(&path, b"SKY").unwrap();
        assert!(matches!(
            open(&path).unwrap(),
            OpenedSegment::BadMagic { len: 3 }
        ));
        std::fs::write(&path, b"NOTAWALFILE").unwrap();
        assert!(matches!(
            open(&path).unwrap(),
            OpenedSegment::BadMagic { len: 11 }
        ));
        assert!(is_not_found(
            &open(&dir.path().join("00000002")).unwrap_err()
        ));
    }
}
