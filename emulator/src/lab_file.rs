//! `lab --config FILE`: what a learner may change about the lab without touching code.

use anyhow::Context;

use crate::alb::rules::Rule;
use crate::cognito;
use crate::options::LabOptions;

/// A lab config file (TOML): what a learner may change without touching code. Every key is
/// optional; unknown keys are errors.
///
/// ```toml
/// required_group = "secret-readers"   # or "none"
/// [[users]]
/// username = "carol"
/// password = "Passw0rd!"
/// email = "carol@example.com"
/// groups = ["secret-readers"]
/// [lifetimes]
/// id_token = 300
/// access_token = 300
/// refresh_token = 86400
/// hosted_ui_session = 3600
/// auth_code = 300
/// [[rules]]                           # ELBv2's shape; Target "{app}" is the lab's app
/// Priority = 10
/// Conditions = [{ Field = "path-pattern", Values = ["/v1/secrets*"] }]
/// Actions = [{ Type = "authenticate-cognito", AuthenticateCognitoConfig = { SessionTimeout = 3600 } },
///            { Type = "forward", Target = "{app}" }]
/// ```
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    pub required_group: Option<String>,
    pub users: Option<Vec<cognito::User>>,
    pub lifetimes: Option<cognito::Lifetimes>,
    pub rules: Option<Vec<Rule>>,
}

impl LabFile {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        let file: LabFile = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
        if let Some(users) = &file.users {
            anyhow::ensure!(!users.is_empty(), "{}: users is empty", path.display());
        }
        Ok(file)
    }

    /// Applies the file to `opts`.
    pub fn apply(self, opts: &mut LabOptions) {
        if let Some(g) = self.required_group {
            opts.required_group = (g != "none").then_some(g);
        }
        if self.users.is_some() {
            opts.users = self.users;
        }
        if self.lifetimes.is_some() {
            opts.lifetimes = self.lifetimes;
        }
        if self.rules.is_some() {
            opts.rules = self.rules;
        }
    }
}
