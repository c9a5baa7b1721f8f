//! The lab's Cognito control plane, driven by the real AWS CLI (from PyPI) after
//! `eval "$(cognito-learning lab env)"`, and what the hosted UI then does for a browser: the
//! lessons' commands change the lab the way they change AWS.
#![allow(clippy::unwrap_used)]

#[path = "fixtures/lab_process.rs"]
mod lab_process;
#[path = "fixtures/learner.rs"]
mod learner;

use learner::{aws, land, sign_in};

use std::path::Path;
use std::process::Command;

use cognito_learning::browser::{self, Browser, next};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cognito-learning");

/// A lab process that is stopped however the test ends, so a failed assertion leaves none behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> (Running, Value) {
    let (child, info) = lab_process::start_lab(dir);
    (Running(child), info)
}

/// The value of a form's hidden field.
fn field(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let s = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[s..s + page[s..].find('"').unwrap()].replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_builds_users_and_clients_and_the_hosted_ui_follows() {
    let dir = std::env::temp_dir().join(format!("cl-cognito-cp-{}", std::process::id()));
    let (lab, info) = start(&dir);
    let pool = info["user_pool_id"].as_str().unwrap().to_owned();
    let client = info["client_id"].as_str().unwrap().to_owned();
    let site = info["alb"].as_str().unwrap().to_owned();
    let st = dir.clone();
    let cli = move |args: String| {
        let st = st.clone();
        async move {
            tokio::task::spawn_blocking(move || aws(&st, &args))
                .await
                .unwrap()
        }
    };

    // The lab's pool, as describe shows it: admin-only sign-up, the ALB's confidential client.
    let p = cli(format!(
        "cognito-idp describe-user-pool --user-pool-id {pool}"
    ))
    .await
    .unwrap();
    assert_eq!(
        p["UserPool"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"],
        true
    );
    assert_eq!(p["UserPool"]["Domain"], "cognito-learning-lab");
    let c = cli(format!(
        "cognito-idp describe-user-pool-client --user-pool-id {pool} --client-id {client}"
    ))
    .await
    .unwrap();
    let c = &c["UserPoolClient"];
    assert_eq!(c["AllowedOAuthFlows"], serde_json::json!(["code"]));
    assert_eq!(c["ClientSecret"], info["client_secret"]);
    assert_eq!(
        c["CallbackURLs"],
        serde_json::json!([format!("{site}/oauth2/idpresponse")])
    );
    let dup = cli(format!(
        "cognito-idp create-group --user-pool-id {pool} --group-name secret-readers"
    ))
    .await
    .unwrap_err();
    assert!(dup.contains("GroupExistsException"), "{dup}");
    let missing = cli("cognito-idp describe-user-pool --user-pool-id eu-west-1_NoSuchOne".into())
        .await
        .unwrap_err();
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");

    // A new user with a temporary password, in the group: the first sign-in asks for a new one.
    let u = cli(format!(
        "cognito-idp admin-create-user --user-pool-id {pool} --username carol \
         --user-attributes Name=email,Value=carol@example.com Name=email_verified,Value=true \
         --temporary-password Temp-Passw0rd! --message-action SUPPRESS"
    ))
    .await
    .unwrap();
    assert_eq!(u["User"]["UserStatus"], "FORCE_CHANGE_PASSWORD");
    cli(format!(
        "cognito-idp admin-add-user-to-group --user-pool-id {pool} --username carol --group-name secret-readers"
    ))
    .await
    .unwrap();
    let (b, action, status, page) = sign_in(&site, "carol", "Temp-Passw0rd!").await;
    assert_eq!(status, 200);
    assert!(page.contains("Change Password"), "{page}");
    let post = |new: &str, confirm: &str| {
        b.http().post(action.clone()).form(&[
            ("_csrf", field(&page, "_csrf")),
            ("challenge", field(&page, "challenge")),
            ("new_password", new.to_owned()),
            ("confirm_password", confirm.to_owned()),
        ])
    };
    let r = b
        .send(post("Carol-Passw0rd!", "other"), &action)
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("does not match"));
    let r = b.send(post("short", "short"), &action).await.unwrap();
    assert!(r.text().await.unwrap().contains("Password not long enough"));
    let r = b
        .send(post("Carol-Passw0rd!", "Carol-Passw0rd!"), &action)
        .await
        .unwrap();
    let callback = next(&action, &r).unwrap();
    let (status, _, body) = land(&b, callback.as_str()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("carol"), "{body}");
    let g = cli(format!(
        "cognito-idp admin-get-user --user-pool-id {pool} --username carol"
    ))
    .await
    .unwrap();
    assert_eq!(g["UserStatus"], "CONFIRMED");

    // Out of the group: signed in, but the app answers 403.
    cli(format!(
        "cognito-idp admin-remove-user-from-group --user-pool-id {pool} --username alice --group-name secret-readers"
    ))
    .await
    .unwrap();
    let landing = Browser::new(browser::client().unwrap())
        .login_to(
            &browser::url(&site).unwrap(),
            "alice",
            "Passw0rd!",
            "/v1/secrets",
        )
        .await
        .unwrap();
    assert_eq!(landing.status, 403, "{}", landing.body);

    // update-user-pool-client resets what it is not given: OAuth off, then a wrong callback.
    let u = cli(format!(
        "cognito-idp update-user-pool-client --user-pool-id {pool} --client-id {client} \
         --callback-urls '[\"{site}/oauth2/idpresponse\"]'"
    ))
    .await
    .unwrap();
    assert_eq!(
        u["UserPoolClient"]["AllowedOAuthFlowsUserPoolClient"],
        false
    );
    assert!(u["UserPoolClient"].get("AllowedOAuthFlows").is_none());
    let fresh = Browser::new(browser::client().unwrap());
    let (status, url, _) = land(&fresh, &format!("{site}/v1/secrets")).await;
    assert_eq!(status, 400);
    assert!(url.contains("/error?error=unauthorized_client"), "{url}");
    cli(format!(
        "cognito-idp update-user-pool-client --user-pool-id {pool} --client-id {client} \
         --allowed-o-auth-flows code --allowed-o-auth-flows-user-pool-client --allowed-o-auth-scopes openid email \
         --supported-identity-providers COGNITO --callback-urls '[\"https://app.example.com/oauth2/idpresponse\"]'"
    ))
    .await
    .unwrap();
    let (status, url, _) = land(&fresh, &format!("{site}/v1/secrets")).await;
    assert_eq!(status, 400);
    assert!(url.contains("/error?error=redirect_mismatch"), "{url}");

    // A pool with a domain cannot be deleted; without its domain the hosted UI is gone.
    let refused = cli(format!(
        "cognito-idp delete-user-pool --user-pool-id {pool}"
    ))
    .await
    .unwrap_err();
    assert!(refused.contains("has a domain configured"), "{refused}");
    cli(format!(
        "cognito-idp delete-user-pool-domain --user-pool-id {pool} --domain cognito-learning-lab"
    ))
    .await
    .unwrap();
    // The ALB's rule still names the domain, so it sends the browser to the domain's own
    // address, which (as on AWS, once the domain is gone) answers nothing; the lab's hosted-UI
    // origin says there is no domain.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{site}/v1/secrets"))
        .send()
        .await
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with(
            "https://cognito-learning-lab.auth.eu-west-1.amazoncognito.com/oauth2/authorize?"
        ),
        "{to}"
    );
    let cognito = info["cognito"].as_str().unwrap();
    let (status, _, body) = land(&fresh, &format!("{cognito}/oauth2/authorize")).await;
    assert_eq!(status, 404);
    assert!(body.contains("has no domain"), "{body}");

    // What was built survives a restart of the lab, on other ports.
    drop(lab);
    let (lab, again) = start(&dir);
    assert_eq!(
        again["aws_access_key_id"], info["aws_access_key_id"],
        "a shell set up with lab env keeps working"
    );
    let p = cli(format!(
        "cognito-idp describe-user-pool --user-pool-id {pool}"
    ))
    .await
    .unwrap();
    assert!(
        p["UserPool"].get("Domain").is_none_or(Value::is_null),
        "{p}"
    );
    let g = cli(format!(
        "cognito-idp admin-list-groups-for-user --user-pool-id {pool} --username alice"
    ))
    .await
    .unwrap();
    assert_eq!(g["Groups"], serde_json::json!([]));
    let c = cli(format!(
        "cognito-idp describe-user-pool-client --user-pool-id {pool} --client-id {client}"
    ))
    .await
    .unwrap();
    assert_eq!(
        c["UserPoolClient"]["CallbackURLs"],
        serde_json::json!(["https://app.example.com/oauth2/idpresponse"]),
        "a URL the learner set is kept as it is"
    );
    drop(lab);
    let mode = std::fs::metadata(dir.join("cognito-idp.json")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The whole app client as the ALB needs it, for `site` (with its sign-out URL when `logout`):
/// `update-user-pool-client` resets what it is not given.
fn whole_client(pool: &str, client: &str, site: &str, logout: bool) -> String {
    let mut args = format!(
        "cognito-idp update-user-pool-client --user-pool-id {pool} --client-id {client} \
         --allowed-o-auth-flows code --allowed-o-auth-flows-user-pool-client \
         --allowed-o-auth-scopes openid email --supported-identity-providers COGNITO \
         --callback-urls '[\"{site}/oauth2/idpresponse\"]'"
    );
    if logout {
        args.push_str(&format!(" --logout-urls '[\"{site}/logout\"]'"));
    }
    args
}

/// `check` output, with the state home holding `dir` as its lab's state directory.
fn check(home: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .arg("check")
        .args(args)
        .env("XDG_STATE_HOME", home)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A sign-in check that fails says why, from the app client and the listener rules as the lab's
/// control plane holds them (the guide's own sign-in: `--show-me`).
#[test]
fn a_failed_sign_in_check_names_what_is_wrong_with_the_app_client_and_the_rule() {
    let home = std::env::temp_dir().join(format!("cl-diagnose-{}", std::process::id()));
    let dir = home.join("cognito-learning/lab");
    let (_lab, info) = start(&dir);
    let pool = info["user_pool_id"].as_str().unwrap();
    let client = info["client_id"].as_str().unwrap();
    let site = info["alb"].as_str().unwrap();
    let passed = check(&home, &["--lesson", "10", "--show-me"], &[]);
    assert!(passed.contains("passed, 0 failed"), "{passed}");

    // update-user-pool-client with only the callback URL: everything else back to defaults.
    aws(
        &dir,
        &format!(
            "cognito-idp update-user-pool-client --user-pool-id {pool} --client-id {client} \
             --callback-urls '[\"{site}/oauth2/idpresponse\"]'"
        ),
    )
    .unwrap();
    let said = check(&home, &["--lesson", "10", "--show-me"], &[]);
    for finding in [
        "Why: AllowedOAuthFlowsUserPoolClient is off",
        "does not allow the authorization code grant",
        "openid, which the ALB asks for",
        "COGNITO is not among",
    ] {
        assert!(said.contains(finding), "{finding}: {said}");
    }
    assert!(!said.contains("callback URLs"), "{said}");

    // Every setting back but the callback URL, which names another host.
    aws(
        &dir,
        &whole_client(pool, client, "https://app.example.com", false),
    )
    .unwrap();
    let said = check(&home, &["--lesson", "10", "--show-me"], &[]);
    assert!(
        said.contains(&format!(
            "the ALB sends redirect_uri {site}/oauth2/idpresponse, which is not one of the app client's callback URLs (https://app.example.com/oauth2/idpresponse)"
        )),
        "{said}"
    );

    // The client mended; now a forward rule that comes first for /v1/secrets.
    aws(&dir, &whole_client(pool, client, site, true)).unwrap();
    let alb = info["alb_arn"].as_str().unwrap();
    let listener = aws(
        &dir,
        &format!("elbv2 describe-listeners --load-balancer-arn {alb} --query 'Listeners[?Protocol==`HTTPS`].ListenerArn | [0]'"),
    )
    .unwrap();
    let listener = listener.as_str().unwrap();
    let tg = aws(
        &dir,
        "elbv2 describe-target-groups --query 'TargetGroups[0].TargetGroupArn'",
    )
    .unwrap();
    let tg = tg.as_str().unwrap();
    let early = aws(
        &dir,
        &format!(
            "elbv2 create-rule --listener-arn {listener} --priority 5 \
             --conditions Field=path-pattern,Values='/v1/*' --actions Type=forward,TargetGroupArn={tg}"
        ),
    )
    .unwrap();
    let said = check(&home, &["--lesson", "10", "--show-me"], &[]);
    assert!(
        said.contains("rule 5 (forward) matches /v1/secrets before rule 10 that authenticates"),
        "{said}"
    );
    aws(
        &dir,
        &format!(
            "elbv2 delete-rule --rule-arn {}",
            early["Rules"][0]["RuleArn"].as_str().unwrap()
        ),
    )
    .unwrap();
    let passed = check(&home, &["--lesson", "10", "--show-me"], &[]);
    assert!(passed.contains("passed, 0 failed"), "{passed}");
    let _ = std::fs::remove_dir_all(&home);
}

/// The troubleshooting lesson: each scenario starts a lab broken in one documented way; the
/// lesson's check fails and names the cause, and passes once the AWS CLI mends it.
#[test]
fn each_scenario_is_found_by_the_check_and_mended_with_the_cli() {
    let home = std::env::temp_dir().join(format!("cl-scenarios-{}", std::process::id()));
    let dir = home.join("cognito-learning/lab");
    for (scenario, finding) in [
        (
            "callback-mismatch",
            "which is not one of the app client's callback URLs",
        ),
        (
            "no-code-grant",
            "does not allow the authorization code grant",
        ),
        ("no-openid", "openid, which the ALB asks for"),
        ("oauth-off", "AllowedOAuthFlowsUserPoolClient is off"),
        ("no-cognito-provider", "COGNITO is not among"),
        (
            "forward-first",
            "rule 5 (forward) matches /v1/secrets before rule 10",
        ),
    ] {
        let (child, info) = lab_process::start_lab_with(&dir, &["--scenario", scenario]);
        let _lab = Running(child);
        let said = check(&home, &["--lesson", "17", "--step", "1"], &[]);
        assert!(said.contains("0 passed, 2 failed"), "{scenario}: {said}");
        assert!(said.contains(finding), "{scenario}: {finding}: {said}");

        let (pool, client, site) = (
            info["user_pool_id"].as_str().unwrap(),
            info["client_id"].as_str().unwrap(),
            info["alb"].as_str().unwrap(),
        );
        let mended = if scenario == "forward-first" {
            let listener = aws(
                &dir,
                &format!(
                    "elbv2 describe-listeners --load-balancer-arn {} --query 'Listeners[?Port==`443`].ListenerArn | [0]'",
                    info["alb_arn"].as_str().unwrap()
                ),
            )
            .unwrap();
            let rule = aws(
                &dir,
                &format!(
                    "elbv2 describe-rules --listener-arn {} --query \"Rules[?Priority=='10'].RuleArn | [0]\"",
                    listener.as_str().unwrap()
                ),
            )
            .unwrap();
            aws(
                &dir,
                &format!(
                    "elbv2 set-rule-priorities --rule-priorities RuleArn={},Priority=1",
                    rule.as_str().unwrap()
                ),
            )
        } else {
            aws(&dir, &whole_client(pool, client, site, true))
        };
        mended.unwrap_or_else(|e| panic!("{scenario}: {e}"));
        let said = check(&home, &["--lesson", "17", "--step", "1"], &[]);
        assert!(
            said.contains("2 passed, 0 failed"),
            "{scenario} mended: {said}"
        );
    }
    let _ = std::fs::remove_dir_all(&home);
}
