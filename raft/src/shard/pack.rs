//! The snapshot pack: a shard checkpoint's files in one buffer, as openraft's snapshot data
//! (`Cursor<Vec<u8>>`). The format is specified in the [`shard`](crate::shard) module header.
//!
//! [`parse`] is pure and checks everything before [`unpack_to_dir`] writes a byte, so a
//! corrupt or truncated transfer leaves the follower as it was.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use crate::shard::ShardError;

/// First bytes of every pack; the last byte is the format version.
pub const MAGIC: &[u8; 8] = b"SKYSNAP1";
/// Most files a pack may hold (one per TSDB column family; there are six today).
pub const MAX_FILES: u32 = 64;
/// Longest file name a pack may hold.
pub const MAX_NAME_LEN: usize = 255;

/// Why a buffer is not a valid pack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// It does not start with [`MAGIC`] (another format or version).
    #[error("not a snapshot pack (bad magic {found:02x?})")]
    BadMagic {
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// It ends inside a field.
    #[error("truncated at byte {offset} reading {field}")]
    Truncated {
        /// Where the missing field starts.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// It claims more files than a checkpoint can have.
    #[error("{count} files, at most {MAX_FILES} allowed")]
    TooManyFiles {
        /// The claimed count.
        count: u32,
    },
    /// A file name is not `[a-z0-9_]+.sst`, or is not in strictly ascending order.
    #[error("invalid or out-of-order file name {name:?}")]
    BadName {
        /// The name, lossily decoded.
        name: String,
    },
    /// The checksum does not match the content.
    #[error("checksum mismatch: stored {stored:#018x}, computed {computed:#018x}")]
    Checksum {
        /// The checksum in the pack.
        stored: u64,
        /// The checksum of the bytes received.
        computed: u64,
    },
    /// Bytes follow the checksum.
    #[error("{extra} bytes after the checksum")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

/// One file in a parsed pack, borrowing from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedFile<'a> {
    /// The file's name (a plain name, no directory).
    pub name: &'a str,
    /// Its content.
    pub bytes: &'a [u8],
}

/// Whether `name` may be a file of a pack: `[a-z0-9_]+.sst`, so it can only ever name a file
/// inside the directory it is unpacked into.
fn valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name.strip_suffix(".sst").is_some_and(|stem| {
            !stem.is_empty()
                && stem
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Reads pack fields front to back, reporting where it ran out.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], PackError> {
        let truncated = PackError::Truncated {
            offset: self.offset,
            field,
        };
        let end = self.offset.checked_add(len).ok_or(truncated.clone())?;
        let out = self.bytes.get(self.offset..end).ok_or(truncated)?;
        self.offset = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], PackError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }
}

/// Checks `bytes` whole and returns its files, in the pack's order.
pub fn parse(bytes: &[u8]) -> Result<Vec<PackedFile<'_>>, PackError> {
    if !bytes.starts_with(MAGIC) {
        return Err(PackError::BadMagic {
            found: bytes[..bytes.len().min(MAGIC.len())].to_vec(),
        });
    }
    let mut reader = Reader { bytes, offset: 0 };
    let body_len = bytes
        .len()
        .checked_sub(8)
        .filter(|&len| len >= MAGIC.len())
        .ok_or(PackError::Truncated {
            offset: bytes.len(),
            field: "checksum",
        })?;
    reader.offset = body_len;
    let stored = u64::from_be_bytes(reader.array("checksum")?);
    let computed = xxh3_64(&bytes[..body_len]);
    if stored != computed {
        return Err(PackError::Checksum { stored, computed });
    }
    let mut reader = Reader {
        bytes: &bytes[..body_len],
        offset: MAGIC.len(),
    };
    let count = u32::from_be_bytes(reader.array("count")?);
    if count > MAX_FILES {
        return Err(PackError::TooManyFiles { count });
    }
    let mut files: Vec<PackedFile<'_>> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let name_len = usize::from(u16::from_be_bytes(reader.array("name length")?));
        let raw_name = reader.take(name_len, "name")?;
        let name = std::str::from_utf8(raw_name)
            .ok()
            .filter(|name| valid_name(name))
            .filter(|name| files.last().is_none_or(|previous| previous.name < *name))
            .ok_or_else(|| PackError::BadName {
                name: String::from_utf8_lossy(raw_name).into_owned(),
            })?;
        let size = u64::from_be_bytes(reader.array("size")?);
        let size = usize::try_from(size).map_err(|_| PackError::Truncated {
            offset: reader.offset,
            field: "file",
        })?;
        let content = reader.take(size, "file")?;
        files.push(PackedFile {
            name,
            bytes: content,
        });
    }
    if reader.offset != body_len {
        return Err(PackError::TrailingBytes {
            extra: body_len - reader.offset,
        });
    }
    Ok(files)
}

/// Packs every `*.sst` file of `dir` (a shard checkpoint), in name order.
pub fn pack_dir(shard: u32, dir: &Path) -> Result<Vec<u8>, ShardError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ShardError::SnapshotIo {
            shard,
            path,
            source,
        }
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry
            .file_name()
            .into_string()
            .ok()
            .filter(|n| valid_name(n));
        match name {
            Some(name) => names.push(name),
            None => {
                tracing::warn!(shard, file = ?entry.path(), "unexpected file in checkpoint; not packed")
            }
        }
    }
    names.sort();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(names.len() as u32).to_be_bytes());
    for name in &names {
        let path = dir.join(name);
        let mut file = File::open(&path).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        let start = out.len();
        file.read_to_end(&mut out).map_err(io(&path))?;
        if (out.len() - start) as u64 != len {
            return Err(ShardError::SnapshotIo {
                shard,
                path,
                source: std::io::Error::other("file changed size while being packed"),
            });
        }
    }
    let checksum = xxh3_64(&out);
    out.extend_from_slice(&checksum.to_be_bytes());
    Ok(out)
}

/// Checks `bytes` and writes its files into `dir`, which must not exist yet; every file and
/// the directory are fsynced before this returns.
pub fn unpack_to_dir(shard: u32, bytes: &[u8], dir: &Path) -> Result<(), ShardError> {
    let files = parse(bytes).map_err(|source| ShardError::Pack { shard, source })?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ShardError::SnapshotIo {
            shard,
            path,
            source,
        }
    };
    fs::create_dir(dir).map_err(io(dir))?;
    for packed in files {
        let path = dir.join(packed.name);
        let mut file = File::create_new(&path).map_err(io(&path))?;
        file.write_all(packed.bytes).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::*;

    fn sample_dir() -> TempDir {
        let dir = TempDir::new().unwrap();
        fs::write(dir.path().join("series.sst"), b"series bytes").unwrap();
        fs::write(dir.path().join("chunks.sst"), vec![7u8; 10_000]).unwrap();
        fs::write(dir.path().join("meta.sst"), b"").unwrap();
        dir
    }

    #[test]
    fn a_directory_round_trips() {
        let source = sample_dir();
        let bytes = pack_dir(1, source.path()).unwrap();
        let files = parse(&bytes).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name).collect();
        assert_eq!(names, ["chunks.sst", "meta.sst", "series.sst"]);
        let target = TempDir::new().unwrap();
        let out = target.path().join("unpacked");
        unpack_to_dir(1, &bytes, &out).unwrap();
        for name in names {
            assert_eq!(
                fs::read(out.join(name)).unwrap(),
                fs::read(source.path().join(name)).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn an_empty_checkpoint_packs_to_a_header() {
        let source = TempDir::new().unwrap();
        let bytes = pack_dir(1, source.path()).unwrap();
        assert_eq!(bytes.len(), 8 + 4 + 8);
        assert_eq!(parse(&bytes).unwrap(), Vec::new());
    }

    #[test]
    fn every_flipped_bit_and_every_truncation_is_refused() {
        let source = sample_dir();
        fs::write(source.path().join("chunks.sst"), b"short").unwrap();
        let bytes = pack_dir(1, source.path()).unwrap();
        for i in 0..bytes.len() {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= 0x10;
            assert!(parse(&corrupt).is_err(), "flipped byte {i} accepted");
            assert!(parse(&bytes[..i]).is_err(), "truncation at {i} accepted");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer).is_err());
    }

    /// Builds a pack by hand, with a correct checksum, around `names`.
    fn pack_of(names: &[&str]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(names.len() as u32).to_be_bytes());
        for name in names {
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&1u64.to_be_bytes());
            out.push(b'x');
        }
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_be_bytes());
        out
    }

    #[test]
    fn names_that_could_escape_the_directory_are_refused() {
        assert!(parse(&pack_of(&["a.sst", "b.sst"])).is_ok());
        for bad in [
            "../x.sst",
            "/etc/x.sst",
            "a/b.sst",
            ".sst",
            "A.sst",
            "x.txt",
            "x.sst\0",
        ] {
            assert!(
                matches!(parse(&pack_of(&[bad])), Err(PackError::BadName { .. })),
                "{bad:?} accepted"
            );
        }
        // Duplicates and disorder are refused too: one file per name, written once.
        assert!(matches!(
            parse(&pack_of(&["a.sst", "a.sst"])),
            Err(PackError::BadName { .. })
        ));
        assert!(matches!(
            parse(&pack_of(&["b.sst", "a.sst"])),
            Err(PackError::BadName { .. })
        ));
    }

    #[test]
    fn a_refused_pack_writes_nothing() {
        let target = TempDir::new().unwrap();
        let out = target.path().join("unpacked");
        let mut bytes = pack_of(&["a.sst"]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(
            unpack_to_dir(2, &bytes, &out),
            Err(ShardError::Pack { shard: 2, .. })
        ));
        assert!(!out.exists());
    }
}
