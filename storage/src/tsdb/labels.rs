//! A series' label set and its canonical byte form.
//!
//! A series is identified by its tenant and its label pairs, sorted by name. The canonical
//! form is what the `series` column family stores and what the head's lookup table keys on:
//!
//! ```text
//! series = len-bytes(tenant)  varint(pairs)  (len-bytes(name) len-bytes(value)){pairs}
//! len-bytes(x) = varint(len(x)) x
//! ```
//!
//! Two equal identities have equal bytes, so lookups compare bytes. A label with an empty
//! value is the same as no label (Prometheus's rule), so [`LabelSet::new`] drops it; an empty
//! name is refused (the postings index reserves it for "every series").

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::error::LabelError;
use super::varint;

/// Seed of the series hash; fixed forever, since hashes are stored in `series_by_labels`.
const SERIES_HASH_SEED: u64 = 0x736b_7976_6965_7731;

/// Label pairs sorted by name, names unique and non-empty, values non-empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelSet {
    pairs: Vec<(String, String)>,
}

/// Pairs [`LabelSet::new`] refused, given back with the reason (as `String::from_utf8` gives
/// back its bytes), so a caller that reports the refused series need not clone every pair
/// beforehand: on the ingest path that clone was a measurable share of apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedLabels {
    /// Why the pairs are not a label set.
    pub reason: LabelError,
    /// The pairs as given.
    pub pairs: Vec<(String, String)>,
}

impl LabelSet {
    /// Checks and takes `pairs`, which must be strictly sorted by name. Pairs with an empty
    /// value are dropped; at least one must remain.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, RefusedLabels> {
        match Self::check(&pairs) {
            Ok(()) => Ok(Self {
                pairs: pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            }),
            Err(reason) => Err(RefusedLabels { reason, pairs }),
        }
    }

    fn check(pairs: &[(String, String)]) -> Result<(), LabelError> {
        if let Some(index) = pairs.iter().position(|(name, _)| name.is_empty()) {
            return Err(LabelError::EmptyName { index });
        }
        if let Some(window) = pairs.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(LabelError::Unsorted {
                previous: window[0].0.clone(),
                name: window[1].0.clone(),
            });
        }
        if pairs.iter().all(|(_, value)| value.is_empty()) {
            return Err(LabelError::NoLabels);
        }
        Ok(())
    }

    /// Builds a label set from `(name, value)` string slices in any order (sorted here).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LabelError> {
        let mut pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        pairs.sort();
        Self::new(pairs).map_err(|refused| refused.reason)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of label `name`, if the series has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.pairs[i].1.as_str())
    }
}

/// The canonical bytes of `(tenant, labels)`.
pub(crate) fn encode_series(tenant: &str, labels: &LabelSet) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        8 + tenant.len()
            + labels
                .pairs
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2)
                .sum::<usize>(),
    );
    varint::put_bytes(&mut out, tenant.as_bytes());
    varint::put(&mut out, labels.pairs.len() as u64);
    for (name, value) in &labels.pairs {
        varint::put_bytes(&mut out, name.as_bytes());
        varint::put_bytes(&mut out, value.as_bytes());
    }
    out
}

/// Decodes canonical bytes; `None` when they are not a canonical series.
pub(crate) fn decode_series(mut input: &[u8]) -> Option<(String, LabelSet)> {
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
    let tenant = text(varint::take_bytes(&mut input)?)?;
    let count = usize::try_from(varint::take(&mut input)?).ok()?;
    let mut pairs = Vec::with_capacity(count.min(input.len() / 2));
    for _ in 0..count {
        let name = text(varint::take_bytes(&mut input)?)?;
        let value = text(varint::take_bytes(&mut input)?)?;
        pairs.push((name, value));
    }
    let labels = LabelSet::new(pairs).ok()?;
    // Anything else (trailing bytes, dropped empty values) is not canonical.
    (input.is_empty() && labels.pairs.len() == count).then_some((tenant, labels))
}

/// The stable hash of canonical series bytes, the key of `series_by_labels`.
pub(crate) fn series_hash(canonical: &[u8]) -> u64 {
    xxh3_64_with_seed(canonical, SERIES_HASH_SEED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_values_are_dropped_and_bad_names_refused() {
        let set = LabelSet::new(owned(&[("__name__", "up"), ("a", ""), ("job", "x")])).unwrap();
        assert_eq!(set.pairs(), &owned(&[("__name__", "up"), ("job", "x")])[..]);
        assert_eq!(set.get("job"), Some("x"));
        assert_eq!(set.get("a"), None);
        let reason = |pairs: &[(&str, &str)]| LabelSet::new(owned(pairs)).map_err(|r| r.reason);
        assert_eq!(
            reason(&[("b", "1"), ("a", "2")]),
            Err(LabelError::Unsorted {
                previous: "b".into(),
                name: "a".into()
            })
        );
        assert_eq!(
            reason(&[("a", "1"), ("a", "2")]),
            Err(LabelError::Unsorted {
                previous: "a".into(),
                name: "a".into()
            })
        );
        assert_eq!(
            reason(&[("", "1")]),
            Err(LabelError::EmptyName { index: 0 })
        );
        let refused = LabelSet::new(owned(&[("a", "")])).unwrap_err();
        assert_eq!(refused.reason, LabelError::NoLabels);
        assert_eq!(
            refused.pairs,
            owned(&[("a", "")]),
            "the pairs are given back"
        );
    }

    #[test]
    fn canonical_bytes_round_trip_and_separate_tenants() {
        let set =
            LabelSet::from_pairs([("job", "node"), ("__name__", "up"), ("é", "ü\0")]).unwrap();
        let bytes = encode_series("team-a", &set);
        assert_eq!(
            decode_series(&bytes),
            Some(("team-a".to_owned(), set.clone()))
        );
        let other = encode_series("team-b", &set);
        assert_ne!(bytes, other);
        assert_ne!(series_hash(&bytes), series_hash(&other));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode_series(&trailing), None);
        for len in 0..bytes.len() {
            assert_eq!(decode_series(&bytes[..len]), None, "prefix of {len} bytes");
        }
    }
}
