//! Which segments to delete, and why: the consumers' acknowledgements and the disk budget.
//!
//! A pure state machine: [`Consumers`] holds what each consumer acknowledged, and [`plan`]
//! turns that, the segment list and the budget into [`Deletion`] commands the writer executes.
//!
//! * **Acknowledged**: a closed segment is deleted once every subscribed consumer has reported
//!   at least once and acknowledged a position at or past the segment's end. Without
//!   subscribers nothing is deleted this way.
//! * **Budget**: while the segments' total bytes exceed `max_bytes`, or the oldest segment's
//!   newest sample is older than `now - max_age`, the oldest segment is deleted even when not
//!   acknowledged; the deletion says from which offset its samples were unacknowledged, so
//!   the loss can be counted. A consumer that has not reported yet has acknowledged nothing;
//!   with no consumers at all nobody has acknowledged anything.
//!
//! Deletions are always a prefix of the log, oldest first, and never touch the segment being
//! written (the last one).

use std::collections::BTreeMap;

use super::segment::{SegmentMeta, SEGMENT_HEADER_LEN};
use super::WalPos;

/// The disk budget; 0 means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_bytes: u64,
    pub max_age_ms: i64,
}

/// What every consumer has acknowledged.
#[derive(Debug, Default)]
pub struct Consumers {
    acked: BTreeMap<String, Option<WalPos>>,
}

/// The lowest acknowledgement over all consumers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckFloor {
    NoConsumers,
    /// Some consumer has not reported yet.
    Unreported,
    /// Every consumer acknowledged everything before this position.
    At(WalPos),
}

impl Consumers {
    /// Registers a consumer, or resets one that subscribes again (it restarted and will
    /// report its own position).
    pub fn subscribe(&mut self, consumer: &str) {
        self.acked.insert(consumer.to_owned(), None);
    }

    pub fn unsubscribe(&mut self, consumer: &str) -> bool {
        self.acked.remove(consumer).is_some()
    }

    /// Records an acknowledgement. Acknowledgements never move back: the segments before an
    /// earlier one may already be gone. False when the consumer is not subscribed.
    pub fn progress(&mut self, consumer: &str, acked: WalPos) -> bool {
        match self.acked.get_mut(consumer) {
            Some(slot) => {
                *slot = Some(slot.map_or(acked, |prev| prev.max(acked)));
                true
            }
            None => false,
        }
    }

    pub fn floor(&self) -> AckFloor {
        let mut floor: Option<WalPos> = None;
        for acked in self.acked.values() {
            let Some(acked) = *acked else {
                return AckFloor::Unreported;
            };
            floor = Some(floor.map_or(acked, |f| f.min(acked)));
        }
        floor.map_or(AckFloor::NoConsumers, AckFloor::At)
    }
}

/// Why a segment is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteReason {
    Acknowledged,
    OverSize,
    OverAge,
}

/// A command: delete segment `segment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deletion {
    pub segment: u32,
    pub reason: DeleteReason,
    /// For budget deletions, the offset from which the segment's samples were not
    /// acknowledged by every consumer (`None`: all were acknowledged).
    pub unacked_from: Option<u32>,
}

/// Plans the deletions for `segments` (ascending; the last is being written).
pub fn plan(
    segments: &[SegmentMeta],
    floor: AckFloor,
    budget: Budget,
    now_ms: i64,
) -> Vec<Deletion> {
    let Some((_, closed)) = segments.split_last() else {
        return Vec::new();
    };
    let mut total: u64 = segments.iter().map(|s| u64::from(s.bytes)).sum();
    let oldest_allowed = now_ms.saturating_sub(budget.max_age_ms);
    let mut out = Vec::new();
    for seg in closed {
        let acked = matches!(floor, AckFloor::At(pos) if pos >= seg.end());
        let reason = if acked {
            DeleteReason::Acknowledged
        } else if budget.max_bytes > 0 && total > budget.max_bytes {
            DeleteReason::OverSize
        } else if budget.max_age_ms > 0 && seg.max_t.is_none_or(|t| t < oldest_allowed) {
            DeleteReason::OverAge
        } else {
            break;
        };
        let unacked_from = match floor {
            _ if acked => None,
            AckFloor::At(pos) if pos.segment == seg.number => Some(pos.offset),
            _ => Some(SEGMENT_HEADER_LEN),
        };
        total -= u64::from(seg.bytes);
        out.push(Deletion {
            segment: seg.number,
            reason,
            unacked_from,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(n: u32) -> Vec<SegmentMeta> {
        (1..=n)
            .map(|number| {
                let mut m = SegmentMeta::new(number);
                m.bytes = 1000;
                m.observe(i64::from(number) * 100);
                m
            })
            .collect()
    }

    fn pos(segment: u32, offset: u32) -> WalPos {
        WalPos { segment, offset }
    }

    fn deleted(plan: &[Deletion]) -> Vec<u32> {
        plan.iter().map(|d| d.segment).collect()
    }

    #[test]
    fn floor_waits_for_every_consumer_to_report() {
        let mut c = Consumers::default();
        assert_eq!(c.floor(), AckFloor::NoConsumers);
        c.subscribe("a");
        c.subscribe("b");
        assert!(c.progress("a", pos(3, 10)));
        assert_eq!(c.floor(), AckFloor::Unreported);
        assert!(c.progress("b", pos(2, 50)));
        assert_eq!(c.floor(), AckFloor::At(pos(2, 50)));
        assert!(
            c.progress("b", pos(1, 0)),
            "a lower ack is accepted but ignored"
        );
        assert_eq!(c.floor(), AckFloor::At(pos(2, 50)));
        assert!(!c.progress("zombie", pos(9, 0)));
        assert!(c.unsubscribe("b"));
        assert_eq!(c.floor(), AckFloor::At(pos(3, 10)));
        c.subscribe("a");
        assert_eq!(
            c.floor(),
            AckFloor::Unreported,
            "a re-subscription must report again"
        );
    }

    #[test]
    fn nothing_is_deleted_without_acks_or_budget() {
        let s = segs(4);
        assert!(plan(&s, AckFloor::NoConsumers, Budget::default(), 0).is_empty());
        assert!(plan(&s, AckFloor::Unreported, Budget::default(), 0).is_empty());
    }

    #[test]
    fn acknowledged_segments_go_but_never_the_active_one() {
        let s = segs(4);
        let p = plan(&s, AckFloor::At(pos(3, 999)), Budget::default(), 0);
        assert_eq!(deleted(&p), [1, 2]);
        assert!(p
            .iter()
            .all(|d| d.reason == DeleteReason::Acknowledged && d.unacked_from.is_none()));
        assert_eq!(
            deleted(&plan(&s, AckFloor::At(pos(3, 1000)), Budget::default(), 0)),
            [1, 2, 3]
        );
        assert_eq!(
            deleted(&plan(&s, AckFloor::At(pos(9, 0)), Budget::default(), 0)),
            [1, 2, 3]
        );
    }

    #[test]
    fn size_budget_deletes_oldest_first_and_reports_the_unacked_part() {
        let s = segs(4);
        let budget = Budget {
            max_bytes: 2500,
            max_age_ms: 0,
        };
        let p = plan(&s, AckFloor::At(pos(1, 400)), budget, 0);
        assert_eq!(
            p,
            vec![
                Deletion {
                    segment: 1,
                    reason: DeleteReason::OverSize,
                    unacked_from: Some(400)
                },
                Deletion {
                    segment: 2,
                    reason: DeleteReason::OverSize,
                    unacked_from: Some(SEGMENT_HEADER_LEN)
                },
            ]
        );
        let p = plan(
            &s,
            AckFloor::NoConsumers,
            Budget {
                max_bytes: 100,
                max_age_ms: 0,
            },
            0,
        );
        assert_eq!(
            deleted(&p),
            [1, 2, 3],
            "the active segment stays even over budget"
        );
    }

    #[test]
    fn acked_prefix_then_budget_continues() {
        let s = segs(4);
        let p = plan(
            &s,
            AckFloor::At(pos(2, 0)),
            Budget {
                max_bytes: 2000,
                max_age_ms: 0,
            },
            0,
        );
        assert_eq!(
            p[0],
            Deletion {
                segment: 1,
                reason: DeleteReason::Acknowledged,
                unacked_from: None
            }
        );
        assert_eq!(
            p[1],
            Deletion {
                segment: 2,
                reason: DeleteReason::OverSize,
                unacked_from: Some(0)
            }
        );
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn age_budget_uses_the_newest_sample_of_each_segment() {
        let s = segs(4);
        let budget = Budget {
            max_bytes: 0,
            max_age_ms: 150,
        };
        // Segment n's newest sample is at n*100; now=400 keeps samples from 250 on.
        assert_eq!(
            deleted(&plan(&s, AckFloor::Unreported, budget, 400)),
            [1, 2]
        );
        let mut empty = segs(2);
        empty[0] = SegmentMeta::new(1);
        assert_eq!(
            deleted(&plan(&empty, AckFloor::Unreported, budget, 0)),
            [1],
            "a segment without samples has no age to keep"
        );
    }
}
