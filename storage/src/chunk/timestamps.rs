//! The timestamp section. Evenly spaced timestamps (a scrape interval without jitter, which is
//! what Prometheus's timestamp alignment produces) are one bit: the header's `min_t`, `max_t`
//! and count already say where they are. Others are written relative to `min_t` as an integer
//! sequence (see `int_seq`); jittered scrapes usually pick deltas with a frame of reference,
//! a few bits per sample.
//!
//! ```text
//! timestamps = 1                              t_i = min_t + i * (max_t - min_t) / (n - 1)
//!            | 0 sequence(t_i - min_t)
//! ```
//!
//! Decoding checks what the chunk promises its readers: the first timestamp is `min_t`, every
//! next one is strictly greater, and the last is the header's `max_t`.

use super::bits::{BitReader, BitWriter};
use super::error::DecodeError;
use super::int_seq;

/// Writes `ts` (at least one, strictly increasing; the header holds the first and last).
pub(crate) fn encode(ts: &[i64], out: &mut BitWriter) {
    let min_t = ts.first().copied().unwrap_or(0);
    let step = match ts {
        [first, second, ..] => second.wrapping_sub(*first),
        _ => 0,
    };
    let evenly_spaced = ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step);
    out.write_bit(evenly_spaced);
    if !evenly_spaced {
        let relative: Vec<i64> = ts.iter().map(|&t| t.wrapping_sub(min_t)).collect();
        int_seq::encode(&relative, out);
    }
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
    if input.read_bit()? {
        // Exact when the span divides evenly; otherwise the last check below reports it.
        let step = (max_t.wrapping_sub(min_t) as u64) / (n.max(2) as u64 - 1);
        out.clear();
        out.extend((0..n as u64).map(|i| i.wrapping_mul(step) as i64));
    } else {
        int_seq::decode(input, n, out)?;
    }
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
        encode(ts, &mut w);
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
            decode(
                &mut BitReader::new(&bytes),
                ts.len(),
                ts[0],
                max_t,
                &mut out,
            )
            .unwrap();
            assert_eq!(&out, ts);
        }
        assert_eq!(encoded(&regular).1, 1);
        assert_eq!(encoded(&[7]).1, 1);
        let (_, jittered_bits) = encoded(&jittered);
        assert!(
            jittered_bits < 120 * 5,
            "jittered timestamps took {jittered_bits} bits"
        );
    }

    #[test]
    fn broken_promises_are_reported() {
        let ts = [1_000, 2_000, 3_000];
        let (bytes, _) = encoded(&ts);
        let mut out = Vec::new();
        let mut w = BitWriter::default();
        w.write_bit(false);
        int_seq::encode(&[100, 1_100, 2_100], &mut w);
        assert_eq!(
            decode(&mut BitReader::new(&w.finish()), 3, 900, 3_000, &mut out),
            Err(DecodeError::MinTimeMismatch {
                first: 1_000,
                declared: 900
            })
        );
        // Evenly spaced, but the span does not divide.
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 3, 1_000, 3_001, &mut out),
            Err(DecodeError::MaxTimeMismatch {
                last: 3_000,
                declared: 3_001
            })
        );
        let (bytes, _) = encoded(&[1_000, 2_000, 3_500]);
        assert_eq!(
            decode(&mut BitReader::new(&bytes), 3, 1_000, 3_501, &mut out),
            Err(DecodeError::MaxTimeMismatch {
                last: 3_500,
                declared: 3_501
            })
        );
        // Evenly spaced over an empty span.
        assert_eq!(
            decode(&mut BitReader::new(&[0x80]), 3, 1_000, 1_000, &mut out),
            Err(DecodeError::NotIncreasing {
                index: 1,
                previous: 1_000,
                t: 1_000
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
