//! Values the journal holds once however many of its records use them (an
//! event's body behind several records and requests, a shape shared by
//! every record of one mapping), each weighed once while any record uses
//! it. Uses are counted explicitly rather than read off `Arc` counts: a
//! watcher holding a copy of a record must not keep a value counted or
//! uncounted.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::mem::size_of;

#[derive(Debug)]
pub(super) struct Shared<K, V> {
    entries: HashMap<K, Entry<V>>,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    uses: usize,
    weight: usize,
}

impl<K: Hash + Eq, V: Clone> Shared<K, V> {
    /// The value under `key`, one more use of it. `make` gives a missing
    /// one with its key and weight. Returns the value and the bytes this
    /// newly holds (the weight, when made).
    pub(super) fn hold<Q>(&mut self, key: &Q, make: impl FnOnce() -> (K, V, usize)) -> (V, usize)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.uses += 1;
            return (entry.value.clone(), 0);
        }
        let (key, value, weight) = make();
        let entry = Entry {
            value: value.clone(),
            uses: 1,
            weight,
        };
        self.entries.insert(key, entry);
        (value, weight)
    }

    /// One use of `key` fewer; returns the bytes freed (its weight, when
    /// that was the last use).
    pub(super) fn release<Q>(&mut self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(entry) = self.entries.get_mut(key) else {
            return 0;
        };
        entry.uses -= 1;
        if entry.uses > 0 {
            return 0;
        }
        self.entries.remove(key).map_or(0, |e| e.weight)
    }

    /// What the table itself weighs: its slots, used or not (a hash table
    /// keeps its capacity as entries go), one control byte each.
    pub(super) fn table_weight(&self) -> usize {
        super::kept::block(self.entries.capacity() * (size_of::<(K, Entry<V>)>() + 1))
    }

    pub(super) fn shrink(&mut self) {
        self.entries.shrink_to_fit();
    }
}

impl<K, V> Default for Shared<K, V> {
    fn default() -> Self {
        Shared {
            entries: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_weighed_once_and_freed_with_its_last_use() {
        let mut shared: Shared<String, u32> = Shared::default();
        assert_eq!(shared.hold("a", || ("a".to_owned(), 7, 100)), (7, 100));
        let (value, added) = shared.hold("a", || unreachable!("held already"));
        assert_eq!((value, added), (7, 0));
        assert_eq!(shared.release("a"), 0, "one use left");
        assert_eq!(shared.release("a"), 100);
        assert_eq!(shared.release("a"), 0, "gone");
    }
}
