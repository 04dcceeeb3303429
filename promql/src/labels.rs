//! A series' label set: sorted by name, unique names, no empty values.
//!
//! The set and its strings are shared behind `Arc`s because the evaluator hands the same series
//! labels to every step of a range query and derives new sets (without `__name__`, with a
//! replaced label) from them; cloning must be a reference-count bump, not a copy of strings.
//!
//! Matching signatures are XXH3 hashes of `name 0xff value 0xff ...`, the scheme Prometheus
//! uses; two different label sets colliding is as unlikely (and as ignored) as there.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The label name.
    pub name: Arc<str>,
    /// The label value, never empty inside a [`Labels`].
    pub value: Arc<str>,
}

/// A sorted label set. Ordering compares pair by pair (name, then value), and a prefix sorts
/// first, which is the order Prometheus's `labels.Compare` gives.
///
/// The XXH3 hash of the whole set is computed once, when the set is built, so that hash maps
/// keyed by label sets (range-query assembly, duplicate checks, grouping) hash a `u64`.
#[derive(Debug, Clone)]
pub struct Labels {
    labels: Arc<[Label]>,
    hash: u64,
}

impl Default for Labels {
    fn default() -> Self {
        Self::from_sorted(Vec::new())
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.labels, &other.labels)
            || (self.hash == other.hash && self.labels == other.labels)
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        self.labels.cmp(&other.labels)
    }
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a label set from pairs in any order. Empty values are dropped, as Prometheus treats
    /// an empty value as an absent label; a repeated name keeps its last value.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut labels: Vec<Label> = Vec::new();
        for (name, value) in pairs {
            let name: String = name.into();
            let value: String = value.into();
            labels.retain(|l| *l.name != *name);
            if !value.is_empty() {
                labels.push(Label {
                    name: name.into(),
                    value: value.into(),
                });
            }
        }
        labels.sort();
        Self::from_sorted(labels)
    }

    fn from_sorted(labels: Vec<Label>) -> Self {
        let mut h = Xxh3::new();
        for l in &labels {
            hash_label(&mut h, l);
        }
        Self {
            hash: h.digest(),
            labels: labels.into(),
        }
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter()
    }

    /// The number of labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|l| (*l.name).cmp(name))
            .ok()
            .map(|i| &*self.labels[i].value)
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A copy with `name` set to `value`; an empty value removes the label.
    pub fn with(&self, name: &str, value: &str) -> Self {
        let mut out: Vec<Label> = self
            .labels
            .iter()
            .filter(|l| *l.name != *name)
            .cloned()
            .collect();
        if !value.is_empty() {
            let at = out.partition_point(|l| &*l.name < name);
            out.insert(
                at,
                Label {
                    name: name.into(),
                    value: value.into(),
                },
            );
        }
        Self::from_sorted(out)
    }

    /// A copy without the listed names.
    pub fn without(&self, names: &[String]) -> Self {
        if !self.labels.iter().any(|l| listed(names, &l.name)) {
            return self.clone();
        }
        Self::from_sorted(
            self.labels
                .iter()
                .filter(|l| !listed(names, &l.name))
                .cloned()
                .collect(),
        )
    }

    /// A copy that keeps only the listed names.
    pub fn keep(&self, names: &[String]) -> Self {
        Self::from_sorted(
            self.labels
                .iter()
                .filter(|l| listed(names, &l.name))
                .cloned()
                .collect(),
        )
    }

    /// A copy without `__name__`: what every value-changing operation returns in Prometheus 2.42.
    pub fn drop_metric_name(&self) -> Self {
        match self.labels.iter().position(|l| &*l.name == METRIC_NAME) {
            None => self.clone(),
            Some(i) => {
                let mut out = self.labels.to_vec();
                out.remove(i);
                Self::from_sorted(out)
            }
        }
    }

    /// The hash of the whole set, used to detect identical label sets.
    pub fn hash_all(&self) -> u64 {
        self.hash
    }

    /// The matching signature of Prometheus: with `on`, the hash of the listed labels only;
    /// without it, the hash of everything except the listed labels and `__name__`.
    pub fn signature(&self, on: bool, names: &[String]) -> u64 {
        let mut h = Xxh3::new();
        for l in self.labels.iter() {
            let is_listed = listed(names, &l.name);
            if (on && is_listed) || (!on && !is_listed && &*l.name != METRIC_NAME) {
                hash_label(&mut h, l);
            }
        }
        h.digest()
    }

    /// The subset used by Prometheus in matching errors (`MatchLabels`).
    pub fn match_labels(&self, on: bool, names: &[String]) -> Self {
        Self::from_sorted(
            self.labels
                .iter()
                .filter(|l| {
                    let is_listed = listed(names, &l.name);
                    on == is_listed && (on || &*l.name != METRIC_NAME)
                })
                .cloned()
                .collect(),
        )
    }
}

/// A hasher for keys that already are good hashes: a [`Labels`] (which hashes as its cached
/// XXH3 value) or a matching signature. It passes the `u64` through instead of running SipHash
/// over it again, which showed up in profiles of large range queries.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Prehashed;

impl BuildHasher for Prehashed {
    type Hasher = PrehashedHasher;

    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher(0)
    }
}

/// The hasher of [`Prehashed`]. One `u64` maps to itself times an odd constant (a bijection);
/// several (a tuple of label sets) are rotated and mixed so that `(a, b)` and `(b, a)` differ;
/// other input is mixed in FNV-1a style.
#[derive(Debug)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(26) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by label sets or signatures.
pub(crate) type PrehashedMap<K, V> = HashMap<K, V, Prehashed>;

/// A set of label sets or signatures.
pub(crate) type PrehashedSet<K> = HashSet<K, Prehashed>;

/// Prometheus's label name syntax, `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn listed(names: &[String], name: &str) -> bool {
    names.iter().any(|n| n == name)
}

fn hash_label(h: &mut Xxh3, l: &Label) {
    h.update(l.name.as_bytes());
    h.update(&[0xff]);
    h.update(l.value.as_bytes());
    h.update(&[0xff]);
}

/// Go's `labels.Labels.String()`: `{a="1", b="2"}` with Go-quoted values.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", l.name, go_quote(&l.value))?;
        }
        f.write_str("}")
    }
}

/// Quotes `s` as Go's `strconv.Quote` (`%q`) does for the printable text that label values and
/// API parameters carry: double quotes, `"` and `\` escaped, control characters as `\n`, `\t`,
/// `\a`, ..., or `\xNN`. Prometheus's messages quote this way, so ours must too.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\ny\u{1}\u{7}"), r#""x\ny\x01\a""#);
        assert_eq!(go_quote("é"), "\"é\"");
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn from_pairs_sorts_and_drops_empty_values() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="2"}"#);
        assert_eq!(l.get("a"), Some("1"));
        assert!(!l.has("c"));
    }

    #[test]
    fn with_keep_without() {
        let l = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "2")]);
        assert_eq!(l.with("c", "3").len(), 4);
        assert_eq!(l.with("a", "").to_string(), r#"{__name__="m", b="2"}"#);
        assert_eq!(l.keep(&names(&["a"])).to_string(), r#"{a="1"}"#);
        assert_eq!(
            l.without(&names(&["a"])).to_string(),
            r#"{__name__="m", b="2"}"#
        );
        assert_eq!(l.drop_metric_name().to_string(), r#"{a="1", b="2"}"#);
    }

    #[test]
    fn signatures_ignore_name_without_on() {
        let a = Labels::from_pairs([("__name__", "x"), ("a", "1")]);
        let b = Labels::from_pairs([("__name__", "y"), ("a", "1")]);
        assert_eq!(a.signature(false, &[]), b.signature(false, &[]));
        assert_ne!(
            a.signature(true, &names(&["__name__"])),
            b.signature(true, &names(&["__name__"]))
        );
        assert_eq!(a.match_labels(false, &[]).to_string(), r#"{a="1"}"#);
    }

    #[test]
    fn ordering_matches_prometheus_compare() {
        let short = Labels::from_pairs([("a", "1")]);
        let long = Labels::from_pairs([("a", "1"), ("b", "1")]);
        let bigger = Labels::from_pairs([("a", "2")]);
        assert!(short < long);
        assert!(long < bigger);
    }

    #[test]
    fn prehashed_keys_spread() {
        use std::hash::BuildHasher;
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("b", "1")]);
        let h = |x: &(Labels, Labels)| Prehashed.hash_one(x);
        assert_ne!(h(&(a.clone(), b.clone())), h(&(b.clone(), a.clone())));
        assert_ne!(h(&(a.clone(), a.clone())), h(&(b.clone(), b.clone())));
        let mut set = PrehashedSet::default();
        set.insert(a.clone());
        assert!(set.contains(&a) && !set.contains(&b));
    }

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name(""));
        assert!(!is_valid_label_name("a-b"));
    }

    #[test]
    fn quoting_escapes() {
        assert_eq!(go_quote("a\"b\\\n"), r#""a\"b\\\n""#);
    }
}
