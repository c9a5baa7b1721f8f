//! CloudWatch Logs' filter-pattern language, as far as the course uses it: terms (all must
//! appear; `-term` must not; `?a ?b` any of them; `"quoted phrases"`) and JSON conditions
//! (`{ $.path = "/v1/*" && $.status >= 400 }`), for FilterLogEvents and Live Tail.

use serde_json::Value;

use super::ApiError;

fn param(msg: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", msg)
}

/// A filter pattern: terms, or a JSON condition.
#[derive(Debug, PartialEq)]
pub enum Pattern {
    All,
    Terms {
        all: Vec<String>,
        none: Vec<String>,
        any: Vec<String>,
    },
    /// `{ $.a = "b" && $.c > 1 || … }`: OR of ANDs.
    Json(Vec<Vec<Cond>>),
}

#[derive(Debug, PartialEq)]
pub struct Cond {
    path: Vec<String>,
    op: String,
    value: Value,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, ApiError> {
        let t = text.trim();
        if t.is_empty() || t == "\"\"" {
            return Ok(Pattern::All);
        }
        if let Some(inner) = t.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            let mut ors = Vec::new();
            for alt in inner.split("||") {
                let mut ands = Vec::new();
                for c in alt.split("&&") {
                    ands.push(
                        Cond::parse(c.trim())
                            .ok_or_else(|| param(format!("Invalid filter pattern: {text}")))?,
                    );
                }
                ors.push(ands);
            }
            return Ok(Pattern::Json(ors));
        }
        let (mut all, mut none, mut any) = (Vec::new(), Vec::new(), Vec::new());
        let mut rest = t;
        while !rest.is_empty() {
            rest = rest.trim_start();
            let (neg, opt) = (rest.starts_with('-'), rest.starts_with('?'));
            if neg || opt {
                rest = &rest[1..];
            }
            let term = if let Some(q) = rest.strip_prefix('"') {
                let end = q
                    .find('"')
                    .ok_or_else(|| param(format!("Invalid filter pattern: {text}")))?;
                let term = &q[..end];
                rest = &q[end + 1..];
                term
            } else {
                let end = rest.find(' ').unwrap_or(rest.len());
                let term = &rest[..end];
                rest = &rest[end..];
                term
            };
            if term.is_empty() {
                continue;
            }
            match (neg, opt) {
                (true, _) => none.push(term.to_owned()),
                (_, true) => any.push(term.to_owned()),
                _ => all.push(term.to_owned()),
            }
        }
        Ok(Pattern::Terms { all, none, any })
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms { all, none, any } => {
                all.iter().all(|t| message.contains(t.as_str()))
                    && !none.iter().any(|t| message.contains(t.as_str()))
                    && (any.is_empty() || any.iter().any(|t| message.contains(t.as_str())))
            }
            Pattern::Json(ors) => {
                let Ok(doc) = serde_json::from_str::<Value>(message) else {
                    return false;
                };
                ors.iter().any(|ands| ands.iter().all(|c| c.holds(&doc)))
            }
        }
    }
}

impl Cond {
    fn parse(text: &str) -> Option<Cond> {
        let text = text
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        let body = text.strip_prefix("$.")?;
        let ops = ["!=", ">=", "<=", "=", ">", "<"];
        let (at, op) = ops
            .iter()
            .filter_map(|op| body.find(op).map(|i| (i, *op)))
            .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))?;
        let path = body[..at].trim().split('.').map(str::to_owned).collect();
        let raw = body[at + op.len()..].trim();
        let value = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(s) => Value::String(s.to_owned()),
            None => serde_json::from_str(raw)
                .ok()
                .or_else(|| Some(Value::String(raw.to_owned())))?,
        };
        Some(Cond {
            path,
            op: op.to_owned(),
            value,
        })
    }

    fn holds(&self, doc: &Value) -> bool {
        let mut v = doc;
        for key in &self.path {
            match v.get(key) {
                Some(x) => v = x,
                None => return false,
            }
        }
        match (&self.value, v) {
            (Value::String(want), got) => {
                let got = match got {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let eq = match want.strip_suffix('*') {
                    Some(prefix) => got.starts_with(prefix),
                    None => &got == want,
                };
                match self.op.as_str() {
                    "=" => eq,
                    "!=" => !eq,
                    _ => false,
                }
            }
            (Value::Number(want), Value::Number(got)) => {
                let (w, g) = (
                    want.as_f64().unwrap_or(f64::NAN),
                    got.as_f64().unwrap_or(f64::NAN),
                );
                match self.op.as_str() {
                    "=" => g == w,
                    "!=" => g != w,
                    ">" => g > w,
                    "<" => g < w,
                    ">=" => g >= w,
                    "<=" => g <= w,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_patterns_match_as_documented() {
        let line = r#"{"event":"request","path":"/v1/secrets","status":403,"alb":{"data":{"verdict":"valid"}}}"#;
        let m = |p: &str| Pattern::parse(p).unwrap().matches(line);
        assert!(m(""));
        assert!(m("request secrets"));
        assert!(!m("request public"));
        assert!(m(r#""/v1/secrets""#));
        assert!(!m("request -secrets"));
        assert!(m("?public ?secrets"));
        assert!(m(r#"{ $.path = "/v1/secrets" }"#));
        assert!(m(r#"{ $.alb.data.verdict = "valid" }"#));
        assert!(m(r#"{ $.path = "/v1/*" }"#));
        assert!(m("{ $.status = 403 }"));
        assert!(m("{ $.status >= 400 && $.status < 500 }"));
        assert!(!m(r#"{ $.status > 403 || $.path != "/v1/secrets" }"#));
        assert!(!m(r#"{ $.missing = "x" }"#));
        assert!(!Pattern::parse("{ $.a = 1 }").unwrap().matches("not json"));
        assert!(Pattern::parse("{ nonsense }").is_err());
    }
}
