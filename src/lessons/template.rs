//! The `{name}` variables that lesson URLs and commands use, and rendering them with a target's
//! values.

use std::collections::BTreeMap;

/// The names a URL or command may use as `{name}`, and what each stands for.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "site",
        "the site's URL as a browser opens it (through the ALB)",
    ),
    ("site_host", "the site's host name"),
    ("alb", "the load balancer's own URL (its DNS name)"),
    ("alb_host", "the load balancer's DNS name"),
    (
        "cognito",
        "the Cognito domain's URL (hosted UI and OAuth2 endpoints)",
    ),
    ("issuer", "the user pool's issuer URL"),
    ("client_id", "the app client's id"),
    ("user_pool_id", "the user pool's id"),
    ("region", "the AWS Region"),
    ("log_group", "the app's CloudWatch Logs group"),
    ("instance", "the app's EC2 instance id"),
    ("alb_arn", "the load balancer's ARN"),
    (
        "certificate_arn",
        "the lab's certificate for localhost (local track only)",
    ),
    (
        "vpc",
        "the VPC: its id, or its Name tag (cognito-learning unless given)",
    ),
    ("pipeline", "the CodePipeline pipeline's name"),
    (
        "app",
        "the app's own URL, behind the ALB (local track only)",
    ),
];

/// Every `{name}` in the strings of `v` (but not in `run`, a fixed shell command) is a variable.
pub(super) fn templates_known(v: &toml::Value, key: Option<&str>) -> Result<(), String> {
    match v {
        toml::Value::String(s) if key != Some("run") => {
            for name in template_names(s) {
                if !VARIABLES.iter().any(|(n, _)| *n == name) {
                    let known: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "{{{name}}} is not a variable; known: {}",
                        known.join(", ")
                    ));
                }
            }
            Ok(())
        }
        toml::Value::Table(t) => t
            .iter()
            .try_for_each(|(k, v)| templates_known(v, Some(k.as_str()))),
        toml::Value::Array(a) => a.iter().try_for_each(|v| templates_known(v, key)),
        _ => Ok(()),
    }
}

/// The `{name}`s in `s` (lower-case letters and `_` between braces). `%{name}` is curl's
/// `--write-out` syntax, not a variable.
pub fn template_names(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices('{').filter_map(move |(i, _)| {
        if s[..i].ends_with('%') {
            return None;
        }
        let rest = &s[i + 1..];
        let end = rest.find('}')?;
        let name = &rest[..end];
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .then_some(name)
    })
}

/// `s` with its `{name}`s replaced; `Err` names the first one this target lacks.
pub fn render(s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let name = after
            .find('}')
            .map(|e| &after[..e])
            .filter(|n| VARIABLES.iter().any(|(v, _)| v == n))
            .filter(|_| !out.ends_with('%'));
        match name {
            Some(n) => {
                let value = vars.get(n).ok_or_else(|| format!("{{{n}}} is not set"))?;
                out.push_str(value);
                rest = &after[n.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}
