//! The lab and the app under attack, over loopback: forged tokens sent straight to the app, OAuth
//! misuse at the hosted UI, the token endpoint and the ALB's callback, ALB header and cookie
//! abuse, SigV4 misuse at the AWS API endpoint, command injection through SSM, and HTML injection
//! into every page that echoes input. Each case is a real request with the answer AWS documents
//! (or, where AWS is silent, the one the README names); every group asserts that all its cases
//! held and how many there were.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::fmt::Display;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use cognito_learning_emulator::state::LabKeys;
use cognito_learning_emulator::{ALB_ARN, Lab};
use cognito_learning_tokens::sign::{AlbHeader, AlbSigner, RsaSigner};
use cognito_learning_tokens::time::now;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Map, Value, json};

/// Request headers as a SigV4 case sends them, and a change a case makes to them.
type Headers = Vec<(String, String)>;
type Tweak = dyn Fn(&mut Headers);
/// A callback case: what it tries, the URL, its headers and the status AWS documents.
type Callback<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16);
/// A SigV4 case: what it tries, how it is signed, what is changed after, the body sent, and the
/// error code and words AWS answers with.
type SigCase<'a> = (&'a str, Signed<'a>, Box<Tweak>, &'a str, &'a str, &'a str);

/// A lab of its own, the keys it signs with, and the cases tried so far.
struct Suite {
    lab: Lab,
    keys: LabKeys,
    http: reqwest::Client,
    /// Interior mutability, so that cases can be recorded while helpers borrow the suite.
    cases: std::cell::RefCell<Vec<(String, Option<String>)>>,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap().to_owned())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Suite {
    async fn start(name: &str) -> Suite {
        let (lab, dir) = common::lab(&format!("attack-{name}")).await;
        let keys = LabKeys::load_or_create(&dir).unwrap();
        Suite {
            lab,
            keys,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cases: std::cell::RefCell::default(),
        }
    }

    /// Records one case: `held` is whether the documented answer came; `saw` says what did.
    fn case(&self, name: impl Into<String>, held: bool, saw: impl Display) {
        self.cases
            .borrow_mut()
            .push((name.into(), (!held).then(|| saw.to_string())));
    }

    /// Asserts that every case held and that there were at least `at_least`.
    async fn finish(self, at_least: usize) {
        let cases = self.cases.take();
        let failed: Vec<String> = cases
            .iter()
            .filter_map(|(n, f)| f.as_ref().map(|f| format!("{n}: {f}")))
            .collect();
        let n = cases.len();
        eprintln!("{} of {n} cases held", n - failed.len());
        self.lab.stop().await;
        assert!(
            failed.is_empty(),
            "{} of {n} cases did not hold:\n{}",
            failed.len(),
            failed.join("\n")
        );
        assert!(n >= at_least, "only {n} cases, expected {at_least}");
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.unwrap();
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        let mut r = self.http.get(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r).await
    }

    // ---- tokens, signed with the lab's own keys unless a case says otherwise

    fn userinfo(&self, user: &str) -> Map<String, Value> {
        let u = self.user(user);
        json!({"sub": u.sub(), "email_verified": "true", "email": u.email, "username": u.username})
            .as_object()
            .unwrap()
            .clone()
    }

    fn user(&self, name: &str) -> cognito_learning_emulator::cognito::User {
        cognito_learning_emulator::cognito::PoolConfig::demo(
            &self.lab.info.alb,
            &self.lab.info.client_id,
            &self.lab.info.client_secret,
        )
        .users
        .into_iter()
        .find(|u| u.username == name)
        .unwrap()
    }

    fn data_with(&self, signer: &AlbSigner, h: AlbHeader<'_>, user: &str) -> String {
        signer.sign(&h, &self.userinfo(user)).unwrap()
    }

    fn header(&self) -> AlbHeader<'_> {
        AlbHeader {
            issuer: &self.lab.info.issuer,
            client: &self.lab.info.client_id,
            signer: ALB_ARN,
            exp: now() + 120,
        }
    }

    fn data(&self, user: &str) -> String {
        self.data_with(&self.keys.alb, self.header(), user)
    }

    fn access_claims(&self, user: &str) -> Map<String, Value> {
        let u = self.user(user);
        let t = now();
        let mut c = json!({
            "sub": u.sub(), "iss": self.lab.info.issuer, "version": 2,
            "client_id": self.lab.info.client_id, "token_use": "access", "scope": "openid",
            "auth_time": t, "exp": t + 3600, "iat": t, "jti": "j", "username": u.username,
        });
        if !u.groups.is_empty() {
            c["cognito:groups"] = json!(u.groups);
        }
        c.as_object().unwrap().clone()
    }

    fn access(&self, user: &str) -> String {
        self.keys.access.sign(&self.access_claims(user)).unwrap()
    }

    async fn secrets(&self, headers: &[(&str, &str)]) -> Answer {
        self.get(&format!("{}/v1/secrets", self.lab.info.server), headers)
            .await
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE.encode(v.to_string())
}

/// One byte of `token` at `i` replaced by another base64url letter.
fn flip(token: &str, i: usize) -> String {
    let mut b = token.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[tokio::test]
async fn forged_tokens_sent_straight_to_the_app_are_refused() {
    let s = Suite::start("tokens").await;
    let alice = s.user("alice").sub();
    let data = s.data("alice");
    let access = s.access("alice");

    let ok = s
        .secrets(&[
            ("x-amzn-oidc-data", &data),
            ("x-amzn-oidc-accesstoken", &access),
            ("x-amzn-oidc-identity", &alice),
        ])
        .await;
    s.case(
        "control: alice's genuine headers",
        ok.status == 200,
        &ok.body,
    );
    let bob_data = s.data("bob");
    let bob_access = s.access("bob");
    let bob = s
        .secrets(&[
            ("x-amzn-oidc-data", &bob_data),
            ("x-amzn-oidc-accesstoken", &bob_access),
        ])
        .await;
    s.case(
        "bob is signed in but not in the group: 403",
        bob.status == 403,
        &bob.body,
    );

    // Each forgery with the access token that would let it in, so only the data token decides.
    let mut forged: Vec<(&str, String, &str)> = Vec::new();
    let foreign = AlbSigner::generate(s.keys.alb.kid.clone()).unwrap();
    forged.push((
        "signed by another key under the lab's kid",
        s.data_with(&foreign, s.header(), "alice"),
        "signature",
    ));
    let other_alb = ALB_ARN.replace("4c2a8f6e1b3d5a79", "0000000000000000");
    forged.push((
        "signed by the lab's key for another ALB (signer)",
        s.data_with(
            &s.keys.alb,
            AlbHeader {
                signer: &other_alb,
                ..s.header()
            },
            "alice",
        ),
        "signer",
    ));
    forged.push((
        "expired a minute ago",
        s.data_with(
            &s.keys.alb,
            AlbHeader {
                exp: now() - 60,
                ..s.header()
            },
            "alice",
        ),
        "expired",
    ));
    forged.push((
        "another issuer",
        s.data_with(
            &s.keys.alb,
            AlbHeader {
                issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_evil",
                ..s.header()
            },
            "alice",
        ),
        "iss",
    ));
    forged.push((
        "another app client",
        s.data_with(
            &s.keys.alb,
            AlbHeader {
                client: "evilclient",
                ..s.header()
            },
            "alice",
        ),
        "client",
    ));
    let claims = Value::Object(s.userinfo("alice"));
    let head = |alg: &str, kid: &str| json!({"typ": "JWT", "kid": kid, "alg": alg, "iss": s.lab.info.issuer, "client": s.lab.info.client_id, "signer": ALB_ARN, "exp": now() + 120});
    let kid = s.keys.alb.kid.clone();
    forged.push((
        "alg none, no signature",
        format!("{}.{}.", b64(&head("none", &kid)), b64(&claims)),
        "",
    ));
    let input = format!("{}.{}", b64(&head("HS256", &kid)), b64(&claims));
    let pem = s.keys.alb.public_key_pem().unwrap();
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, pem.as_bytes()),
        input.as_bytes(),
    );
    forged.push((
        "HS256 keyed with the public key",
        format!("{input}.{}", URL_SAFE.encode(mac.as_ref())),
        "",
    ));
    let rs = s
        .keys
        .id
        .sign_raw(
            &head("RS256", &s.keys.id.kid).to_string(),
            &claims.to_string(),
        )
        .unwrap();
    forged.push(("RS256 with Cognito's ID-token key", rs, ""));
    for evil_kid in [
        "../../../etc/passwd",
        "http://evil.example/key",
        "%2e%2e%2fkey",
        "kid\r\nx: y",
    ] {
        let t = s
            .keys
            .alb
            .sign_raw(
                &head("ES256", evil_kid).to_string(),
                &claims.to_string(),
                true,
            )
            .unwrap();
        forged.push(("a kid that is a path or URL", t, ""));
    }
    let unpadded = data.replace('=', "");
    forged.push(("the genuine token with its padding stripped", unpadded, ""));
    let dots: Vec<usize> = data.match_indices('.').map(|(i, _)| i).collect();
    forged.push(("one byte changed in the header", flip(&data, 3), ""));
    forged.push((
        "one byte changed in the payload",
        flip(&data, dots[0] + 5),
        "",
    ));
    forged.push((
        "one byte changed in the signature",
        flip(&data, dots[1] + 5),
        "",
    ));
    forged.push((
        "payload swapped for bob's",
        format!(
            "{}.{}.{}",
            &data[..dots[0]],
            &bob_data[bob_data.find('.').unwrap() + 1..bob_data.rfind('.').unwrap()],
            &data[dots[1] + 1..]
        ),
        "",
    ));
    for (what, t) in [
        ("empty", ""),
        ("one dot", "."),
        ("two dots", ".."),
        ("four segments", "a.b.c.d"),
        ("not base64", "!!.??.**"),
        ("JSON, not a JWT", "{\"sub\":\"x\"}"),
    ] {
        forged.push((what, t.to_owned(), ""));
    }
    forged.push((
        "a header that is not JSON",
        format!("{}.{}.AAAA", URL_SAFE.encode("nope"), b64(&claims)),
        "",
    ));
    forged.push((
        "a payload that is a JSON array",
        s.keys
            .alb
            .sign_raw(&head("ES256", &kid).to_string(), "[1,2]", true)
            .unwrap(),
        "",
    ));
    forged.push((
        "17 KB, over the app's 16 KB limit",
        format!(
            "{}.{}.AAAA",
            b64(&head("ES256", &kid)),
            "A".repeat(17 * 1024)
        ),
        "",
    ));
    for (what, token, reason) in &forged {
        let r = s
            .secrets(&[
                ("x-amzn-oidc-data", token),
                ("x-amzn-oidc-accesstoken", &access),
            ])
            .await;
        let held = r.status == 401 && r.body.to_lowercase().contains(reason);
        s.case(
            format!("x-amzn-oidc-data {what}"),
            held,
            format!("{} {}", r.status, r.body),
        );
    }

    let forged_first = s
        .send(
            s.http
                .get(format!("{}/v1/secrets", s.lab.info.server))
                .header("x-amzn-oidc-data", flip(&data, 3))
                .header("x-amzn-oidc-data", &data)
                .header("x-amzn-oidc-accesstoken", &access),
        )
        .await;
    s.case(
        "two x-amzn-oidc-data headers, the forged one first",
        forged_first.status == 401,
        &forged_first.body,
    );

    // The unsigned headers: identity and access token.
    let r = s
        .secrets(&[
            ("x-amzn-oidc-data", &data),
            ("x-amzn-oidc-accesstoken", &access),
            ("x-amzn-oidc-identity", "someone-else"),
        ])
        .await;
    s.case(
        "an identity that is not the verified sub",
        r.status == 401 && r.body.contains("does not match"),
        &r.body,
    );
    let r = s.secrets(&[("x-amzn-oidc-identity", &alice)]).await;
    s.case("the identity header alone", r.status == 401, &r.body);
    let r = s.secrets(&[("x-amzn-oidc-accesstoken", &access)]).await;
    s.case("the access token alone", r.status == 401, &r.body);
    let foreign_rsa = RsaSigner::generate(s.keys.access.kid.clone()).unwrap();
    let mut bad_access: Vec<(&str, String)> = vec![
        (
            "signed by another key under the lab's kid",
            foreign_rsa.sign(&s.access_claims("alice")).unwrap(),
        ),
        ("bob's, with alice's data token", bob_access.clone()),
    ];
    let mut c = s.access_claims("alice");
    c.insert("token_use".into(), "id".into());
    bad_access.push(("with token_use id", s.keys.access.sign(&c).unwrap()));
    let mut c = s.access_claims("alice");
    c.insert("exp".into(), (now() - 60).into());
    bad_access.push(("expired", s.keys.access.sign(&c).unwrap()));
    let mut c = s.access_claims("alice");
    c.insert("client_id".into(), "evilclient".into());
    bad_access.push(("for another app client", s.keys.access.sign(&c).unwrap()));
    let mut c = s.access_claims("alice");
    c.insert("iss".into(), "https://evil.example/pool".into());
    bad_access.push(("from another issuer", s.keys.access.sign(&c).unwrap()));
    bad_access.push((
        "alg none",
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(Value::Object(s.access_claims("alice")).to_string())
        ),
    ));
    bad_access.push(("one byte changed", flip(&access, access.len() - 3)));
    for (what, token) in &bad_access {
        let r = s
            .secrets(&[
                ("x-amzn-oidc-data", &data),
                ("x-amzn-oidc-accesstoken", token),
            ])
            .await;
        s.case(
            format!("access token {what}"),
            r.status == 401,
            format!("{} {}", r.status, r.body),
        );
    }
    s.finish(40).await;
}

/// `state`, the nonce cookie and the authorize URL of a fresh login started at the ALB.
async fn start_login(s: &Suite) -> (String, String, String) {
    let r = s.get(&format!("{}/v1/secrets", s.lab.info.alb), &[]).await;
    let loc = r.location().to_owned();
    let q: HashMap<String, String> =
        form_urlencoded::parse(loc.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let nonce = r
        .cookies()
        .iter()
        .find_map(|c| {
            c.strip_prefix("AWSALBAuthNonce=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .unwrap();
    (q["state"].clone(), nonce, loc)
}

/// The `_csrf` value of a hosted-UI sign-in form.
fn csrf_of(form: &str) -> String {
    form.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no sign-in form: {form}"))
        .to_owned()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A code for alice through the sign-in form, with the given extra authorize parameters.
async fn code(s: &Suite, extra: &str) -> String {
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authz = format!(
        "client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s{extra}",
        s.lab.info.client_id,
        enc(&format!("{}/oauth2/idpresponse", s.lab.info.alb))
    );
    let form = jar
        .get(format!("{}/login?{authz}", s.lab.info.cognito))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&form);
    let r = jar
        .post(format!("{}/login?{authz}", s.lab.info.cognito))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", "Passw0rd!"),
        ])
        .send()
        .await
        .unwrap();
    let loc = r.headers()[LOCATION].to_str().unwrap().to_owned();
    form_urlencoded::parse(loc.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn oauth_misuse_gets_the_documented_errors() {
    let s = Suite::start("oauth").await;
    let alb = s.lab.info.alb.clone();
    let cognito = s.lab.info.cognito.clone();
    let client = s.lab.info.client_id.clone();
    let callback = format!("{alb}/oauth2/idpresponse");
    let port = alb.rsplit(':').next().unwrap().to_owned();
    let authorize = |redirect: &str, rest: &str| {
        format!(
            "{cognito}/oauth2/authorize?client_id={client}&redirect_uri={}&response_type=code&scope=openid&state=st{rest}",
            enc(redirect)
        )
    };

    // redirect_uri must match a registered callback exactly.
    let variants = [
        ("a trailing slash", format!("{callback}/")),
        (
            "the path in capitals",
            callback.replace("idpresponse", "IDPRESPONSE"),
        ),
        (
            "https instead of http",
            callback.replace("http://", "https://"),
        ),
        (
            "127.0.0.1 for localhost",
            callback.replace("localhost", "127.0.0.1"),
        ),
        ("another port", callback.replace(&port, "1")),
        ("an added query", format!("{callback}?next=/")),
        ("an added fragment", format!("{callback}#x")),
        (
            "userinfo that hides another host",
            format!("http://localhost:{port}@evil.example/oauth2/idpresponse"),
        ),
        (
            "a dot-dot path",
            format!("{alb}/oauth2/../oauth2/idpresponse"),
        ),
        ("an encoded slash", format!("{alb}/oauth2%2Fidpresponse")),
        ("javascript:", "javascript:alert(1)".to_owned()),
        (
            "data:",
            "data:text/html,<script>alert(1)</script>".to_owned(),
        ),
        ("empty", String::new()),
        (
            "another site",
            "http://evil.example/oauth2/idpresponse".to_owned(),
        ),
    ];
    for (what, uri) in &variants {
        let r = s.get(&authorize(uri, ""), &[]).await;
        let held = r.status == 302 && r.location().contains("/error?error=redirect_mismatch");
        s.case(
            format!("authorize with redirect_uri {what}"),
            held,
            format!("{} {}", r.status, r.location()),
        );
    }
    let r = s
        .get(
            &format!(
                "{cognito}/oauth2/authorize?redirect_uri={}&response_type=code",
                enc(&callback)
            ),
            &[],
        )
        .await;
    s.case("authorize without client_id", r.status == 400, r.status);
    let r = s
        .get(
            &authorize(&callback, "").replace(&client, "notaclient"),
            &[],
        )
        .await;
    s.case(
        "authorize with an unknown client_id",
        r.status == 400,
        r.status,
    );

    // Errors that go back to a registered redirect_uri, with the state.
    let back = |r: &Answer, error: &str| {
        r.status == 302
            && r.location().starts_with(&callback)
            && r.location().contains(&format!("error={error}"))
            && r.location().contains("state=st")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "no response_type",
            authorize(&callback, "").replace("&response_type=code", ""),
            "invalid_request",
        ),
        (
            "response_type id_token",
            authorize(&callback, "").replace("response_type=code", "response_type=id_token"),
            "unsupported_response_type",
        ),
        (
            "response_type token on a code-only client",
            authorize(&callback, "").replace("response_type=code", "response_type=token"),
            "unauthorized_client",
        ),
        (
            "a scope the client may not use",
            authorize(&callback, "").replace("scope=openid", "scope=admin"),
            "invalid_scope",
        ),
        (
            "email without openid",
            authorize(&callback, "").replace("scope=openid", "scope=email"),
            "invalid_scope",
        ),
        (
            "a 42-character code_challenge",
            authorize(
                &callback,
                &format!(
                    "&code_challenge={}&code_challenge_method=S256",
                    "a".repeat(42)
                ),
            ),
            "invalid_request",
        ),
        (
            "a 129-character code_challenge",
            authorize(
                &callback,
                &format!(
                    "&code_challenge={}&code_challenge_method=S256",
                    "a".repeat(129)
                ),
            ),
            "invalid_request",
        ),
        (
            "a code_challenge outside base64url",
            authorize(
                &callback,
                &format!(
                    "&code_challenge={}&code_challenge_method=S256",
                    enc(&format!("{}+/", "a".repeat(41)))
                ),
            ),
            "invalid_request",
        ),
        (
            "a code_challenge without its method",
            authorize(&callback, &format!("&code_challenge={}", "a".repeat(43))),
            "invalid_request",
        ),
        (
            "code_challenge_method plain",
            authorize(
                &callback,
                &format!(
                    "&code_challenge={}&code_challenge_method=plain",
                    "a".repeat(43)
                ),
            ),
            "invalid_request",
        ),
        (
            "a method without a challenge",
            authorize(&callback, "&code_challenge_method=S256"),
            "invalid_request",
        ),
    ];
    for (what, url, error) in &cases {
        let r = s.get(url, &[]).await;
        s.case(
            format!("authorize with {what}"),
            back(&r, error),
            format!("{} {}", r.status, r.location()),
        );
    }
    let r = s
        .get(
            &authorize(
                &callback,
                &format!(
                    "&code_challenge={}&code_challenge_method=S256",
                    "a".repeat(43)
                ),
            ),
            &[],
        )
        .await;
    s.case(
        "a well-formed S256 challenge goes on to the form",
        r.status == 302 && r.location().contains("/login?"),
        r.location(),
    );

    // The token endpoint.
    let token_url = format!("{cognito}/oauth2/token");
    let secret = s.lab.info.client_secret.clone();
    let post = |form: Vec<(&'static str, String)>, auth: Option<(String, String)>| {
        let mut r = s.http.post(&token_url).form(&form);
        if let Some((id, pw)) = auth {
            r = r.basic_auth(id, Some(pw));
        }
        r
    };
    let good = || Some((client.clone(), secret.clone()));
    let grant = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", callback.clone()),
        ]
    };
    let c1 = code(&s, "").await;
    let token_cases: Vec<(&str, reqwest::RequestBuilder, &str)> = vec![
        (
            "a wrong client secret",
            post(grant(&c1), Some((client.clone(), "wrong".into()))),
            "invalid_client",
        ),
        (
            "no client authentication",
            post(grant(&c1), None),
            "invalid_client",
        ),
        (
            "an unknown client",
            post(grant(&c1), Some(("nobody".into(), "x".into()))),
            "invalid_client",
        ),
        (
            "no grant_type",
            post(vec![("code", c1.clone())], good()),
            "invalid_request",
        ),
        (
            "grant_type password",
            post(vec![("grant_type", "password".into())], good()),
            "unsupported_grant_type",
        ),
        (
            "a JSON body",
            s.http
                .post(&token_url)
                .basic_auth(&client, Some(&secret))
                .json(&json!({"grant_type": "authorization_code"})),
            "invalid_request",
        ),
        ("GET", s.http.get(&token_url), "invalid_request"),
        (
            "a made-up code",
            post(grant("00000000-0000-4000-8000-000000000000"), good()),
            "invalid_grant",
        ),
        (
            "a made-up refresh token",
            post(
                vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", "eyJ.x".into()),
                ],
                good(),
            ),
            "invalid_grant",
        ),
        (
            "client_credentials on a code client",
            post(vec![("grant_type", "client_credentials".into())], good()),
            "unauthorized_client",
        ),
    ];
    for (what, req, error) in token_cases {
        let r = s.send(req).await;
        s.case(
            format!("token endpoint with {what}"),
            r.status == 400 && r.json()["error"] == error,
            format!("{} {}", r.status, r.body),
        );
    }
    // c1 was never redeemed above (every try failed before the code was looked up, or was taken
    // out by the first failing try): a code is good for one try only.
    let c2 = code(&s, "").await;
    let first = s.send(post(grant(&c2), good())).await;
    s.case(
        "a fresh code redeems once",
        first.status == 200 && first.json()["id_token"].is_string(),
        &first.body,
    );
    let again = s.send(post(grant(&c2), good())).await;
    s.case(
        "the same code a second time",
        again.status == 400 && again.json()["error"] == "invalid_grant",
        &again.body,
    );
    let c3 = code(&s, "").await;
    let mut other = grant(&c3);
    other[2].1 = format!("{callback}/");
    let r = s.send(post(other, good())).await;
    s.case(
        "a redirect_uri other than the authorize request's",
        r.status == 400,
        &r.body,
    );
    let verifier = "v".repeat(43);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    for (what, sent) in [
        ("a wrong code_verifier", Some("w".repeat(43))),
        ("a 42-character code_verifier", Some("v".repeat(42))),
        ("no code_verifier", None),
    ] {
        let c = code(
            &s,
            &format!("&code_challenge={challenge}&code_challenge_method=S256"),
        )
        .await;
        let mut form = grant(&c);
        if let Some(v) = sent {
            form.push(("code_verifier", v));
        }
        let r = s.send(post(form, good())).await;
        s.case(
            format!("PKCE with {what}"),
            r.status == 400 && r.json()["error"] == "invalid_grant",
            &r.body,
        );
    }
    let c = code(
        &s,
        &format!("&code_challenge={challenge}&code_challenge_method=S256"),
    )
    .await;
    let mut form = grant(&c);
    form.push(("code_verifier", verifier.clone()));
    let r = s.send(post(form, good())).await;
    s.case(
        "PKCE with the right code_verifier",
        r.status == 200,
        &r.body,
    );

    // The ALB's callback.
    let (state, nonce, _) = start_login(&s).await;
    let idp = format!("{alb}/oauth2/idpresponse");
    let nonce_cookie = format!("AWSALBAuthNonce={nonce}");
    let cb: Vec<Callback<'_>> = vec![
        (
            "no code",
            format!("{idp}?state={}", enc(&state)),
            vec![("cookie", &nonce_cookie)],
            401,
        ),
        (
            "no state",
            format!("{idp}?code=c"),
            vec![("cookie", &nonce_cookie)],
            401,
        ),
        (
            "a tampered state",
            format!("{idp}?code=c&state={}", enc(&flip(&state, 10))),
            vec![("cookie", &nonce_cookie)],
            401,
        ),
        (
            "no nonce cookie",
            format!("{idp}?code=c&state={}", enc(&state)),
            vec![],
            401,
        ),
        (
            "another browser's nonce cookie",
            format!("{idp}?code=c&state={}", enc(&state)),
            vec![("cookie", "AWSALBAuthNonce=AAAAAAAAAAAAAAAA")],
            401,
        ),
        (
            "a made-up code",
            format!(
                "{idp}?code=00000000-0000-4000-8000-000000000000&state={}",
                enc(&state)
            ),
            vec![("cookie", &nonce_cookie)],
            401,
        ),
        (
            "the IdP's error",
            format!("{idp}?error=access_denied&state={}", enc(&state)),
            vec![("cookie", &nonce_cookie)],
            561,
        ),
    ];
    for (what, url, headers, status) in &cb {
        let r = s.get(url, headers).await;
        s.case(
            format!("ALB callback with {what}"),
            r.status == *status,
            format!("{} {}", r.status, r.body),
        );
    }

    // Logout and userInfo.
    let logout = |q: &str| format!("{cognito}/logout?{q}");
    for (what, q) in [
        (
            "an unregistered logout_uri",
            format!(
                "client_id={client}&logout_uri={}",
                enc("http://evil.example/logout")
            ),
        ),
        (
            "no client_id",
            format!("logout_uri={}", enc(&format!("{alb}/logout"))),
        ),
        (
            "a logout_uri with a trailing slash",
            format!(
                "client_id={client}&logout_uri={}",
                enc(&format!("{alb}/logout/"))
            ),
        ),
    ] {
        let r = s.get(&logout(&q), &[]).await;
        s.case(
            format!("logout with {what}"),
            r.status == 302 && r.location().contains("/error?"),
            r.location(),
        );
    }
    let ui = format!("{cognito}/oauth2/userInfo");
    let r = s.get(&ui, &[]).await;
    s.case("userInfo without a token", r.status == 400, r.status);
    let r = s.get(&ui, &[("authorization", "Bearer garbage")]).await;
    s.case("userInfo with a garbage token", r.status == 401, r.status);
    let id = first.json()["id_token"].as_str().unwrap().to_owned();
    let r = s
        .get(&ui, &[("authorization", &format!("Bearer {id}"))])
        .await;
    s.case("userInfo with an ID token", r.status == 401, r.status);
    s.finish(50).await;
}

#[tokio::test]
async fn password_guessing_meets_cognitos_lockout() {
    let s = Suite::start("lockout").await;
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authz = format!(
        "client_id={}&redirect_uri={}&response_type=code&scope=openid",
        s.lab.info.client_id,
        enc(&format!("{}/oauth2/idpresponse", s.lab.info.alb))
    );
    let url = format!("{}/login?{authz}", s.lab.info.cognito);
    let form = jar.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&form);
    let try_password = async |user: &str, pw: &str| {
        let r = jar
            .post(&url)
            .form(&[
                ("_csrf", csrf.as_str()),
                ("username", user),
                ("password", pw),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    for i in 1..=5 {
        let (st, body) = try_password("alice", "wrong").await;
        s.case(
            format!("wrong password {i} of the five allowed"),
            st == 200 && body.contains("Incorrect username or password"),
            &body,
        );
    }
    let locked_at = Instant::now();
    let (_, body) = try_password("alice", "wrong").await;
    let (st, right) = try_password("alice", "Passw0rd!").await;
    // The first lockout lasts one second: within it both answers say so. (On a machine slow
    // enough to take a second for two requests, the right password may already pass.)
    if locked_at.elapsed() < Duration::from_secs(1) {
        s.case(
            "a sixth try within the lockout",
            body.contains("Password attempts exceeded"),
            &body,
        );
        s.case(
            "the right password within the lockout",
            st == 200 && right.contains("Password attempts exceeded"),
            &right,
        );
    }
    let (_, other) = try_password("bob", "Passw0rd!").await;
    s.case(
        "the lockout is per user: bob signs in",
        other.is_empty(),
        &other,
    );
    // Three hundred guesses in a burst: the count only grows between lockouts, so the burst
    // never gets to try the right password unlocked.
    let mut exceeded = 0;
    for _ in 0..300 {
        let (_, b) = try_password("alice", "guess").await;
        exceeded += usize::from(b.contains("Password attempts exceeded"));
    }
    s.case(
        "most of a 300-guess burst is refused unheard",
        exceeded > 150,
        exceeded,
    );
    s.finish(7).await;
}

#[tokio::test]
async fn alb_header_and_cookie_abuse_is_answered_as_the_alb_does() {
    let s = Suite::start("alb").await;
    let alb = s.lab.info.alb.clone();
    // A real login, for genuine session cookies.
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = jar.get(format!("{alb}/v1/secrets")).send().await.unwrap();
    let mut cookies: HashMap<String, String> = HashMap::new();
    for _ in 0..8 {
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (k, v) = c.split(';').next().unwrap().split_once('=').unwrap();
            if k.starts_with("AWSELBAuthSessionCookie") && !v.is_empty() {
                cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let Some(next) = r
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
        else {
            break;
        };
        if next.contains("/login?") {
            let form = jar.get(&next).send().await.unwrap().text().await.unwrap();
            let csrf = csrf_of(&form);
            r = jar
                .post(&next)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("username", "alice"),
                    ("password", "Passw0rd!"),
                ])
                .send()
                .await
                .unwrap();
        } else {
            r = jar.get(&next).send().await.unwrap();
        }
    }
    let shard0 = cookies["AWSELBAuthSessionCookie-0"].clone();
    let jar_of = |m: &[(&str, &str)]| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut all: Vec<(String, String)> = cookies
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all.sort();
    let genuine = all
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let secrets = format!("{alb}/v1/secrets");
    let ok = s.get(&secrets, &[("cookie", &genuine)]).await;
    s.case(
        "control: the genuine session cookies",
        ok.status == 200,
        &ok.body,
    );
    let to_login = |a: &Answer| a.status == 302 && a.location().contains("/oauth2/authorize?");
    let mut bad: Vec<(&str, String)> = vec![
        (
            "one byte changed in shard 0",
            genuine.replacen(&shard0, &flip(&shard0, 20), 1),
        ),
        (
            "shard 0 cut short",
            genuine.replacen(&shard0, &shard0[..shard0.len() / 2], 1),
        ),
        (
            "shard 0 missing",
            all.iter()
                .filter(|(k, _)| !k.ends_with("-0"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "base64 garbage",
            jar_of(&[(
                "AWSELBAuthSessionCookie-0",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            )]),
        ),
        (
            "the value URL-encoded",
            genuine
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
        ),
        (
            "under another rule's cookie name",
            genuine.replace("AWSELBAuthSessionCookie-", "OtherCookie-"),
        ),
        (
            "five shards of garbage",
            (0..5)
                .map(|i| format!("AWSELBAuthSessionCookie-{i}={}", "Q".repeat(2000)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "15 KB of garbage in one shard",
            jar_of(&[("AWSELBAuthSessionCookie-0", &"Q".repeat(15 * 1024))]),
        ),
        ("empty", "AWSELBAuthSessionCookie-0=".to_owned()),
    ];
    if all.len() > 1 {
        let swapped = format!(
            "AWSELBAuthSessionCookie-0={}; AWSELBAuthSessionCookie-1={}",
            all[1].1, all[0].1
        );
        bad.push(("shards swapped", swapped));
    } else {
        bad.push((
            "a forged shard 1 added",
            format!("{genuine}; AWSELBAuthSessionCookie-1=QUFBQQ=="),
        ));
    }
    for (what, cookie) in &bad {
        let r = s.get(&secrets, &[("cookie", cookie)]).await;
        s.case(
            format!("session cookie with {what}"),
            to_login(&r),
            format!("{} {}", r.status, r.location()),
        );
    }
    for h in [
        "x-amzn-oidc-data",
        "x-amzn-oidc-accesstoken",
        "x-amzn-oidc-identity",
    ] {
        let r = s.get(&secrets, &[(h, "forged")]).await;
        s.case(
            format!("{h} sent to the ALB without a session"),
            to_login(&r),
            r.status,
        );
    }

    // The ALB's header quotas: 16K request line, 16K a header, 64K in all.
    let quota = |a: &Answer| {
        a.status == 400
            && a.body.contains("400 Bad Request")
            && a.headers.get("server").is_some_and(|v| v == "awselb/2.0")
    };
    let long_path = format!("{alb}/{}", "a".repeat(16 * 1024));
    let r = s.get(&long_path, &[]).await;
    s.case("a request line over 16K", quota(&r), r.status);
    let near_path = format!("{alb}/{}", "a".repeat(16 * 1024 - 100));
    let r = s.get(&near_path, &[]).await;
    s.case(
        "a request line just under 16K reaches the app",
        r.status == 404,
        r.status,
    );
    let big = "b".repeat(16 * 1024);
    let r = s.get(&format!("{alb}/v1/public"), &[("x-big", &big)]).await;
    s.case("one header over 16K", quota(&r), r.status);
    let near = "b".repeat(16 * 1024 - 100);
    let r = s
        .get(&format!("{alb}/v1/public"), &[("x-big", &near)])
        .await;
    s.case("one header just under 16K", r.status == 200, r.status);
    let part = "c".repeat(13 * 1024);
    let five: Vec<(String, &str)> = (0..5)
        .map(|i| (format!("x-part-{i}"), part.as_str()))
        .collect();
    let refs: Vec<(&str, &str)> = five.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let r = s.get(&format!("{alb}/v1/public"), &refs).await;
    s.case("65K of headers in five", quota(&r), r.status);
    let cookie80 = (0..5)
        .map(|i| format!("c{i}={}", "d".repeat(16 * 1024 - 10)))
        .collect::<Vec<_>>()
        .join("; ");
    let r = s
        .get(&format!("{alb}/v1/public"), &[("cookie", &cookie80)])
        .await;
    s.case("80K of cookies in one header", quota(&r), r.status);

    let r = s
        .send(s.http.request(reqwest::Method::TRACE, format!("{alb}/")))
        .await;
    s.case("TRACE", r.status == 405, r.status);
    let r = s.get(&secrets, &[("host", "evil.example")]).await;
    let to_evil = r
        .location()
        .contains(&enc("http://evil.example/oauth2/idpresponse"));
    s.case(
        "a forged Host builds the redirect_uri from it, as AWS does",
        r.status == 302 && to_evil,
        r.location(),
    );
    let r2 = s.get(r.location(), &[]).await;
    s.case(
        "... which Cognito refuses as unregistered",
        r2.status == 302 && r2.location().contains("redirect_mismatch"),
        r2.location(),
    );

    // What the app logs: the forged headers, refused, and the address the ALB appended.
    let r = s
        .get(
            &format!("{alb}/v1/public?probe=1"),
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-amzn-oidc-data", "forged"),
                ("x-amzn-oidc-identity", "forged"),
            ],
        )
        .await;
    s.case(
        "a spoofed chain still reaches the app",
        r.status == 200,
        r.status,
    );
    let line = wait_for_line(&s.lab, "probe=1").await;
    s.case(
        "the app logs the ALB's address as the client",
        line["client_ip"] == "127.0.0.1",
        &line["client_ip"],
    );
    s.case(
        "... and the whole chain apart",
        line["forwarded_for"] == "6.6.6.6, 127.0.0.1",
        &line["forwarded_for"],
    );
    s.case(
        "on a forward-only rule the client's x-amzn-oidc-data reaches the app, which refuses it",
        line["alb"]["data"]["raw"] == "forged" && line["alb"]["data"]["verdict"] == "invalid",
        &line["alb"],
    );
    s.finish(25).await;
}

/// The app's log record of the request whose query is `query`.
async fn wait_for_line(lab: &Lab, query: &str) -> Value {
    let log = lab.info.state_dir.join("server.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["query"] == query)
        {
            return line;
        }
        assert!(Instant::now() < deadline, "no log line for ?{query}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- SigV4, signed here from AWS's published algorithm

struct Signed<'a> {
    key_id: &'a str,
    secret: &'a str,
    region: &'a str,
    service: &'a str,
    at: u64,
    target: &'a str,
    body: &'a str,
    /// Headers signed; `host`, `x-amz-date`, `x-amz-target` unless a case drops one.
    signed: Vec<&'a str>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn mac(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

impl Signed<'_> {
    fn headers(&self, host: &str) -> Vec<(String, String)> {
        let date = amz(self.at);
        let all = [
            ("content-type", "application/x-amz-json-1.1".to_owned()),
            ("host", host.to_owned()),
            ("x-amz-date", date.clone()),
            ("x-amz-target", self.target.to_owned()),
        ];
        let mut names: Vec<&str> = self.signed.clone();
        names.sort_unstable();
        let canonical: String = names
            .iter()
            .map(|n| format!("{n}:{}\n", all.iter().find(|(k, _)| k == n).unwrap().1))
            .collect();
        let signed = names.join(";");
        let creq = format!(
            "POST\n/\n\n{canonical}\n{signed}\n{}",
            hex(digest(&SHA256, self.body.as_bytes()).as_ref())
        );
        let scope = format!(
            "{}/{}/{}/aws4_request",
            &date[..8],
            self.region,
            self.service
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex(digest(&SHA256, creq.as_bytes()).as_ref())
        );
        let k = mac(format!("AWS4{}", self.secret).as_bytes(), &date[..8]);
        let k = mac(&mac(&mac(&k, self.region), self.service), "aws4_request");
        let sig = hex(&mac(&k, &sts));
        let mut out: Vec<(String, String)> =
            all.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        out.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={sig}",
                self.key_id
            ),
        ));
        out
    }
}

/// A change to one header of a signed request, made after signing.
fn edit(name: &'static str, f: impl Fn(&str) -> String + 'static) -> Box<Tweak> {
    Box::new(move |h: &mut Headers| {
        for (k, v) in h.iter_mut() {
            if k == name {
                *v = f(v);
            }
        }
    })
}

fn amz(secs: u64) -> String {
    cognito_learning_tokens::time::utc(secs).replace(['-', ':'], "")
}

#[tokio::test]
async fn sigv4_misuse_is_refused_with_aws_error_codes() {
    let s = Suite::start("sigv4").await;
    let url = s.lab.info.aws.clone();
    let host = url.trim_start_matches("http://").to_owned();
    let key_id = s.lab.info.aws_access_key_id.clone();
    let secret = s.lab.info.aws_secret_access_key.clone();
    let region = s.lab.info.region.clone();
    let base = || Signed {
        key_id: &key_id,
        secret: &secret,
        region: &region,
        service: "logs",
        at: now(),
        target: "Logs_20140328.DescribeLogGroups",
        body: "{}",
        signed: vec!["content-type", "host", "x-amz-date", "x-amz-target"],
    };
    let send = async |sig: &Signed<'_>, tweak: &Tweak, body: &str| {
        let mut h = sig.headers(&host);
        tweak(&mut h);
        let mut r = s.http.post(&url).body(body.to_owned());
        for (k, v) in &h {
            r = r.header(k, v);
        }
        s.send(r).await
    };
    let none = |_: &mut Headers| {};
    let code = |a: &Answer| a.json()["__type"].as_str().unwrap_or("").to_owned();

    let r = send(&base(), &none, "{}").await;
    s.case(
        "control: a request signed as the SDKs sign",
        r.status == 200,
        &r.body,
    );
    let again = send(&base(), &none, "{}").await;
    s.case(
        "the same request replayed within 15 minutes (AWS accepts it)",
        again.status == 200,
        &again.body,
    );
    let r = send(
        &Signed {
            at: now() - 14 * 60,
            ..base()
        },
        &none,
        "{}",
    )
    .await;
    s.case("a date 14 minutes old", r.status == 200, &r.body);

    let cases: Vec<SigCase<'_>> = vec![
        (
            "no Authorization header",
            base(),
            Box::new(|h: &mut Headers| h.retain(|(k, _)| k != "authorization")),
            "{}",
            "UnrecognizedClientException",
            "",
        ),
        (
            "an unknown access key",
            Signed {
                key_id: "AKIAEXAMPLEEXAMPLE00",
                ..base()
            },
            Box::new(none),
            "{}",
            "UnrecognizedClientException",
            "invalid",
        ),
        (
            "a wrong secret key",
            Signed {
                secret: "wrong",
                ..base()
            },
            Box::new(none),
            "{}",
            "InvalidSignatureException",
            "does not match",
        ),
        (
            "a date 16 minutes old",
            Signed {
                at: now() - 16 * 60,
                ..base()
            },
            Box::new(none),
            "{}",
            "InvalidSignatureException",
            "Signature expired",
        ),
        (
            "a date 16 minutes ahead",
            Signed {
                at: now() + 16 * 60,
                ..base()
            },
            Box::new(none),
            "{}",
            "InvalidSignatureException",
            "not yet current",
        ),
        (
            "a day-old date",
            Signed {
                at: now() - 86_400,
                ..base()
            },
            Box::new(none),
            "{}",
            "InvalidSignatureException",
            "Signature expired",
        ),
        (
            "another region in the scope",
            Signed {
                region: "us-east-1",
                ..base()
            },
            Box::new(none),
            "{}",
            "InvalidSignatureException",
            "region",
        ),
        (
            "another service in the scope",
            Signed {
                service: "ssm",
                ..base()
            },
            Box::new(none),
            "{}",
            "InvalidSignatureException",
            "correct service: 'logs'",
        ),
        (
            "host not signed",
            Signed {
                signed: vec!["content-type", "x-amz-date", "x-amz-target"],
                ..base()
            },
            Box::new(none),
            "{}",
            "IncompleteSignatureException",
            "Host",
        ),
        (
            "x-amz-date not signed",
            Signed {
                signed: vec!["content-type", "host", "x-amz-target"],
                ..base()
            },
            Box::new(none),
            "{}",
            "IncompleteSignatureException",
            "X-Amz-Date",
        ),
        (
            "x-amz-target not signed",
            Signed {
                signed: vec!["content-type", "host", "x-amz-date"],
                ..base()
            },
            Box::new(none),
            "{}",
            "IncompleteSignatureException",
            "X-Amz-Target",
        ),
        (
            "the body changed after signing",
            base(),
            Box::new(none),
            "{\"limit\":1}",
            "InvalidSignatureException",
            "does not match",
        ),
        (
            "an x-amz-content-sha256 that is not the body's",
            base(),
            Box::new(|h: &mut Headers| h.push(("x-amz-content-sha256".into(), "0".repeat(64)))),
            "{}",
            "InvalidSignatureException",
            "x-amz-content-sha256",
        ),
        (
            "the target changed after signing",
            base(),
            edit("x-amz-target", |_| "Logs_20140328.DeleteLogGroup".into()),
            "{}",
            "InvalidSignatureException",
            "does not match",
        ),
        (
            "no date header at all",
            base(),
            Box::new(|h: &mut Headers| h.retain(|(k, _)| k != "x-amz-date")),
            "{}",
            "IncompleteSignatureException",
            "X-Amz-Date",
        ),
        (
            "a date that is not ISO 8601 basic",
            base(),
            edit("x-amz-date", |_| "yesterday".into()),
            "{}",
            "IncompleteSignatureException",
            "ISO-8601",
        ),
        (
            "a scope dated another day",
            base(),
            edit("authorization", |v| {
                v.replacen(&amz(now())[..8], "20000101", 1)
            }),
            "{}",
            "InvalidSignatureException",
            "Credential scope",
        ),
        (
            "HMAC-SHA1",
            base(),
            edit("authorization", |v| {
                v.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")
            }),
            "{}",
            "UnrecognizedClientException",
            "",
        ),
        (
            "no Credential",
            base(),
            edit("authorization", |v| v.replace("Credential=", "Cred=")),
            "{}",
            "UnrecognizedClientException",
            "",
        ),
        (
            "a four-part scope",
            base(),
            edit("authorization", |v| v.replace("/aws4_request", "")),
            "{}",
            "UnrecognizedClientException",
            "",
        ),
        (
            "the signature in capitals",
            base(),
            edit("authorization", |v| {
                let (a, sig) = v.split_once("Signature=").unwrap();
                format!("{a}Signature={}", sig.to_uppercase())
            }),
            "{}",
            "InvalidSignatureException",
            "does not match",
        ),
    ];
    for (what, sig, tweak, body, want, says) in &cases {
        let r = send(sig, tweak.as_ref(), body).await;
        let held = r.status == 400 && code(&r) == *want && r.body.contains(says);
        s.case(
            format!("SigV4 with {what}"),
            held,
            format!("{} {}", r.status, r.body),
        );
    }
    s.finish(24).await;
}

#[tokio::test]
async fn ssm_runs_nothing_but_its_read_only_checks() {
    let s = Suite::start("ssm").await;
    let url = s.lab.info.aws.clone();
    let host = url.trim_start_matches("http://").to_owned();
    let key_id = s.lab.info.aws_access_key_id.clone();
    let secret = s.lab.info.aws_secret_access_key.clone();
    let region = s.lab.info.region.clone();
    let id = cognito_learning_emulator::aws::ssm::INSTANCE_ID;
    let send = async |doc: &str, instance: &str, commands: Value| {
        let body = json!({"DocumentName": doc, "InstanceIds": [instance], "Parameters": {"commands": commands}}).to_string();
        let sig = Signed {
            key_id: &key_id,
            secret: &secret,
            region: &region,
            service: "ssm",
            at: now(),
            target: "AmazonSSM.SendCommand",
            body: &body,
            signed: vec!["content-type", "host", "x-amz-date", "x-amz-target"],
        };
        let mut r = s.http.post(&url).body(body.clone());
        for (k, v) in sig.headers(&host) {
            r = r.header(k, v);
        }
        s.send(r).await
    };
    let r = send("AWS-RunShellScript", id, json!(["cat /etc/os-release"])).await;
    s.case(
        "control: an allowed check",
        r.status == 200 && r.json()["Command"]["CommandId"].is_string(),
        &r.body,
    );
    let injections = [
        "cat /etc/os-release; id",
        "cat /etc/os-release && rm -rf /",
        "cat /etc/os-release | sh",
        "cat /etc/os-release\nid",
        "$(id)",
        "`id`",
        "cat /etc/os-release #",
        " cat /etc/os-release",
        "tail -n 20 /etc/shadow",
        "tail -n 20 /opt/cognito-learning/../../etc/shadow",
        "curl -s http://169.254.169.254/latest/meta-data/",
    ];
    for cmd in injections {
        let r = send("AWS-RunShellScript", id, json!([cmd])).await;
        let held = r.status == 400 && r.json()["__type"] == "InvalidParameters";
        s.case(
            format!("SendCommand {cmd:?}"),
            held,
            format!("{} {}", r.status, r.body),
        );
    }
    let r = send(
        "AWS-RunShellScript",
        id,
        json!(["cat /etc/os-release", "id"]),
    )
    .await;
    s.case(
        "two commands, one of them allowed",
        r.status == 400 && r.json()["__type"] == "InvalidParameters",
        &r.body,
    );
    let r = send(
        "AWS-RunPowerShellScript",
        id,
        json!(["cat /etc/os-release"]),
    )
    .await;
    s.case(
        "another document",
        r.status == 400 && r.json()["__type"] == "InvalidDocument",
        &r.body,
    );
    let r = send(
        "AWS-RunShellScript",
        "i-0123456789abcdef0",
        json!(["cat /etc/os-release"]),
    )
    .await;
    s.case(
        "another instance",
        r.status == 400 && r.json()["__type"] == "InvalidInstanceId",
        &r.body,
    );
    s.finish(15).await;
}

#[tokio::test]
async fn html_injection_comes_back_escaped_everywhere() {
    let s = Suite::start("html").await;
    let alb = s.lab.info.alb.clone();
    let cognito = s.lab.info.cognito.clone();
    let authz = format!(
        "client_id={}&redirect_uri={}&response_type=code&scope=openid",
        s.lab.info.client_id,
        enc(&format!("{alb}/oauth2/idpresponse"))
    );
    let payloads = [
        "<script>alert(1)</script>",
        "--><script>alert(1)</script><!--",
        "\"><img src=x onerror=alert(1)>",
        "'><svg onload=alert(1)>",
        "</title><script>alert(1)</script>",
        "<a href=javascript:alert(1)>x</a>",
    ];
    // Nothing a client sent may come back as markup: no `<` of it survives.
    let clean = |body: &str, p: &str| {
        !body.contains(p)
            && !body.contains("<script>alert")
            && !body.contains("<img src=x")
            && !body.contains("<svg")
            && !body.contains("<a href=javascript")
    };
    for p in payloads {
        let q = enc(p);
        let pages = [
            (
                "the ALB's 561 page",
                format!("{alb}/oauth2/idpresponse?error={q}&state=x"),
            ),
            ("Cognito's error page", format!("{cognito}/error?error={q}")),
            (
                "the sign-in form's action",
                format!("{cognito}/login?{authz}&state={q}"),
            ),
            ("the app's 404", format!("{alb}/{q}")),
        ];
        for (what, url) in pages {
            let r = s.get(&url, &[]).await;
            s.case(format!("{what} with {p:?}"), clean(&r.body, p), &r.body);
        }
        let jar = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let url = format!("{cognito}/login?{authz}");
        let form = jar.get(&url).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_of(&form);
        let body = jar
            .post(&url)
            .form(&[("_csrf", csrf.as_str()), ("username", p), ("password", "x")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        s.case(
            format!("the re-shown sign-in form with username {p:?}"),
            clean(&body, p) && body.contains("Incorrect"),
            &body,
        );
    }
    s.finish(30).await;
}
