//! A first pass over the raw YAML that finds unsupported Prometheus fields and typos, with the
//! line they are on.
//!
//! Typed deserialisation alone cannot tell `kubernetes_sd_configs` (a real Prometheus feature
//! Skyview lacks) from `scrape_intervall` (a typo), and it stops at the first unknown field with
//! serde's generic message. This pass walks the document with the same section structure as
//! the model, checks every mapping key against the model's own field list (read from the serde
//! derive, so the two cannot drift) and the lists in `unsupported.rs`, and fails on the first bad
//! key. The failure is raised while the key is being deserialised, so `serde_yaml_ng` tags it
//! with the key's line.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};

use super::error::ConfigError;
use super::model::*;
use super::unsupported;
use crate::relabel::RelabelConfig;

/// The YAML merge key, which Prometheus's YAML library honours.
pub(super) const MERGE_KEY: &str = "<<";

/// Checks every key of `text`. YAML syntax errors are reported here too.
pub(super) fn check(text: &str, path: &Path) -> Result<(), ConfigError> {
    let finding = RefCell::new(None);
    let walk = Walk {
        section: Section::Root,
        path: String::new(),
        finding: &finding,
    };
    let Err(err) = walk.deserialize(serde_yaml_ng::Deserializer::from_str(text)) else {
        return Ok(());
    };
    let line = err.location().map_or(0, |l| l.line());
    let Some(found) = finding.into_inner() else {
        return Err(syntax_error(path, &err));
    };
    let section = describe_section(text, &found.section);
    let path = path.to_owned();
    Err(match found.kind {
        Kind::Unsupported(hint) => ConfigError::Unsupported {
            path,
            line,
            field: found.field,
            section,
            hint,
        },
        Kind::Unknown(expected) => ConfigError::UnknownField {
            path,
            line,
            field: found.field,
            section,
            expected: expected.join(", "),
        },
    })
}

/// Turns a `serde_yaml_ng` error into [`ConfigError::Syntax`], keeping its line and column and
/// dropping the " at line L column C" suffix the message repeats.
pub(super) fn syntax_error(path: &Path, err: &serde_yaml_ng::Error) -> ConfigError {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let mut message = err.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    ConfigError::Syntax {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// Names a section for humans: `scrape_configs[1]` becomes `scrape_configs[1], job "k8s"`, and
/// `remote_write[0]` gains its url. The job is looked up in the raw document because the bad key
/// may come before `job_name` in the mapping.
fn describe_section(text: &str, section: &str) -> String {
    if section.is_empty() {
        return "top level".to_owned();
    }
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) else {
        return section.to_owned();
    };
    let entry = |list: &str, key: &str| -> Option<String> {
        let rest = section.strip_prefix(list)?.strip_prefix('[')?;
        let index: usize = rest[..rest.find(']')?].parse().ok()?;
        doc.get(list)?
            .get(index)?
            .get(key)?
            .as_str()
            .map(str::to_owned)
    };
    if let Some(job) = entry("scrape_configs", "job_name") {
        return format!("{section}, job {job:?}");
    }
    if let Some(url) = entry("remote_write", "url") {
        return format!("{section}, url {url:?}");
    }
    section.to_owned()
}

/// The sections whose keys are checked; `Free` holds user-chosen keys (labels, params, headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Root,
    Global,
    Scrape,
    Static,
    FileSd,
    Relabel,
    RemoteWrite,
    Queue,
    BasicAuth,
    Authorization,
    Tls,
    Free,
}

impl Section {
    fn fields(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Section::Root => fields_of::<Config>(),
            Section::Global => fields_of::<GlobalConfig>(),
            Section::Scrape => fields_of::<ScrapeConfig>(),
            Section::Static => fields_of::<StaticConfig>(),
            Section::FileSd => fields_of::<FileSdConfig>(),
            Section::Relabel => fields_of::<RelabelConfig>(),
            Section::RemoteWrite => fields_of::<RemoteWriteConfig>(),
            Section::Queue => fields_of::<QueueConfig>(),
            Section::BasicAuth => fields_of::<BasicAuth>(),
            Section::Authorization => fields_of::<Authorization>(),
            Section::Tls => fields_of::<TlsConfig>(),
            Section::Free => return None,
        })
    }

    fn unsupported(self, field: &str) -> Option<&'static str> {
        match self {
            Section::Root => unsupported::find(unsupported::ROOT, field),
            Section::Global => unsupported::find(unsupported::GLOBAL, field),
            Section::Scrape => unsupported::scrape(field),
            Section::RemoteWrite => unsupported::remote_write(field),
            Section::Queue => unsupported::find(unsupported::QUEUE, field),
            Section::Tls => unsupported::find(unsupported::TLS, field),
            Section::BasicAuth => unsupported::find(unsupported::BASIC_AUTH, field),
            _ => None,
        }
    }

    /// The section of the value under `key` (lists of sections use the element's section).
    fn child(self, key: &str) -> Section {
        use Section::*;
        match (self, key) {
            // A YAML merge key (`<<: *defaults`) merges a mapping of the same section.
            (section, MERGE_KEY) => section,
            (Root, "global") => Global,
            (Root, "scrape_configs") => Scrape,
            (Root, "remote_write") => RemoteWrite,
            (Scrape | RemoteWrite, "basic_auth") => BasicAuth,
            (Scrape | RemoteWrite, "authorization") => Authorization,
            (Scrape | RemoteWrite, "tls_config") => Tls,
            (Scrape, "static_configs") => Static,
            (Scrape, "file_sd_configs") => FileSd,
            (Scrape, "relabel_configs" | "metric_relabel_configs") => Relabel,
            (RemoteWrite, "write_relabel_configs") => Relabel,
            (RemoteWrite, "queue_config") => Queue,
            _ => Free,
        }
    }
}

/// The first bad key found.
#[derive(Debug)]
struct Finding {
    /// Path of the mapping holding the key, e.g. `scrape_configs[1].tls_config`.
    section: String,
    field: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Unsupported(&'static str),
    Unknown(&'static [&'static str]),
}

/// Walks one value of a known section.
struct Walk<'a> {
    section: Section,
    path: String,
    finding: &'a RefCell<Option<Finding>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let key_seed = || Key {
            section: self.section,
            path: &self.path,
            finding: self.finding,
        };
        while let Some(key) = map.next_key_seed(key_seed())? {
            let child = key
                .as_deref()
                .map_or(Section::Free, |k| self.section.child(k));
            let path = match (&key, self.path.is_empty()) {
                (Some(k), _) if k == MERGE_KEY => self.path.clone(),
                (Some(k), true) => k.clone(),
                (Some(k), false) => format!("{}.{k}", self.path),
                (None, _) => self.path.clone(),
            };
            map.next_value_seed(Walk {
                section: child,
                path,
                finding: self.finding,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let path = format!("{}[{index}]", self.path);
            let element = Walk {
                section: self.section,
                path,
                finding: self.finding,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        de::IgnoredAny.visit_enum(data).map(|_| ())
    }
}

/// Reads one mapping key and checks it against its section. Non-string keys yield `None`; the
/// typed pass reports them.
struct Key<'a> {
    section: Section,
    path: &'a str,
    finding: &'a RefCell<Option<Finding>>,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<String>, E> {
        if key == MERGE_KEY {
            return Ok(Some(key.to_owned()));
        }
        let kind = match (self.section.unsupported(key), self.section.fields()) {
            (Some(hint), _) => Kind::Unsupported(hint),
            (None, Some(fields)) if !fields.contains(&key) => Kind::Unknown(fields),
            _ => return Ok(Some(key.to_owned())),
        };
        let section = self.path.to_owned();
        *self.finding.borrow_mut() = Some(Finding {
            section,
            field: key.to_owned(),
            kind,
        });
        Err(E::custom(format_args!(
            "field `{key}` is not accepted here"
        )))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
}

/// The field names a serde-derived struct accepts, read by asking its `Deserialize` impl to
/// deserialise from a probe that records the list and stops.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut probe = FieldsProbe(None);
    // The probe always stops with an error once it has the list; that error is expected.
    let _ = T::deserialize(&mut probe);
    probe.0.unwrap_or(&[])
}

#[derive(Debug)]
struct FieldsProbe(Option<&'static [&'static str]>);

#[derive(Debug)]
struct ProbeStop;

impl fmt::Display for ProbeStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field list probe")
    }
}

impl std::error::Error for ProbeStop {}

impl de::Error for ProbeStop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        ProbeStop
    }
}

impl<'de> Deserializer<'de> for &mut FieldsProbe {
    type Error = ProbeStop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeStop> {
        Err(ProbeStop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeStop> {
        self.0 = Some(fields);
        Err(ProbeStop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        check(text, Path::new("prometheus.yml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_field_lists_from_the_model() {
        assert!(fields_of::<ScrapeConfig>().contains(&"metric_relabel_configs"));
        assert!(fields_of::<Authorization>().contains(&"type"));
    }

    #[test]
    fn unsupported_field_names_section_job_and_line() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: node\n  - kubernetes_sd_configs: []\n    job_name: k8s\n";
        assert_eq!(
            err(text),
            "prometheus.yml:5: field `kubernetes_sd_configs` (scrape_configs[1], job \"k8s\") \
             is a Prometheus feature Skyview does not support yet"
        );
    }

    #[test]
    fn unsupported_nested_and_top_level_fields() {
        assert!(err("rule_files: [a.yml]\n")
            .starts_with("prometheus.yml:1: field `rule_files` (top level)"));
        let text = "remote_write:\n  - url: http://r/api/v1/write\n    queue_config:\n      sample_age_limit: 1m\n";
        assert!(err(text).starts_with(
            "prometheus.yml:4: field `sample_age_limit` (remote_write[0].queue_config, url \"http://r/api/v1/write\")"
        ));
        let text = "scrape_configs:\n  - job_name: a\n    bearer_token: x\n";
        assert!(
            err(text).ends_with("(use `authorization: {credentials: ...}`)"),
            "{}",
            err(text)
        );
    }

    #[test]
    fn typo_names_field_and_line() {
        let text = "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [x]\n        lables: {a: b}\n";
        let msg = err(text);
        assert!(
            msg.starts_with("prometheus.yml:5: unknown field `lables` (scrape_configs[0].static_configs[0], job \"a\"); expected one of: targets, labels"),
            "{msg}"
        );
    }

    #[test]
    fn merge_keys_are_checked_against_the_merging_section() {
        let ok = "x-defaults: &d\n  scrape_interval: 5s\n";
        assert!(err(ok).contains("unknown field `x-defaults` (top level)"));
        let text = "scrape_configs:\n  - &base\n    job_name: a\n    scrape_interval: 5s\n  - <<: *base\n    job_name: b\n";
        check(text, Path::new("p.yml")).unwrap();
        let text = "scrape_configs:\n  - &base\n    job_name: a\n    scrape_intervl: 5s\n  - <<: *base\n    job_name: b\n";
        assert!(err(text).contains("unknown field `scrape_intervl`"));
    }

    #[test]
    fn free_sections_accept_any_key() {
        let text = "global:\n  external_labels:\n    anything: x\nscrape_configs:\n  - job_name: a\n    params:\n      module: [m]\n";
        check(text, Path::new("p.yml")).unwrap();
    }

    #[test]
    fn yaml_syntax_errors_carry_the_line() {
        let msg = err("scrape_configs:\n  - job_name: [a\n");
        assert!(msg.starts_with("prometheus.yml:"), "{msg}");
    }
}
