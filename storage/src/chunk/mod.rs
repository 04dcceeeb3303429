//! The sample chunk codec: how one series' samples over a time range (about 120 samples, at
//! most two hours) become the compressed bytes the TSDB stores under one key. It is pure: no
//! IO, no RocksDB; `docs/chunk-format.md` says the same as this header.
//!
//! Samples are appended to an [`OpenChunk`] in strictly increasing timestamp order and sealed
//! into a [`Chunk`], which knows its sample count and time range from its header and decodes
//! into a caller's buffer. Sealing sees the whole chunk, so it picks, per chunk, the encoding
//! and bit widths that fit the data instead of one fixed scheme:
//!
//! - **timestamps**: evenly spaced ones (a scrape interval without jitter) cost one bit, since
//!   the header's count, `min_t` and `max_t` place them. Others are written relative to
//!   `min_t` as an integer sequence: raw, delta or delta-of-delta, around a median or above a
//!   minimum, bit-packed at one width with the outliers as exceptions.
//! - **values**: when every value is an exact decimal `m * 10^-k` (k <= 6), the integer
//!   mantissas as an integer sequence (counters: deltas at their range; two-decimal gauges:
//!   steps at theirs). Values that are not decimals (NaN, StaleNaN, infinities, -0.0) are
//!   patched in raw, and a chunk of mostly such values uses Gorilla XOR. Every value
//!   round-trips bit for bit.
//!
//! # Layout
//!
//! One bit stream, most significant bit first, zero-padded to a byte:
//!
//! ```text
//! chunk      = version:8  varlen(n - 1)  varlen(zigzag(min_t))  varlen(max_t - min_t)
//!              timestamps  values  padding
//! timestamps = 1  |  0 sequence(t_i - min_t, i < n)
//! values     = 0 decimal | 1 xor
//! decimal    = scale:3  varlen(p)  (index:k  bits:64){p}  sequence(n - p mantissas)
//! xor        = first:64  (0 | 1 0 bits:(64-L-T) | 1 1 L:5 len-1:6 bits:len){n - 1}
//! sequence   = order:2  varlen(zigzag(r)){order}  (0 | 1) varlen(zigzag(base))
//!              width:7  varlen(e)  (index:k varlen(u)){e}  u:width{m - e}
//! varlen(x)  = 0 (x = 0)  |  1 (bitlen(x) - 1):6  x-below-its-leading-1:(bitlen(x) - 1)
//! zigzag(x)  = (x << 1) ^ (x >> 63)
//! ```
//!
//! Each part is specified in the module that owns it: `sealed` (header), `timestamps`,
//! `values`, `decimal`, `xor`, `int_seq` (sequences) and `bits` (varlen, zigzag).
//!
//! # Limits
//!
//! - 1 to [`MAX_SAMPLES`] (8192) samples per chunk, checked before any allocation; the head
//!   cuts at [`TARGET_SAMPLES`] (120) or [`MAX_SPAN_MS`] (2 h).
//! - Timestamps are any `i64` milliseconds, strictly increasing. Values are any `f64`.
//! - Decoding arbitrary bytes returns a [`DecodeError`], never panics, and allocates at most
//!   what `MAX_SAMPLES` samples need.

mod bits;
mod decimal;
mod error;
mod int_seq;
mod open;
mod sample;
mod sealed;
mod timestamps;
mod values;
mod xor;

pub use error::{AppendError, DecodeError};
pub use open::{Appended, OpenChunk, MAX_SPAN_MS, TARGET_SAMPLES};
pub use sample::Sample;
pub use sealed::{Chunk, MAX_SAMPLES};

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

    /// Cuts `samples` into chunks the way the head will: at [`OpenChunk::is_full`].
    fn cut(samples: &[Sample]) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        let mut open = OpenChunk::new();
        for s in samples {
            if open.is_full() {
                chunks.extend(std::mem::take(&mut open).seal());
            }
            assert_eq!(open.append(s.t, s.v), Ok(Appended::Added));
        }
        chunks.extend(open.seal());
        chunks
    }

    fn assert_bit_exact(decoded: &[Sample], expected: &[Sample]) {
        assert_eq!(decoded.len(), expected.len());
        for (i, (d, e)) in decoded.iter().zip(expected).enumerate() {
            assert_eq!(d.t, e.t, "timestamp {i}");
            assert_eq!(
                d.v.to_bits(),
                e.v.to_bits(),
                "value {i}: {} vs {}",
                d.v,
                e.v
            );
        }
    }

    /// Round-trips `samples` through sealing, the stored bytes and decoding.
    fn round_trip(samples: &[Sample]) -> usize {
        let mut decoded = Vec::new();
        let mut bytes = 0;
        for chunk in cut(samples) {
            let stored = Chunk::from_bytes(chunk.as_bytes()).unwrap();
            assert_eq!(stored, chunk);
            let before = decoded.len();
            stored.decode_into(&mut decoded).unwrap();
            assert_eq!(decoded.len() - before, stored.len());
            assert_eq!(decoded[before].t, stored.min_t());
            assert_eq!(decoded[decoded.len() - 1].t, stored.max_t());
            bytes += chunk.as_bytes().len();
        }
        assert_bit_exact(&decoded, samples);
        bytes
    }

    /// A random series: one of several value shapes, with specials, jumps and resets.
    fn random_series(rng: &mut StdRng, shape: u32) -> Vec<Sample> {
        let n = rng.random_range(1..400);
        let mut t: i64 = rng.random_range(-1_000_000_000_000..3_000_000_000_000);
        let mut v = 0.0f64;
        let specials = [
            STALE_NAN,
            f64::NAN,
            f64::from_bits(0xfff8_0000_0000_1234),
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            f64::MAX,
            f64::from_bits(1),
        ];
        (0..n)
            .map(|_| {
                t += match rng.random_range(0..20) {
                    0 => rng.random_range(1..1_000_000_000),
                    1 => 1,
                    _ => 15_000 + rng.random_range(-5..=5),
                };
                v = match shape {
                    // Counter with resets.
                    0 if rng.random_bool(0.02) => 0.0,
                    0 => v + f64::from(rng.random_range(0..1_000u32)),
                    // Two-decimal gauge, sometimes negative.
                    1 => {
                        ((v + f64::from(rng.random_range(-500..=500)) / 100.0) * 100.0).round()
                            / 100.0
                    }
                    // Decimals at mixed scales.
                    2 => {
                        f64::from(rng.random_range(-1_000_000..1_000_000))
                            / 10f64.powi(rng.random_range(0..7))
                    }
                    // Arbitrary floats.
                    3 => rng.random::<f64>() * 1e6,
                    // Arbitrary bit patterns.
                    4 => f64::from_bits(rng.random()),
                    // Constant.
                    _ => 42.0,
                };
                let v = if rng.random_bool(0.03) {
                    specials[rng.random_range(0..specials.len())]
                } else {
                    v
                };
                Sample { t, v }
            })
            .collect()
    }

    #[test]
    fn random_series_round_trip_bit_exactly() {
        let mut rng = StdRng::seed_from_u64(2024);
        for case in 0..1_500 {
            let samples = random_series(&mut rng, case % 6);
            round_trip(&samples);
        }
    }

    #[test]
    fn special_values_round_trip_bit_exactly_in_every_encoding() {
        let specials = [STALE_NAN, f64::NAN, -0.0, f64::INFINITY, f64::NEG_INFINITY];
        for &special in &specials {
            // Alone, among decimals (patched) and among arbitrary floats (XOR).
            for background in [None, Some(1.25), Some(std::f64::consts::E)] {
                let samples: Vec<Sample> = (0..120)
                    .map(|i| Sample {
                        t: i * 15_000,
                        v: match background {
                            Some(b) if i % 7 != 3 => b * i as f64,
                            _ => special,
                        },
                    })
                    .collect();
                round_trip(&samples);
            }
        }
    }

    #[test]
    fn extreme_timestamps_round_trip() {
        round_trip(&[
            Sample {
                t: i64::MIN,
                v: 1.0,
            },
            Sample { t: -1, v: 2.0 },
            Sample { t: 0, v: 3.0 },
            Sample {
                t: i64::MAX,
                v: 4.0,
            },
        ]);
    }

    fn sample_chunks() -> Vec<Chunk> {
        let mut rng = StdRng::seed_from_u64(99);
        (0..60)
            .flat_map(|case| cut(&random_series(&mut rng, case % 6)))
            .collect()
    }

    #[test]
    fn every_truncation_is_an_error() {
        for chunk in sample_chunks() {
            let bytes = chunk.as_bytes();
            for len in 0..bytes.len() {
                let result = Chunk::from_bytes(&bytes[..len]).and_then(|c| c.samples());
                assert!(
                    result.is_err(),
                    "a {len}-byte prefix of {} decoded",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let chunk = &sample_chunks()[0];
        let mut bytes = chunk.as_bytes().to_vec();
        bytes.push(0);
        let result = Chunk::from_bytes(bytes.clone()).unwrap().samples();
        assert_eq!(
            result,
            Err(DecodeError::TrailingBytes {
                used: bytes.len() - 1,
                len: bytes.len()
            })
        );
    }

    #[test]
    fn flipped_bits_and_random_bytes_never_panic() {
        let mut out = Vec::new();
        let mut decode = |bytes: &[u8]| {
            if let Ok(chunk) = Chunk::from_bytes(bytes) {
                out.clear();
                if chunk.decode_into(&mut out).is_ok() {
                    assert_eq!(out.len(), chunk.len());
                    assert!(out.windows(2).all(|w| w[0].t < w[1].t));
                } else {
                    assert!(
                        out.is_empty(),
                        "a failed decode must leave the buffer as it was"
                    );
                }
            }
        };
        for chunk in sample_chunks() {
            let mut bytes = chunk.as_bytes().to_vec();
            for bit in 0..bytes.len() * 8 {
                bytes[bit / 8] ^= 0x80 >> (bit % 8);
                decode(&bytes);
                bytes[bit / 8] ^= 0x80 >> (bit % 8);
            }
        }
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..20_000 {
            let len = rng.random_range(0..200);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if let Some(first) = bytes.first_mut() {
                // Mostly past the version check, to reach the body.
                if rng.random_bool(0.9) {
                    *first = 1;
                }
            }
            decode(&bytes);
        }
    }

    #[test]
    fn headers_are_checked_before_allocating() {
        let header = |version: u8, count_minus_one: u64, span: u64| {
            let mut w = bits::BitWriter::default();
            w.write_bits(u64::from(version), 8);
            w.write_varlen(count_minus_one);
            w.write_varlen(bits::zigzag(1_000));
            w.write_varlen(span);
            w.finish()
        };
        assert_eq!(
            Chunk::from_bytes(header(2, 0, 0)),
            Err(DecodeError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(
            Chunk::from_bytes(header(1, u64::MAX, 0)),
            Err(DecodeError::SampleCount {
                count: u64::MAX,
                limit: MAX_SAMPLES
            })
        );
        assert_eq!(
            Chunk::from_bytes(header(1, MAX_SAMPLES as u64, 0)),
            Err(DecodeError::SampleCount {
                count: MAX_SAMPLES as u64 + 1,
                limit: MAX_SAMPLES
            })
        );
        assert_eq!(
            Chunk::from_bytes(header(1, 0, u64::MAX)),
            Err(DecodeError::TimeRangeOverflow {
                min_t: 1_000,
                span: u64::MAX
            })
        );
        let chunk = Chunk::from_bytes(header(1, 119, 5_000)).unwrap();
        assert_eq!(
            (chunk.len(), chunk.min_t(), chunk.max_t()),
            (120, 1_000, 6_000)
        );
        assert!(matches!(
            chunk.samples(),
            Err(DecodeError::Truncated { .. })
        ));
    }

    /// The "storage" workload of the performance brief, with the value model of the
    /// benchmark targets (`tests/src/targets.rs`): half counters starting anywhere below 10^6
    /// and growing by 0..100 per scrape, half gauges starting below 1000 and walking by
    /// -5.00..=5.00 with two decimals, floored at 0. Scrapes are 15 s apart, plus
    /// `jitter_ms` of uniform jitter either way.
    fn workload_series(
        rng: &mut StdRng,
        index: usize,
        rounds: usize,
        jitter_ms: i64,
    ) -> Vec<Sample> {
        let start = 1_763_683_200_000i64;
        let counter = index & 1 == 0;
        let mut v = if counter {
            f64::from(rng.random_range(0..1_000_000u32))
        } else {
            (rng.random_range(0.0..1000.0f64) * 100.0).round() / 100.0
        };
        (0..rounds as i64)
            .map(|round| {
                v = if counter {
                    v + f64::from(rng.random_range(0..100u32))
                } else {
                    let step = f64::from(rng.random_range(-500..=500i32)) / 100.0;
                    ((v + step).max(0.0) * 100.0).round() / 100.0
                };
                let jitter = if jitter_ms > 0 {
                    rng.random_range(-jitter_ms..=jitter_ms)
                } else {
                    0
                };
                Sample {
                    t: start + round * 15_000 + jitter,
                    v,
                }
            })
            .collect()
    }

    /// What a workload run measured.
    #[derive(Debug)]
    struct Measured {
        samples: usize,
        bytes: usize,
        encode: Duration,
        decode: Duration,
    }

    impl Measured {
        fn bytes_per_sample(&self) -> f64 {
            self.bytes as f64 / self.samples as f64
        }

        fn ns_per_sample(d: Duration, samples: usize) -> f64 {
            d.as_nanos() as f64 / samples as f64
        }
    }

    fn run_workload(series: usize, rounds: usize, jitter_ms: i64) -> Measured {
        let mut rng = StdRng::seed_from_u64(15);
        let mut measured = Measured {
            samples: 0,
            bytes: 0,
            encode: Duration::ZERO,
            decode: Duration::ZERO,
        };
        let mut decoded = Vec::with_capacity(rounds);
        for index in 0..series {
            let samples = workload_series(&mut rng, index, rounds, jitter_ms);
            let started = Instant::now();
            let chunks = cut(&samples);
            measured.encode += started.elapsed();
            decoded.clear();
            let started = Instant::now();
            for chunk in &chunks {
                chunk.decode_into(&mut decoded).unwrap();
            }
            measured.decode += started.elapsed();
            assert_bit_exact(&decoded, &samples);
            measured.samples += samples.len();
            measured.bytes += chunks.iter().map(|c| c.as_bytes().len()).sum::<usize>();
        }
        measured
    }

    #[test]
    fn bytes_per_sample_on_realistic_workload() {
        let regular = run_workload(500, 1_000, 0);
        assert_eq!(regular.samples, 500_000);
        assert!(
            regular.bytes_per_sample() <= 1.3,
            "{:.3} bytes/sample",
            regular.bytes_per_sample()
        );
        // Jitter costs the timestamps a few bits per sample, never more than a byte.
        let jittered = run_workload(100, 1_000, 3);
        println!(
            "{:.4} bytes/sample; {:.4} with +/-3 ms jitter",
            regular.bytes_per_sample(),
            jittered.bytes_per_sample()
        );
        assert!(
            jittered.bytes_per_sample() <= regular.bytes_per_sample() + 1.0,
            "{:.3} bytes/sample with jitter",
            jittered.bytes_per_sample()
        );
    }

    /// The full "storage" workload: 10,000 series x 1,000 rounds. Run it optimised:
    /// `cargo test -p skyview-storage --release --lib chunk::tests::full_workload -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check: 10 million samples, run with --release"]
    fn full_workload() {
        for jitter_ms in [0, 3] {
            let m = run_workload(10_000, 1_000, jitter_ms);
            println!(
                "jitter +/-{jitter_ms} ms: {} samples, {} bytes, {:.4} bytes/sample, \
                 encode {:.1} ns/sample, decode {:.1} ns/sample",
                m.samples,
                m.bytes,
                m.bytes_per_sample(),
                Measured::ns_per_sample(m.encode, m.samples),
                Measured::ns_per_sample(m.decode, m.samples),
            );
        }
    }
}
