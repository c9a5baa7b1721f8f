//! The hosted UI's and token endpoint's stores (codes, hosted-UI sessions, refresh tokens):
//! maps whose entries expire, swept as they grow and capped, so that no load makes them grow
//! without bound.

use std::collections::HashMap;

/// What a store entry needs for the store to stay bounded: the second it stops being valid.
pub trait Expiring {
    fn expires(&self) -> u64;
}

/// The most entries one store holds. Expired entries go first; past that the ones closest to
/// expiry (the oldest, since every entry of a store lives as long) make room. A learner's own
/// traffic never comes near it; a load test does, and then memory stays flat.
pub const MAX_ENTRIES: usize = 20_000;

/// A map of codes, sessions or refresh tokens, swept of expired entries as it grows.
#[derive(Debug)]
pub struct Store<V> {
    pub map: HashMap<String, V>,
    /// The size at which the next sweep runs: twice what the last one left, so sweeping costs
    /// O(1) per insert on average.
    sweep_at: usize,
}

impl<V> Default for Store<V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            sweep_at: 1024,
        }
    }
}

impl<V: Expiring> Store<V> {
    pub fn insert(&mut self, key: String, value: V, t: u64) {
        if self.map.len() >= self.sweep_at {
            self.map.retain(|_, v| v.expires() > t);
            if self.map.len() >= MAX_ENTRIES {
                let mut ages: Vec<u64> = self.map.values().map(Expiring::expires).collect();
                let cut = self.map.len() - MAX_ENTRIES * 9 / 10;
                let (_, oldest, _) = ages.select_nth_unstable(cut);
                let oldest = *oldest;
                self.map.retain(|_, v| v.expires() > oldest);
            }
            self.sweep_at = (self.map.len() * 2).clamp(1024, MAX_ENTRIES);
        }
        self.map.insert(key, value);
    }

    /// The entry, unless it has expired (an expired one is removed).
    pub fn live(&mut self, key: &str, t: u64) -> Option<&mut V> {
        if self.map.get(key).is_some_and(|v| v.expires() <= t) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Until(u64);

    impl Expiring for Until {
        fn expires(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn a_store_drops_expired_entries_and_never_passes_its_cap() {
        let mut s: Store<Until> = Store::default();
        for i in 0..3000u64 {
            // Half of them expired at t = 100.
            s.insert(
                format!("k{i}"),
                Until(if i % 2 == 0 { 50 } else { 1000 + i }),
                100,
            );
        }
        assert!(s.map.len() < 3000, "expired entries were swept");
        assert!(
            s.live("k0", 100).is_none(),
            "an expired entry is never handed out"
        );
        assert!(s.live("k2999", 100).is_some());
        for i in 0..(MAX_ENTRIES as u64 + 5000) {
            s.insert(format!("n{i}"), Until(10_000 + i), 100);
        }
        assert!(s.map.len() <= MAX_ENTRIES, "{}", s.map.len());
        // The newest survive.
        assert!(
            s.live(&format!("n{}", MAX_ENTRIES as u64 + 4999), 100)
                .is_some()
        );
    }
}
