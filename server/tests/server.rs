//! The server in-process behind loopback sockets, as the ALB would reach it.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use cognito_learning_server::{Settings, run};
use common::{ARN, CLIENT, Idp, log_lines, sub, temp_log};
use reqwest::header::SET_COOKIE;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Server {
    url: String,
    log: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<anyhow::Result<()>>,
    http: reqwest::Client,
}

impl Server {
    async fn start(idp: &Idp, name: &str, tweak: impl FnOnce(&mut Settings)) -> Self {
        let log = temp_log(name);
        let mut s = Settings {
            alb_arn: Some(ARN.into()),
            alb_key_url: Some(idp.base.clone()),
            cognito_issuer: Some(idp.issuer.clone()),
            client_id: Some(CLIENT.into()),
            log_file: Some(log.clone()),
            cloudwatch: Some(false),
            ..Settings::default()
        };
        tweak(&mut s);
        let config = s.validate().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(run(listener, config, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            url,
            log,
            stop: Some(stop),
            done,
            http,
        }
    }

    async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    }

    async fn stop(mut self) -> Vec<Value> {
        self.stop.take().unwrap().send(()).unwrap();
        self.done.await.unwrap().unwrap();
        log_lines(&self.log)
    }
}

fn requests(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "request").collect()
}

#[tokio::test]
async fn the_four_routes_answer() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "routes", |_| {}).await;
    let (status, body, h) = s.get("/", &[]).await;
    assert_eq!(status, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let home = body.as_str().unwrap();
    assert!(home.contains(r#"href="/v1/public""#) && home.contains(r#"href="/v1/secrets""#));
    assert!(home.contains("http://127.0.0.1:9229/logout?client_id=labclient&amp;logout_uri=http%3A%2F%2Flocalhost%3A8080%2Flogout"));
    let (status, body, _) = s.get("/v1/public", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 3);
    let (status, body, _) = s.get("/v1/secrets", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthenticated");
    let (status, body, _) = s.get("/nope", &[]).await;
    assert_eq!(
        (status, body["reason"].as_str().unwrap()),
        (404, "no route for /nope")
    );
    let resp = s
        .http
        .post(format!("{}/v1/public", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, HEAD");
    let lines = s.stop().await;
    assert_eq!(requests(&lines).len(), 5);
}

#[tokio::test]
async fn a_verified_caller_reads_the_secrets_and_the_log_shows_why() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "verified", |_| {}).await;
    let data = idp.data("alice");
    let access = idp.access_token("alice", &["secret-readers"]);
    let alice = sub("alice");
    let headers = [
        ("x-amzn-oidc-data", data.as_str()),
        ("x-amzn-oidc-accesstoken", access.as_str()),
        ("x-amzn-oidc-identity", alice.as_str()),
        ("x-forwarded-for", "203.0.113.7, 10.0.0.5"),
        (
            "x-amzn-trace-id",
            "Root=1-67891233-abcdef012345678912345678",
        ),
        (
            "cookie",
            "AWSELBAuthSessionCookie-0=c0; AWSELBAuthSessionCookie-1=c1",
        ),
    ];
    let (status, body, _) = s.get("/v1/secrets", &headers).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["caller"]["username"], "alice");
    assert_eq!(body["caller"]["email"], "alice@example.com");
    assert_eq!(
        body["caller"]["groups"],
        serde_json::json!(["secret-readers"])
    );
    assert_eq!(body["secrets"].as_array().unwrap().len(), 3);
    let lines = s.stop().await;
    let line = requests(&lines)[0];
    // The ALB appends what it saw: the last entry is the one to trust, the rest is the client's.
    assert_eq!(line["client_ip"], "10.0.0.5");
    assert_eq!(line["forwarded_for"], "203.0.113.7, 10.0.0.5");
    assert_eq!(line["trace_id"], "Root=1-67891233-abcdef012345678912345678");
    assert_eq!(line["cookies"]["AWSELBAuthSessionCookie-1"], "c1");
    assert_eq!(line["alb"]["data"]["verdict"], "valid");
    assert_eq!(line["alb"]["data"]["raw"], data);
    assert_eq!(line["alb"]["data"]["header"]["signer"], ARN);
    assert_eq!(line["alb"]["data"]["claims"]["email_verified"], "true");
    assert_eq!(line["alb"]["accesstoken"]["verdict"], "valid");
    assert_eq!(
        line["alb"]["accesstoken"]["claims"]["scope"],
        "openid email"
    );
    assert_eq!(
        line["alb"]["identity"]["verdict"],
        "matches the verified sub"
    );
    assert!(line["request_headers"].get("x-amzn-oidc-data").is_none());
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn forged_or_missing_headers_get_401_with_the_reason() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "forged", |_| {}).await;
    let now = cognito_learning_tokens::time::now();
    let impostor = cognito_learning_tokens::sign::AlbSigner::generate(idp.alb.kid.clone()).unwrap();
    let forged_key = impostor
        .sign(
            &cognito_learning_tokens::sign::AlbHeader {
                issuer: &idp.issuer,
                client: CLIENT,
                signer: ARN,
                exp: now + 120,
            },
            serde_json::json!({"sub": sub("mallory"), "username": "mallory"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let other_alb = "arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/other/1";
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "no x-amzn-oidc-data header"),
        (
            vec![("x-amzn-oidc-data", "not-a-token".into())],
            "x-amzn-oidc-data: not a JWT",
        ),
        (
            vec![("x-amzn-oidc-data", forged_key)],
            "x-amzn-oidc-data: bad signature",
        ),
        (
            vec![(
                "x-amzn-oidc-data",
                idp.data_with("alice", other_alb, now + 120),
            )],
            "wrong signer",
        ),
        (
            vec![("x-amzn-oidc-data", idp.data_with("alice", ARN, now - 300))],
            "expired 5 min ago",
        ),
        (
            vec![("x-amzn-oidc-data", idp.data("alice").replace('=', ""))],
            "was the padding stripped?",
        ),
        (
            vec![
                ("x-amzn-oidc-data", idp.data("alice")),
                ("x-amzn-oidc-identity", sub("mallory")),
            ],
            "x-amzn-oidc-identity mallory-0000-4000-8000-000000000000 does not match",
        ),
        (
            vec![("x-amzn-oidc-identity", sub("alice"))],
            "no x-amzn-oidc-data header",
        ),
    ];
    for (headers, reason) in &cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body, _) = s.get("/v1/secrets", &h).await;
        assert_eq!(status, 401, "{reason}: {body}");
        let got = body["reason"].as_str().unwrap();
        assert!(got.contains(reason), "expected {reason:?} in {got:?}");
    }
    let lines = s.stop().await;
    let logged = requests(&lines);
    for (i, line) in logged.iter().enumerate() {
        let (data, identity) = (
            &line["alb"]["data"]["verdict"],
            &line["alb"]["identity"]["verdict"],
        );
        match i {
            0 => assert!(line.get("alb").is_none()),
            6 => assert_eq!(
                (data.as_str(), identity.as_str()),
                (Some("valid"), Some("does not match the verified sub"))
            ),
            7 => assert_eq!(identity, "unchecked: no verified x-amzn-oidc-data"),
            _ => assert_eq!(data, "invalid", "{line}"),
        }
    }
}

/// What the server writes is what the contract crate reads: every request line of a run with a
/// verified caller, a forged token, a mismatched identity and a redacted token parses into
/// `RequestRecord`, and says the same as the JSON it is.
#[tokio::test]
async fn every_request_line_parses_into_the_contract_record() {
    use cognito_learning_contract::log::{IdentityVerdict, RequestRecord, Verdict};
    let idp = Idp::start().await;
    for redact in [false, true] {
        let s = Server::start(&idp, if redact { "contract-r" } else { "contract" }, |c| {
            c.redact_tokens = Some(redact)
        })
        .await;
        let data = idp.data("alice");
        let access = idp.access_token("alice", &["secret-readers"]);
        let mallory = sub("mallory");
        let alice = sub("alice");
        let calls: [&[(&str, &str)]; 4] = [
            &[
                ("x-amzn-oidc-data", &data),
                ("x-amzn-oidc-accesstoken", &access),
                ("x-amzn-oidc-identity", &alice),
            ],
            &[("x-amzn-oidc-data", "a.b.c")],
            &[
                ("x-amzn-oidc-data", &data),
                ("x-amzn-oidc-identity", &mallory),
            ],
            &[
                ("cookie", "AWSELBAuthSessionCookie-0=c0"),
                ("accept", "x/y"),
            ],
        ];
        for h in calls {
            s.get("/v1/secrets", h).await;
        }
        s.get("/v1/public?page=2", &[]).await;
        let path = s.log.clone();
        s.stop().await;
        let text = std::fs::read_to_string(path).unwrap();
        let mut records = Vec::new();
        for line in text.lines() {
            let json: Value = serde_json::from_str(line).unwrap();
            match RequestRecord::parse(line) {
                Some(r) => {
                    assert_eq!(json["event"], "request");
                    assert_eq!(json["status"], r.status);
                    assert_eq!(json["path"], r.path.as_ref());
                    assert_eq!(json["client_ip"], r.client_ip.as_ref());
                    records.push(r);
                }
                None => assert_ne!(json["event"], "request", "{line}"),
            }
        }
        assert_eq!(records.len(), 5);
        let alb = |i: usize| records[i].alb.as_ref().unwrap();
        let ok = alb(0).data.as_ref().unwrap();
        assert_eq!((ok.verdict, ok.is_redacted()), (Verdict::Valid, redact));
        assert_eq!(ok.claims()["username"], "alice");
        assert_eq!(alb(0).accesstoken.as_ref().unwrap().verdict, Verdict::Valid);
        assert_eq!(
            alb(0).identity.as_ref().unwrap().verdict,
            IdentityVerdict::Matches
        );
        let bad = alb(1).data.as_ref().unwrap();
        assert_eq!(bad.verdict, Verdict::Invalid);
        assert!(
            bad.said().starts_with("invalid: header is not base64url"),
            "{}",
            bad.said()
        );
        assert_eq!(
            alb(2).identity.as_ref().unwrap().verdict,
            IdentityVerdict::DoesNotMatch
        );
        assert!(records[3].alb.is_none());
        assert_eq!(records[3].request_header("accept").as_deref(), Some("x/y"));
        assert_eq!(records[4].query.as_deref(), Some("page=2"));
    }
}

#[tokio::test]
async fn a_required_group_comes_from_the_verified_access_token() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "groups", |c| {
        c.required_group = Some("secret-readers".into())
    })
    .await;
    let alice_data = idp.data("alice");
    let alice_access = idp.access_token("alice", &["secret-readers"]);
    let bob_data = idp.data("bob");
    let bob_access = idp.access_token("bob", &[]);
    let (status, _, _) = s
        .get(
            "/v1/secrets",
            &[
                ("x-amzn-oidc-data", &alice_data),
                ("x-amzn-oidc-accesstoken", &alice_access),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, body, _) = s
        .get(
            "/v1/secrets",
            &[
                ("x-amzn-oidc-data", &bob_data),
                ("x-amzn-oidc-accesstoken", &bob_access),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (403, "forbidden")
    );
    assert_eq!(
        body["reason"],
        "bob is not in group secret-readers (groups: none)"
    );
    let (status, body, _) = s
        .get("/v1/secrets", &[("x-amzn-oidc-data", &bob_data)])
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["reason"],
        "no x-amzn-oidc-accesstoken header, so no groups to check"
    );
    let (status, body, _) = s
        .get(
            "/v1/secrets",
            &[
                ("x-amzn-oidc-data", &bob_data),
                ("x-amzn-oidc-accesstoken", &alice_access),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("the access token belongs to alice")
    );
    let forged = format!("{}x", &alice_access[..alice_access.len() - 1]);
    let (status, body, _) = s
        .get(
            "/v1/secrets",
            &[
                ("x-amzn-oidc-data", &alice_data),
                ("x-amzn-oidc-accesstoken", &forged),
            ],
        )
        .await;
    assert_eq!(status, 401, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn logout_expires_every_session_cookie_shard() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "logout", |_| {}).await;
    let (status, body, headers) = s
        .get(
            "/logout",
            &[
                ("cookie", "AWSELBAuthSessionCookie-0=a; AWSELBAuthSessionCookie-2=b; other=c; AWSELBAuthSessionCookie-3=d"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.as_str().unwrap().contains("You are logged out"));
    let cookies: Vec<&str> = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    for n in 0..4 {
        let expired = format!(
            "AWSELBAuthSessionCookie-{n}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure"
        );
        assert!(cookies.contains(&expired.as_str()), "{cookies:?}");
    }
    assert!(!cookies.iter().any(|c| c.starts_with("other=")));
    assert_eq!(headers["cache-control"], "no-store");
    s.stop().await;
}

#[tokio::test]
async fn redaction_hides_raw_tokens_and_cookie_values() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "redact", |c| c.redact_tokens = Some(true)).await;
    let data = idp.data("alice");
    s.get(
        "/v1/secrets",
        &[
            ("x-amzn-oidc-data", &data),
            ("cookie", "AWSELBAuthSessionCookie-0=secret"),
        ],
    )
    .await;
    let path = s.log.clone();
    let lines = s.stop().await;
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains(&data));
    assert!(!text.contains("=secret"));
    let line = requests(&lines)[0];
    assert_eq!(
        line["alb"]["data"]["raw"],
        format!("[redacted {} bytes]", data.len())
    );
    assert_eq!(
        line["alb"]["data"]["claims"]["username"], "alice",
        "decoded claims stay"
    );
    assert_eq!(
        line["cookies"]["AWSELBAuthSessionCookie-0"],
        "[redacted 6 bytes]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_answers_in_flight_requests_and_loses_no_log_line() {
    let idp = Idp::start().await;
    let s = Server::start(&idp, "graceful", |_| {}).await;
    let data = idp.data("alice");
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (http, url, data) = (s.http.clone(), s.url.clone(), data.clone());
        clients.push(tokio::spawn(async move {
            let mut answered = 0u32;
            loop {
                let res = http
                    .get(format!("{url}/v1/secrets"))
                    .header("x-amzn-oidc-data", &data)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 200 => answered += 1,
                    _ => return answered,
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = s.log.clone();
    let lines = s.stop().await;
    let mut answered = 0;
    for c in clients {
        answered += c.await.unwrap();
    }
    assert!(answered > 0);
    assert_eq!(
        requests(&lines).len() as u32,
        answered,
        "every answered request is in {}",
        log.display()
    );
    assert_eq!(lines.last().unwrap()["message"], "stopped");
}
