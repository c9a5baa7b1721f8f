//! A bounded map keyed by the SHA-256 of some text: for remembering what a piece of text
//! verified or opened to, so the same text is not checked twice.
//!
//! When full it starts afresh rather than tracking recency: the values are cheap to recompute,
//! so a rare refill costs nothing visible and the map needs no bookkeeping on reads.

use std::collections::HashMap;
use std::sync::RwLock;

use aws_lc_rs::digest::{Context, SHA256};

#[derive(Debug)]
pub struct DigestCache<V> {
    map: RwLock<HashMap<[u8; 32], V>>,
    cap: usize,
}

impl<V: Clone> DigestCache<V> {
    /// A cache of at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        Self {
            map: RwLock::default(),
            cap,
        }
    }

    /// The key for text made of `parts`; each part is length-prefixed, so `["ab", "c"]` and
    /// `["a", "bc"]` differ.
    pub fn key(parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = Context::new(&SHA256);
        for p in parts {
            ctx.update(&(p.len() as u64).to_le_bytes());
            ctx.update(p);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        key
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<V> {
        self.map.read().ok()?.get(key).cloned()
    }

    pub fn insert(&self, key: [u8; 32], value: V) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.cap {
                map.clear();
            }
            map.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_parts_and_the_map_stays_bounded() {
        assert_ne!(
            DigestCache::<u8>::key(&[b"ab", b"c"]),
            DigestCache::<u8>::key(&[b"a", b"bc"])
        );
        let c = DigestCache::new(2);
        for i in 0u8..5 {
            c.insert(DigestCache::<u8>::key(&[&[i]]), i);
        }
        assert_eq!(c.get(&DigestCache::<u8>::key(&[&[4]])), Some(4));
        assert!(c.map.read().unwrap().len() <= 2);
    }
}
