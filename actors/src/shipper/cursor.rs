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
//! **File.** `<storage>/remote/<endpoint-key>/cursors`, fixed size, little-endian:
//!
//! ```text
//! header  "SKYVCUR\0" (8) | version = 2 (u32) | queues (u32)
//! slot 0  seq (u64) | queues x { acked (u64) | in_flight (u64) | has_in_flight (u8) } | crc (u32)
//! slot 1  same layout
//! ```
//!
//! positions being `WalPos::as_u64`, and `crc` the CRC32C of the header and the slot's bytes
//! before it. The file is created once, atomically (written to `cursors.tmp`, fsynced, renamed,
//! directory fsynced). Every later save overwrites, in place, the slot that does *not* hold the
//! newest state, with the next sequence number, then `fdatasync`s: the size never changes, so
//! there is no rename, no directory fsync and no inode write per save, which is what made saves
//! the agent's largest single cost. A crash mid-write can tear only that slot; its CRC then
//! fails and the other slot, the previous durable state, is loaded: **the valid slot with the
//! highest sequence wins**. After a failed write the file is recreated atomically before the
//! next save, since the torn slot may be the only intact one if the next write tore too.
//!
//! If the file names a different queue count (the user changed `max_shards`), series have
//! moved between queues and per-queue positions no longer mean anything: every queue restarts
//! from the minimum `acked`, which may resend (never lose) a little data under new identities,
//! and the next save recreates the file for the new count.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::wal::WalPos;

const FILE_NAME: &str = "cursors";
const TMP_NAME: &str = "cursors.tmp";
const MAGIC: [u8; 8] = *b"SKYVCUR\0";
const VERSION: u32 = 2;
const HEADER_LEN: usize = 16;
/// `acked`, `in_flight`, `has_in_flight`.
const CURSOR_LEN: usize = 17;

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
    #[error("cursors file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: &'static str },
    #[error("cursors file {path} has version {version}, expected {VERSION}")]
    Version { path: PathBuf, version: u32 },
    #[error("cursors file {path} is {len} bytes, which does not fit {queues} queues")]
    Size {
        path: PathBuf,
        len: usize,
        queues: u32,
    },
}

/// The layout of the file on disk, and the sequence of its newest slot.
#[derive(Debug)]
struct Written {
    queues: u32,
    seq: u64,
    /// Opened for writing at the first in-place save.
    file: Option<File>,
}

/// The cursors file of one endpoint. Not `Clone`: it remembers which slot holds the newest
/// state, so exactly one owner (the keeper) may write it.
#[derive(Debug)]
pub struct CursorStore {
    dir: PathBuf,
    /// `None` until the file has been loaded or created with a known layout, and after a
    /// failed write (the next save recreates the file).
    written: Option<Written>,
}

impl CursorStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, written: None }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Loads the cursors for `queues` queues; `None` when the endpoint has never acknowledged
    /// anything. A file for another queue count is collapsed to its minimum (see module doc).
    pub fn load(&mut self, queues: u32) -> Result<Option<Vec<QueueCursor>>, CursorError> {
        self.written = None;
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CursorError::Io { path, source }),
        };
        let (stored_queues, seq, cursors) = decode(&bytes).map_err(|fault| match fault {
            Fault::Corrupt(reason) => CursorError::Corrupt { path, reason },
            Fault::Version(version) => CursorError::Version {
                path: self.path(),
                version,
            },
            Fault::Size { queues } => CursorError::Size {
                path: self.path(),
                len: bytes.len(),
                queues,
            },
        })?;
        if stored_queues == queues {
            self.written = Some(Written {
                queues,
                seq,
                file: None,
            });
            return Ok(Some(cursors));
        }
        let min = resume_from(&cursors).unwrap_or(WalPos::ZERO);
        Ok(Some(vec![
            QueueCursor {
                acked: min,
                in_flight: None
            };
            queues as usize
        ]))
    }

    /// Makes `cursors` the durable state: in place when the file has this layout, otherwise by
    /// creating it anew (see module doc).
    pub fn save(&mut self, cursors: &[QueueCursor]) -> Result<(), CursorError> {
        let queues = cursors.len() as u32;
        let path = self.path();
        let Some(written) = self.written.as_mut().filter(|w| w.queues == queues) else {
            return self.create(cursors);
        };
        let file = match written.file.take() {
            Some(file) => file,
            None => match OpenOptions::new().write(true).open(&path) {
                Ok(file) => file,
                Err(_) => return self.create(cursors),
            },
        };
        let seq = written.seq + 1;
        let slot = encode_slot(queues, seq, cursors);
        let offset = slot_offset(queues, seq);
        match file
            .write_all_at(&slot, offset)
            .and_then(|()| file.sync_data())
        {
            Ok(()) => {
                written.seq = seq;
                written.file = Some(file);
                Ok(())
            }
            Err(source) => {
                self.written = None;
                Err(CursorError::Io { path, source })
            }
        }
    }

    /// Writes a fresh file (slot 1 holds `cursors`, slot 0 is blank) and renames it into place.
    fn create(&mut self, cursors: &[QueueCursor]) -> Result<(), CursorError> {
        self.written = None;
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CursorError::Io { path, source }
        };
        let queues = cursors.len() as u32;
        let seq = 1;
        let slot = encode_slot(queues, seq, cursors);
        let mut bytes = header(queues).to_vec();
        bytes.resize(HEADER_LEN + slot.len(), 0);
        bytes.extend_from_slice(&slot);

        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let tmp = self.dir.join(TMP_NAME);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        file.write_all(&bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        let path = self.path();
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        // The handle follows the inode through the rename.
        self.written = Some(Written {
            queues,
            seq,
            file: Some(file),
        });
        Ok(())
    }
}

/// The position the shipper's reader starts from: the minimum `acked`.
pub fn resume_from(cursors: &[QueueCursor]) -> Option<WalPos> {
    cursors.iter().map(|c| c.acked).min()
}

/// What is wrong with a file's bytes; turned into a [`CursorError`] with the path.
#[derive(Debug, PartialEq, Eq)]
enum Fault {
    Corrupt(&'static str),
    Version(u32),
    Size { queues: u32 },
}

fn slot_len(queues: u32) -> usize {
    8 + queues as usize * CURSOR_LEN + 4
}

/// Where the slot for sequence `seq` lives: slots alternate, so a save never overwrites the
/// newest intact state.
fn slot_offset(queues: u32, seq: u64) -> u64 {
    (HEADER_LEN + (seq % 2) as usize * slot_len(queues)) as u64
}

fn header(queues: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..].copy_from_slice(&queues.to_le_bytes());
    h
}

fn encode_slot(queues: u32, seq: u64, cursors: &[QueueCursor]) -> Vec<u8> {
    let mut slot = Vec::with_capacity(slot_len(queues));
    slot.extend_from_slice(&seq.to_le_bytes());
    for c in cursors {
        slot.extend_from_slice(&c.acked.as_u64().to_le_bytes());
        let in_flight = c.in_flight.map_or(0, WalPos::as_u64);
        slot.extend_from_slice(&in_flight.to_le_bytes());
        slot.push(u8::from(c.in_flight.is_some()));
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header(queues)), &slot);
    slot.extend_from_slice(&crc.to_le_bytes());
    slot
}

/// A slot's sequence and cursors, or `None` when its CRC does not match (torn or blank).
fn decode_slot(header: &[u8], slot: &[u8]) -> Option<(u64, Vec<QueueCursor>)> {
    let (body, crc) = slot.split_at(slot.len() - 4);
    if crc32c::crc32c_append(crc32c::crc32c(header), body).to_le_bytes() != crc {
        return None;
    }
    let u64_at = |b: &[u8], at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let cursors = body[8..]
        .chunks_exact(CURSOR_LEN)
        .map(|c| QueueCursor {
            acked: WalPos::from_u64(u64_at(c, 0)),
            in_flight: (c[16] != 0).then(|| WalPos::from_u64(u64_at(c, 8))),
        })
        .collect();
    Some((u64_at(body, 0), cursors))
}

/// The queue count, sequence and cursors of the newest intact slot.
fn decode(bytes: &[u8]) -> Result<(u32, u64, Vec<QueueCursor>), Fault> {
    if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
        return Err(Fault::Corrupt("not a cursors file"));
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let (version, queues) = (word(8), word(12));
    if version != VERSION {
        return Err(Fault::Version(version));
    }
    let len = slot_len(queues);
    if queues == 0 || bytes.len() != HEADER_LEN + 2 * len {
        return Err(Fault::Size { queues });
    }
    let (header, slots) = bytes.split_at(HEADER_LEN);
    slots
        .chunks_exact(len)
        .filter_map(|slot| decode_slot(header, slot))
        .max_by_key(|(seq, _)| *seq)
        .map(|(seq, cursors)| (queues, seq, cursors))
        .ok_or(Fault::Corrupt("neither slot is intact"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(segment: u32, offset: u32) -> WalPos {
        WalPos { segment, offset }
    }

    fn sample_cursors() -> Vec<QueueCursor> {
        vec![
            QueueCursor {
                acked: pos(3, 100),
                in_flight: Some(pos(3, 900)),
            },
            QueueCursor {
                acked: pos(2, 7),
                in_flight: None,
            },
        ]
    }

    fn at(acked: u32) -> Vec<QueueCursor> {
        vec![
            QueueCursor {
                acked: pos(4, acked),
                in_flight: Some(pos(4, acked + 10)),
            };
            2
        ]
    }

    #[test]
    fn saves_and_loads_in_place_without_changing_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CursorStore::new(dir.path().join("remote/abc"));
        assert!(store.load(2).unwrap().is_none());
        let cursors = sample_cursors();
        store.save(&cursors).unwrap();
        let reader = || {
            CursorStore::new(dir.path().join("remote/abc"))
                .load(2)
                .unwrap()
        };
        assert_eq!(reader(), Some(cursors.clone()));
        assert_eq!(resume_from(&cursors), Some(pos(2, 7)));
        assert!(!dir.path().join("remote/abc/cursors.tmp").exists());
        let len = fs::metadata(store.path()).unwrap().len();
        assert_eq!(len as usize, HEADER_LEN + 2 * slot_len(2));

        // Later saves alternate slots in place; the last one wins.
        for acked in [10, 20, 30] {
            store.save(&at(acked)).unwrap();
            assert_eq!(reader(), Some(at(acked)));
            assert_eq!(fs::metadata(store.path()).unwrap().len(), len);
        }

        // A store that loaded the file continues its sequence rather than restarting it.
        let mut resumed = CursorStore::new(dir.path().join("remote/abc"));
        assert_eq!(resumed.load(2).unwrap(), Some(at(30)));
        resumed.save(&at(40)).unwrap();
        assert_eq!(reader(), Some(at(40)));
    }

    #[test]
    fn a_torn_slot_falls_back_to_the_other_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CursorStore::new(dir.path().to_path_buf());
        store.save(&at(10)).unwrap(); // created: seq 1, slot 1
        store.save(&at(20)).unwrap(); // seq 2, slot 0
        store.save(&at(30)).unwrap(); // seq 3, slot 1
        let path = store.path();
        let good = fs::read(&path).unwrap();

        // Tear the newest slot (seq 3) anywhere: the previous state is loaded.
        let newest = slot_offset(2, 3) as usize;
        for at_byte in [newest, newest + 9, newest + slot_len(2) - 1] {
            let mut torn = good.clone();
            torn[at_byte] ^= 0x40;
            fs::write(&path, &torn).unwrap();
            let mut fresh = CursorStore::new(dir.path().to_path_buf());
            assert_eq!(fresh.load(2).unwrap(), Some(at(20)), "byte {at_byte}");
            // The next save goes to the torn slot (seq 3 again), leaving seq 2 intact.
            fresh.save(&at(35)).unwrap();
            assert_eq!(
                CursorStore::new(dir.path().to_path_buf()).load(2).unwrap(),
                Some(at(35))
            );
        }

        // A write that never reached the disk (slot still zero) is no state at all.
        let mut blank = good.clone();
        blank[newest..newest + slot_len(2)].fill(0);
        fs::write(&path, &blank).unwrap();
        assert_eq!(
            CursorStore::new(dir.path().to_path_buf()).load(2).unwrap(),
            Some(at(20))
        );

        // Both slots damaged: nothing trustworthy is left.
        let mut both = good;
        both[slot_offset(2, 2) as usize + 3] ^= 1;
        both[newest + 3] ^= 1;
        fs::write(&path, &both).unwrap();
        assert!(matches!(
            CursorStore::new(dir.path().to_path_buf()).load(2),
            Err(CursorError::Corrupt {
                reason: "neither slot is intact",
                ..
            })
        ));
    }

    #[test]
    fn blank_slots_never_pass_the_crc() {
        for queues in 1..=8u32 {
            let bytes = vec![0u8; slot_len(queues)];
            assert_eq!(
                decode_slot(&header(queues), &bytes),
                None,
                "{queues} queues"
            );
        }
    }

    #[test]
    fn other_queue_count_collapses_to_minimum_and_recreates_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CursorStore::new(dir.path().to_path_buf());
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
        let mut three = CursorStore::new(dir.path().to_path_buf());
        assert_eq!(three.load(3).unwrap(), Some(want.clone()));
        three.save(&want).unwrap();
        assert_eq!(
            fs::metadata(three.path()).unwrap().len() as usize,
            HEADER_LEN + 2 * slot_len(3)
        );
        assert_eq!(
            CursorStore::new(dir.path().to_path_buf()).load(3).unwrap(),
            Some(want)
        );
    }

    #[test]
    fn rejects_foreign_and_mis_sized_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CursorStore::new(dir.path().to_path_buf());
        fs::write(store.path(), br#"{"version":1,"queues":1}"#).unwrap();
        assert!(matches!(
            store.load(1),
            Err(CursorError::Corrupt {
                reason: "not a cursors file",
                ..
            })
        ));

        let mut other_version = header(1).to_vec();
        other_version[8] = 9;
        fs::write(store.path(), &other_version).unwrap();
        assert!(matches!(
            store.load(1),
            Err(CursorError::Version { version: 9, .. })
        ));

        store.save(&sample_cursors()).unwrap();
        let mut short = fs::read(store.path()).unwrap();
        short.pop();
        fs::write(store.path(), &short).unwrap();
        assert!(matches!(
            store.load(2),
            Err(CursorError::Size { queues: 2, len, .. }) if len == short.len()
        ));
    }
}
