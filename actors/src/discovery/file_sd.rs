//! File-based discovery (`file_sd_configs`), with Prometheus's semantics:
//!
//! - each pattern is a path whose last component may hold a glob (`*`, `?`, `[...]`);
//! - `.json` files hold a JSON list of `{targets, labels}` groups, `.yml`/`.yaml` the same in
//!   YAML; every group gets `__meta_filepath` and the source `<file>:<index>`;
//! - a file that cannot be read or parsed is logged and its previous groups are kept (a file
//!   being rewritten must not make its targets flap); a file that no longer matches loses its
//!   groups.
//!
//! [`FileSd::apply`] is the pure part (files read → groups); [`FileSd::refresh`] does the IO.
//! Watching for changes is the actor's job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::group::{address_labels, TargetGroup};
use crate::config::FileSdConfig;
use crate::labels::Labels;
use crate::relabel::is_valid_label_name;

/// The label naming the file a target came from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

/// Why a file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileSdError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON target groups: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: invalid YAML target groups: {source}", path.display())]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("{}: {name:?} is not a valid label name", path.display())]
    InvalidLabelName { path: PathBuf, name: String },
    #[error("{}: not a .json, .yml or .yaml file", path.display())]
    Extension { path: PathBuf },
    #[error("{pattern:?}: invalid glob pattern: {reason}")]
    Pattern { pattern: String, reason: String },
}

/// One group as written in a file.
#[derive(Debug, Deserialize)]
struct RawGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Parses the content of one file into target groups.
pub fn parse_file(path: &Path, content: &str) -> Result<Vec<TargetGroup>, FileSdError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let raw: Vec<RawGroup> = match ext.as_str() {
        "json" => serde_json::from_str(content).map_err(|source| FileSdError::Json {
            path: path.to_owned(),
            source,
        })?,
        "yml" | "yaml" => {
            let value: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(content).map_err(|source| FileSdError::Yaml {
                    path: path.to_owned(),
                    source,
                })?;
            if value.is_null() {
                Vec::new()
            } else {
                serde_yaml_ng::from_value(value).map_err(|source| FileSdError::Yaml {
                    path: path.to_owned(),
                    source,
                })?
            }
        }
        _ => {
            return Err(FileSdError::Extension {
                path: path.to_owned(),
            })
        }
    };
    let file = path.to_string_lossy();
    raw.into_iter()
        .enumerate()
        .map(|(i, group)| {
            if let Some(name) = group.labels.keys().find(|n| !is_valid_label_name(n)) {
                return Err(FileSdError::InvalidLabelName {
                    path: path.to_owned(),
                    name: name.clone(),
                });
            }
            let mut labels = Labels::from_pairs(&group.labels).to_builder();
            labels.set(FILEPATH_LABEL, file.as_ref());
            Ok(TargetGroup {
                source: format!("{file}:{i}"),
                targets: group.targets.iter().map(|t| address_labels(t)).collect(),
                labels: labels.build(),
            })
        })
        .collect()
}

/// The state of one `file_sd_configs` entry: the groups last read from each file.
#[derive(Debug)]
pub struct FileSd {
    patterns: Vec<String>,
    groups: BTreeMap<PathBuf, Vec<TargetGroup>>,
}

impl FileSd {
    pub fn new(config: &FileSdConfig) -> Self {
        Self {
            patterns: config.files.clone(),
            groups: BTreeMap::new(),
        }
    }

    /// Directories to watch for changes: the parent of every pattern.
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .patterns
            .iter()
            .map(|p| match Path::new(p).parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
                _ => PathBuf::from("."),
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Current groups, in file order.
    pub fn groups(&self) -> impl Iterator<Item = &TargetGroup> {
        self.groups.values().flatten()
    }

    /// Lists and reads the matching files, then [`apply`](Self::apply)s them. Returns whether
    /// the groups changed, and the problems met (to be logged).
    pub fn refresh(&mut self) -> (bool, Vec<FileSdError>) {
        let mut errors = Vec::new();
        let mut files = BTreeMap::new();
        for pattern in &self.patterns {
            match expand_pattern(pattern) {
                Ok(paths) => {
                    for path in paths {
                        let content = std::fs::read_to_string(&path);
                        files.insert(path, content);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let (changed, mut read_errors) = self.apply(files);
        errors.append(&mut read_errors);
        (changed, errors)
    }

    /// Replaces the groups with those of `files` (every file currently matching, with its
    /// content or read error). A file that fails keeps its previous groups.
    pub fn apply(
        &mut self,
        files: BTreeMap<PathBuf, std::io::Result<String>>,
    ) -> (bool, Vec<FileSdError>) {
        let mut errors = Vec::new();
        let mut next = BTreeMap::new();
        for (path, content) in files {
            let parsed = content
                .map_err(|source| FileSdError::Read {
                    path: path.clone(),
                    source,
                })
                .and_then(|text| parse_file(&path, &text));
            match parsed {
                Ok(groups) => {
                    next.insert(path, groups);
                }
                Err(e) => {
                    errors.push(e);
                    if let Some(previous) = self.groups.get(&path).cloned() {
                        next.insert(path, previous);
                    }
                }
            }
        }
        let changed = next != self.groups;
        self.groups = next;
        (changed, errors)
    }
}

/// The existing files matching `pattern`, sorted. Only the last component may hold a glob, as
/// config validation ensures.
fn expand_pattern(pattern: &str) -> Result<Vec<PathBuf>, FileSdError> {
    let path = Path::new(pattern);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.contains(['*', '?', '[']) {
        return Ok(if path.is_file() {
            vec![path.to_owned()]
        } else {
            Vec::new()
        });
    }
    let matcher = glob_regex(name).map_err(|reason| FileSdError::Pattern {
        pattern: pattern.to_owned(),
        reason,
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A missing directory matches nothing, like Go's filepath.Glob.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| matcher.is_match(n)))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// Translates a Go `filepath.Match` pattern for one path component into an anchored regex.
fn glob_regex(glob: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                let mut closed = false;
                let mut first = true;
                while let Some(c) = chars.next() {
                    match c {
                        ']' if !first => {
                            closed = true;
                            break;
                        }
                        '^' if first => re.push('^'),
                        // Go escapes with a backslash inside classes too; `[`, `&` and `~`
                        // are operators in Rust classes, so they are escaped.
                        '\\' => match chars.next() {
                            Some(escaped) => re.push_str(&regex::escape(&escaped.to_string())),
                            None => return Err("trailing backslash".to_owned()),
                        },
                        '[' | '&' | '~' => {
                            re.push('\\');
                            re.push(c);
                        }
                        _ => re.push(c),
                    }
                    first = false;
                }
                if !closed {
                    return Err("unterminated character class".to_owned());
                }
                re.push(']');
            }
            '\\' => match chars.next() {
                Some(escaped) => re.push_str(&regex::escape(&escaped.to_string())),
                None => return Err("trailing backslash".to_owned()),
            },
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn parses_json_and_yaml_groups() {
        let json =
            r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#;
        let groups = parse_file(Path::new("/sd/x.json"), json).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].source, "/sd/x.json:0");
        assert_eq!(
            groups[0].targets,
            [address_labels("a:1"), address_labels("b:2")]
        );
        assert_eq!(groups[0].labels.get("env"), Some("prod"));
        assert_eq!(groups[1].labels.get(FILEPATH_LABEL), Some("/sd/x.json"));
        let yaml = "- targets: [d:4]\n  labels: {team: t}\n";
        let groups = parse_file(Path::new("/sd/y.yml"), yaml).unwrap();
        assert_eq!(groups[0].targets, [address_labels("d:4")]);
        assert!(parse_file(Path::new("/sd/empty.yaml"), "")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rejects_bad_files() {
        assert!(matches!(
            parse_file(Path::new("x.json"), "{"),
            Err(FileSdError::Json { .. })
        ));
        assert!(matches!(
            parse_file(Path::new("x.yml"), "- labels: {'a-b': x}"),
            Err(FileSdError::InvalidLabelName { .. })
        ));
        assert!(matches!(
            parse_file(Path::new("x.txt"), "[]"),
            Err(FileSdError::Extension { .. })
        ));
    }

    #[test]
    fn globs_match_like_go() {
        let re = glob_regex("node-*.json").unwrap();
        assert!(
            re.is_match("node-a.json") && !re.is_match("node-a.yml") && !re.is_match("xnode-.json")
        );
        let re = glob_regex("t?.[jy]*").unwrap();
        assert!(re.is_match("t1.json") && re.is_match("t2.yml") && !re.is_match("t1.txt"));
        let re = glob_regex("[^a]*.json").unwrap();
        assert!(re.is_match("b.json") && !re.is_match("a.json"));
        assert!(glob_regex("[ab.json").is_err());
    }

    #[test]
    fn bad_file_keeps_previous_groups_and_removed_file_loses_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = FileSdConfig {
            files: vec![format!("{}/*.json", dir.path().display())],
            refresh_interval: crate::config::PromDuration::from_secs(60),
        };
        let mut sd = FileSd::new(&config);
        let a = write(dir.path(), "a.json", r#"[{"targets": ["a:1"]}]"#);
        write(dir.path(), "ignored.yml", "- targets: [z:1]\n");
        let (changed, errors) = sd.refresh();
        assert!(changed && errors.is_empty());
        assert_eq!(sd.groups().count(), 1);

        write(dir.path(), "a.json", "[{\"targets\": ");
        let (changed, errors) = sd.refresh();
        assert!(!changed);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(sd.groups().next().unwrap().targets, [address_labels("a:1")]);

        write(dir.path(), "a.json", r#"[{"targets": ["a:2"]}]"#);
        write(dir.path(), "b.json", r#"[{"targets": ["b:1"]}]"#);
        let (changed, _) = sd.refresh();
        assert!(changed);
        let targets: Vec<_> = sd.groups().flat_map(|g| g.targets.clone()).collect();
        assert_eq!(targets, [address_labels("a:2"), address_labels("b:1")]);

        std::fs::remove_file(a).unwrap();
        let (changed, errors) = sd.refresh();
        assert!(changed && errors.is_empty());
        assert_eq!(sd.groups().count(), 1);
        assert_eq!(sd.watch_dirs(), [dir.path().to_owned()]);
    }
}
