//! Listener rules as ELBv2 models them: a priority, conditions, and actions run in order.
//!
//! The serde shape follows the API (`Priority`, `Conditions[{Field, Values}]`,
//! `Actions[{Type, …Config}]`) so a lab config file reads like `aws elbv2 describe-rules` output.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Rule {
    /// Lower runs first; the default rule has none and runs last.
    pub priority: Option<u32>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Condition {
    /// `path-pattern`, `host-header` or `http-request-method`.
    pub field: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Type", rename_all = "kebab-case")]
pub enum Action {
    AuthenticateCognito {
        #[serde(rename = "AuthenticateCognitoConfig")]
        config: AuthConfig,
    },
    /// Forward to a target. In the lab a target group is one URL.
    Forward {
        #[serde(rename = "Target")]
        target: String,
    },
    Redirect {
        #[serde(rename = "RedirectConfig")]
        config: RedirectConfig,
    },
    FixedResponse {
        #[serde(rename = "FixedResponseConfig")]
        config: FixedResponseConfig,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnUnauthenticated {
    #[default]
    Authenticate,
    Allow,
    Deny,
}

/// `AuthenticateCognitoConfig`. The pool, client and domain are the lab's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default = "default_cookie")]
    pub session_cookie_name: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Seconds (default 604800, 7 days).
    #[serde(default = "default_timeout")]
    pub session_timeout: u64,
    #[serde(default)]
    pub on_unauthenticated_request: OnUnauthenticated,
    /// Up to 10 extra query parameters for the authorization request, in order.
    #[serde(default)]
    pub authentication_request_extra_params: Vec<(String, String)>,
}

fn default_cookie() -> String {
    "AWSELBAuthSessionCookie".into()
}
fn default_scope() -> String {
    "openid".into()
}
fn default_timeout() -> u64 {
    604_800
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_cookie_name: default_cookie(),
            scope: default_scope(),
            session_timeout: default_timeout(),
            on_unauthenticated_request: OnUnauthenticated::Authenticate,
            authentication_request_extra_params: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RedirectConfig {
    /// A full URL; `#{host}`, `#{path}` and `#{query}` are replaced as the ALB does.
    pub location: String,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FixedResponseConfig {
    pub status_code: u16,
    #[serde(default = "text_plain")]
    pub content_type: String,
    #[serde(default)]
    pub message_body: String,
}

fn text_plain() -> String {
    "text/plain".into()
}

impl Rule {
    /// Whether every condition holds (a rule with none always matches).
    pub fn matches(&self, method: &str, host: &str, path: &str) -> bool {
        self.conditions.iter().all(|c| match c.field.as_str() {
            "path-pattern" => c.values.iter().any(|p| glob(p.as_bytes(), path.as_bytes())),
            "host-header" => {
                let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
                c.values
                    .iter()
                    .any(|p| glob(p.to_ascii_lowercase().as_bytes(), host.as_bytes()))
            }
            "http-request-method" => c.values.iter().any(|m| m == method),
            _ => false,
        })
    }

    /// The lab's rules: `/v1/secrets*` authenticates then forwards; everything else forwards.
    pub fn defaults(target: &str) -> Vec<Rule> {
        vec![
            Rule {
                priority: Some(10),
                conditions: vec![Condition {
                    field: "path-pattern".into(),
                    values: vec!["/v1/secrets*".into()],
                }],
                actions: vec![
                    Action::AuthenticateCognito {
                        config: AuthConfig::default(),
                    },
                    Action::Forward {
                        target: target.into(),
                    },
                ],
            },
            Rule {
                priority: None,
                conditions: vec![],
                actions: vec![Action::Forward {
                    target: target.into(),
                }],
            },
        ]
    }
}

/// ELB wildcards: `*` is any run of characters, `?` exactly one. Case-sensitive.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_match_as_the_alb_does() {
        assert!(glob(b"/v1/secrets*", b"/v1/secrets"));
        assert!(glob(b"/v1/secrets*", b"/v1/secrets/42"));
        assert!(!glob(b"/v1/secrets*", b"/V1/secrets"));
        assert!(!glob(b"/v1/secrets", b"/v1/secrets/"));
        assert!(glob(b"/img/*.png", b"/img/a/b.png"));
        assert!(glob(b"/?", b"/a"));
        assert!(!glob(b"/?", b"/ab"));
        assert!(glob(b"*", b""));
    }

    #[test]
    fn rules_read_like_the_elbv2_api() {
        let json = r#"{"Priority": 5, "Conditions": [{"Field": "host-header", "Values": ["*.example.com"]}],
            "Actions": [{"Type": "authenticate-cognito", "AuthenticateCognitoConfig": {"OnUnauthenticatedRequest": "deny"}},
                        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": 418}}]}"#;
        let rule: Rule = serde_json::from_str(json).unwrap();
        assert!(rule.matches("GET", "app.example.com:8080", "/"));
        assert!(!rule.matches("GET", "example.org", "/"));
        let Action::AuthenticateCognito { config } = &rule.actions[0] else {
            panic!()
        };
        assert_eq!(config.on_unauthenticated_request, OnUnauthenticated::Deny);
        assert_eq!(config.session_cookie_name, "AWSELBAuthSessionCookie");
        assert_eq!(config.session_timeout, 604_800);
        assert!(serde_json::from_str::<Rule>(r#"{"Priority":1,"Actions":[],"Bogus":1}"#).is_err());
    }
}
