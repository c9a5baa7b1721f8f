//! The local lab end to end over loopback, with a cookie-keeping client that follows every
//! redirect by hand, as a browser would, so each hop can be checked.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use cognito_learning_emulator::alb::rules::{AuthConfig, OnUnauthenticated, Rule};
use cognito_learning_emulator::{Lab, LabOptions};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::Value;

async fn lab_with(tweak: impl FnOnce(&mut LabOptions)) -> Lab {
    let dir = std::env::temp_dir().join(format!(
        "cl-flow-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let mut opts = LabOptions {
        state_dir: dir,
        ..LabOptions::any_ports()
    };
    tweak(&mut opts);
    Lab::start(opts).await.unwrap()
}

async fn lab() -> Lab {
    lab_with(|_| {}).await
}

/// One browser: a cookie jar, no automatic redirects.
struct Browser {
    http: reqwest::Client,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

impl Page {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    fn sets(&self, name: &str) -> bool {
        self.cookies
            .iter()
            .any(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn page(resp: reqwest::Response) -> Page {
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            cookies: resp
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|c| c.to_str().unwrap().to_owned())
                .collect(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.unwrap()).await
    }

    async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Page {
        let mut r = self.http.get(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        Self::page(r.send().await.unwrap()).await
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(url).form(form).send().await.unwrap()).await
    }

    /// Fills in and submits the hosted UI's sign-in form shown on `page`.
    async fn sign_in(&self, lab: &Lab, page: &Page, user: &str, password: &str) -> Page {
        let (action, csrf) = form_fields(&page.body);
        self.post(
            &format!("{}{action}", lab.info.cognito),
            &[
                ("_csrf", &csrf),
                ("username", user),
                ("password", password),
                ("signInSubmitButton", "Sign in"),
            ],
        )
        .await
    }

    /// From `path` on the ALB to the hosted UI's sign-in form, without checking the hops.
    async fn form_via(&self, lab: &Lab, path: &str) -> Page {
        let start = self.get(&format!("{}{path}", lab.info.alb)).await;
        let login = self.get(&start.location.unwrap()).await.location.unwrap();
        self.get(&login).await
    }

    /// The whole login from `/v1/secrets`, checking each hop. Returns the final page.
    async fn login(&self, lab: &Lab, user: &str) -> Page {
        let start = self.get(&format!("{}/v1/secrets", lab.info.alb)).await;
        assert_eq!(start.status, 302);
        let authorize = start.location.clone().unwrap();
        assert!(
            authorize.starts_with(&format!("{}/oauth2/authorize?client_id=", lab.info.cognito))
        );
        assert!(start.sets("AWSALBAuthNonce"));
        let to_login = self.get(&authorize).await;
        assert_eq!(to_login.status, 302, "{}", to_login.body);
        let login_url = to_login.location.unwrap();
        assert!(login_url.starts_with(&format!("{}/login?", lab.info.cognito)));
        let form = self.get(&login_url).await;
        assert_eq!(form.status, 200);
        assert!(form.sets("XSRF-TOKEN"));
        let back = self.sign_in(lab, &form, user, "Passw0rd!").await;
        assert_eq!(back.status, 302, "{}", back.body);
        assert!(back.sets("cognito"), "the hosted UI keeps its own session");
        self.finish(lab, &back).await
    }

    /// From Cognito's redirect to `/oauth2/idpresponse` to the page first asked for.
    async fn finish(&self, lab: &Lab, back: &Page) -> Page {
        let callback = back.location.clone().unwrap();
        assert!(
            callback.starts_with(&format!("{}/oauth2/idpresponse?code=", lab.info.alb)),
            "{callback}"
        );
        let done = self.get(&callback).await;
        assert_eq!(done.status, 302, "{}", done.body);
        assert!(done.sets("AWSELBAuthSessionCookie-0"));
        assert_eq!(
            done.location.as_deref(),
            Some(format!("{}/v1/secrets", lab.info.alb).as_str())
        );
        self.get(done.location.as_deref().unwrap()).await
    }
}

fn form_fields(html: &str) -> (String, String) {
    let attr = |marker: &str| {
        let start = html
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in {html}"))
            + marker.len();
        html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    (attr(r#"action=""#), attr(r#"name="_csrf" value=""#))
}

fn query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

#[tokio::test]
async fn alice_logs_in_through_the_hosted_ui_and_reads_the_secrets() {
    let lab = lab().await;
    let b = Browser::new();
    let page = b.login(&lab, "alice").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.json();
    assert_eq!(body["caller"]["username"], "alice");
    assert_eq!(body["caller"]["email"], "alice@example.com");
    assert_eq!(
        body["caller"]["groups"],
        serde_json::json!(["secret-readers"])
    );
    // Logged in, the next request goes straight through.
    assert_eq!(
        b.get(&format!("{}/v1/secrets", lab.info.alb)).await.status,
        200
    );
    // The back channel happened, and the browser never saw it.
    let trace = lab.trace.recent();
    let back: Vec<&str> = trace
        .iter()
        .filter(|e| e.back_channel)
        .map(|e| e.request.as_str())
        .collect();
    assert_eq!(back, ["POST /oauth2/token", "GET /oauth2/userInfo"]);
    lab.stop().await;
}

#[tokio::test]
async fn the_authorize_redirect_looks_like_the_real_albs() {
    let lab = lab().await;
    let b = Browser::new();
    let start = b.get(&format!("{}/v1/secrets?x=1", lab.info.alb)).await;
    let url = start.location.unwrap();
    let names: Vec<&str> = url
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state"
        ]
    );
    let q = query(&url);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/oauth2/idpresponse", lab.info.alb)
    );
    assert_eq!(
        (q["response_type"].as_str(), q["scope"].as_str()),
        ("code", "openid")
    );
    assert!(q["state"].len() > 100, "state is an opaque blob");
    let nonce = start
        .cookies
        .iter()
        .find(|c| c.starts_with("AWSALBAuthNonce="))
        .unwrap();
    let value = nonce.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert_eq!(value.len(), 16);
    assert!(value.bytes().all(|c| c.is_ascii_alphanumeric()));
    lab.stop().await;
}

#[tokio::test]
async fn bob_signs_in_but_is_forbidden_the_secrets() {
    let lab = lab().await;
    let page = Browser::new().login(&lab, "bob").await;
    assert_eq!(page.status, 403);
    assert_eq!(
        page.json()["reason"],
        "bob is not in group secret-readers (groups: none)"
    );
    lab.stop().await;
}

#[tokio::test]
async fn wrong_credentials_and_a_missing_csrf_token_are_refused_on_the_form() {
    let lab = lab().await;
    let b = Browser::new();
    let form = b.form_via(&lab, "/v1/secrets").await;
    let wrong = b.sign_in(&lab, &form, "alice", "nope").await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("Incorrect username or password."));
    let (action, _) = form_fields(&form.body);
    let forged = b
        .post(
            &format!("{}{action}", lab.info.cognito),
            &[
                ("_csrf", "x"),
                ("username", "alice"),
                ("password", "Passw0rd!"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(!forged.sets("cognito"));
    lab.stop().await;
}

#[tokio::test]
async fn a_proper_logout_ends_both_sessions() {
    let lab = lab().await;
    let b = Browser::new();
    assert_eq!(b.login(&lab, "alice").await.status, 200);
    // The home page's Logout link goes through Cognito first.
    let home = b.get(&format!("{}/", lab.info.alb)).await;
    let start = home.body.find(r#"id="logout" href=""#).unwrap() + r#"id="logout" href=""#.len();
    let logout =
        home.body[start..start + home.body[start..].find('"').unwrap()].replace("&amp;", "&");
    assert!(logout.starts_with(&format!("{}/logout?client_id=", lab.info.cognito)));
    let cognito = b.get(&logout).await;
    assert_eq!(cognito.status, 302);
    assert_eq!(
        cognito.location.as_deref(),
        Some(format!("{}/logout", lab.info.alb).as_str())
    );
    assert!(cognito.cookies.iter().any(|c| c.starts_with("cognito=;")));
    let app = b.get(&format!("{}/logout", lab.info.alb)).await;
    assert!(app.body.contains("You are logged out"));
    // Both sessions are gone: the next visit shows the sign-in form again.
    let start = b.get(&format!("{}/v1/secrets", lab.info.alb)).await;
    assert_eq!(start.status, 302);
    let authorize = b.get(&start.location.unwrap()).await;
    assert!(
        authorize
            .location
            .unwrap()
            .starts_with(&format!("{}/login?", lab.info.cognito))
    );
    lab.stop().await;
}

#[tokio::test]
async fn clearing_only_the_alb_cookies_logs_straight_back_in() {
    let lab = lab().await;
    let b = Browser::new();
    assert_eq!(b.login(&lab, "alice").await.status, 200);
    let app = b.get(&format!("{}/logout", lab.info.alb)).await;
    assert!(
        app.cookies
            .iter()
            .any(|c| c.starts_with("AWSELBAuthSessionCookie-0=;"))
    );
    let start = b.get(&format!("{}/v1/secrets", lab.info.alb)).await;
    assert_eq!(start.status, 302, "the ALB session is gone");
    // Cognito's own session is not: a new code, no form.
    let silent = b.get(&start.location.unwrap()).await;
    assert_eq!(silent.status, 302);
    let page = b.finish(&lab, &silent).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["caller"]["username"], "alice");
    lab.stop().await;
}

/// AWS documents that an authenticate rule stops a request without a session before the app,
/// and no stripping of a client's `x-amzn-oidc-*` headers on a rule that only forwards: there
/// they reach the app, which refuses what it cannot verify.
#[tokio::test]
async fn a_forged_oidc_header_is_stopped_by_the_rule_or_refused_by_the_app() {
    let lab = lab().await;
    let forged = [
        (
            "x-amzn-oidc-data",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
        ),
        ("x-amzn-oidc-identity", "admin"),
    ];
    let b = Browser::new();
    // Not logged in: the ALB sends the browser to log in, whatever it claims.
    assert_eq!(
        b.get_with(&format!("{}/v1/secrets", lab.info.alb), &forged)
            .await
            .status,
        302
    );
    // On a forward-only route the forged headers reach the app, which does not trust them.
    assert_eq!(
        b.get_with(&format!("{}/v1/public?forged=1", lab.info.alb), &forged)
            .await
            .status,
        200
    );
    // Logged in as bob, the ALB's own headers replace the forged ones: he stays bob.
    assert_eq!(b.login(&lab, "bob").await.status, 403);
    let page = b
        .get_with(&format!("{}/v1/secrets?as=bob", lab.info.alb), &forged)
        .await;
    assert_eq!(page.status, 403);
    let log_path = lab_log(&lab);
    lab.stop().await;
    let log = std::fs::read_to_string(log_path).unwrap();
    let line = |query: &str| -> Value {
        log.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|l| l["query"] == query)
            .unwrap()
    };
    let public = line("forged=1");
    assert_eq!(public["alb"]["data"]["raw"], forged[0].1, "{public}");
    assert_eq!(public["alb"]["data"]["verdict"], "invalid", "{public}");
    assert_eq!(
        public["alb"]["identity"]["verdict"], "unchecked: no verified x-amzn-oidc-data",
        "{public}"
    );
    assert_eq!(public["request_headers"]["x-forwarded-proto"], "http");
    assert!(public["trace_id"].as_str().unwrap().starts_with("Root=1-"));
    let bob = line("as=bob");
    assert_eq!(bob["alb"]["data"]["verdict"], "valid", "{bob}");
    assert_ne!(bob["alb"]["identity"]["raw"], "admin", "{bob}");
    assert_eq!(
        bob["alb"]["identity"]["verdict"], "matches the verified sub",
        "{bob}"
    );
}

fn lab_log(lab: &Lab) -> std::path::PathBuf {
    lab.info.state_dir.join("server.log")
}

#[tokio::test]
async fn a_tampered_session_cookie_counts_as_none() {
    let lab = lab().await;
    let b = Browser::new();
    let form = b.form_via(&lab, "/v1/secrets").await;
    let back = b.sign_in(&lab, &form, "alice", "Passw0rd!").await;
    let done = b.get(&back.location.unwrap()).await;
    let cookie = done
        .cookies
        .iter()
        .find(|c| c.starts_with("AWSELBAuthSessionCookie-0="))
        .unwrap();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("AWSELBAuthSessionCookie-0=");
    let mut tampered = value.to_owned();
    tampered.replace_range(30..31, if &value[30..31] == "A" { "B" } else { "A" });
    let other = Browser::new();
    let genuine = other
        .get_with(
            &format!("{}/v1/secrets", lab.info.alb),
            &[("cookie", &format!("AWSELBAuthSessionCookie-0={value}"))],
        )
        .await;
    assert_eq!(genuine.status, 200, "the cookie alone is the session");
    let page = other
        .get_with(
            &format!("{}/v1/secrets", lab.info.alb),
            &[("cookie", &format!("AWSELBAuthSessionCookie-0={tampered}"))],
        )
        .await;
    assert_eq!(page.status, 302);
    assert!(page.location.unwrap().contains("/oauth2/authorize?"));
    lab.stop().await;
}

#[tokio::test]
async fn the_callback_checks_state_nonce_and_code() {
    let lab = lab().await;
    let b = Browser::new();
    let cb = format!("{}/oauth2/idpresponse", lab.info.alb);
    let reason = |p: &Page| {
        p.body
            .split("<!-- ")
            .nth(1)
            .map(|r| r.split(" -->").next().unwrap().to_owned())
            .unwrap_or_default()
    };
    let p = b.get(&format!("{cb}?state=x")).await;
    assert_eq!(
        (p.status.as_u16(), reason(&p).as_str()),
        (401, "AuthMissingCodeParam")
    );
    let p = b.get(&format!("{cb}?code=x")).await;
    assert_eq!(
        (p.status.as_u16(), reason(&p).as_str()),
        (401, "AuthMissingStateParam")
    );
    let p = b
        .get(&format!("{cb}?code=x&state=bm90LXNlYWxlZA%3D%3D"))
        .await;
    assert_eq!(
        (p.status.as_u16(), reason(&p).as_str()),
        (401, "AuthInvalidStateParam")
    );
    assert_eq!(p.cookies.len(), 0);
    let p = b.get(&format!("{cb}?error=access_denied&state=x")).await;
    assert_eq!(p.status.as_u16(), 561);
    // A real login's callback, replayed by another browser: no nonce cookie, refused.
    let form = b.form_via(&lab, "/v1/secrets").await;
    let back = b.sign_in(&lab, &form, "alice", "Passw0rd!").await;
    let stolen = Browser::new().get(back.location.as_deref().unwrap()).await;
    assert_eq!(stolen.status, 401);
    assert!(reason(&stolen).starts_with("AuthInvalidCookie"));
    // The rightful browser finishes; replaying the same callback then fails.
    let done = b.get(back.location.as_deref().unwrap()).await;
    assert_eq!(done.status, 302);
    let replay = b.get(back.location.as_deref().unwrap()).await;
    assert_eq!(replay.status, 401);
    lab.stop().await;
}

/// A code straight from Cognito for the lab's client, optionally with PKCE.
async fn code_for(lab: &Lab, b: &Browser, challenge: Option<&str>) -> String {
    let mut url = format!(
        "{}/oauth2/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=abc",
        lab.info.cognito,
        lab.info.client_id,
        form_urlencoded::byte_serialize(format!("{}/oauth2/idpresponse", lab.info.alb).as_bytes())
            .collect::<String>()
    );
    if let Some(c) = challenge {
        url.push_str(&format!("&code_challenge={c}&code_challenge_method=S256"));
    }
    let next = b.get(&url).await;
    let back = if next.location.as_deref().unwrap().contains("/login?") {
        let form = b.get(next.location.as_deref().unwrap()).await;
        b.sign_in(lab, &form, "alice", "Passw0rd!").await
    } else {
        next
    };
    let q = query(back.location.as_deref().unwrap());
    assert_eq!(q["state"], "abc");
    q["code"].clone()
}

async fn token(lab: &Lab, form: &[(&str, &str)], secret: Option<&str>) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .post(format!("{}/oauth2/token", lab.info.cognito))
        .form(form);
    if let Some(s) = secret {
        r = r.basic_auth(&lab.info.client_id, Some(s));
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn the_token_endpoint_enforces_codes_pkce_and_client_secrets() {
    let lab = lab().await;
    let b = Browser::new();
    let redirect = format!("{}/oauth2/idpresponse", lab.info.alb);
    let secret = lab.info.client_secret.clone();
    let code = code_for(&lab, &b, None).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
    ];
    let (status, body) = token(&lab, &grant, Some("wrong")).await;
    assert_eq!(
        (status, &body["error"], &body["error_description"]),
        (
            400,
            &"invalid_client".into(),
            &"invalid_client_secret".into()
        )
    );
    let (status, body) = token(&lab, &grant, Some(&secret)).await;
    assert_eq!(status, 200, "{body}");
    for k in ["id_token", "access_token", "refresh_token"] {
        assert!(body[k].is_string(), "{k} in {body}");
    }
    assert_eq!(
        (&body["token_type"], &body["expires_in"]),
        (&"Bearer".into(), &3600.into())
    );
    let (status, body) = token(&lab, &grant, Some(&secret)).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &"invalid_grant".into()),
        "a code is single-use"
    );

    // client_secret_post works as well as Basic.
    let code = code_for(&lab, &b, None).await;
    let (status, body) = token(
        &lab,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", &lab.info.client_id),
            ("client_secret", &secret),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = token(
        &lab,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        Some(&secret),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no new refresh token without rotation"
    );

    // PKCE S256: RFC 7636's example verifier and challenge.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let code = code_for(&lab, &b, Some(challenge)).await;
    let bad = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", "wrong"),
    ];
    let (status, body) = token(&lab, &bad, Some(&secret)).await;
    assert_eq!((status, &body["error"]), (400, &"invalid_grant".into()));
    let code = code_for(&lab, &b, Some(challenge)).await;
    let good = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier),
    ];
    assert_eq!(token(&lab, &good, Some(&secret)).await.0, 200);

    let (status, body) = token(&lab, &[("grant_type", "client_credentials")], Some(&secret)).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &"unauthorized_client".into())
    );
    let (status, body) = token(&lab, &[("grant_type", "password")], Some(&secret)).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &"unsupported_grant_type".into())
    );
    lab.stop().await;
}

#[tokio::test]
async fn authorize_and_logout_refuse_unregistered_urls() {
    let lab = lab().await;
    let b = Browser::new();
    let bad = b
        .get(&format!(
            "{}/oauth2/authorize?client_id={}&redirect_uri=http%3A%2F%2Fevil.example%2Fcb&response_type=code",
            lab.info.cognito, lab.info.client_id
        ))
        .await;
    let to = bad.location.unwrap();
    assert_eq!(
        to,
        format!(
            "{}/error?error=redirect_mismatch&client_id={}",
            lab.info.cognito, lab.info.client_id
        )
    );
    let page = b.get(&to).await;
    assert_eq!(page.status, 400);
    assert!(
        page.body
            .contains("An error was encountered with the requested page.")
    );
    let logout = b
        .get(&format!(
            "{}/logout?client_id={}&logout_uri=http%3A%2F%2Fevil.example%2F",
            lab.info.cognito, lab.info.client_id
        ))
        .await;
    assert_eq!(
        logout.location.unwrap(),
        format!(
            "{}/error?error=Required%20parameters%20missing&client_id={}",
            lab.info.cognito, lab.info.client_id
        )
    );
    // Form B: back to the sign-in page.
    let redirect =
        form_urlencoded::byte_serialize(format!("{}/oauth2/idpresponse", lab.info.alb).as_bytes())
            .collect::<String>();
    let relogin = b
        .get(&format!(
            "{}/logout?client_id={}&redirect_uri={redirect}&response_type=code",
            lab.info.cognito, lab.info.client_id
        ))
        .await;
    assert!(
        relogin
            .location
            .unwrap()
            .starts_with(&format!("{}/login?client_id=", lab.info.cognito))
    );
    let pkce = b
        .get(&format!(
            "{}/oauth2/authorize?client_id={}&redirect_uri={redirect}&response_type=code&state=s&code_challenge=abc&code_challenge_method=plain",
            lab.info.cognito, lab.info.client_id
        ))
        .await;
    let q = query(&pkce.location.unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", "s")
    );
    lab.stop().await;
}

#[tokio::test]
async fn discovery_jwks_and_userinfo_are_cognitos() {
    let lab = lab().await;
    let http = reqwest::Client::new();
    let disco: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            lab.info.issuer
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disco["issuer"], lab.info.issuer);
    assert_eq!(
        disco["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert!(disco.get("end_session_endpoint").is_none());
    let jwks: Value = http
        .get(disco["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let b = Browser::new();
    let code = code_for(&lab, &b, None).await;
    let redirect = format!("{}/oauth2/idpresponse", lab.info.alb);
    let (_, tokens) = token(
        &lab,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
        Some(&lab.info.client_secret),
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap();
    let info = http
        .get(format!("{}/oauth2/userInfo", lab.info.cognito))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(
        info["email_verified"], "true",
        "a string, as Cognito sends it"
    );
    assert_eq!(info["username"], "alice");
    let bad = http
        .get(format!("{}/oauth2/userInfo", lab.info.cognito))
        .bearer_auth("x.y.z")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(
        bad.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // The tokens verify with the token crate against the published keys.
    let v = cognito_learning_tokens::CognitoVerifier::new(&lab.info.issuer, &lab.info.client_id);
    let now = cognito_learning_tokens::time::now();
    let id = v
        .verify(
            tokens["id_token"].as_str().unwrap(),
            cognito_learning_tokens::TokenUse::Id,
            now,
        )
        .await
        .unwrap();
    assert!(id.claims.contains_key("at_hash"));
    assert_eq!(
        id.claims["email_verified"], true,
        "a boolean in the ID token"
    );
    let acc = v
        .verify(access, cognito_learning_tokens::TokenUse::Access, now)
        .await
        .unwrap();
    assert!(acc.claims.get("aud").is_none());
    assert_eq!(acc.claims["version"], 2);
    lab.stop().await;
}

fn rule(priority: u32, path: &str, config: AuthConfig) -> Rule {
    let mut r = Rule::defaults().remove(0);
    r.priority = Some(priority);
    r.conditions[0].values = vec![path.into()];
    r.actions[0].authenticate_cognito_config = Some(config);
    r
}

fn with_default(mut rules: Vec<Rule>) -> Vec<Rule> {
    rules.push(Rule::defaults().remove(1));
    rules
}

#[tokio::test]
async fn deny_answers_401_and_allow_forwards_without_claims() {
    for mode in [OnUnauthenticated::Deny, OnUnauthenticated::Allow] {
        let config = AuthConfig {
            on_unauthenticated_request: mode,
            ..AuthConfig::default()
        };
        let lab =
            lab_with(|o| o.rules = Some(with_default(vec![rule(10, "/v1/secrets*", config)])))
                .await;
        let page = Browser::new()
            .get(&format!("{}/v1/secrets", lab.info.alb))
            .await;
        assert_eq!(page.status, 401, "{mode:?}");
        match mode {
            OnUnauthenticated::Deny => {
                assert!(page.body.contains("401 Authorization Required"));
            }
            // With allow the request reaches the app, without claims, and the app refuses it.
            _ => assert!(
                page.json()["reason"]
                    .as_str()
                    .unwrap()
                    .contains("no x-amzn-oidc-data header")
            ),
        }
        lab.stop().await;
    }
}

#[tokio::test]
async fn an_expired_session_logs_in_again_even_under_deny() {
    // Two rules share one session cookie: /v1/login* may start a login, /v1/secrets* denies.
    let short = |mode| AuthConfig {
        session_timeout: 1,
        on_unauthenticated_request: mode,
        ..AuthConfig::default()
    };
    let lab = lab_with(|o| {
        o.required_group = None;
        o.rules = Some(with_default(vec![
            rule(5, "/v1/login*", short(OnUnauthenticated::Authenticate)),
            rule(10, "/v1/secrets*", short(OnUnauthenticated::Deny)),
        ]));
    })
    .await;
    let b = Browser::new();
    let secrets = format!("{}/v1/secrets", lab.info.alb);
    assert_eq!(b.get(&secrets).await.status, 401, "no session, deny: 401");
    let form = b.form_via(&lab, "/v1/login").await;
    let back = b.sign_in(&lab, &form, "alice", "Passw0rd!").await;
    let done = b.get(&back.location.unwrap()).await;
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{}/v1/login", lab.info.alb).as_str())
    );
    assert_eq!(
        b.get(&secrets).await.status,
        200,
        "the shared session opens /v1/secrets"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = b.get(&secrets).await;
    assert_eq!(
        expired.status, 302,
        "expired authentication information goes to the IdP even under deny"
    );
    assert!(expired.location.unwrap().contains("/oauth2/authorize?"));
    lab.stop().await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_silently() {
    let lab = lab_with(|o| {
        o.lifetimes = Some(cognito_learning_emulator::cognito::Lifetimes {
            // Long enough that a loaded machine finishes the login before it expires (a token
            // lives to the end of a whole second), short enough to wait out.
            access_token: 3,
            ..Default::default()
        });
    })
    .await;
    let b = Browser::new();
    assert_eq!(b.login(&lab, "alice").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let page = b.get(&format!("{}/v1/secrets", lab.info.alb)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.sets("AWSELBAuthSessionCookie-0"),
        "a refreshed session is written back"
    );
    let refreshes = lab
        .trace
        .recent()
        .iter()
        .filter(|e| e.note.starts_with("refresh"))
        .count();
    assert_eq!(refreshes, 1);
    lab.stop().await;
}

#[tokio::test]
async fn a_lab_file_sets_users_rules_and_lifetimes() {
    let path = std::env::temp_dir().join(format!(
        "cl-labfile-{}.toml",
        cognito_learning_emulator::state::uuid()
    ));
    std::fs::write(
        &path,
        r##"
required_group = "none"
[[users]]
username = "carol"
password = "S3cret!pass"
email = "carol@example.com"
[[rules]]
Priority = 1
Conditions = [{ Field = "path-pattern", Values = ["/teapot"] }]
Actions = [{ Type = "fixed-response", FixedResponseConfig = { StatusCode = 418, MessageBody = "short and stout" } }]
[[rules]]
Priority = 2
Conditions = [{ Field = "path-pattern", Values = ["/old/*"] }]
Actions = [{ Type = "redirect", RedirectConfig = { Path = "/v1/public", Query = "from=#{path}", StatusCode = "HTTP_301" } }]
[[rules]]
Priority = 10
Conditions = [{ Field = "path-pattern", Values = ["/v1/secrets*"] }]
Actions = [{ Type = "authenticate-cognito", AuthenticateCognitoConfig = { Scope = "openid email" } },
           { Type = "forward", Target = "{app}" }]
[[rules]]
Actions = [{ Type = "forward", Target = "{app}" }]
"##,
    )
    .unwrap();
    let file = cognito_learning_emulator::LabFile::load(&path).unwrap();
    let lab = lab_with(|o| file.apply(o)).await;
    let b = Browser::new();
    let tea = b.get(&format!("{}/teapot", lab.info.alb)).await;
    assert_eq!(
        (tea.status.as_u16(), tea.body.as_str()),
        (418, "short and stout")
    );
    // The socket stands in for the HTTPS listener, so a redirect to its own protocol and port
    // stays on the lab's origin.
    let moved = b.get(&format!("{}/old/x", lab.info.alb)).await;
    assert_eq!(moved.status, 301);
    assert_eq!(
        moved.location.as_deref(),
        Some(format!("{}/v1/public?from=old/x", lab.info.alb).as_str())
    );
    let start = b.get(&format!("{}/v1/secrets", lab.info.alb)).await;
    assert_eq!(
        query(start.location.as_deref().unwrap())["scope"],
        "openid email"
    );
    let login = b
        .get(start.location.as_deref().unwrap())
        .await
        .location
        .unwrap();
    let form = b.get(&login).await;
    let back = b.sign_in(&lab, &form, "carol", "S3cret!pass").await;
    let page = b.finish(&lab, &back).await;
    assert_eq!(page.status, 200, "no group required: {}", page.body);
    assert_eq!(page.json()["caller"]["username"], "carol");
    lab.stop().await;
    std::fs::write(&path, "users = []\n").unwrap();
    assert!(
        cognito_learning_emulator::LabFile::load(&path)
            .unwrap_err()
            .to_string()
            .contains("users is empty")
    );
    std::fs::write(&path, "user = 1\n").unwrap();
    assert!(
        format!(
            "{:#}",
            cognito_learning_emulator::LabFile::load(&path).unwrap_err()
        )
        .contains("unknown field `user`")
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn an_authorization_code_expires() {
    let lab = lab_with(|o| {
        o.lifetimes = Some(cognito_learning_emulator::cognito::Lifetimes {
            auth_code: 1,
            ..Default::default()
        });
    })
    .await;
    let b = Browser::new();
    let code = code_for(&lab, &b, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let redirect = format!("{}/oauth2/idpresponse", lab.info.alb);
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
    ];
    let (status, body) = token(&lab, &grant, Some(&lab.info.client_secret)).await;
    assert_eq!((status, &body["error"]), (400, &"invalid_grant".into()));
    lab.stop().await;
}

#[tokio::test]
async fn a_login_that_takes_too_long_is_refused() {
    let lab = lab_with(|o| o.login_window = 1).await;
    let b = Browser::new();
    let start = b.get(&format!("{}/v1/secrets", lab.info.alb)).await;
    let nonce = start
        .cookies
        .iter()
        .find_map(|c| c.strip_prefix("AWSALBAuthNonce="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let login = b
        .get(start.location.as_deref().unwrap())
        .await
        .location
        .unwrap();
    let form = b.get(&login).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let back = b.sign_in(&lab, &form, "alice", "Passw0rd!").await;
    let callback = back.location.unwrap();
    // A browser has dropped the nonce cookie by now (its Max-Age is the login window).
    let late = b.get(&callback).await;
    assert_eq!(late.status, 401);
    assert!(late.body.contains("AuthInvalidCookie"), "{}", late.body);
    // A client that kept it is refused on the clock instead.
    let kept = Browser::new()
        .get_with(
            &callback,
            &[("cookie", &format!("AWSALBAuthNonce={nonce}"))],
        )
        .await;
    assert_eq!(kept.status, 401);
    assert!(
        kept.body.contains("the login took longer than 15 minutes"),
        "{}",
        kept.body
    );
    lab.stop().await;
}

#[tokio::test]
async fn trace_events_are_served_to_other_processes_without_secrets() {
    let lab = lab().await;
    assert_eq!(Browser::new().login(&lab, "alice").await.status, 200);
    let url = format!("{}/lab/trace", lab.info.aws);
    let all: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let events = all["events"].as_array().unwrap();
    let requests: Vec<&str> = events
        .iter()
        .map(|e| e["request"].as_str().unwrap())
        .collect();
    assert!(
        requests.contains(&"GET /oauth2/idpresponse?code&state"),
        "{requests:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["back_channel"] == true && e["request"] == "POST /oauth2/token")
    );
    assert!(
        events
            .iter()
            .any(|e| e["from"] == "alb" && e["to"] == "app" && e["status"] == 200)
    );
    // The labels name parameters only; the whole exchange keeps the (spent, single-use) code
    // for the learner to read, and never the client secret or a typed password.
    let text = all.to_string();
    assert!(
        requests.iter().all(|r| !r.contains("code=")),
        "{requests:?}"
    );
    assert!(text.contains("code="), "the exchange keeps its URL");
    assert!(!text.contains(&lab.info.client_secret), "the client secret");
    assert!(
        text.contains("password=********"),
        "the typed password, masked"
    );
    let last = events.last().unwrap()["seq"].as_u64().unwrap();
    let after: Value = reqwest::get(format!("{url}?after={}", last - 1))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["events"].as_array().unwrap().len(), 1);
    lab.stop().await;
}
