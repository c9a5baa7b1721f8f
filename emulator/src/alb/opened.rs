//! Sessions the ALB has opened, remembered by their cookie text, with the header values it
//! forwards for each: a cookie seen before is neither decrypted nor parsed again, and its
//! `x-amzn-oidc-data` is signed at most once a second.
//!
//! Looked up by a keyed hash of the cookie's last characters (the AES-GCM tag, random for every
//! sealed cookie) and then compared whole, so that a hit is exactly the text that was opened and
//! no cryptographic hash of 4 KB is computed on every request. Bounded: when full it starts
//! afresh, as opening again costs little.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, RwLock};

use http::HeaderValue;

use super::session::Session;

/// A session opened from a cookie, ready to forward.
#[derive(Debug)]
pub struct Opened {
    pub session: Session,
    /// `x-amzn-oidc-accesstoken` and `x-amzn-oidc-identity`, checked once.
    pub access: Option<HeaderValue>,
    pub identity: Option<HeaderValue>,
    /// The last `x-amzn-oidc-data` signed for it, with the second it was signed in.
    data: Mutex<Option<(u64, HeaderValue)>>,
}

impl Opened {
    pub fn new(session: Session) -> Self {
        Self {
            access: HeaderValue::from_str(&session.access_token).ok(),
            identity: HeaderValue::from_str(&session.sub).ok(),
            session,
            data: Mutex::new(None),
        }
    }

    /// The data token for second `t`: the one signed earlier in that second, or a new one.
    pub fn data_token(&self, t: u64, sign: impl FnOnce() -> Option<String>) -> Option<HeaderValue> {
        if let Ok(d) = self.data.lock()
            && let Some((at, v)) = d.as_ref()
            && *at == t
        {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(&sign()?).ok()?;
        if let Ok(mut d) = self.data.lock() {
            *d = Some((t, v.clone()));
        }
        Some(v)
    }
}

type Entry = (Box<str>, Box<str>, Arc<Opened>);

/// Opened sessions by cookie name and text.
#[derive(Debug)]
pub struct OpenedCache {
    map: RwLock<HashMap<u64, Entry>>,
    hasher: RandomState,
    cap: usize,
}

impl OpenedCache {
    pub fn new(cap: usize) -> Self {
        Self {
            map: RwLock::default(),
            hasher: RandomState::new(),
            cap,
        }
    }

    fn key(&self, name: &str, text: &str) -> u64 {
        let b = text.as_bytes();
        self.hasher
            .hash_one((name, &b[b.len().saturating_sub(32)..]))
    }

    pub fn get(&self, name: &str, text: &str) -> Option<Arc<Opened>> {
        let map = self.map.read().ok()?;
        let (n, t, o) = map.get(&self.key(name, text))?;
        (**n == *name && **t == *text).then(|| o.clone())
    }

    pub fn insert(&self, name: &str, text: &str, opened: Arc<Opened>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.cap {
                map.clear();
            }
            map.insert(self.key(name, text), (name.into(), text.into(), opened));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sub: &str) -> Arc<Opened> {
        Arc::new(Opened::new(Session {
            sub: sub.into(),
            userinfo: serde_json::Map::new(),
            access_token: "a.b.c".into(),
            refresh_token: None,
            access_exp: 0,
            session_exp: 0,
        }))
    }

    #[test]
    fn only_the_exact_text_and_name_hit_and_the_cache_stays_bounded() {
        let c = OpenedCache::new(2);
        let text = format!("{}TAIL", "x".repeat(100));
        c.insert("C", &text, session("one"));
        assert_eq!(c.get("C", &text).unwrap().session.sub, "one");
        // Same last 32 characters, another text: a miss, never the other session.
        let other = format!("{}TAIL", "y".repeat(100));
        assert!(c.get("C", &other).is_none());
        assert!(c.get("D", &text).is_none());
        for i in 0..5 {
            c.insert("C", &format!("{i}{text}"), session("n"));
        }
        assert!(c.map.read().unwrap().len() <= 2);
    }

    #[test]
    fn a_data_token_is_signed_once_a_second() {
        let o = session("s");
        let mut signed = 0;
        for t in [10, 10, 10, 11] {
            o.data_token(t, || {
                signed += 1;
                Some(format!("tok{t}"))
            })
            .unwrap();
        }
        assert_eq!(signed, 2);
    }
}
