//! One copy of each text the Flow pane holds. Most of an exchange repeats from one to the
//! next: a session's cookie, its data token and access token on every request to the app, the
//! same headers on every page. Each arrives as its own copy from the lab's trace; the pane
//! keeps the first and lets the rest go, so 10,000 exchanges of one session cost little more
//! than their rows.

use std::collections::HashSet;
use std::sync::Arc;

use cognito_learning_contract::trace::{Exchange, Text};

/// The texts held, each once.
#[derive(Debug, Default)]
pub struct Interner {
    texts: HashSet<Text>,
    /// How many were left after the last sweep: the next is due when the set has doubled.
    swept: usize,
}

/// Below this many texts there is no sweep.
const SWEEP_FROM: usize = 4096;

impl Interner {
    /// Makes `t` the held copy of its text, holding it first if it is new.
    pub fn share(&mut self, t: &mut Text) {
        match self.texts.get(&**t) {
            Some(held) => *t = Arc::clone(held),
            None => {
                self.texts.insert(Arc::clone(t));
            }
        }
    }

    /// Shares every text of `ex`.
    pub fn share_exchange(&mut self, ex: &mut Exchange) {
        self.share(&mut ex.method);
        self.share(&mut ex.url);
        for hs in [&mut ex.request_headers, &mut ex.response_headers] {
            hs.shrink_to_fit();
            for h in hs.iter_mut() {
                self.share(&mut h.name);
                self.share(&mut h.value);
            }
        }
        for b in [&mut ex.request_body, &mut ex.response_body]
            .into_iter()
            .flatten()
        {
            self.share(&mut b.mime);
            self.share(&mut b.text);
        }
    }

    /// Lets go of the texts no exchange holds any more, once the set has doubled since the
    /// last sweep: the set stays under twice what the exchanges hold, at a constant cost per
    /// text shared.
    pub fn sweep(&mut self) {
        if self.texts.len() < (2 * self.swept).max(SWEEP_FROM) {
            return;
        }
        self.texts.retain(|t| Arc::strong_count(t) > 1);
        self.texts.shrink_to_fit();
        self.swept = self.texts.len();
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// How many texts are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.texts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognito_learning_contract::trace::Header;

    fn exchange(cookie: &str) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "http://localhost:8080/v1/secrets".into(),
            request_headers: vec![Header {
                name: "cookie".into(),
                value: cookie.into(),
            }],
            ..Exchange::default()
        }
    }

    #[test]
    fn equal_texts_share_one_copy_and_unheld_ones_are_swept() {
        let mut i = Interner::default();
        let mut a = exchange("AWSELBAuthSessionCookie-0=abc");
        let mut b = exchange("AWSELBAuthSessionCookie-0=abc");
        i.share_exchange(&mut a);
        i.share_exchange(&mut b);
        assert!(Arc::ptr_eq(
            &a.request_headers[0].value,
            &b.request_headers[0].value
        ));
        assert!(Arc::ptr_eq(&a.url, &b.url));
        assert_eq!(i.len(), 4, "GET, the URL, cookie and its value");

        drop((a, b));
        // Texts that only the set holds go once it has grown past the sweep's threshold.
        let mut held = Vec::new();
        for n in 0..SWEEP_FROM {
            let mut e = exchange(&format!("c={n}"));
            i.share_exchange(&mut e);
            if n % 2 == 0 {
                held.push(e);
            }
        }
        i.sweep();
        assert!(i.len() <= held.len() + 3, "{} texts left", i.len());
        assert!(i.len() >= held.len(), "every held text stays");
        let mut again = exchange("c=0");
        i.share_exchange(&mut again);
        assert!(Arc::ptr_eq(
            &again.request_headers[0].value,
            &held[0].request_headers[0].value
        ));
    }
}
