//! Encoding and decoding of record payloads (series and samples), as laid out in
//! [`format`](super::format). Pure functions over byte slices: decoding bounds every count by
//! the bytes actually present, so a damaged payload can neither panic nor over-allocate.

use crate::labels::{Labels, LabelsBuilder};
use crate::sample::{RefSample, SeriesRef};

/// The largest encoded series entry accepted; bigger label sets are rejected on append.
pub const MAX_SERIES_ENTRY_LEN: usize = 1 << 20;

/// Series entries are grouped into records of about this many payload bytes.
pub const SERIES_RECORD_TARGET_LEN: usize = 256 << 10;

/// The most samples one samples record holds.
pub const MAX_SAMPLES_PER_RECORD: usize = 4096;

/// The smallest encoding of one sample: two one-byte varints and the value.
const MIN_SAMPLE_LEN: usize = 10;

/// Why a payload that passed its checksum could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("payload ends inside a value")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    VarintOverflow,
    #[error("count {count} cannot fit in the {remaining} remaining bytes")]
    CountTooLarge { count: u64, remaining: usize },
    #[error("label text is not UTF-8")]
    NotUtf8,
    #[error("{0} bytes left after the last entry")]
    TrailingBytes(usize),
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn uvarint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

pub fn get_uvarint(buf: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *buf = &buf[i + 1..];
            return Ok(v);
        }
    }
    Err(if buf.len() < 10 {
        DecodeError::Truncated
    } else {
        DecodeError::VarintOverflow
    })
}

pub fn get_varint(buf: &mut &[u8]) -> Result<i64, DecodeError> {
    let u = get_uvarint(buf)?;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

fn take<'a>(buf: &mut &'a [u8], n: u64) -> Result<&'a [u8], DecodeError> {
    if n > buf.len() as u64 {
        return Err(DecodeError::Truncated);
    }
    let (head, tail) = buf.split_at(n as usize);
    *buf = tail;
    Ok(head)
}

/// Reads a count and checks that `count * min_entry_len` bytes can follow.
fn get_count(buf: &mut &[u8], min_entry_len: usize) -> Result<usize, DecodeError> {
    let count = get_uvarint(buf)?;
    if count.saturating_mul(min_entry_len as u64) > buf.len() as u64 {
        return Err(DecodeError::CountTooLarge {
            count,
            remaining: buf.len(),
        });
    }
    Ok(count as usize)
}

/// The encoded size of a series entry, used to cap label sets and to size records.
pub fn series_entry_len(series: SeriesRef, labels: &Labels) -> usize {
    let text: usize = labels
        .iter()
        .map(|l| {
            uvarint_len(l.name.len() as u64)
                + l.name.len()
                + uvarint_len(l.value.len() as u64)
                + l.value.len()
        })
        .sum();
    uvarint_len(series) + uvarint_len(labels.len() as u64) + text
}

/// Appends one series entry (without the record's count).
pub fn put_series_entry(out: &mut Vec<u8>, series: SeriesRef, labels: &Labels) {
    put_uvarint(out, series);
    put_uvarint(out, labels.len() as u64);
    for l in labels {
        put_uvarint(out, l.name.len() as u64);
        out.extend_from_slice(l.name.as_bytes());
        put_uvarint(out, l.value.len() as u64);
        out.extend_from_slice(l.value.as_bytes());
    }
}

/// One entry of a series payload, not yet turned into [`Labels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesEntry<'a> {
    pub series: SeriesRef,
    pub nlabels: usize,
    /// The whole entry as encoded, for copying it verbatim.
    pub raw: &'a [u8],
    /// The encoded label pairs.
    pub labels: &'a [u8],
}

/// Walks the entries of a series payload without building label sets; the checkpoint copies
/// kept entries verbatim this way. A payload with bytes after its last entry ends in an error.
#[derive(Debug)]
pub struct SeriesEntries<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> SeriesEntries<'a> {
    pub fn new(mut payload: &'a [u8]) -> Result<Self, DecodeError> {
        // An entry is at least a one-byte reference and a one-byte label count.
        let left = get_count(&mut payload, 2)?;
        Ok(Self {
            rest: payload,
            left,
        })
    }

    fn entry(&mut self) -> Result<SeriesEntry<'a>, DecodeError> {
        let whole = self.rest;
        let series = get_uvarint(&mut self.rest)?;
        let nlabels = get_count(&mut self.rest, 2)?;
        let labels_start = self.rest;
        for _ in 0..nlabels {
            let n = get_uvarint(&mut self.rest)?;
            take(&mut self.rest, n)?;
            let n = get_uvarint(&mut self.rest)?;
            take(&mut self.rest, n)?;
        }
        let raw = &whole[..whole.len() - self.rest.len()];
        let labels = &labels_start[..labels_start.len() - self.rest.len()];
        Ok(SeriesEntry {
            series,
            nlabels,
            raw,
            labels,
        })
    }
}

impl<'a> Iterator for SeriesEntries<'a> {
    type Item = Result<SeriesEntry<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            let trailing = self.rest.len();
            self.rest = &[];
            return (trailing > 0).then_some(Err(DecodeError::TrailingBytes(trailing)));
        }
        self.left -= 1;
        let item = self.entry();
        if item.is_err() {
            self.left = 0;
            self.rest = &[];
        }
        Some(item)
    }
}

/// Decodes a series payload into (reference, labels) pairs.
pub fn decode_series(payload: &[u8]) -> Result<Vec<(SeriesRef, Labels)>, DecodeError> {
    let entries = SeriesEntries::new(payload)?;
    let mut out = Vec::with_capacity(entries.left);
    for entry in entries {
        let entry = entry?;
        let mut builder = LabelsBuilder::with_capacity(entry.nlabels);
        let mut text = entry.labels;
        while !text.is_empty() {
            let n = get_uvarint(&mut text)?;
            let name = utf8(take(&mut text, n)?)?;
            let n = get_uvarint(&mut text)?;
            let value = utf8(take(&mut text, n)?)?;
            builder.set(name, value);
        }
        out.push((entry.series, builder.build()));
    }
    Ok(out)
}

fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)
}

/// Appends a samples payload (count and samples). `count` must be the iterator's length.
pub fn put_samples(out: &mut Vec<u8>, count: usize, samples: impl Iterator<Item = RefSample>) {
    put_uvarint(out, count as u64);
    let (mut prev_ref, mut prev_t) = (0u64, 0i64);
    for s in samples {
        put_varint(out, s.series.wrapping_sub(prev_ref) as i64);
        put_varint(out, s.t.wrapping_sub(prev_t));
        out.extend_from_slice(&s.v.to_bits().to_le_bytes());
        (prev_ref, prev_t) = (s.series, s.t);
    }
}

/// The number of samples a samples payload holds, read from its count only.
pub fn samples_count(mut payload: &[u8]) -> Result<usize, DecodeError> {
    get_count(&mut payload, MIN_SAMPLE_LEN)
}

/// Decodes a samples payload, appending to `out`.
pub fn decode_samples(mut payload: &[u8], out: &mut Vec<RefSample>) -> Result<(), DecodeError> {
    let count = get_count(&mut payload, MIN_SAMPLE_LEN)?;
    out.reserve(count);
    let (mut series, mut t) = (0u64, 0i64);
    for _ in 0..count {
        series = series.wrapping_add(get_varint(&mut payload)? as u64);
        t = t.wrapping_add(get_varint(&mut payload)?);
        let bits = take(&mut payload, 8)?;
        let v = f64::from_bits(u64::from_le_bytes(
            bits.try_into().map_err(|_| DecodeError::Truncated)?,
        ));
        out.push(RefSample { series, t, v });
    }
    if !payload.is_empty() {
        return Err(DecodeError::TrailingBytes(payload.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{is_stale_nan, stale_nan};

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            i64::MAX,
            i64::MIN,
            1_700_000_000_000,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut s = &buf[..];
            assert_eq!(get_varint(&mut s).unwrap(), v);
            assert!(s.is_empty());
        }
        for v in [0u64, 127, 128, u64::MAX] {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, v);
            assert_eq!(buf.len(), uvarint_len(v));
            assert_eq!(get_uvarint(&mut &buf[..]).unwrap(), v);
        }
        assert_eq!(
            get_uvarint(&mut &[0x80u8, 0x80][..]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            get_uvarint(&mut &[0xffu8; 11][..]),
            Err(DecodeError::VarintOverflow)
        );
    }

    fn series_payload(entries: &[(SeriesRef, &Labels)]) -> Vec<u8> {
        let mut out = Vec::new();
        put_uvarint(&mut out, entries.len() as u64);
        for (r, l) in entries {
            let before = out.len();
            put_series_entry(&mut out, *r, l);
            assert_eq!(out.len() - before, series_entry_len(*r, l));
        }
        out
    }

    #[test]
    fn series_round_trip() {
        let a = Labels::from_pairs([("__name__", "up"), ("job", "node"), ("ü", "ß\"x")]);
        let b = Labels::default();
        let c = Labels::from_pairs([("k", "v".repeat(300))]);
        let payload = series_payload(&[(1, &a), (2, &b), (u64::MAX, &c)]);
        let got = decode_series(&payload).unwrap();
        assert_eq!(got, vec![(1, a), (2, b), (u64::MAX, c)]);
    }

    #[test]
    fn series_entries_yield_raw_bytes_that_re_encode_identically() {
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("b", "2"), ("c", "3")]);
        let payload = series_payload(&[(7, &a), (9, &b)]);
        let entries: Vec<_> = SeriesEntries::new(&payload)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(entries.iter().map(|e| e.series).collect::<Vec<_>>(), [7, 9]);
        let mut rebuilt = Vec::new();
        put_uvarint(&mut rebuilt, 1);
        rebuilt.extend_from_slice(entries[1].raw);
        assert_eq!(decode_series(&rebuilt).unwrap(), vec![(9, b)]);
    }

    #[test]
    fn damaged_series_payloads_are_errors() {
        let a = Labels::from_pairs([("a", "1")]);
        let payload = series_payload(&[(7, &a)]);
        for cut in 1..payload.len() {
            assert!(decode_series(&payload[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = payload.clone();
        *bad.last_mut().unwrap() = 0xff;
        assert_eq!(decode_series(&bad), Err(DecodeError::NotUtf8));
        let mut extra = payload;
        extra.push(0);
        assert_eq!(decode_series(&extra), Err(DecodeError::TrailingBytes(1)));
        assert!(matches!(
            decode_series(&[0xff, 0xff, 0x03]),
            Err(DecodeError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn samples_round_trip_with_negative_deltas_and_exact_nans() {
        let samples = vec![
            RefSample {
                series: 10,
                t: 1_700_000_000_000,
                v: 1.5,
            },
            RefSample {
                series: 3,
                t: 1_699_999_999_000,
                v: stale_nan(),
            },
            RefSample {
                series: u64::MAX,
                t: i64::MIN,
                v: -0.0,
            },
            RefSample {
                series: 0,
                t: i64::MAX,
                v: f64::INFINITY,
            },
        ];
        let mut payload = Vec::new();
        put_samples(&mut payload, samples.len(), samples.iter().copied());
        assert_eq!(samples_count(&payload).unwrap(), 4);
        let mut got = Vec::new();
        decode_samples(&payload, &mut got).unwrap();
        assert_eq!(got.len(), 4);
        for (g, s) in got.iter().zip(&samples) {
            assert_eq!(
                (g.series, g.t, g.v.to_bits()),
                (s.series, s.t, s.v.to_bits())
            );
        }
        assert!(is_stale_nan(got[1].v));
    }

    #[test]
    fn consecutive_refs_of_one_scrape_take_ten_bytes_per_sample() {
        let samples: Vec<_> = (100..200)
            .map(|r| RefSample {
                series: r,
                t: 5_000,
                v: 1.0,
            })
            .collect();
        let mut payload = Vec::new();
        put_samples(&mut payload, samples.len(), samples.iter().copied());
        // The first sample carries the full ref and timestamp; the rest are 1+1+8 bytes.
        assert!(
            payload.len() <= 1 + 2 + 3 + 8 + 99 * 10,
            "{} bytes",
            payload.len()
        );
    }

    #[test]
    fn damaged_samples_payloads_are_errors() {
        let mut payload = Vec::new();
        put_samples(
            &mut payload,
            1,
            std::iter::once(RefSample {
                series: 1,
                t: 2,
                v: 3.0,
            }),
        );
        let mut out = Vec::new();
        assert!(decode_samples(&payload[..payload.len() - 1], &mut out).is_err());
        assert!(matches!(
            decode_samples(&[0xff, 0xff, 0xff, 0x0f], &mut out),
            Err(DecodeError::CountTooLarge { .. })
        ));
    }
}
