//! The on-disk format of the WAL: files, record framing, checksums, size caps and what replay
//! does with damage. `docs/wal-format.md` carries the same description for operators.
//!
//! # Files
//!
//! The WAL directory (`<storage.agent.path>/wal`) holds:
//!
//! * **Segments** `00000001`, `00000002`, ...: eight decimal digits, numbered from 1 without
//!   reuse. Only the highest-numbered segment is written; the others are immutable. A new
//!   segment starts on every open and whenever the current one reaches the segment size.
//! * **One checkpoint** `checkpoint.NNNNNNNN`: the series definitions, from segments before
//!   `NNNNNNNN` (which are deleted), that are still live. Written as `checkpoint.NNNNNNNN.tmp`,
//!   fsynced, renamed, and the directory fsynced, so it is complete or absent.
//!
//! Every creation, rename and deletion is followed by an fsync of the directory.
//!
//! # Segment file
//!
//! ```text
//! segment  = magic record*
//! magic    = "SKYWAL" 0x00 0x01            8 bytes: name, NUL, format version 1
//! record   = len:u32le crc:u32le type:u8 payload[len]
//! ```
//!
//! * `len` is the payload length, `1..=MAX_PAYLOAD_LEN` (16 MiB). Any other value is
//!   corruption; it is never used as an allocation size.
//! * `crc` is CRC32C (Castagnoli) over the four `len` bytes, the type byte and the payload, so
//!   a damaged length is caught as well as a damaged payload.
//! * `type` is 1 (series) or 2 (samples); any other value, including the 0 of a zero-filled
//!   tail, is corruption.
//!
//! A position ([`WalPos`](super::WalPos)) is (segment number, byte offset of a record start).
//! The first record of a segment is at offset 8.
//!
//! # Payloads
//!
//! `uvarint` is unsigned LEB128; `varint` is a zigzag-encoded signed LEB128.
//!
//! ```text
//! series  = count:uvarint entry{count}
//! entry   = ref:uvarint nlabels:uvarint (name_len:uvarint name value_len:uvarint value){nlabels}
//! samples = count:uvarint (ref_delta:varint t_delta:varint value:u64le){count}
//! ```
//!
//! * Label names and values are UTF-8, sorted by name, as [`Labels`](crate::labels::Labels)
//!   keeps them. One entry may be at most 1 MiB, so a series record stays far under the cap.
//! * In a samples record each `ref_delta` and `t_delta` is the difference to the previous
//!   sample of the same record (the first to 0): one scrape has one timestamp and mostly
//!   consecutive references, so both deltas are usually one byte. `value` is the raw IEEE-754
//!   bit pattern, which keeps the staleness NaN exact. A record holds at most 4096 samples.
//! * A series record always precedes, in log order, the first sample record that uses its
//!   reference. References are never reused. A reference can be defined more than once only
//!   across the checkpoint and a segment; readers treat series records as upserts.
//!
//! # Checkpoint file
//!
//! ```text
//! checkpoint = "SKYCKPT" 0x01 next_ref:u64le covered_end:u64le crc:u32le record*
//! ```
//!
//! `crc` is CRC32C over the 24 bytes before it. `next_ref` is the next series reference the
//! WAL would have assigned, so references stay unique even when the series holding the highest
//! one expires. `covered_end` is the position (segment << 32 | offset) just past the last
//! deleted segment, so a reader resuming exactly there knows it missed nothing. The records
//! are series records with the framing above.
//!
//! # Replay and damage
//!
//! On open every segment is read front to back. The first record that is torn (the file ends
//! inside it) or corrupt (bad length, checksum, type or payload) ends the segment: the file is
//! truncated there and fsynced, the damage is logged with file and offset and counted in
//! `wal_corruptions_total`. In the last segment that is the normal outcome of a crash during a
//! write; in an older segment it is media damage, and the records behind it are lost. A segment
//! whose magic is torn or wrong is deleted. A damaged checkpoint is used up to the damage.
//! Leftovers of an interrupted checkpoint (`*.tmp`, older checkpoints, segments the newest
//! checkpoint covers) are deleted.

use std::io::{self, BufRead, Read};

/// Bytes before a record's payload: length, checksum and type.
pub const FRAME_HEADER_LEN: usize = 9;

/// The largest payload a record may declare. A larger length is corruption.
pub const MAX_PAYLOAD_LEN: u32 = 16 << 20;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Series = 1,
    Samples = 2,
}

impl RecordKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(RecordKind::Series),
            2 => Some(RecordKind::Samples),
            _ => None,
        }
    }
}

/// Why the bytes at some offset are not a valid record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameFault {
    #[error("file ends inside a record ({have} of {need} bytes)")]
    Torn { have: u64, need: u64 },
    #[error("record length {len} is outside 1..={max}")]
    BadLength { len: u32, max: u32 },
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    BadChecksum { stored: u32, computed: u32 },
    #[error("unknown record type {0}")]
    UnknownType(u8),
    #[error("the file does not start with the segment magic")]
    BadMagic,
    #[error("undecodable payload: {0}")]
    Payload(#[from] super::codec::DecodeError),
}

/// A failure while reading frames: the filesystem failed, or the bytes are damaged.
#[derive(Debug)]
pub enum ReadFault {
    Io(io::Error),
    Frame { offset: u64, fault: FrameFault },
}

/// Starts a record in `out`; returns the index to pass to [`finish_frame`].
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    start
}

/// Fills in the header of the record started at `start`, whose payload is everything after it.
/// The encoders keep payloads far below [`MAX_PAYLOAD_LEN`].
pub fn finish_frame(out: &mut [u8], start: usize, kind: RecordKind) {
    let len = (out.len() - start - FRAME_HEADER_LEN) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 8] = kind as u8;
    let crc = checksum(&out[start..start + 4], &out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn checksum(len_bytes: &[u8], type_and_payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(len_bytes), type_and_payload)
}

/// One record read by a [`FrameReader`].
#[derive(Debug)]
pub struct Frame<'a> {
    /// Offset of the record's first byte in its file.
    pub start: u64,
    pub kind: RecordKind,
    /// The verified payload, or `None` when the caller asked to skip this kind unread.
    pub payload: Option<&'a [u8]>,
}

/// Reads records one after another from a buffered file, tracking offsets. It never allocates
/// more than the largest valid payload, whatever a damaged length says.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    offset: u64,
    payload: Vec<u8>,
}

impl<R: BufRead> FrameReader<R> {
    /// `offset` is the file offset `inner` is positioned at.
    pub fn new(inner: R, offset: u64) -> Self {
        Self {
            inner,
            offset,
            payload: Vec::new(),
        }
    }

    /// The offset of the next record: just past the last one read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record. `Ok(None)` is a clean end of file at a record boundary. Sample
    /// records are passed over without reading or verifying their payload when `skip_samples`.
    /// After an error the reader's offset still points at the damaged record.
    pub fn next(&mut self, skip_samples: bool) -> Result<Option<Frame<'_>>, ReadFault> {
        let start = self.offset;
        let mut header = [0u8; FRAME_HEADER_LEN];
        let have = read_full(&mut self.inner, &mut header).map_err(ReadFault::Io)?;
        if have == 0 {
            return Ok(None);
        }
        let fault = |fault| ReadFault::Frame {
            offset: start,
            fault,
        };
        if have < FRAME_HEADER_LEN {
            return Err(fault(FrameFault::Torn {
                have: have as u64,
                need: FRAME_HEADER_LEN as u64,
            }));
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len == 0 || len > MAX_PAYLOAD_LEN {
            return Err(fault(FrameFault::BadLength {
                len,
                max: MAX_PAYLOAD_LEN,
            }));
        }
        let kind = RecordKind::from_byte(header[8])
            .ok_or_else(|| fault(FrameFault::UnknownType(header[8])))?;
        let need = (FRAME_HEADER_LEN as u64) + u64::from(len);
        if skip_samples && kind == RecordKind::Samples {
            let skipped = io::copy(&mut (&mut self.inner).take(u64::from(len)), &mut io::sink())
                .map_err(ReadFault::Io)?;
            if skipped < u64::from(len) {
                return Err(fault(FrameFault::Torn {
                    have: FRAME_HEADER_LEN as u64 + skipped,
                    need,
                }));
            }
            self.offset += need;
            return Ok(Some(Frame {
                start,
                kind,
                payload: None,
            }));
        }
        self.payload.resize(len as usize, 0);
        let got = read_full(&mut self.inner, &mut self.payload).map_err(ReadFault::Io)?;
        if got < len as usize {
            return Err(fault(FrameFault::Torn {
                have: (FRAME_HEADER_LEN + got) as u64,
                need,
            }));
        }
        let computed = crc32c::crc32c_append(checksum(&header[0..4], &header[8..9]), &self.payload);
        if computed != stored {
            return Err(fault(FrameFault::BadChecksum { stored, computed }));
        }
        self.offset += need;
        Ok(Some(Frame {
            start,
            kind,
            payload: Some(&self.payload),
        }))
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut have = 0;
    while have < buf.len() {
        match r.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(have)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn frames(kinds: &[(RecordKind, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, payload) in kinds {
            let start = begin_frame(&mut out);
            out.extend_from_slice(payload);
            finish_frame(&mut out, start, *kind);
        }
        out
    }

    type Item = (u64, RecordKind, Option<Vec<u8>>);

    fn read_all(bytes: &[u8], skip: bool) -> (Vec<Item>, Option<ReadFault>) {
        let mut r = FrameReader::new(Cursor::new(bytes), 0);
        let mut out = Vec::new();
        loop {
            match r.next(skip) {
                Ok(Some(f)) => out.push((f.start, f.kind, f.payload.map(<[u8]>::to_vec))),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn frames_round_trip_with_offsets() {
        let bytes = frames(&[(RecordKind::Series, b"abc"), (RecordKind::Samples, b"xy")]);
        let (got, fault) = read_all(&bytes, false);
        assert!(fault.is_none());
        assert_eq!(
            got,
            vec![
                (0, RecordKind::Series, Some(b"abc".to_vec())),
                (12, RecordKind::Samples, Some(b"xy".to_vec())),
            ]
        );
    }

    #[test]
    fn skipping_samples_keeps_offsets_and_series() {
        let bytes = frames(&[(RecordKind::Samples, b"xy"), (RecordKind::Series, b"abc")]);
        let (got, fault) = read_all(&bytes, true);
        assert!(fault.is_none());
        assert_eq!(
            got,
            vec![
                (0, RecordKind::Samples, None),
                (11, RecordKind::Series, Some(b"abc".to_vec()))
            ]
        );
    }

    #[test]
    fn flipped_payload_bit_is_a_checksum_fault_at_the_record_start() {
        let mut bytes = frames(&[(RecordKind::Series, b"abc"), (RecordKind::Series, b"def")]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let (got, fault) = read_all(&bytes, false);
        assert_eq!(got.len(), 1);
        assert!(matches!(
            fault,
            Some(ReadFault::Frame {
                offset: 12,
                fault: FrameFault::BadChecksum { .. }
            })
        ));
    }

    #[test]
    fn damaged_length_is_caught_by_the_checksum() {
        let mut bytes = frames(&[(RecordKind::Series, b"abcdef")]);
        bytes[0] = 5;
        let (_, fault) = read_all(&bytes, false);
        assert!(matches!(
            fault,
            Some(ReadFault::Frame {
                fault: FrameFault::BadChecksum { .. },
                ..
            })
        ));
    }

    #[test]
    fn torn_header_and_payload_are_torn_faults() {
        let bytes = frames(&[(RecordKind::Series, b"abc"), (RecordKind::Series, b"defgh")]);
        for cut in [13, 20] {
            let (got, fault) = read_all(&bytes[..cut], false);
            assert_eq!(got.len(), 1, "cut at {cut}");
            assert!(
                matches!(
                    fault,
                    Some(ReadFault::Frame {
                        offset: 12,
                        fault: FrameFault::Torn { .. }
                    })
                ),
                "cut at {cut}: {fault:?}"
            );
        }
        let (_, fault) = read_all(&bytes[..20], true);
        assert!(matches!(fault, Some(ReadFault::Frame { offset: 12, .. })));
    }

    #[test]
    fn zero_fill_and_huge_lengths_are_corruption_not_allocations() {
        let (_, fault) = read_all(&[0u8; 64], false);
        assert!(matches!(
            fault,
            Some(ReadFault::Frame {
                fault: FrameFault::BadLength { len: 0, .. },
                ..
            })
        ));
        let mut huge = vec![0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1];
        huge.extend_from_slice(b"tiny");
        let (_, fault) = read_all(&huge, false);
        assert!(matches!(
            fault,
            Some(ReadFault::Frame {
                fault: FrameFault::BadLength { .. },
                ..
            })
        ));
    }

    #[test]
    fn unknown_type_is_corruption() {
        let mut bytes = frames(&[(RecordKind::Series, b"abc")]);
        bytes[8] = 9;
        let (_, fault) = read_all(&bytes, false);
        assert!(matches!(
            fault,
            Some(ReadFault::Frame {
                fault: FrameFault::UnknownType(9),
                ..
            })
        ));
    }
}
