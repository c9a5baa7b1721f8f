//! Cognito's documented lockout for failed sign-ins, per user.

/// Failed sign-ins of one user, for Cognito's documented lockout. Times in milliseconds, so
/// that a one-second lockout lasts a second whenever in a second it starts.
#[derive(Debug, Default, Clone, Copy)]
pub struct Failures {
    /// Failed attempts counted (those refused during a lockout are not).
    count: u32,
    last_attempt: u64,
    locked_until: u64,
}

/// "After five failed sign-in attempts with a password, Amazon Cognito locks out your user for
/// one second; the lockout then doubles with each further failure, to about 15 minutes":
/// 2^(n-5) seconds after n failures.
const FREE_FAILURES: u32 = 5;
const MAX_LOCKOUT_MS: u64 = 15 * 60 * 1000;
/// Fifteen minutes without any attempt reset the count.
const LOCKOUT_RESET_MS: u64 = 15 * 60 * 1000;

impl Failures {
    fn lockout_ms(count: u32) -> u64 {
        match count.checked_sub(FREE_FAILURES) {
            None => 0,
            Some(k) if k >= 10 => MAX_LOCKOUT_MS,
            Some(k) => (1000u64 << k).min(MAX_LOCKOUT_MS),
        }
    }

    /// Called at each attempt (at `t` ms): true while the user is locked out.
    pub fn locked(&mut self, t: u64) -> bool {
        if t.saturating_sub(self.last_attempt) >= LOCKOUT_RESET_MS {
            *self = Failures::default();
        }
        self.last_attempt = t;
        t < self.locked_until
    }

    pub fn failed(&mut self, t: u64) {
        self.count += 1;
        self.locked_until = t + Self::lockout_ms(self.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_follows_cognitos_documented_doubling() {
        let mut f = Failures::default();
        let t = 1_000_000_000;
        for i in 0..5 {
            assert!(!f.locked(t + i * 100), "attempt {i} is free");
            f.failed(t + i * 100);
        }
        // Five failures (the last at t + 400): one second; each failure after that doubles it.
        assert!(f.locked(t + 1399));
        assert!(!f.locked(t + 1400));
        f.failed(t + 1400);
        assert_eq!(f.locked_until, t + 3400);
        assert!(f.locked(t + 2000), "refused, and not counted");
        assert_eq!(f.count, 6);
        assert_eq!(Failures::lockout_ms(7), 4000);
        assert_eq!(Failures::lockout_ms(14), 512_000);
        assert_eq!(
            Failures::lockout_ms(15),
            900_000,
            "about 15 minutes at most"
        );
        assert_eq!(Failures::lockout_ms(60), 900_000);
        // Fifteen minutes without an attempt start the count afresh.
        assert!(!f.locked(t + 2000 + LOCKOUT_RESET_MS));
        assert_eq!(f.count, 0);
    }
}
