//! Prometheus durations (`1h30m`, `15s`, `100ms`, `2w`) and byte sizes (`10MB`).
//!
//! Prometheus's `model.Duration` accepts a sequence of integer+unit terms in descending unit
//! order, units `y w d h m s ms`; `0` alone is also valid. We parse and print the same forms so
//! `/api/v1/status/config` round-trips a user's file.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::ByteSize;

/// A duration written the Prometheus way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    pub const fn from_secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }

    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// Parses `1h30m`, `15s`, `100ms`, `0`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "0" {
            return Ok(Self(Duration::ZERO));
        }
        const UNITS: [(&str, u64); 7] = [
            ("y", 365 * 24 * 3600 * 1000),
            ("w", 7 * 24 * 3600 * 1000),
            ("d", 24 * 3600 * 1000),
            ("h", 3600 * 1000),
            ("m", 60 * 1000),
            ("s", 1000),
            ("ms", 1),
        ];
        let bad = || format!("not a valid duration string: {s:?}");
        let bytes = s.as_bytes();
        let (mut i, mut total_ms, mut last_unit) = (0usize, 0u64, None::<usize>);
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(bad());
            }
            let n: u64 = s[start..i].parse().map_err(|_| bad())?;
            let ustart = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[ustart..i];
            let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
            if last_unit.is_some_and(|l| idx <= l) {
                return Err(bad());
            }
            last_unit = Some(idx);
            total_ms = n
                .checked_mul(UNITS[idx].1)
                .and_then(|ms| total_ms.checked_add(ms))
                .ok_or_else(bad)?;
        }
        if last_unit.is_none() {
            return Err(bad());
        }
        Ok(Self(Duration::from_millis(total_ms)))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("y", 365 * 24 * 3600 * 1000),
            ("w", 7 * 24 * 3600 * 1000),
            ("d", 24 * 3600 * 1000),
            ("h", 3600 * 1000),
            ("m", 60 * 1000),
            ("s", 1000),
            ("ms", 1u64),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

/// Parses inside the visitor, not after it, so a YAML error points at the value's own line.
impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PromDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 15s or 1h30m")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PromDuration, E> {
                PromDuration::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl ByteSize {
    /// Parses `0`, `1024`, `10KB`, `10KiB`, `5MB`, `1GB` (powers of 1024, as Prometheus's
    /// `units.Base2Bytes`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("not a valid byte size: {s:?}");
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let n: u64 = s[..split].parse().map_err(|_| bad())?;
        let mult: u64 = match &s[split..] {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            "TB" | "TiB" => 1 << 40,
            _ => return Err(bad()),
        };
        n.checked_mul(mult).map(Self).ok_or_else(bad)
    }
}

impl From<ByteSize> for String {
    fn from(b: ByteSize) -> String {
        if b.0 != 0 && b.0.is_multiple_of(1 << 20) {
            format!("{}MB", b.0 >> 20)
        } else {
            b.0.to_string()
        }
    }
}

/// Accepts a number of bytes or a string with a unit; parses inside the visitor so a YAML
/// error points at the value's own line.
impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte size such as 512, 10KB or 5MB")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<ByteSize, E> {
                u64::try_from(n)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a byte size cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ByteSize, E> {
                ByteSize::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(
            PromDuration::parse("1h30m").unwrap().0,
            Duration::from_secs(5400)
        );
        assert_eq!(
            PromDuration::parse("100ms").unwrap().0,
            Duration::from_millis(100)
        );
        assert_eq!(PromDuration::parse("0").unwrap().0, Duration::ZERO);
        assert!(PromDuration::parse("30m1h").is_err());
        assert!(PromDuration::parse("1.5s").is_err());
        assert!(PromDuration::parse("").is_err());
        assert!(PromDuration::parse("10").is_err());
    }

    #[test]
    fn prints_what_it_parses() {
        for s in ["1h30m", "15s", "100ms", "2w", "1m5s"] {
            assert_eq!(PromDuration::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn deserialises_from_yaml_numbers_and_strings() {
        assert_eq!(serde_yaml_ng::from_str::<ByteSize>("2048").unwrap().0, 2048);
        assert_eq!(serde_yaml_ng::from_str::<ByteSize>("1KB").unwrap().0, 1024);
        assert!(serde_yaml_ng::from_str::<ByteSize>("-1").is_err());
        assert_eq!(
            serde_yaml_ng::from_str::<PromDuration>("2m")
                .unwrap()
                .0
                .as_secs(),
            120
        );
    }

    #[test]
    fn parses_byte_sizes() {
        assert_eq!(ByteSize::parse("10MB").unwrap().0, 10 << 20);
        assert_eq!(ByteSize::parse("512").unwrap().0, 512);
        assert!(ByteSize::parse("ten").is_err());
    }
}
