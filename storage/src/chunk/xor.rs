//! XOR values (Gorilla, Facebook VLDB 2015): the fallback for values that are not decimals.
//! It stores IEEE bits, so every value round-trips bit for bit, NaN payloads included.
//!
//! ```text
//! xor    = first:64  next{n - 1}
//! next   = 0                                    same bits as the previous value
//!        | 1 0  meaningful:(64 - L - T)         XOR fits the current window (L, T)
//!        | 1 1  lead:5  len-1:6  meaningful:len new window: L = lead, T = 64 - lead - len
//! ```
//!
//! The window starts as the full 64 bits (L = T = 0). Unlike the paper, the encoder opens a
//! new window whenever that is cheaper than reusing the current one, not only when the XOR
//! does not fit. The decoder rejects a window with `lead + len > 64`.

use super::bits::{BitReader, BitWriter};
use super::error::DecodeError;
use super::sample::Sample;

const LEAD_BITS: u32 = 5;
const LEN_BITS: u32 = 6;
/// The most leading zeros a window can record (5 bits).
const MAX_LEAD: u32 = (1 << LEAD_BITS) - 1;

/// The meaningful bits of an XOR: `leading` zeros above them, `trailing` zeros below.
#[derive(Debug, Clone, Copy)]
struct Window {
    leading: u32,
    trailing: u32,
}

impl Window {
    const FULL: Window = Window {
        leading: 0,
        trailing: 0,
    };

    fn len(self) -> u32 {
        64 - self.leading - self.trailing
    }
}

pub(crate) fn encode(values: &[f64], out: &mut BitWriter) {
    let Some((first, rest)) = values.split_first() else {
        return;
    };
    let mut previous = first.to_bits();
    out.write_bits(previous, 64);
    let mut window = Window::FULL;
    for v in rest {
        let bits = v.to_bits();
        let xor = bits ^ previous;
        previous = bits;
        if xor == 0 {
            out.write_bit(false);
            continue;
        }
        let tight = Window {
            leading: xor.leading_zeros().min(MAX_LEAD),
            trailing: xor.trailing_zeros(),
        };
        let fits = tight.leading >= window.leading && tight.trailing >= window.trailing;
        if fits && window.len() <= LEAD_BITS + LEN_BITS + tight.len() {
            out.write_bits(0b10, 2);
        } else {
            window = tight;
            out.write_bits(0b11, 2);
            out.write_bits(u64::from(window.leading), LEAD_BITS);
            out.write_bits(u64::from(window.len() - 1), LEN_BITS);
        }
        out.write_bits(xor >> window.trailing, window.len());
    }
}

/// Reads the XOR section into the values of `samples`.
pub(crate) fn decode(input: &mut BitReader<'_>, samples: &mut [Sample]) -> Result<(), DecodeError> {
    let Some((first, rest)) = samples.split_first_mut() else {
        return Ok(());
    };
    let mut previous = input.read_bits(64)?;
    first.v = f64::from_bits(previous);
    let mut window = Window::FULL;
    for sample in rest {
        if input.read_bit()? {
            if input.read_bit()? {
                let leading = input.read_bits(LEAD_BITS)? as u32;
                let length = input.read_bits(LEN_BITS)? as u32 + 1;
                if leading + length > 64 {
                    return Err(DecodeError::XorWindow { leading, length });
                }
                window = Window {
                    leading,
                    trailing: 64 - leading - length,
                };
            }
            previous ^= input.read_bits(window.len())? << window.trailing;
        }
        sample.v = f64::from_bits(previous);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn round_trip(values: &[f64]) -> usize {
        let mut w = BitWriter::default();
        encode(values, &mut w);
        let bits = w.bit_len();
        let bytes = w.finish();
        let mut samples = vec![Sample { t: 0, v: 1.0 }; values.len()];
        let mut r = BitReader::new(&bytes);
        decode(&mut r, &mut samples).unwrap();
        assert_eq!(r.position(), bits);
        for (s, v) in samples.iter().zip(values) {
            assert_eq!(s.v.to_bits(), v.to_bits());
        }
        bits
    }

    #[test]
    fn special_values_round_trip_bit_for_bit() {
        round_trip(&[
            f64::from_bits(0x7ff0_0000_0000_0002),
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff8_dead_beef_0001),
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::MAX,
            f64::MIN,
        ]);
    }

    #[test]
    fn random_bits_round_trip() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..500 {
            let n = rng.random_range(0..200);
            let mut v = rng.random::<f64>();
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    if rng.random_bool(0.3) {
                        v = f64::from_bits(rng.random());
                    } else if rng.random_bool(0.5) {
                        v += rng.random::<f64>();
                    }
                    v
                })
                .collect();
            round_trip(&values);
        }
    }

    #[test]
    fn repeated_values_cost_one_bit() {
        let bits = round_trip(&[0.123_456_789; 100]);
        assert_eq!(bits, 64 + 99);
    }

    #[test]
    fn an_impossible_window_is_rejected() {
        let mut w = BitWriter::default();
        w.write_bits(0, 64);
        w.write_bits(0b11, 2);
        w.write_bits(31, LEAD_BITS);
        w.write_bits(63, LEN_BITS);
        let bytes = w.finish();
        let mut samples = vec![Sample { t: 0, v: 0.0 }; 2];
        assert_eq!(
            decode(&mut BitReader::new(&bytes), &mut samples),
            Err(DecodeError::XorWindow {
                leading: 31,
                length: 64
            })
        );
    }
}
