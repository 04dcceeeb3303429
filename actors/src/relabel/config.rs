//! `relabel_configs` entries, with Prometheus's field names and defaults.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a relabel rule does. The names are Prometheus's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

/// One relabel rule.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` and matched against `regex`.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Joins the source label values. Default `;`.
    #[serde(default = "default_separator")]
    pub separator: String,
    /// Anchored regular expression (RE2 syntax). Default `(.*)`.
    #[serde(default)]
    pub regex: AnchoredRegex,
    /// Modulus for `hashmod`.
    #[serde(default)]
    pub modulus: u64,
    /// Label written by `replace`, `hashmod`, `lowercase`, `uppercase`.
    #[serde(default)]
    pub target_label: String,
    /// Replacement with `$1`/`${name}` references. Default `$1`.
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// The action. Default `replace`.
    #[serde(default)]
    pub action: Action,
}

fn default_separator() -> String {
    ";".to_owned()
}

fn default_replacement() -> String {
    "$1".to_owned()
}

/// A regex anchored at both ends, as Prometheus anchors relabel regexes (`^(?:re)$`). It keeps
/// the user's original text for display.
#[derive(Clone, Debug)]
pub struct AnchoredRegex {
    source: String,
    regex: regex::Regex,
}

impl AnchoredRegex {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let regex = regex::Regex::new(&format!("^(?s:{source})$"))?;
        Ok(Self { source: source.to_owned(), regex })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }
}

impl Default for AnchoredRegex {
    fn default() -> Self {
        Self::new("(.*)").expect("the default regex compiles")
    }
}

impl PartialEq for AnchoredRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl<'de> Deserialize<'de> for AnchoredRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(|e| serde::de::Error::custom(format!("invalid regex {s:?}: {e}")))
    }
}

impl Serialize for AnchoredRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}
