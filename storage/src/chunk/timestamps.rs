//! The timestamp section: millisecond timestamps relative to the chunk's `min_t`, written as an
//! integer sequence (see `int_seq`). Delta-of-delta with width 0 makes a regular scrape
//! interval cost a few dozen bits per chunk; jittered scrapes usually pick plain deltas with a
//! frame of reference, a few bits per sample.
//!
//! Decoding checks what the chunk promises its readers: the first timestamp is `min_t`, every
//! next one is strictly greater, and the last is the header's `max_t`.

use super::bits::{BitReader, BitWriter};
use super::error::DecodeError;
use super::int_seq;

/// Writes `ts` (strictly increasing, `ts[0] == min_t`) relative to `min_t`.
pub(crate) fn encode(ts: &[i64], min_t: i64, out: &mut BitWriter) {
    let relative: Vec<i64> = ts.iter().map(|&t| t.wrapping_sub(min_t)).collect();
    int_seq::encode(&relative, out);
}

/// Reads `n` timestamps into `out` (replacing its content) and checks them against the
/// header's bounds.
pub(crate) fn decode(
    input: &mut BitReader<'_>,
    n: usize,
    min_t: i64,
    max_t: i64,
    out: &mut Vec<i64>,
) -> Result<(), DecodeError> {
    int_seq::decode(input, n, out)?;
    let mut previous = None;
    for (index, t) in out.iter_mut().enumerate() {
        *t = t.wrapping_add(min_t);
        match previous {
            None if *t != min_t => {
                return Err(DecodeError::MinTimeMismatch {
                    first: *t,
                    declared: min_t,
                })
            }
            Some(previous) if *t <= previous => {
                return Err(DecodeError::NotIncreasing {
                    index,
                    previous,
                    t: *t,
                })
            }
            _ => previous = Some(*t),
        }
    }
    match out.last() {
        Some(&last) if last != max_t => Err(DecodeError::MaxTimeMismatch {
            last,
            declared: max_t,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(ts: &[i64]) -> (Vec<u8>, usize) {
        let mut w = BitWriter::default();
        encode(ts, ts[0], &mut w);
        let bits = w.bit_len();
        (w.finish(), bits)
    }

    #[test]
    fn regular_and_jittered_timestamps_round_trip() {
        let regular: Vec<i64> = (0..120).map(|i| 1_700_000_000_000 + i * 15_000).collect();
        let jittered: Vec<i64> = regular
            .iter()
            .enumerate()
            .map(|(i, t)| t + (i as i64 * 7919 % 11) - 5)
            .collect();
        for ts in [&regular, &jittered] {
            let (bytes, _) = encoded(ts);
            let mut out = Vec::new();
            let max_t = *ts.last().unwrap();
            decode(&mut BitReader::new(&bytes), ts.len(), ts[0], max_t, &mut out).unwrap();
            assert_eq!(&out, ts);
        }
        let (_, regular_bits) = encoded(&regular);
        assert!(regular_bits < 120, "regular timestamps took {regular_bits} bits");
    }

    #[test]
    fn broken_promises_are_reported() {
        let ts = [1_000, 2_000, 3_000];
        let (bytes, _) = encoded(&ts);
        let mut out = Vec::new();
        let mut w = BitWriter::default();
        encode(&ts, 900, &mut w);
        assert_eq!(
            decode(&mut BitReader::new(&w.finish()), 3, 900, 3_000, &mut out),
            Err(DecodeError::MinTimeMismatch {
                first: 1_000,
                declared: 900
            })
        );
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 3, 1_000, 3_001, &mut out),
            Err(DecodeError::MaxTimeMismatch {
                last: 3_000,
                declared: 3_001
            })
        );
        let (bytes, _) = encoded(&[5, 5, 6]);
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 3, 5, 6, &mut out),
            Err(DecodeError::NotIncreasing {
                index: 1,
                previous: 5,
                t: 5
            })
        );
        let (bytes, _) = encoded(&[5, 9, 7]);
        assert!(matches!(
            decode(&mut BitReader::new(&bytes), 3, 5, 7, &mut out),
            Err(DecodeError::NotIncreasing { index: 2, .. })
        ));
    }
}
