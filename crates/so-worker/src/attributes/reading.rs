//! Which marks a drain page reads: how many, how settled, and whether the
//! page hands over only whole requests.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use so_store::DirtyContact;

/// Contacts handled per page.
pub(super) const PAGE: usize = 500;

/// What the next page reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reading {
    /// The most marks it takes.
    pub(super) limit: usize,
    /// Only marks made before this (settled), if set.
    pub(super) marked_before: Option<DateTime<Utc>>,
    /// Hand over only what fills whole requests of each account; the rest
    /// stays marked for a later page.
    pub(super) whole_requests: bool,
}

impl Reading {
    /// Without a backlog: a full page of whatever is marked, at once.
    pub(super) fn everything() -> Reading {
        Reading {
            limit: PAGE,
            marked_before: None,
            whole_requests: false,
        }
    }
}

/// The oldest of `marks` (oldest first) that fill whole requests of their
/// account, in their order. `account` names a mark's account and the
/// records its requests carry; a mark without one is kept (the page skips
/// it, as it does any mark of a shop without an account).
pub(super) fn whole_requests<F>(marks: Vec<DirtyContact>, account: F) -> Vec<DirtyContact>
where
    F: Fn(&DirtyContact) -> Option<(usize, usize)>,
{
    let accounts: Vec<Option<(usize, usize)>> = marks.iter().map(&account).collect();
    let mut total: HashMap<usize, usize> = HashMap::new();
    for (id, _) in accounts.iter().flatten() {
        *total.entry(*id).or_default() += 1;
    }
    let mut room: HashMap<usize, usize> = accounts
        .iter()
        .flatten()
        .map(|(id, max)| (*id, total[id] / (*max).max(1) * (*max).max(1)))
        .collect();
    marks
        .into_iter()
        .zip(accounts)
        .filter(|(_, a)| match a {
            None => true,
            Some((id, _)) => match room.get_mut(id) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            },
        })
        .map(|(m, _)| m)
        .collect()
}

#[cfg(test)]
mod tests {
    use so_domain::ShopDomain;
    use so_domain::mapping::Buyer;
    use so_store::DirtyContact;

    use super::whole_requests;

    fn mark(shop: &str, seq: i64) -> DirtyContact {
        DirtyContact {
            shop: ShopDomain::parse(shop).unwrap(),
            seq,
            buyer: Buyer {
                id: seq.to_string(),
                collection: "shopify_customers".to_owned(),
                customer_id: Some(seq.to_string()),
            },
        }
    }

    /// Shop `a` pushes to account 1 (requests of 3), `b` to account 2
    /// (requests of 2), `c` has no account.
    fn account(m: &DirtyContact) -> Option<(usize, usize)> {
        match m.shop.as_str() {
            "a.myshopify.com" => Some((1, 3)),
            "b.myshopify.com" => Some((2, 2)),
            _ => None,
        }
    }

    fn seqs(marks: &[DirtyContact]) -> Vec<i64> {
        marks.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn each_account_keeps_its_oldest_marks_in_whole_requests() {
        let marks = vec![
            mark("a.myshopify.com", 1),
            mark("b.myshopify.com", 2),
            mark("a.myshopify.com", 3),
            mark("c.myshopify.com", 4),
            mark("a.myshopify.com", 5),
            mark("b.myshopify.com", 6),
            mark("a.myshopify.com", 7),
            mark("b.myshopify.com", 8),
        ];
        // a: 4 marks, one request of 3 (1, 3, 5); b: 3 marks, one of 2
        // (2, 6); c is kept; 7 and 8 wait.
        assert_eq!(seqs(&whole_requests(marks, account)), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn fewer_than_a_request_hands_over_nothing() {
        let marks = vec![mark("a.myshopify.com", 1), mark("a.myshopify.com", 2)];
        assert!(whole_requests(marks, account).is_empty());
    }
}
