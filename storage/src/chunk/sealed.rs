//! A sealed chunk: the immutable, compressed bytes of one series' samples over a time range,
//! with the header that lets a reader skip it (sample count, `min_t`, `max_t`) without
//! decoding the body.
//!
//! ```text
//! chunk = version:8  varlen(n - 1)  varlen(zigzag(min_t))  varlen(max_t - min_t)
//!         timestamps  values  zero padding to a byte
//! ```
//!
//! - `version` is 1; any other is refused.
//! - `n` is 1..=[`MAX_SAMPLES`], checked before anything is allocated.
//! - `min_t + (max_t - min_t)` must not overflow; the decoded timestamps must start at `min_t`,
//!   increase strictly and end at `max_t`.
//! - The content must end in the last byte: trailing bytes are corruption.
//!
//! There is no checksum: chunks live in RocksDB, whose blocks are checksummed. The decoder is
//! still total: any byte string gives a chunk or a [`DecodeError`], never a panic.

use super::bits::{unzigzag, zigzag, BitReader, BitWriter};
use super::error::DecodeError;
use super::sample::Sample;
use super::{timestamps, values};

/// The only format version written and read.
const VERSION: u8 = 1;
/// The most samples one chunk may hold: bounds what decoding allocates (under 512 KiB).
pub const MAX_SAMPLES: usize = 8192;

/// The fields a reader needs before (or instead of) decoding the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    len: usize,
    min_t: i64,
    max_t: i64,
}

impl Header {
    fn write(self, out: &mut BitWriter) {
        out.write_bits(u64::from(VERSION), 8);
        out.write_varlen(self.len as u64 - 1);
        out.write_varlen(zigzag(self.min_t));
        out.write_varlen(self.max_t.wrapping_sub(self.min_t) as u64);
    }

    fn read(input: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let version = input.read_bits(8)? as u8;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let len_minus_one = input.read_varlen()?;
        if len_minus_one >= MAX_SAMPLES as u64 {
            return Err(DecodeError::SampleCount {
                count: len_minus_one.saturating_add(1),
                limit: MAX_SAMPLES,
            });
        }
        let min_t = unzigzag(input.read_varlen()?);
        let span = input.read_varlen()?;
        let max_t = min_t
            .checked_add_unsigned(span)
            .ok_or(DecodeError::TimeRangeOverflow { min_t, span })?;
        Ok(Self {
            len: len_minus_one as usize + 1,
            min_t,
            max_t,
        })
    }
}

/// A sealed chunk. Built by sealing an [`OpenChunk`](super::OpenChunk), or read back from
/// stored bytes with [`Chunk::from_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    bytes: Box<[u8]>,
    header: Header,
}

impl Chunk {
    /// Encodes `samples`, which the open chunk guarantees are 1..=MAX_SAMPLES samples with
    /// strictly increasing timestamps.
    pub(crate) fn encode(samples: &[Sample]) -> Self {
        let header = Header {
            len: samples.len(),
            min_t: samples.first().map_or(0, |s| s.t),
            max_t: samples.last().map_or(0, |s| s.t),
        };
        // Decimal workloads take a little over a byte per sample.
        let mut out = BitWriter::with_capacity(16 + samples.len() * 3 / 2);
        header.write(&mut out);
        let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
        timestamps::encode(&ts, &mut out);
        let vs: Vec<f64> = samples.iter().map(|s| s.v).collect();
        values::encode(&vs, &mut out);
        Self {
            bytes: out.finish().into_boxed_slice(),
            header,
        }
    }

    /// Takes stored bytes as a chunk, checking the header only; the body is checked when it
    /// is decoded.
    pub fn from_bytes(bytes: impl Into<Box<[u8]>>) -> Result<Self, DecodeError> {
        let bytes = bytes.into();
        let header = Header::read(&mut BitReader::new(&bytes))?;
        Ok(Self { bytes, header })
    }

    /// The encoded bytes, as they are stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of samples (at least 1).
    pub fn len(&self) -> usize {
        self.header.len
    }

    /// Always false: a chunk holds at least one sample. Present because `len` is.
    pub fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    /// The first sample's timestamp (ms).
    pub fn min_t(&self) -> i64 {
        self.header.min_t
    }

    /// The last sample's timestamp (ms).
    pub fn max_t(&self) -> i64 {
        self.header.max_t
    }

    /// Appends the chunk's samples, in timestamp order, to `out`. On error `out` is left as
    /// it was. Reusing one `out` across chunks saves an allocation per chunk on the query path.
    pub fn decode_into(&self, out: &mut Vec<Sample>) -> Result<(), DecodeError> {
        let start = out.len();
        let result = self.decode_body(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The chunk's samples, in timestamp order.
    pub fn samples(&self) -> Result<Vec<Sample>, DecodeError> {
        let mut out = Vec::with_capacity(self.len());
        self.decode_into(&mut out)?;
        Ok(out)
    }

    fn decode_body(&self, out: &mut Vec<Sample>) -> Result<(), DecodeError> {
        let mut input = BitReader::new(&self.bytes);
        let header = Header::read(&mut input)?;
        let mut ts = Vec::new();
        timestamps::decode(&mut input, header.len, header.min_t, header.max_t, &mut ts)?;
        let start = out.len();
        out.extend(ts.iter().map(|&t| Sample { t, v: 0.0 }));
        values::decode(&mut input, &mut out[start..])?;
        let used = input.position().div_ceil(8);
        if used != self.bytes.len() {
            return Err(DecodeError::TrailingBytes {
                used,
                len: self.bytes.len(),
            });
        }
        Ok(())
    }
}
