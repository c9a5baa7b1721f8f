//! Why a sign-in failed: the app client read back with `DescribeUserPoolClient` (from the lab's
//! control plane, or the learner's account) and held against what the ALB needs of it. Each
//! finding names the setting and the command that mends it, so a failed check says more than
//! the status it saw.

use serde_json::{Value, json};

use crate::account::COGNITO_IDP;
use crate::target::Target;

/// What the app client needs for the ALB's sign-in, and for the proper logout when `logout`;
/// empty when it has all of it (or could not be read, which is said instead).
pub async fn app_client(t: &Target, logout: bool) -> Vec<String> {
    let Some(account) = &t.account else {
        return vec![];
    };
    let (Ok(pool), Ok(client), Ok(site)) = (
        t.render("{user_pool_id}"),
        t.render("{client_id}"),
        t.render("{site}"),
    ) else {
        return vec![];
    };
    let answer = account
        .json(
            &COGNITO_IDP,
            "DescribeUserPoolClient",
            json!({"UserPoolId": pool, "ClientId": client}),
        )
        .await;
    match answer {
        Ok(doc) => problems(&doc["UserPoolClient"], &site, logout),
        Err(e) => vec![format!("the app client could not be read to say why: {e}")],
    }
}

fn list<'a>(c: &'a Value, key: &str) -> Vec<&'a str> {
    c[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn shown(v: &[&str]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The findings for one `UserPoolClient` description, for a site at `site`.
pub fn problems(c: &Value, site: &str, logout: bool) -> Vec<String> {
    let mut out = Vec::new();
    let site = site.trim_end_matches('/');
    if c["ClientSecret"].as_str().is_none_or(str::is_empty) {
        out.push(
            "the app client has no secret, and the ALB needs one: make a new client with --generate-secret (a secret cannot be added later)"
                .into(),
        );
    }
    if c["AllowedOAuthFlowsUserPoolClient"] != true {
        out.push(
            "AllowedOAuthFlowsUserPoolClient is off, so none of the client's OAuth settings apply: give --allowed-o-auth-flows-user-pool-client (update-user-pool-client turns it off when it is left out)"
                .into(),
        );
    }
    let flows = list(c, "AllowedOAuthFlows");
    if !flows.contains(&"code") {
        out.push(format!(
            "the app client does not allow the authorization code grant the ALB uses (its flows: {}): --allowed-o-auth-flows code",
            shown(&flows)
        ));
    }
    let scopes = list(c, "AllowedOAuthScopes");
    if !scopes.contains(&"openid") {
        out.push(format!(
            "openid, which the ALB asks for, is not among the app client's scopes ({}): --allowed-o-auth-scopes openid email",
            shown(&scopes)
        ));
    }
    let providers = list(c, "SupportedIdentityProviders");
    if !providers.contains(&"COGNITO") {
        out.push(format!(
            "COGNITO is not among the app client's identity providers ({}), so the hosted UI has no sign-in form: --supported-identity-providers COGNITO",
            shown(&providers)
        ));
    }
    let callbacks = list(c, "CallbackURLs");
    let want = format!("{site}/oauth2/idpresponse");
    if !callbacks.contains(&want.as_str()) {
        let near = callbacks
            .iter()
            .find(|u| u.eq_ignore_ascii_case(&want))
            .map(|u| format!(" ({u} differs only in letter case, and Cognito compares exactly)"))
            .unwrap_or_default();
        out.push(format!(
            "the ALB sends redirect_uri {want}, which is not one of the app client's callback URLs ({}){near}: Cognito answers redirect_mismatch",
            shown(&callbacks)
        ));
    }
    let logouts = list(c, "LogoutURLs");
    let want = format!("{site}/logout");
    if logout && !logouts.contains(&want.as_str()) {
        out.push(format!(
            "{want} is not one of the app client's sign-out URLs ({}), so Cognito's /logout will not send the browser back to it",
            shown(&logouts)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_client_has_nothing_to_say_and_each_gap_is_named() {
        let good = json!({
            "ClientSecret": "s", "AllowedOAuthFlowsUserPoolClient": true,
            "AllowedOAuthFlows": ["code"], "AllowedOAuthScopes": ["openid", "email"],
            "SupportedIdentityProviders": ["COGNITO"],
            "CallbackURLs": ["https://app.example.com/oauth2/idpresponse"],
            "LogoutURLs": ["https://app.example.com/logout"],
        });
        assert!(problems(&good, "https://app.example.com/", true).is_empty());
        for (key, value, says) in [
            ("ClientSecret", Value::Null, "no secret"),
            ("AllowedOAuthFlowsUserPoolClient", json!(false), "is off"),
            (
                "AllowedOAuthFlows",
                json!(["implicit"]),
                "its flows: implicit",
            ),
            (
                "AllowedOAuthScopes",
                json!(["email"]),
                "openid, which the ALB",
            ),
            ("SupportedIdentityProviders", Value::Null, "COGNITO is not"),
            (
                "CallbackURLs",
                json!(["https://App.example.com/oauth2/idpresponse"]),
                "differs only in letter case",
            ),
            ("LogoutURLs", json!([]), "sign-out URLs (none)"),
        ] {
            let mut c = good.clone();
            c[key] = value;
            let found = problems(&c, "https://app.example.com", true);
            assert_eq!(found.len(), 1, "{key}: {found:?}");
            assert!(found[0].contains(says), "{key}: {found:?}");
        }
        let mut c = good.clone();
        c["LogoutURLs"] = json!([]);
        assert!(problems(&c, "https://app.example.com", false).is_empty());
    }
}
