//! Decimal values: when a chunk's values are exact decimals `m * 10^-k` (counters, and gauges
//! rendered with a few decimals), their integer mantissas are far cheaper to pack than the
//! XOR of their IEEE bits, which changes in the low mantissa bits on every sample.
//!
//! A value is a decimal at scale `k` (0..=6) when `(m as f64) / 10^k` gives back its bits
//! exactly; that division is correctly rounded, so it is the same double a parser would have
//! made of the decimal text. The chunk uses the largest scale any of its values needs, and
//! re-checks each value at that scale. Values that are not decimals (NaN, StaleNaN, infinities,
//! -0.0, 0.1 + 0.2, mantissas beyond 2^53) are patched: stored raw at their position, so a
//! staleness marker at the end of a series does not push the whole chunk to XOR.
//!
//! ```text
//! decimal = scale:3  varlen(p)  (index:k  bits:64){p}  sequence(n - p mantissas)
//! ```
//!
//! `k` is the bit length of `n - 1`; patch indexes are strictly increasing and below `n`; the
//! mantissas of the other values, in order, form one integer sequence (`int_seq`).

use super::bits::{bit_length, BitReader, BitWriter};
use super::error::DecodeError;
use super::int_seq;
use super::sample::Sample;

/// The largest decimal scale tried: values down to millionths.
pub(crate) const MAX_SCALE: u8 = 6;
const SCALE_BITS: u32 = 3;
const POW10: [f64; MAX_SCALE as usize + 1] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
const POW10_INT: [i64; MAX_SCALE as usize + 1] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
/// Doubles represent every integer up to this magnitude exactly.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A chunk's values split into mantissas at one scale and raw patches.
#[derive(Debug, PartialEq)]
pub(crate) struct Decimals {
    scale: u8,
    /// Mantissas of the decimal values, in order, skipping the patched positions.
    mantissas: Vec<i64>,
    /// Positions of the values stored raw.
    patches: Vec<usize>,
}

impl Decimals {
    /// Values that are not decimals at the chunk's scale.
    pub(crate) fn patches(&self) -> usize {
        self.patches.len()
    }
}

/// The smallest scale `k` and the mantissa `m` with `v == m / 10^k` bit for bit.
pub(crate) fn as_decimal(v: f64) -> Option<(i64, u8)> {
    if !v.is_finite() {
        return None;
    }
    for (k, pow) in POW10.iter().enumerate() {
        let scaled = v * pow;
        if scaled.abs() >= EXACT_INTEGER_LIMIT {
            return None;
        }
        // Round half away from zero with a truncating conversion (no libm call); a miss
        // would only fail the exact check below.
        let m = (scaled + 0.5f64.copysign(scaled)) as i64;
        if (m as f64 / pow).to_bits() == v.to_bits() {
            return Some((m, k as u8));
        }
    }
    None
}

/// Splits `values` into mantissas at the largest scale they need, and patches.
pub(crate) fn analyse(values: &[f64]) -> Decimals {
    let found: Vec<Option<(i64, u8)>> = values.iter().map(|&v| as_decimal(v)).collect();
    let scale = found.iter().flatten().map(|&(_, k)| k).max().unwrap_or(0);
    let pow = POW10[scale as usize];
    let mut mantissas = Vec::with_capacity(values.len());
    let mut patches = Vec::new();
    for (i, (&v, decimal)) in values.iter().zip(&found).enumerate() {
        let rescaled = decimal.and_then(|(m, k)| {
            let m = m.checked_mul(POW10_INT[(scale - k) as usize])?;
            ((m as f64 / pow).to_bits() == v.to_bits()).then_some(m)
        });
        match rescaled {
            Some(m) => mantissas.push(m),
            None => patches.push(i),
        }
    }
    Decimals {
        scale,
        mantissas,
        patches,
    }
}

/// Writes the decimal section for `values`, as split by [`analyse`].
pub(crate) fn encode(values: &[f64], decimals: &Decimals, out: &mut BitWriter) {
    out.write_bits(u64::from(decimals.scale), SCALE_BITS);
    out.write_varlen(decimals.patches.len() as u64);
    let index_bits = bit_length(values.len() as u64 - 1);
    for &i in &decimals.patches {
        out.write_bits(i as u64, index_bits);
        out.write_bits(values[i].to_bits(), 64);
    }
    int_seq::encode(&decimals.mantissas, out);
}

/// Reads the decimal section into the values of `samples`.
pub(crate) fn decode(input: &mut BitReader<'_>, samples: &mut [Sample]) -> Result<(), DecodeError> {
    let n = samples.len();
    let scale = input.read_bits(SCALE_BITS)? as u8;
    if scale > MAX_SCALE {
        return Err(DecodeError::InvalidScale {
            scale,
            limit: MAX_SCALE,
        });
    }
    let declared = input.read_varlen()?;
    if declared > n as u64 {
        return Err(DecodeError::TooManyExceptions {
            exceptions: declared,
            slots: n,
        });
    }
    let index_bits = bit_length(n.saturating_sub(1) as u64);
    let mut patches = Vec::with_capacity(declared as usize);
    let mut next_free = 0u64;
    for _ in 0..declared {
        let index = input.read_bits(index_bits)?;
        if index < next_free || index >= n as u64 {
            return Err(DecodeError::ExceptionIndex { index, slots: n });
        }
        next_free = index + 1;
        patches.push((index as usize, f64::from_bits(input.read_bits(64)?)));
    }
    let mut mantissas = Vec::new();
    int_seq::decode(input, n - patches.len(), &mut mantissas)?;
    let pow = POW10[scale as usize];
    let mut pending = patches.iter().peekable();
    let mut mantissas = mantissas.iter();
    for (i, sample) in samples.iter_mut().enumerate() {
        sample.v = match pending.next_if(|(index, _)| *index == i) {
            Some(&(_, raw)) => raw,
            // n - patches mantissas were decoded for the n - patches unpatched positions.
            None => mantissas.next().map_or(0.0, |&m| m as f64 / pow),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_found_at_their_smallest_scale() {
        assert_eq!(as_decimal(12.34), Some((1234, 2)));
        assert_eq!(as_decimal(-0.5), Some((-5, 1)));
        assert_eq!(as_decimal(1_000_000.0), Some((1_000_000, 0)));
        assert_eq!(as_decimal(0.0), Some((0, 0)));
        assert_eq!(as_decimal(0.000_001), Some((1, 6)));
        assert_eq!(as_decimal(1234.567891), Some((1_234_567_891, 6)));
    }

    #[test]
    fn values_that_are_not_exact_decimals_are_refused() {
        for v in [
            f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0002),
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.1 + 0.2,
            1e-7,
            1e300,
            std::f64::consts::PI,
            9_007_199_254_740_993.0 * 4.0,
        ] {
            assert_eq!(as_decimal(v), None, "{v:e}");
        }
    }

    #[test]
    fn the_chunk_scale_is_the_largest_and_specials_are_patched() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let values = [1.5, 2.0, 3.25, stale, -0.0, 7.0];
        let d = analyse(&values);
        assert_eq!(
            d,
            Decimals {
                scale: 2,
                mantissas: vec![150, 200, 325, 700],
                patches: vec![3, 4],
            }
        );
        let mut w = BitWriter::default();
        encode(&values, &d, &mut w);
        let bytes = w.finish();
        let mut samples = vec![Sample { t: 0, v: 0.0 }; values.len()];
        decode(&mut BitReader::new(&bytes), &mut samples).unwrap();
        let bits: Vec<u64> = samples.iter().map(|s| s.v.to_bits()).collect();
        let expected: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, expected);
    }

    #[test]
    fn rescaling_beyond_exact_integers_patches_the_value() {
        // 9e15 is an integer, but at scale 6 its mantissa is far beyond 2^53.
        let d = analyse(&[9e15, 0.000_001]);
        assert_eq!(d.scale, 6);
        assert_eq!(d.patches, vec![0]);
    }

    #[test]
    fn a_scale_above_the_limit_is_rejected() {
        let mut w = BitWriter::default();
        w.write_bits(7, SCALE_BITS);
        let bytes = w.finish();
        let mut samples = vec![Sample { t: 0, v: 0.0 }; 2];
        assert_eq!(
            decode(&mut BitReader::new(&bytes), &mut samples),
            Err(DecodeError::InvalidScale { scale: 7, limit: 6 })
        );
    }
}
