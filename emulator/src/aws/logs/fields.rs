//! Reading a request's fields and paging answers, with AWS's own validation messages.

use serde_json::{Map, Value, json};

use crate::aws::ApiError;

pub(super) fn param(msg: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", msg)
}

pub(super) fn str_field<'a>(req: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    req.get(name).and_then(Value::as_str)
}

pub(super) fn required<'a>(req: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    str_field(req, name).ok_or_else(|| param(format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null")))
}

pub(super) fn int(req: &Map<String, Value>, name: &str) -> Option<i64> {
    req.get(name).and_then(Value::as_i64)
}

pub(super) fn limit_exceeded() -> ApiError {
    ApiError::new("LimitExceededException", "Resource limit exceeded.")
}

pub(super) fn no_group() -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

pub(super) fn page_limit(req: &Map<String, Value>, max: i64) -> Result<usize, ApiError> {
    match int(req, "limit") {
        None => Ok(usize::try_from(max).unwrap_or(usize::MAX)),
        Some(l) if (1..=max).contains(&l) => Ok(usize::try_from(l).unwrap_or(1)),
        Some(l) => Err(param(format!(
            "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

pub(super) fn offset_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("o:{offset}"))
}

pub(super) fn token_offset(req: &Map<String, Value>) -> Result<usize, ApiError> {
    use base64::Engine;
    let Some(t) = str_field(req, "nextToken") else {
        return Ok(0);
    };
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| param("The specified nextToken is invalid."))
}

pub(super) fn parse_get_token(t: &str) -> Result<(char, usize), ApiError> {
    let bad = || param("The specified nextToken is invalid.");
    let (dir, pos) = t.split_once('/').ok_or_else(bad)?;
    let dir = match dir {
        "f" => 'f',
        "b" => 'b',
        _ => return Err(bad()),
    };
    Ok((dir, pos.parse().map_err(|_| bad())?))
}

pub(super) fn paged(key: &str, all: Vec<Value>, start: usize, limit: usize) -> Value {
    let more = start + limit < all.len();
    let page: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    let mut out = json!({ key: page });
    if more {
        out["nextToken"] = offset_token(start + limit).into();
    }
    out
}
