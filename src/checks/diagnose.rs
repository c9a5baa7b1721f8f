//! Why a sign-in failed: the load balancer's listeners and rules read back with
//! `DescribeListeners` and `DescribeRules`, the app client with `DescribeUserPoolClient` (from
//! the lab's control plane, or the learner's account), and on AWS the ALB's security group,
//! each held against what the ALB needs. Each finding names the setting and the command that
//! mends it, so a failed check says more than the status it saw.

use serde_json::{Value, json};

use cognito_learning_emulator::alb::rules::glob;

use crate::account::{Account, COGNITO_IDP, EC2, ELBV2, entries, text, xml};
use crate::target::Target;

/// What is wrong with the rule for `/v1/secrets` and with the app client it names, for the
/// ALB's sign-in and, when `logout`, for the proper logout; empty when nothing is (or nothing
/// could be read, which is said instead).
pub async fn why(t: &Target, logout: bool) -> Vec<String> {
    let Some(account) = &t.account else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut named = None;
    if let Ok(alb) = t.render("{alb_arn}") {
        match rules(account, &alb).await {
            Ok(r) => {
                out.extend(r.findings);
                named = r.client;
            }
            Err(e) => out.push(format!(
                "the load balancer's rules could not be read to say why: {e}"
            )),
        }
        if t.render("{site}").is_ok_and(|s| s.starts_with("https://")) {
            out.extend(egress(account, &alb).await);
        }
    }
    out.extend(app_client(t, named, logout).await);
    out
}

/// What the rules say: findings, and the pool and app client of the rule that authenticates
/// `/v1/secrets`.
#[derive(Debug, Default)]
pub struct RuleFindings {
    pub findings: Vec<String>,
    pub client: Option<(String, String)>,
}

/// One listener rule as DescribeRules gives it.
#[derive(Debug, Clone)]
pub struct SeenRule {
    pub priority: String,
    pub paths: Vec<String>,
    pub authenticates: Option<(String, String, String)>,
    pub kinds: Vec<String>,
}

async fn rules(a: &Account, alb: &str) -> Result<RuleFindings, String> {
    let ls = a
        .query(
            &ELBV2,
            "DescribeListeners",
            &[("LoadBalancerArn".into(), alb.into())],
        )
        .await?;
    let ls = xml(&ELBV2, &ls)?;
    let listeners: Vec<(String, String)> = entries(ls.root(), "Listeners")
        .map(|l| {
            (
                text(l, "ListenerArn").unwrap_or_default().to_owned(),
                text(l, "Protocol").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let Some((arn, protocol)) = listeners
        .iter()
        .find(|(_, p)| p == "HTTPS")
        .or_else(|| listeners.first())
    else {
        return Ok(RuleFindings {
            findings: vec!["the load balancer has no listener: aws elbv2 create-listener".into()],
            client: None,
        });
    };
    let rs = a
        .query(
            &ELBV2,
            "DescribeRules",
            &[("ListenerArn".into(), arn.clone())],
        )
        .await?;
    let rs = xml(&ELBV2, &rs)?;
    let seen: Vec<SeenRule> = entries(rs.root(), "Rules")
        .map(|r| {
            let paths = entries(r, "Conditions")
                .filter(|c| text(*c, "Field") == Some("path-pattern"))
                .flat_map(|c| {
                    c.descendants()
                        .filter(|n| {
                            n.has_tag_name("member")
                                && n.parent().is_some_and(|p| p.has_tag_name("Values"))
                        })
                        .filter_map(|n| n.text())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect();
            let actions: Vec<_> = entries(r, "Actions").collect();
            let authenticates = actions.iter().find_map(|a| {
                let c = a
                    .descendants()
                    .find(|n| n.has_tag_name("AuthenticateCognitoConfig"))?;
                Some((
                    text(c, "UserPoolArn").unwrap_or_default().to_owned(),
                    text(c, "UserPoolClientId").unwrap_or_default().to_owned(),
                    text(c, "Scope").unwrap_or("openid").to_owned(),
                ))
            });
            SeenRule {
                priority: text(r, "Priority").unwrap_or_default().to_owned(),
                paths,
                authenticates,
                kinds: actions
                    .iter()
                    .filter_map(|a| text(*a, "Type"))
                    .map(str::to_owned)
                    .collect(),
            }
        })
        .collect();
    Ok(judge(protocol, &seen))
}

/// The findings for the served listener's rules, read in priority order for `/v1/secrets`.
pub fn judge(protocol: &str, rules: &[SeenRule]) -> RuleFindings {
    let mut out = RuleFindings::default();
    let secrets = |r: &SeenRule| {
        r.priority == "default" || r.paths.iter().any(|p| glob(p.as_bytes(), b"/v1/secrets"))
    };
    let mut ordered: Vec<&SeenRule> = rules.iter().collect();
    ordered.sort_by_key(|r| r.priority.parse::<u32>().unwrap_or(u32::MAX));
    let first = ordered.iter().find(|r| secrets(r));
    let authenticating = ordered
        .iter()
        .find(|r| secrets(r) && r.authenticates.is_some());
    match (first, authenticating) {
        (Some(f), Some(a)) if f.priority != a.priority => out.findings.push(format!(
            "rule {} ({}) matches /v1/secrets before rule {} that authenticates, so the ALB forwards without sign-in: give the authenticate rule a lower number (aws elbv2 set-rule-priorities)",
            f.priority,
            f.kinds.join(" + "),
            a.priority
        )),
        (_, None) if protocol != "HTTPS" => out.findings.push(
            "the listener the site uses is HTTP, and an authenticate-cognito rule needs an HTTPS listener: create one with the certificate (aws elbv2 create-listener --protocol HTTPS)".into(),
        ),
        (_, None) => out.findings.push(
            "no rule authenticates /v1/secrets, so the ALB forwards it without sign-in: aws elbv2 create-rule with an authenticate-cognito action".into(),
        ),
        _ => {}
    }
    if let Some((pool_arn, client, scope)) = authenticating.and_then(|r| r.authenticates.clone()) {
        if !scope.split_whitespace().any(|s| s == "openid") {
            out.findings.push(format!(
                "the rule's Scope is \"{scope}\", without openid: Cognito returns no ID token and the ALB answers 401; put openid in Scope (aws elbv2 modify-rule)"
            ));
        }
        let pool = pool_arn
            .rsplit_once("userpool/")
            .map_or("", |(_, p)| p)
            .to_owned();
        out.client = Some((pool, client));
    }
    out
}

/// On AWS: the ALB must reach Cognito's token endpoint on 443, so its security group needs an
/// outbound rule for it (the ALB answers 500 at /oauth2/idpresponse otherwise).
async fn egress(a: &Account, alb: &str) -> Vec<String> {
    let Ok(lb) = a
        .query(
            &ELBV2,
            "DescribeLoadBalancers",
            &[("LoadBalancerArns.member.1".into(), alb.into())],
        )
        .await
    else {
        return vec![];
    };
    let Ok(lb) = xml(&ELBV2, &lb) else {
        return vec![];
    };
    let groups: Vec<String> = entries(lb.root(), "SecurityGroups")
        .filter_map(|g| g.text())
        .map(str::to_owned)
        .collect();
    if groups.is_empty() {
        return vec![];
    }
    let params: Vec<(String, String)> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (format!("GroupId.{}", i + 1), g.clone()))
        .collect();
    let Ok(sgs) = a.query(&EC2, "DescribeSecurityGroups", &params).await else {
        return vec![];
    };
    let Ok(sgs) = xml(&EC2, &sgs) else {
        return vec![];
    };
    let open = sgs
        .descendants()
        .filter(|n| n.has_tag_name("ipPermissionsEgress"))
        .any(|list| {
            list.children()
                .filter(roxmltree::Node::is_element)
                .any(|p| {
                    let proto = text(p, "ipProtocol").unwrap_or_default();
                    let from = text(p, "fromPort")
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(-1);
                    let to = text(p, "toPort")
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(-1);
                    let anywhere = p
                        .descendants()
                        .any(|n| n.has_tag_name("cidrIp") && n.text() == Some("0.0.0.0/0"));
                    anywhere && (proto == "-1" || (proto == "tcp" && from <= 443 && 443 <= to))
                })
        });
    if open {
        vec![]
    } else {
        vec![format!(
            "the ALB's security group ({}) has no outbound rule for port 443, so the ALB cannot reach Cognito's token endpoint (it answers 500 at /oauth2/idpresponse): aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port 443 --cidr 0.0.0.0/0",
            groups.join(", "),
            groups[0]
        )]
    }
}

/// What the app client needs for the ALB's sign-in, and for the proper logout when `logout`;
/// empty when it has all of it (or could not be read, which is said instead). `named` is the
/// pool and client the rule names, which a blank lab's target does not know.
pub async fn app_client(t: &Target, named: Option<(String, String)>, logout: bool) -> Vec<String> {
    let Some(account) = &t.account else {
        return vec![];
    };
    let Ok(site) = t.render("{site}") else {
        return vec![];
    };
    let (pool, client) = match (named, t.render("{user_pool_id}"), t.render("{client_id}")) {
        (Some(n), _, _) => n,
        (None, Ok(p), Ok(c)) if !p.is_empty() && !c.is_empty() => (p, c),
        _ => return vec![],
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

    fn rule(priority: &str, paths: &[&str], auth: Option<&str>) -> SeenRule {
        SeenRule {
            priority: priority.into(),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            authenticates: auth.map(|scope| {
                (
                    "arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_abc".into(),
                    "client".into(),
                    scope.into(),
                )
            }),
            kinds: if auth.is_some() {
                vec!["authenticate-cognito".into(), "forward".into()]
            } else {
                vec!["forward".into()]
            },
        }
    }

    #[test]
    fn the_rules_are_read_in_priority_order_for_the_secrets() {
        let good = [
            rule("10", &["/v1/secrets*"], Some("openid")),
            rule("default", &[], None),
        ];
        let found = judge("HTTPS", &good);
        assert!(found.findings.is_empty(), "{:?}", found.findings);
        assert_eq!(
            found.client,
            Some(("eu-west-1_abc".into(), "client".into()))
        );
        let early = [
            good[0].clone(),
            rule("5", &["/v1/*"], None),
            good[1].clone(),
        ];
        assert!(
            judge("HTTPS", &early).findings[0]
                .contains("rule 5 (forward) matches /v1/secrets before rule 10")
        );
        let none = [good[1].clone()];
        assert!(judge("HTTPS", &none).findings[0].contains("no rule authenticates"));
        assert!(judge("HTTP", &none).findings[0].contains("needs an HTTPS listener"));
        let email = [
            rule("10", &["/v1/secrets*"], Some("email")),
            good[1].clone(),
        ];
        assert!(judge("HTTPS", &email).findings[0].contains("without openid"));
        let elsewhere = [
            rule("10", &["/v1/Secrets*"], Some("openid")),
            good[1].clone(),
        ];
        assert!(
            judge("HTTPS", &elsewhere).findings[0].contains("no rule authenticates"),
            "paths are case-sensitive"
        );
    }
}
