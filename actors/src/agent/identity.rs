//! The agent's identity: a random id created once per storage directory.
//!
//! It is the first part of every batch identity the shippers send, so it must survive restarts
//! (a retried batch after a restart must carry the same identity) and must differ between two
//! agents. Tying it to the storage directory does both: the WAL positions it qualifies live in
//! the same directory. The file is written atomically (tmp, fsync, rename, dir fsync).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

const FILE: &str = "agent_id";

/// Reads `<dir>/agent_id`, creating it with 16 random hex digits when it does not exist.
pub fn load_or_create(dir: &Path) -> io::Result<String> {
    let path = dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(id) if is_valid(id.trim()) => return Ok(id.trim().to_owned()),
        Ok(id) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a valid agent id: {:?}", path.display(), id.trim()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = format!("{:016x}", rand::random::<u64>());
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(id.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    fs::File::open(dir)?.sync_all()?;
    Ok(id)
}

fn is_valid(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(first.len(), 16);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
    }

    #[test]
    fn a_corrupt_id_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "not/valid").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
