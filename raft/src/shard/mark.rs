//! The applied mark's payload: what a shard group stores with the TSDB's applied mark so that
//! `applied_state()` after a restart is exactly what was flushed.
//!
//! Storage orders marks by log index only and keeps the payload opaque; the payload is
//! `postcard((LogId, StoredMembership))`: the entry's log id (with its leader id, which the
//! index alone does not give) and the membership in force after the entry.

use skyview_storage::tsdb::AppliedMark;

use crate::shard::ShardError;
use crate::type_config::{LogId, StoredMembership};

/// The mark of the entry `log_id`, after which `membership` is in force.
pub fn encode(
    shard: u32,
    log_id: &LogId,
    membership: &StoredMembership,
) -> Result<AppliedMark, ShardError> {
    let payload = postcard::to_stdvec(&(log_id, membership))
        .map_err(|source| ShardError::EncodeMark { shard, source })?;
    Ok(AppliedMark {
        index: log_id.index,
        payload,
    })
}

/// The log id and membership a mark stands for.
pub fn decode(shard: u32, mark: &AppliedMark) -> Result<(LogId, StoredMembership), ShardError> {
    postcard::from_bytes(&mark.payload).map_err(|source| ShardError::DecodeMark { shard, source })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use openraft::{CommittedLeaderId, Membership};

    use super::*;
    use crate::type_config::PeerNode;

    #[test]
    fn marks_round_trip_with_their_membership() {
        let log_id = LogId::new(CommittedLeaderId::new(4, 2), 17);
        let membership = StoredMembership::new(
            Some(LogId::new(CommittedLeaderId::new(3, 1), 9)),
            Membership::new(
                vec![BTreeSet::from([1, 2])],
                BTreeMap::from([
                    (1, PeerNode::new("http://a:1")),
                    (2, PeerNode::new("http://b:2")),
                ]),
            ),
        );
        let mark = encode(3, &log_id, &membership).unwrap();
        assert_eq!(mark.index, 17);
        assert_eq!(decode(3, &mark).unwrap(), (log_id, membership));
        let garbage = AppliedMark {
            index: 1,
            payload: vec![0xFF; 3],
        };
        assert!(matches!(
            decode(3, &garbage),
            Err(ShardError::DecodeMark { shard: 3, .. })
        ));
    }
}
