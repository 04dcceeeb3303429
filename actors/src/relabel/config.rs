//! `relabel_configs` entries, with Prometheus's field names and defaults.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a relabel rule does. The names are Prometheus's; like Prometheus, parsing ignores case
/// (`action: Replace` is accepted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
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

impl Action {
    const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Action;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a relabel action")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Action, E> {
                let lower = s.to_lowercase();
                Action::ALL
                    .into_iter()
                    .find(|a| a.as_str() == lower)
                    .ok_or_else(|| E::custom(format!("unknown relabel action {s:?}")))
            }
        }
        d.deserialize_str(V)
    }
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
///
/// Prometheus 2.42 compiles `^(?:re)$` with Go's RE2: `.` does not match a newline, and the Perl
/// classes `\d \w \s \b` are ASCII-only. The Rust `regex` crate makes those classes Unicode-aware,
/// so [`go_perl_classes`] rewrites them to their ASCII definitions first.
#[derive(Clone, Debug)]
pub struct AnchoredRegex {
    source: String,
    regex: regex::Regex,
}

impl AnchoredRegex {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let regex = regex::Regex::new(&format!("^(?:{})$", go_perl_classes(source)))?;
        Ok(Self {
            source: source.to_owned(),
            regex,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }
}

/// Rewrites Go's ASCII-only Perl classes (`\d \D \s \S \w \W \b \B`) into forms the Rust
/// `regex` crate reads the same way. Inside a bracket class the replacement is a nested class,
/// which Rust accepts (`[\w-]` becomes `[[0-9A-Za-z_]-]`). Every other escape is copied as is.
fn go_perl_classes(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 16);
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
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

/// Compiles inside the visitor so a YAML error points at the regex's own line.
impl<'de> Deserialize<'de> for AnchoredRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = AnchoredRegex;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a regular expression")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<AnchoredRegex, E> {
                AnchoredRegex::new(s).map_err(|e| E::custom(format!("invalid regex {s:?}: {e}")))
            }
        }
        d.deserialize_str(V)
    }
}

impl Serialize for AnchoredRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_like_prometheus() {
        let re = AnchoredRegex::new("a|b").unwrap();
        assert!(re.regex().is_match("a"));
        assert!(!re.regex().is_match("ab"));
        // Go's `.` does not match a newline unless `(?s)` is given.
        assert!(!AnchoredRegex::default().regex().is_match("x\ny"));
        assert!(AnchoredRegex::new("(?s)(.*)")
            .unwrap()
            .regex()
            .is_match("x\ny"));
    }

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        let digits = AnchoredRegex::new(r"\d+").unwrap();
        assert!(digits.regex().is_match("0123"));
        assert!(
            !digits.regex().is_match("\u{0663}"),
            "Arabic-Indic digit is not \\d in Go"
        );
        let word = AnchoredRegex::new(r"[\w-]+").unwrap();
        assert!(word.regex().is_match("node-exporter_1"));
        assert!(!word.regex().is_match("caf\u{e9}"));
        let not_space = AnchoredRegex::new(r"\S+\s\S+").unwrap();
        assert!(not_space.regex().is_match("a b"));
        let boundary = AnchoredRegex::new(r".*\bx\b.*").unwrap();
        assert!(boundary.regex().is_match("a x b"));
        // Escaped backslashes and other escapes survive.
        assert!(AnchoredRegex::new(r"\\d").unwrap().regex().is_match("\\d"));
        assert!(AnchoredRegex::new(r"\.").unwrap().regex().is_match("."));
        assert_eq!(AnchoredRegex::new(r"\d").unwrap().as_str(), r"\d");
    }
}
