//! The user pool's OpenID Connect discovery document and its signing keys.

use super::text::{Res, unreachable, without_query};
use crate::target::Target;

pub(super) async fn oidc(t: &Target, issuer: &str) -> Res {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc: serde_json::Value = get_json(t, &url).await?;
    if doc["issuer"] != issuer {
        return Err(format!(
            "the discovery document names issuer {}, not {issuer}",
            doc["issuer"]
        ));
    }
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        if !doc[field].is_string() {
            return Err(format!("the discovery document has no {field}"));
        }
    }
    let jwks_uri = doc["jwks_uri"].as_str().unwrap_or_default();
    let jwks = get_json(t, jwks_uri).await?;
    let keys = jwks["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if keys.is_empty()
        || keys
            .iter()
            .any(|k| k["kty"] != "RSA" || k["alg"] != "RS256")
    {
        return Err(format!("{jwks_uri} does not list RS256 RSA keys"));
    }
    Ok(format!(
        "discovery names {issuer}; {} RS256 key(s) at {}",
        keys.len(),
        without_query(jwks_uri)
    ))
}

pub(super) async fn get_json(t: &Target, url: &str) -> Result<serde_json::Value, String> {
    let r = t
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    if !r.status().is_success() {
        return Err(format!("GET {url} answered {}", r.status().as_u16()));
    }
    r.json()
        .await
        .map_err(|e| format!("{url} is not JSON: {e}"))
}
