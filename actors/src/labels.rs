//! Label sets: the identity of a series.
//!
//! A [`Labels`] is kept sorted by name with unique names, which is what Prometheus's
//! `labels.Labels` guarantees and what remote write requires on the wire. Every component that
//! builds label sets (scrape, relabel, external labels) goes through [`LabelsBuilder`], so the
//! invariant is established in one place.

use std::fmt;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A sorted set of labels with unique names and non-empty values.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set from pairs in any order. Later duplicates win and empty values are
    /// dropped, as Prometheus's builder does.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut builder = LabelsBuilder::default();
        for (name, value) in pairs {
            builder.set(name, value);
        }
        builder.build()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The value of `__name__`, or "" when there is none.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME).unwrap_or("")
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Opens a builder seeded with these labels.
    pub fn to_builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.clone(),
        }
    }

    /// A stable 64-bit hash of the label set (xxh3 over names and values with separators).
    /// Used to pin a series to a shipper queue; it must not change between releases because
    /// queue assignment decides batch identities.
    pub fn stable_hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for l in &self.0 {
            hasher.update(l.name.as_bytes());
            hasher.update(&[0xff]);
            hasher.update(l.value.as_bytes());
            hasher.update(&[0xff]);
        }
        hasher.digest()
    }

    /// Approximate heap bytes held, for memory accounting.
    pub fn heap_size(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Label>()
            + self
                .0
                .iter()
                .map(|l| l.name.capacity() + l.value.capacity())
                .sum::<usize>()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Labels {
    /// Prometheus's text form: `name{a="b", c="d"}` with the name outside the braces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric_name())?;
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

/// A mutable label set that keeps the sort invariant; `build` yields [`Labels`].
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            labels: Vec::with_capacity(n),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .ok()
            .map(|i| self.labels[i].value.as_str())
    }

    /// Sets `name` to `value`; an empty value deletes the label, as in Prometheus.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.position(&name) {
            Ok(i) if value.is_empty() => {
                self.labels.remove(i);
            }
            Ok(i) => self.labels[i].value = value,
            Err(_) if value.is_empty() => {}
            Err(i) => self.labels.insert(i, Label { name, value }),
        }
    }

    pub fn del(&mut self, name: &str) {
        if let Ok(i) = self.position(name) {
            self.labels.remove(i);
        }
    }

    /// Keeps only the labels for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) {
        self.labels.retain(|l| keep(l));
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.labels.iter()
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn build(self) -> Labels {
        Labels(self.labels)
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.labels.binary_search_by(|l| l.name.as_str().cmp(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sorts_overwrites_and_drops_empty_values() {
        let labels = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        let pairs: Vec<_> = labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(pairs, [("a", "1"), ("b", "3")]);
    }

    #[test]
    fn display_matches_prometheus() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "node"), ("a", "x\"y")]);
        assert_eq!(labels.to_string(), r#"up{a="x\"y", job="node"}"#);
    }

    #[test]
    fn stable_hash_separates_names_from_values() {
        let a = Labels::from_pairs([("ab", "c")]);
        let b = Labels::from_pairs([("a", "bc")]);
        assert_ne!(a.stable_hash(), b.stable_hash());
        assert_eq!(
            a.stable_hash(),
            Labels::from_pairs([("ab", "c")]).stable_hash()
        );
    }
}
