//! Per-queue cursors, and the file that makes them survive a restart.
//!
//! A queue's cursor has two parts:
//!
//! - `acked`: the WAL position of the first record that may still hold an unacknowledged
//!   sample of the queue. Every sample of the queue in a record below it has been delivered
//!   (or deliberately dropped).
//! - `in_flight`: while a batch is being sent, the position of its last record. It is persisted
//!   *before* the batch is sent so a restarted agent rebuilds exactly that batch and resends it
//!   under the same `X-Skyview-Batch` identity (see `batch.rs`).
//!
//! On start the shipper reads the WAL from the minimum `acked` over queues and each queue skips
//! its own samples below its own `acked`. A restart thus loses nothing and resends at most the
//! one unacknowledged batch per queue.
//!
//! File: `<storage>/remote/<endpoint-key>/cursors`, JSON:
//! `{"version":1,"queues":8,"cursors":[{"acked":<u64>,"in_flight":<u64>|null}, ...]}` where the
//! numbers are `WalPos::as_u64`. It is replaced atomically: written to `cursors.tmp`, fsynced,
//! renamed over `cursors`, then the directory is fsynced, so a crash leaves the old or the new
//! file, never a torn one. If the file names a different queue count (the user changed
//! `max_shards`), series have moved between queues and per-queue positions no longer mean
//! anything: every queue restarts from the minimum `acked`, which may resend (never lose) a
//! little data under new identities.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::wal::WalPos;

const FILE_NAME: &str = "cursors";
const TMP_NAME: &str = "cursors.tmp";
const VERSION: u32 = 1;

/// One queue's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCursor {
    pub acked: WalPos,
    pub in_flight: Option<WalPos>,
}

/// Why the cursors file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("cursors file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cursors file {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cursors file {path} has version {version}, expected {VERSION}")]
    Version { path: PathBuf, version: u32 },
    #[error("cursors could not be serialised: {0}")]
    Encode(serde_json::Error),
    #[error("cursors file {path} lists {listed} cursors for {queues} queues")]
    Count {
        path: PathBuf,
        listed: usize,
        queues: u32,
    },
}

#[derive(Serialize, Deserialize)]
struct FileCursor {
    acked: u64,
    in_flight: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct FileBody {
    version: u32,
    queues: u32,
    cursors: Vec<FileCursor>,
}

/// The cursors file of one endpoint.
#[derive(Debug, Clone)]
pub struct CursorStore {
    dir: PathBuf,
}

impl CursorStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Loads the cursors for `queues` queues; `None` when the endpoint has never acknowledged
    /// anything. A file for another queue count is collapsed to its minimum (see module doc).
    pub fn load(&self, queues: u32) -> Result<Option<Vec<QueueCursor>>, CursorError> {
        let path = self.path();
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CursorError::Io { path, source }),
        };
        let body: FileBody =
            serde_json::from_slice(&text).map_err(|source| CursorError::Corrupt {
                path: path.clone(),
                source,
            })?;
        if body.version != VERSION {
            return Err(CursorError::Version {
                path,
                version: body.version,
            });
        }
        if body.cursors.len() != body.queues as usize || body.queues == 0 {
            return Err(CursorError::Count {
                path,
                listed: body.cursors.len(),
                queues: body.queues,
            });
        }
        let cursors: Vec<QueueCursor> = body
            .cursors
            .iter()
            .map(|c| QueueCursor {
                acked: WalPos::from_u64(c.acked),
                in_flight: c.in_flight.map(WalPos::from_u64),
            })
            .collect();
        if body.queues == queues {
            return Ok(Some(cursors));
        }
        let min = cursors
            .iter()
            .map(|c| c.acked)
            .min()
            .unwrap_or(WalPos::ZERO);
        Ok(Some(vec![
            QueueCursor {
                acked: min,
                in_flight: None
            };
            queues as usize
        ]))
    }

    /// Replaces the file atomically and durably.
    pub fn save(&self, cursors: &[QueueCursor]) -> Result<(), CursorError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CursorError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let body = FileBody {
            version: VERSION,
            queues: cursors.len() as u32,
            cursors: cursors
                .iter()
                .map(|c| FileCursor {
                    acked: c.acked.as_u64(),
                    in_flight: c.in_flight.map(WalPos::as_u64),
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&body).map_err(CursorError::Encode)?;
        let tmp = self.dir.join(TMP_NAME);
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(&bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        drop(file);
        let path = self.path();
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        Ok(())
    }
}

/// The position the shipper's reader starts from: the minimum `acked`.
pub fn resume_from(cursors: &[QueueCursor]) -> Option<WalPos> {
    cursors.iter().map(|c| c.acked).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(segment: u32, offset: u32) -> WalPos {
        WalPos { segment, offset }
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path().join("remote/abc"));
        assert!(store.load(2).unwrap().is_none());
        let cursors = vec![
            QueueCursor {
                acked: pos(3, 100),
                in_flight: Some(pos(3, 900)),
            },
            QueueCursor {
                acked: pos(2, 7),
                in_flight: None,
            },
        ];
        store.save(&cursors).unwrap();
        assert_eq!(store.load(2).unwrap(), Some(cursors.clone()));
        assert_eq!(resume_from(&cursors), Some(pos(2, 7)));
        assert!(!dir.path().join("remote/abc/cursors.tmp").exists());

        // Overwrite: the last save wins.
        let later = vec![
            QueueCursor {
                acked: pos(4, 0),
                in_flight: None
            };
            2
        ];
        store.save(&later).unwrap();
        assert_eq!(store.load(2).unwrap(), Some(later));
    }

    #[test]
    fn other_queue_count_collapses_to_minimum() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path().to_path_buf());
        store
            .save(&[
                QueueCursor {
                    acked: pos(5, 0),
                    in_flight: Some(pos(5, 10)),
                },
                QueueCursor {
                    acked: pos(4, 50),
                    in_flight: None,
                },
            ])
            .unwrap();
        let want = vec![
            QueueCursor {
                acked: pos(4, 50),
                in_flight: None
            };
            3
        ];
        assert_eq!(store.load(3).unwrap(), Some(want));
    }

    #[test]
    fn rejects_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path().to_path_buf());
        fs::write(store.path(), b"{\"version\":1,").unwrap();
        assert!(matches!(store.load(1), Err(CursorError::Corrupt { .. })));
        fs::write(
            store.path(),
            br#"{"version":9,"queues":1,"cursors":[{"acked":0,"in_flight":null}]}"#,
        )
        .unwrap();
        assert!(matches!(
            store.load(1),
            Err(CursorError::Version { version: 9, .. })
        ));
        fs::write(store.path(), br#"{"version":1,"queues":2,"cursors":[]}"#).unwrap();
        assert!(matches!(
            store.load(2),
            Err(CursorError::Count {
                listed: 0,
                queues: 2,
                ..
            })
        ));
    }
}
