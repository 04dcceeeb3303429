//! The WAL directory: file names, listing, and the directory fsync that makes a creation,
//! rename or deletion durable. Everything that names a file in the WAL goes through here, so
//! the writer, replay and readers agree on what the directory holds.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::WalError;

const CHECKPOINT_PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";

pub fn segment_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{number:08}"))
}

pub fn checkpoint_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{number:08}"))
}

pub fn checkpoint_tmp_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{number:08}{TMP_SUFFIX}"))
}

/// What the directory holds, sorted ascending. Files the WAL does not own are ignored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub segments: Vec<u32>,
    pub checkpoints: Vec<u32>,
    /// Temporary files of an interrupted checkpoint.
    pub leftovers: Vec<PathBuf>,
}

impl Listing {
    pub fn latest_checkpoint(&self) -> Option<u32> {
        self.checkpoints.last().copied()
    }
}

fn parse_number(digits: &str) -> Option<u32> {
    (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub fn list(dir: &Path) -> Result<Listing, WalError> {
    let mut listing = Listing::default();
    let entries = fs::read_dir(dir).map_err(|e| WalError::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io("listing", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(TMP_SUFFIX) && name.starts_with(CHECKPOINT_PREFIX) {
            listing.leftovers.push(entry.path());
        } else if let Some(n) = name.strip_prefix(CHECKPOINT_PREFIX).and_then(parse_number) {
            listing.checkpoints.push(n);
        } else if let Some(n) = parse_number(name) {
            listing.segments.push(n);
        }
    }
    listing.segments.sort_unstable();
    listing.checkpoints.sort_unstable();
    listing.leftovers.sort_unstable();
    Ok(listing)
}

/// Makes creations, renames and deletions in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), WalError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io("fsyncing directory", dir, e))
}

/// Deletes a file; a file that is already gone is fine.
pub fn remove(path: &Path) -> Result<(), WalError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WalError::io("deleting", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_wal_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "00000003",
            "00000001",
            "checkpoint.00000002",
            "checkpoint.00000004.tmp",
            "cursor",
            "123",
            "0000000x",
        ] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        let listing = list(dir.path()).unwrap();
        assert_eq!(listing.segments, [1, 3]);
        assert_eq!(listing.checkpoints, [2]);
        assert_eq!(listing.leftovers, [checkpoint_tmp_path(dir.path(), 4)]);
        assert_eq!(segment_path(dir.path(), 3), dir.path().join("00000003"));
        assert_eq!(
            checkpoint_path(dir.path(), 2),
            dir.path().join("checkpoint.00000002")
        );
    }
}
