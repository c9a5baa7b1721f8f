//! `lab --scenario NAME`: a built lab broken in one documented way, for the troubleshooting
//! lesson. The learner sees the failure in the browser, finds the cause with the guide and
//! mends it with the AWS CLI. A scenario always starts from a fresh lab, so starting it again
//! starts the exercise again.

use crate::alb::rules::{Action, Condition};
use crate::cognito::Directory;
use crate::elb::{self, ListenerRule, LoadBalancing};

/// Each scenario's name and what is broken (what the guide's diagnosis then names).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "callback-mismatch",
        "the app client's callback URL ends in a slash the ALB does not send: Cognito answers redirect_mismatch",
    ),
    (
        "no-code-grant",
        "the app client allows only the implicit grant: Cognito refuses the ALB's code request and the ALB answers 561",
    ),
    (
        "no-openid",
        "openid is not among the app client's scopes: Cognito refuses the ALB's request and the ALB answers 561",
    ),
    (
        "oauth-off",
        "AllowedOAuthFlowsUserPoolClient is off: the client has no OAuth at all",
    ),
    (
        "no-cognito-provider",
        "COGNITO is not a supported identity provider: the hosted UI has no sign-in form",
    ),
    (
        "forward-first",
        "a forward rule with a lower number matches /v1/* first: /v1/secrets is forwarded without sign-in",
    ),
];

/// Checks a scenario's name, listing the ones there are when it is not one of them.
pub fn check(name: &str) -> anyhow::Result<()> {
    if SCENARIOS.iter().any(|(n, _)| *n == name) {
        return Ok(());
    }
    let names: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
    anyhow::bail!(
        "there is no scenario {name:?}: the scenarios are {}",
        names.join(", ")
    )
}

/// Breaks the freshly built lab as `name` says.
pub fn apply(name: &str, directory: &Directory, lb: &LoadBalancing) -> anyhow::Result<()> {
    check(name)?;
    let pool = directory.served_id();
    let broken = |f: &dyn Fn(&mut crate::cognito::directory::Client)| {
        directory
            .write(|pools| {
                if let Some(c) = pools
                    .iter_mut()
                    .find(|p| p.id == pool)
                    .and_then(|p| p.clients.first_mut())
                {
                    f(c);
                }
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{}", e.message))
    };
    match name {
        "callback-mismatch" => broken(&|c| {
            for u in &mut c.callback_urls {
                u.push('/');
            }
        }),
        "no-code-grant" => broken(&|c| c.flows = vec!["implicit".into()]),
        "no-openid" => broken(&|c| c.scopes = vec!["email".into()]),
        "oauth-off" => broken(&|c| c.oauth_enabled = false),
        "no-cognito-provider" => broken(&|c| c.providers.clear()),
        _ => lb
            .write(|s| {
                let (Some(l), Some(tg)) = (s.served_listener(), s.target_groups.first()) else {
                    return Ok(());
                };
                let rule = ListenerRule {
                    arn: elb::rule_arn(&l.arn),
                    listener: l.arn.clone(),
                    priority: 5,
                    conditions: vec![Condition::path(&["/v1/*"])],
                    actions: vec![Action::forward(&tg.arn)],
                };
                s.rules.push(rule);
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{}", e.message)),
    }
}
