//! Bytes on disk of a directory tree, as `du --apparent-size` counts them.
//!
//! Apparent sizes (file lengths), not allocated blocks: RocksDB and the Go TSDBs may reserve
//! space ahead with `fallocate`, which says nothing about how compactly they store samples.
//! Hard links (Prometheus snapshots link block files) are counted once per path, which is
//! what a copy of the directory would take. RocksDB's info logs (`LOG`, `LOG.old.*`) are
//! diagnostic text, not storage, and are left out.

use std::path::Path;

use anyhow::{Context, Result};

/// Sum of the lengths of every regular file under `dir` (0 if it does not exist).
pub fn tree_bytes(dir: &Path) -> Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let mut total = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in
            std::fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && !is_rocksdb_info_log(&entry.file_name().to_string_lossy()) {
                total += entry.metadata()?.len();
            }
        }
    }
    Ok(total)
}

fn is_rocksdb_info_log(name: &str) -> bool {
    name == "LOG" || name.starts_with("LOG.old.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 10]).unwrap();
        std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
        std::fs::write(dir.path().join("x/y/b"), [0u8; 32]).unwrap();
        std::fs::write(dir.path().join("x/LOG"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("x/LOG.old.1795259707210514"), [0u8; 100]).unwrap();
        assert_eq!(tree_bytes(dir.path()).unwrap(), 42);
        assert_eq!(tree_bytes(&dir.path().join("missing")).unwrap(), 0);
    }
}
