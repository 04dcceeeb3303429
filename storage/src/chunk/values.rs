//! The value section: one bit naming the encoding, then decimal mantissas (`decimal`) or XOR
//! (`xor`), chosen per chunk:
//!
//! - every value is a decimal at one scale: decimal, without trying XOR (mantissa packing
//!   wins on such data by a wide margin);
//! - no value is: XOR;
//! - some are (a staleness marker or a NaN among decimals): both are encoded and the smaller
//!   one kept.
//!
//! ```text
//! values = 0 decimal | 1 xor
//! ```

use super::bits::{BitReader, BitWriter};
use super::decimal;
use super::error::DecodeError;
use super::sample::Sample;
use super::xor;

pub(crate) fn encode(values: &[f64], out: &mut BitWriter) {
    let decimals = decimal::analyse(values);
    if decimals.patches() == 0 {
        out.write_bit(false);
        decimal::encode(values, &decimals, out);
        return;
    }
    let mut xor_section = BitWriter::default();
    xor::encode(values, &mut xor_section);
    if decimals.patches() < values.len() {
        let mut decimal_section = BitWriter::default();
        decimal::encode(values, &decimals, &mut decimal_section);
        if decimal_section.bit_len() <= xor_section.bit_len() {
            out.write_bit(false);
            out.extend_from(&decimal_section);
            return;
        }
    }
    out.write_bit(true);
    out.extend_from(&xor_section);
}

/// Reads the value section into the values of `samples`.
pub(crate) fn decode(input: &mut BitReader<'_>, samples: &mut [Sample]) -> Result<(), DecodeError> {
    if input.read_bit()? {
        xor::decode(input, samples)
    } else {
        decimal::decode(input, samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

    /// Encodes, decodes, checks bits, and returns (uses XOR, bits).
    fn round_trip(values: &[f64]) -> (bool, usize) {
        let mut w = BitWriter::default();
        encode(values, &mut w);
        let bits = w.bit_len();
        let bytes = w.finish();
        let mut samples = vec![Sample { t: 0, v: 0.0 }; values.len()];
        let mut r = BitReader::new(&bytes);
        decode(&mut r, &mut samples).unwrap();
        assert_eq!(r.position(), bits);
        for (s, v) in samples.iter().zip(values) {
            assert_eq!(s.v.to_bits(), v.to_bits());
        }
        (bytes[0] & 0x80 != 0, bits)
    }

    #[test]
    fn two_decimal_gauges_beat_xor_by_far() {
        let mut v = 500.0f64;
        let values: Vec<f64> = (0..120)
            .map(|i| {
                v = ((v + ((i * 37 % 101) as f64 - 50.0) / 100.0) * 100.0).round() / 100.0;
                v
            })
            .collect();
        let (is_xor, bits) = round_trip(&values);
        assert!(!is_xor);
        let mut plain = BitWriter::default();
        xor::encode(&values, &mut plain);
        assert!(
            bits * 3 < plain.bit_len(),
            "decimal {bits} bits vs XOR {}",
            plain.bit_len()
        );
    }

    #[test]
    fn a_staleness_marker_keeps_the_chunk_decimal() {
        let mut values: Vec<f64> = (0..120).map(|i| f64::from(i * 3)).collect();
        values[119] = f64::from_bits(STALE_NAN);
        let (is_xor, _) = round_trip(&values);
        assert!(!is_xor);
    }

    #[test]
    fn non_decimal_values_fall_back_to_xor() {
        let values: Vec<f64> = (0..120).map(|i| (f64::from(i) * 0.37).sin()).collect();
        assert!(round_trip(&values).0);
        let specials = [f64::NAN, -0.0, f64::INFINITY, f64::from_bits(STALE_NAN)];
        assert!(round_trip(&specials).0);
    }

    #[test]
    fn mostly_special_values_pick_the_smaller_encoding() {
        let mut values = vec![f64::from_bits(STALE_NAN); 100];
        values[50] = 1.5;
        let (is_xor, bits) = round_trip(&values);
        assert!(
            is_xor,
            "100 raw patches would cost more than XOR ({bits} bits)"
        );
    }
}
