//! Contacts whose contact record is in flight in this process.
//!
//! A batch that sends a contact record claims its contact until the batch
//! is settled, and the outbox drain claims each contact of a page until the
//! page is committed: a contact claimed by one is left alone by the other,
//! so its attributes are not computed and sent twice at once (the batch's
//! record carries them, or the drain's does). Across worker processes the
//! outbox's seq guard and the snapshot versions keep it correct; claims
//! only save the duplicate records.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use so_domain::ShopDomain;

/// A contact, as the outbox names it: shop and Ometria contact id.
pub(crate) type ContactKey = (ShopDomain, String);

/// The contacts claimed in this process. Never locked across an await.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    held: Mutex<HashSet<ContactKey>>,
}

/// Contacts claimed together; released when dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    claims: Option<Arc<Claims>>,
    held: HashSet<ContactKey>,
}

impl Claims {
    /// Claims those of `contacts` that nobody holds.
    pub(crate) fn claim(self: &Arc<Self>, contacts: impl IntoIterator<Item = ContactKey>) -> Claim {
        let mut held = HashSet::new();
        let mut all = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        for c in contacts {
            if !all.contains(&c) {
                all.insert(c.clone());
                held.insert(c);
            }
        }
        Claim {
            claims: Some(self.clone()),
            held,
        }
    }

    /// Whether someone holds `contact` now.
    pub(crate) fn is_claimed(&self, contact: &ContactKey) -> bool {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(contact)
    }

    /// How many contacts are held now.
    pub(crate) fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Claim {
    /// Holds nothing (coalescing off, or nothing to claim).
    pub(crate) fn none() -> Claim {
        Claim {
            claims: None,
            held: HashSet::new(),
        }
    }

    pub(crate) fn holds(&self, contact: &ContactKey) -> bool {
        self.held.contains(contact)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(claims) = &self.claims {
            let mut all = claims.held.lock().unwrap_or_else(PoisonError::into_inner);
            for c in &self.held {
                all.remove(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use so_domain::ShopDomain;

    use super::Claims;

    #[test]
    fn a_contact_is_held_by_one_claim_at_a_time_until_it_is_dropped() {
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        let key = |id: &str| (shop.clone(), id.to_owned());
        let claims = Arc::new(Claims::default());
        let first = claims.claim([key("1"), key("2")]);
        let second = claims.claim([key("2"), key("3")]);
        assert!(first.holds(&key("2")));
        assert!(!second.holds(&key("2")), "held by the first");
        assert!(second.holds(&key("3")));
        assert_eq!(claims.len(), 3);
        drop(first);
        assert!(!claims.is_claimed(&key("1")));
        assert!(claims.is_claimed(&key("3")));
        let third = claims.claim([key("2")]);
        assert!(third.holds(&key("2")), "free again");
    }
}
