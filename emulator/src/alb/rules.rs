//! Listener rules as ELBv2 models them: a priority, conditions, and actions run in order.
//!
//! The serde shape is the API's (`Priority`, `Conditions[{Field, PathPatternConfig{Values}}]`,
//! `Actions[{Type, Order, TargetGroupArn, AuthenticateCognitoConfig, …}]`), so a lab config
//! file, the AWS CLI's `file://actions.json` and `aws elbv2 describe-rules` all read alike.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Rule {
    /// Lower runs first; the default rule has none and runs last.
    #[serde(default, deserialize_with = "number_or_text")]
    pub priority: Option<u32>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

/// A condition in either of the API's forms: legacy `Values`, or `<Field>Config{Values}`.
/// Stored with its values in one place; [`Condition::to_api`] writes both, as AWS does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Condition {
    /// `path-pattern`, `host-header`, `http-request-method`, `http-header` or `query-string`.
    pub field: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_pattern_config: Option<Values>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_header_config: Option<Values>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_request_method_config: Option<Values>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header_config: Option<HeaderConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_config: Option<QueryConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Values {
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeaderConfig {
    pub http_header_name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryConfig {
    #[serde(default)]
    pub values: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
}

/// One action, as the API has it: a `Type` and the config that type needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Action {
    /// `authenticate-cognito`, `forward`, `redirect` or `fixed-response`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number_or_text"
    )]
    pub order: Option<u32>,
    /// `{app}` in a lab config file is the lab's own target group.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "Target")]
    pub target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_config: Option<ForwardConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticate_cognito_config: Option<AuthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_config: Option<RedirectConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_response_config: Option<FixedResponseConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardConfig {
    #[serde(default)]
    pub target_groups: Vec<WeightedGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_stickiness_config: Option<Stickiness>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WeightedGroup {
    pub target_group_arn: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number_or_text"
    )]
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Stickiness {
    #[serde(default, deserialize_with = "bool_or_text")]
    pub enabled: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number_or_text"
    )]
    pub duration_seconds: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnUnauthenticated {
    #[default]
    Authenticate,
    Allow,
    Deny,
}

/// `AuthenticateCognitoConfig`. In a lab config file the pool, client and domain may be left
/// out: they are then the lab's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub user_pool_arn: String,
    #[serde(default)]
    pub user_pool_client_id: String,
    #[serde(default)]
    pub user_pool_domain: String,
    #[serde(default = "default_cookie")]
    pub session_cookie_name: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Seconds (default 604800, 7 days).
    #[serde(default = "default_timeout", deserialize_with = "timeout")]
    pub session_timeout: u64,
    #[serde(default)]
    pub on_unauthenticated_request: OnUnauthenticated,
    /// Up to 10 extra query parameters for the authorization request.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub authentication_request_extra_params: Map<String, Value>,
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
            user_pool_arn: String::new(),
            user_pool_client_id: String::new(),
            user_pool_domain: String::new(),
            session_cookie_name: default_cookie(),
            scope: default_scope(),
            session_timeout: default_timeout(),
            on_unauthenticated_request: OnUnauthenticated::Authenticate,
            authentication_request_extra_params: Map::new(),
        }
    }
}

impl AuthConfig {
    /// The user pool's id, from the end of its ARN.
    pub fn pool_id(&self) -> &str {
        self.user_pool_arn
            .rsplit_once("userpool/")
            .map_or("", |(_, id)| id)
    }

    pub fn extra_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.authentication_request_extra_params
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }
}

/// `RedirectConfig`: each part defaults to the request's own (`#{protocol}`, `#{host}`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RedirectConfig {
    #[serde(default = "keep_protocol")]
    pub protocol: String,
    #[serde(default = "keep_port", deserialize_with = "text")]
    pub port: String,
    #[serde(default = "keep_host")]
    pub host: String,
    #[serde(default = "keep_path")]
    pub path: String,
    #[serde(default = "keep_query")]
    pub query: String,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: String,
}

fn keep_protocol() -> String {
    "#{protocol}".into()
}
fn keep_port() -> String {
    "#{port}".into()
}
fn keep_host() -> String {
    "#{host}".into()
}
fn keep_path() -> String {
    "/#{path}".into()
}
fn keep_query() -> String {
    "#{query}".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FixedResponseConfig {
    /// `2XX`, `4XX` or `5XX`, as text (the API's type).
    #[serde(deserialize_with = "text")]
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_body: Option<String>,
}

/// A number written as a number (JSON, TOML) or as text (the Query protocol, the CLI's
/// shorthand).
fn number_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not a whole number"))),
        Some(v) => Err(serde::de::Error::custom(format!(
            "{v} is not a whole number"
        ))),
    }
}

fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(number_or_text(d)?.map_or_else(default_timeout, u64::from))
}

fn bool_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(v) => Err(serde::de::Error::custom(format!(
            "{v} is not true or false"
        ))),
    }
}

/// Text, also when written as a number (`StatusCode = 418`, `Port = 443`).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        v => Err(serde::de::Error::custom(format!("{v} is not text"))),
    }
}

impl Condition {
    /// A `path-pattern` condition.
    pub fn path(values: &[&str]) -> Self {
        Self {
            field: "path-pattern".into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            path_pattern_config: None,
            host_header_config: None,
            http_request_method_config: None,
            http_header_config: None,
            query_string_config: None,
        }
    }

    /// The values to match, from whichever form the condition was written in.
    pub fn all_values(&self) -> &[String] {
        let config = match self.field.as_str() {
            "path-pattern" => self.path_pattern_config.as_ref(),
            "host-header" => self.host_header_config.as_ref(),
            "http-request-method" => self.http_request_method_config.as_ref(),
            _ => None,
        };
        match config {
            Some(c) if !c.values.is_empty() => &c.values,
            _ => &self.values,
        }
    }

    /// Checks the condition as CreateRule does; the message is the API's `ValidationError`.
    pub fn validate(&self) -> Result<(), String> {
        let values = self.all_values();
        match self.field.as_str() {
            "path-pattern" | "host-header" | "http-request-method" => {
                if values.is_empty() {
                    return Err(format!(
                        "A '{}' condition must have at least one value",
                        self.field
                    ));
                }
                if !self.values.is_empty()
                    && self
                        .path_pattern_config
                        .as_ref()
                        .or(self.host_header_config.as_ref())
                        .or(self.http_request_method_config.as_ref())
                        .is_some_and(|c| !c.values.is_empty())
                {
                    return Err(format!(
                        "Condition '{}' cannot specify both 'Values' and a config",
                        self.field
                    ));
                }
            }
            "http-header" => {
                if self
                    .http_header_config
                    .as_ref()
                    .is_none_or(|c| c.values.is_empty())
                {
                    return Err("An 'http-header' condition needs HttpHeaderConfig with a header name and values".into());
                }
            }
            "query-string" => {
                if self
                    .query_string_config
                    .as_ref()
                    .is_none_or(|c| c.values.is_empty())
                {
                    return Err(
                        "A 'query-string' condition needs QueryStringConfig with values".into(),
                    );
                }
            }
            "source-ip" => {
                return Err("The lab does not serve 'source-ip' conditions: every request it sees comes from 127.0.0.1".into());
            }
            other => {
                return Err(format!(
                    "Condition field '{other}' must be one of [http-header, http-request-method, host-header, path-pattern, query-string, source-ip]"
                ));
            }
        }
        if values.iter().any(|v| v.len() > 128) {
            return Err("A condition value can be at most 128 characters".into());
        }
        Ok(())
    }

    /// The condition as DescribeRules writes it: `Values` and the config, both.
    pub fn to_api(&self) -> Self {
        let values = self.all_values().to_vec();
        let mut c = Self {
            field: self.field.clone(),
            values: Vec::new(),
            path_pattern_config: None,
            host_header_config: None,
            http_request_method_config: None,
            http_header_config: self.http_header_config.clone(),
            query_string_config: self.query_string_config.clone(),
        };
        let config = Some(Values {
            values: values.clone(),
        });
        match self.field.as_str() {
            "path-pattern" => {
                c.values = values;
                c.path_pattern_config = config;
            }
            "host-header" => {
                c.values = values;
                c.host_header_config = config;
            }
            "http-request-method" => c.http_request_method_config = config,
            _ => {}
        }
        c
    }

    /// Whether the request meets this condition.
    pub fn matches(&self, req: &Request<'_>) -> bool {
        match self.field.as_str() {
            "path-pattern" => self
                .all_values()
                .iter()
                .any(|p| glob(p.as_bytes(), req.path.as_bytes())),
            "host-header" => {
                let host = req.host.split(':').next().unwrap_or(req.host);
                let host = host.to_ascii_lowercase();
                self.all_values()
                    .iter()
                    .any(|p| glob(p.to_ascii_lowercase().as_bytes(), host.as_bytes()))
            }
            "http-request-method" => self.all_values().iter().any(|m| m == req.method),
            "http-header" => self.http_header_config.as_ref().is_some_and(|c| {
                req.headers
                    .get_all(c.http_header_name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| {
                        c.values.iter().any(|p| {
                            glob(
                                p.to_ascii_lowercase().as_bytes(),
                                v.to_ascii_lowercase().as_bytes(),
                            )
                        })
                    })
            }),
            "query-string" => self.query_string_config.as_ref().is_some_and(|c| {
                c.values.iter().any(|kv| {
                    req.query.iter().any(|(k, v)| {
                        kv.key
                            .as_ref()
                            .is_none_or(|key| glob(key.as_bytes(), k.as_bytes()))
                            && glob(kv.value.as_bytes(), v.as_bytes())
                    })
                })
            }),
            _ => false,
        }
    }
}

/// What a condition looks at.
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub headers: &'a http::HeaderMap,
    pub query: &'a [(String, String)],
}

impl Action {
    pub fn forward(target_group_arn: &str) -> Self {
        Self {
            kind: "forward".into(),
            target_group_arn: Some(target_group_arn.into()),
            ..Self::default()
        }
    }

    /// A redirect to HTTPS on 443 with a 301, host, path and query kept: lesson 8's HTTP:80.
    pub fn to_https() -> Self {
        Self {
            kind: "redirect".into(),
            redirect_config: Some(RedirectConfig {
                protocol: "HTTPS".into(),
                port: "443".into(),
                host: keep_host(),
                path: keep_path(),
                query: keep_query(),
                status_code: "HTTP_301".into(),
            }),
            ..Self::default()
        }
    }

    pub fn authenticate(config: AuthConfig) -> Self {
        Self {
            kind: "authenticate-cognito".into(),
            authenticate_cognito_config: Some(config),
            ..Self::default()
        }
    }

    /// The target groups a forward action names, from either form.
    pub fn target_groups(&self) -> Vec<&str> {
        match &self.forward_config {
            Some(f) if !f.target_groups.is_empty() => f
                .target_groups
                .iter()
                .map(|g| g.target_group_arn.as_str())
                .collect(),
            _ => self.target_group_arn.as_deref().into_iter().collect(),
        }
    }

    /// The action as DescribeRules writes it: a forward names its group both ways.
    pub fn to_api(&self) -> Self {
        let mut a = self.clone();
        if a.kind == "forward" {
            let groups: Vec<String> = a.target_groups().iter().map(|s| (*s).to_owned()).collect();
            if groups.len() == 1 {
                a.target_group_arn = Some(groups[0].clone());
            }
            a.forward_config = Some(ForwardConfig {
                target_groups: groups
                    .iter()
                    .map(|g| WeightedGroup {
                        target_group_arn: g.clone(),
                        weight: Some(
                            self.forward_config
                                .as_ref()
                                .and_then(|f| {
                                    f.target_groups.iter().find(|t| &t.target_group_arn == g)
                                })
                                .and_then(|t| t.weight)
                                .unwrap_or(1),
                        ),
                    })
                    .collect(),
                target_group_stickiness_config: Some(Stickiness {
                    enabled: Some(false),
                    duration_seconds: None,
                }),
            });
        }
        a
    }
}

/// Checks a rule's or listener's actions as CreateRule and CreateListener do: each type has
/// its config, orders are unique, one authenticate action at most and before the last, which
/// must route (forward, redirect or fixed-response). Returns the actions sorted by `Order`.
pub fn check_actions(actions: &[Action]) -> Result<Vec<Action>, String> {
    if actions.is_empty() {
        return Err("At least one action must be specified".into());
    }
    if actions.len() > 2 {
        return Err(
            "A rule can have at most two actions: an authenticate action and a routing action"
                .into(),
        );
    }
    let mut sorted = actions.to_vec();
    if sorted.len() > 1 && sorted.iter().any(|a| a.order.is_none()) {
        return Err("Order must be specified for each action when a rule has more than one".into());
    }
    if let Some(a) = sorted
        .iter()
        .find(|a| a.order.is_some_and(|o| !(1..=50_000).contains(&o)))
    {
        return Err(format!(
            "Action order '{}' must be between 1 and 50000",
            a.order.unwrap_or(0)
        ));
    }
    sorted.sort_by_key(|a| a.order.unwrap_or(1));
    if sorted.windows(2).any(|w| w[0].order == w[1].order) {
        return Err("Action orders must be unique".into());
    }
    for a in &sorted {
        let has = |present: bool, config: &str| {
            if present {
                Ok(())
            } else {
                Err(format!("An action of type '{}' must have {config}", a.kind))
            }
        };
        match a.kind.as_str() {
            "forward" => has(!a.target_groups().is_empty(), "a target group")?,
            "authenticate-cognito" => {
                let Some(c) = &a.authenticate_cognito_config else {
                    return Err(format!(
                        "An action of type '{}' must have an AuthenticateCognitoConfig",
                        a.kind
                    ));
                };
                if c.user_pool_arn.is_empty()
                    || c.user_pool_client_id.is_empty()
                    || c.user_pool_domain.is_empty()
                {
                    return Err("AuthenticateCognitoConfig needs UserPoolArn, UserPoolClientId and UserPoolDomain".into());
                }
                if c.authentication_request_extra_params.len() > 10 {
                    return Err(
                        "AuthenticationRequestExtraParams can have at most 10 entries".into(),
                    );
                }
                if !(1..=604_800).contains(&c.session_timeout) {
                    return Err("SessionTimeout must be between 1 and 604800 seconds".into());
                }
            }
            "redirect" => {
                let Some(r) = &a.redirect_config else {
                    return Err(format!(
                        "An action of type '{}' must have a RedirectConfig",
                        a.kind
                    ));
                };
                if r.status_code != "HTTP_301" && r.status_code != "HTTP_302" {
                    return Err(format!(
                        "Redirect status code '{}' must be one of [HTTP_301, HTTP_302]",
                        r.status_code
                    ));
                }
            }
            "fixed-response" => {
                let Some(f) = &a.fixed_response_config else {
                    return Err(format!(
                        "An action of type '{}' must have a FixedResponseConfig",
                        a.kind
                    ));
                };
                let ok = f.status_code.len() == 3
                    && f.status_code.bytes().all(|b| b.is_ascii_digit())
                    && matches!(f.status_code.as_bytes()[0], b'2' | b'4' | b'5');
                if !ok {
                    return Err(format!(
                        "Fixed response status code '{}' must be 2XX, 4XX or 5XX",
                        f.status_code
                    ));
                }
            }
            "authenticate-oidc" | "jwt-validation" => {
                return Err(format!(
                    "The lab serves 'authenticate-cognito', 'forward', 'redirect' and 'fixed-response' actions, not '{}'",
                    a.kind
                ));
            }
            other => {
                return Err(format!(
                    "Action type '{other}' must be one of 'redirect,fixed-response,forward,authenticate-oidc,authenticate-cognito,jwt-validation'"
                ));
            }
        }
    }
    let last = sorted.last().map_or("", |a| a.kind.as_str());
    if !matches!(last, "forward" | "redirect" | "fixed-response") {
        return Err("The last action must be 'forward', 'redirect' or 'fixed-response'".into());
    }
    if sorted.len() == 2 && sorted[0].kind != "authenticate-cognito" {
        return Err("Only an authenticate action can come before another action".into());
    }
    Ok(sorted)
}

impl Rule {
    /// The lab's rules: `/v1/secrets*` authenticates then forwards; everything else forwards.
    /// `{app}` is the lab's target group, and an empty pool, client and domain are the lab's.
    pub fn defaults() -> Vec<Rule> {
        vec![
            Rule {
                priority: Some(10),
                conditions: vec![Condition::path(&["/v1/secrets*"])],
                actions: vec![
                    Action {
                        order: Some(1),
                        ..Action::authenticate(AuthConfig::default())
                    },
                    Action {
                        order: Some(2),
                        ..Action::forward("{app}")
                    },
                ],
            },
            Rule {
                priority: None,
                conditions: vec![],
                actions: vec![Action::forward("{app}")],
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

    fn request<'a>(host: &'a str, path: &'a str, headers: &'a http::HeaderMap) -> Request<'a> {
        Request {
            method: "GET",
            host,
            path,
            headers,
            query: &[],
        }
    }

    #[test]
    fn rules_read_like_the_elbv2_api() {
        let json = r#"{"Priority": "5", "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}],
            "Actions": [{"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": {"UserPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc", "UserPoolClientId": "c", "UserPoolDomain": "d", "OnUnauthenticatedRequest": "deny", "AuthenticationRequestExtraParams": {"lang": "en"}}},
                        {"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": 418}}]}"#;
        let rule: Rule = serde_json::from_str(json).unwrap();
        assert_eq!(rule.priority, Some(5));
        let h = http::HeaderMap::new();
        assert!(rule.conditions[0].matches(&request("app.example.com:8080", "/", &h)));
        assert!(!rule.conditions[0].matches(&request("example.org", "/", &h)));
        let sorted = check_actions(&rule.actions).unwrap();
        let config = sorted[0].authenticate_cognito_config.as_ref().unwrap();
        assert_eq!(config.on_unauthenticated_request, OnUnauthenticated::Deny);
        assert_eq!(config.session_cookie_name, "AWSELBAuthSessionCookie");
        assert_eq!(config.session_timeout, 604_800);
        assert_eq!(config.pool_id(), "eu-west-1_abc");
        assert_eq!(config.extra_params().collect::<Vec<_>>(), [("lang", "en")]);
        assert_eq!(
            sorted[1]
                .fixed_response_config
                .as_ref()
                .unwrap()
                .status_code,
            "418"
        );
        assert!(serde_json::from_str::<Rule>(r#"{"Priority":1,"Actions":[],"Bogus":1}"#).is_err());
    }

    #[test]
    fn actions_are_checked_as_create_rule_checks_them() {
        let fwd = Action::forward("tg");
        let auth = Action::authenticate(AuthConfig {
            user_pool_arn: "arn:aws:cognito-idp:eu-west-1:1:userpool/p".into(),
            user_pool_client_id: "c".into(),
            user_pool_domain: "d".into(),
            ..AuthConfig::default()
        });
        assert!(check_actions(std::slice::from_ref(&fwd)).is_ok());
        let unordered = check_actions(&[auth.clone(), fwd.clone()]).unwrap_err();
        assert!(unordered.contains("Order"), "{unordered}");
        let ordered = check_actions(&[
            Action {
                order: Some(2),
                ..fwd.clone()
            },
            Action {
                order: Some(1),
                ..auth.clone()
            },
        ])
        .unwrap();
        assert_eq!(ordered[0].kind, "authenticate-cognito");
        assert!(
            check_actions(std::slice::from_ref(&auth))
                .unwrap_err()
                .contains("last action")
        );
        let bogus = Action {
            kind: "teleport".into(),
            ..Action::default()
        };
        assert!(
            check_actions(&[bogus])
                .unwrap_err()
                .contains("must be one of")
        );
    }

    #[test]
    fn describe_writes_both_forms() {
        let c = Condition::path(&["/v1/secrets*"]).to_api();
        assert_eq!(c.values, ["/v1/secrets*"]);
        assert_eq!(c.path_pattern_config.unwrap().values, ["/v1/secrets*"]);
        let a = Action::forward("tg").to_api();
        assert_eq!(a.target_group_arn.as_deref(), Some("tg"));
        let f = a.forward_config.unwrap();
        assert_eq!(f.target_groups[0].weight, Some(1));
    }
}
