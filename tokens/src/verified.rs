//! What a verifier hands back for a token that passed.

/// A token whose signature and claims passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub header: serde_json::Map<String, serde_json::Value>,
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Seconds since the Unix epoch.
    pub exp: u64,
}

impl Verified {
    /// A string claim, if present.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(serde_json::Value::as_str)
    }

    /// `cognito:groups` as a list (empty when the user has no groups).
    pub fn groups(&self) -> Vec<&str> {
        self.claims
            .get("cognito:groups")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default()
    }
}
