//! A real browser (Debian's headless Chromium, driven through ChromeDriver's W3C WebDriver API)
//! logs in through the hosted UI and reads the secrets, as a learner would.
//!
//! Needs `chromium` and `chromium-driver` (scripts/test installs them). Set
//! COGNITO_LEARNING_SKIP_BROWSER=1 to skip it on a machine without them.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cognito_learning_emulator::{Lab, LabOptions};
use serde_json::{Value, json};

struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(profile: &std::path::Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/test installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The flags keep Chromium off the network it does not have here.
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1000,800", format!("--user-data-dir={}", profile.display())]}}}});
        let mut driver = Driver {
            child,
            base,
            http,
            session: String::new(),
        };
        let created = driver.call("POST", "/session", Some(caps)).await;
        driver.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        driver
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let req = match method {
            "POST" => self.http.post(url).json(&body.unwrap_or(json!({}))),
            "DELETE" => self.http.delete(url),
            _ => self.http.get(url),
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    async fn url(&self) -> String {
        self.call("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn wait_for_url(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let u = self.url().await;
            if pred(&u) {
                return u;
            }
            assert!(Instant::now() < deadline, "stuck at {u}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn element(&self, css: &str) -> String {
        let e = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        // The W3C element reference is the only value of the returned object.
        e.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {css}: {e}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call("POST", &format!("/element/{id}/click"), None)
            .await;
    }

    async fn text(&self) -> String {
        let body = self.element("body").await;
        self.call("GET", &format!("/element/{body}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A lab and a fresh Chromium profile, in a temporary directory; `None` when browser tests are
/// turned off.
async fn browse(name: &str) -> Option<(std::path::PathBuf, Lab, Driver)> {
    if std::env::var_os("COGNITO_LEARNING_SKIP_BROWSER").is_some() {
        eprintln!("skipped: COGNITO_LEARNING_SKIP_BROWSER is set");
        return None;
    }
    let tmp = std::env::temp_dir().join(format!(
        "cl-{name}-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let lab = Lab::start(LabOptions {
        state_dir: tmp.join("lab"),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    let d = Driver::start(&tmp.join("profile")).await;
    Some((tmp, lab, d))
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_logs_in_through_the_hosted_ui_and_sees_the_secrets() {
    let Some((tmp, lab, d)) = browse("browser").await else {
        return;
    };
    let secrets = format!("{}/v1/secrets", lab.info.alb);
    d.call("POST", "/url", Some(json!({"url": secrets}))).await;
    let login = d.wait_for_url(|u| u.contains("/login?")).await;
    assert!(
        login.starts_with(&lab.info.cognito),
        "the hosted UI is on its own host: {login}"
    );
    d.type_into("#signInFormUsername", "alice").await;
    d.type_into("#signInFormPassword", "Passw0rd!").await;
    d.click("input[name=signInSubmitButton]").await;
    d.wait_for_url(|u| u == secrets).await;
    let text = d.text().await;
    assert!(text.contains("\"username\":\"alice\""), "{text}");
    assert!(text.contains("launch-code"), "{text}");
    // Logging out through the home page's link ends both sessions: the form comes back.
    d.call(
        "POST",
        "/url",
        Some(json!({"url": format!("{}/", lab.info.alb)})),
    )
    .await;
    d.click("#logout").await;
    d.wait_for_url(|u| u == format!("{}/logout", lab.info.alb))
        .await;
    assert!(d.text().await.contains("You are logged out"));
    d.call("POST", "/url", Some(json!({"url": secrets}))).await;
    d.wait_for_url(|u| u.contains("/login?")).await;
    d.call("DELETE", "", None).await;
    lab.stop().await;
    let _ = std::fs::remove_dir_all(tmp);
}

/// Script that would mark the page if it ran, in each place a page echoes input.
const PAYLOADS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "--><script>window.__xss=1</script><!--",
    "\"><img src=x onerror=\"window.__xss=1\">",
    "'><svg onload='window.__xss=1'>",
    "</title><script>window.__xss=1</script>",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
];

#[tokio::test(flavor = "multi_thread")]
async fn no_page_that_echoes_input_runs_a_script_in_chromium() {
    let Some((tmp, lab, d)) = browse("xss").await else {
        return;
    };
    let enc = |p: &str| form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>();
    let redirect = enc(&format!("{}/oauth2/idpresponse", lab.info.alb));
    let authz = format!(
        "client_id={}&redirect_uri={redirect}&response_type=code&scope=openid",
        lab.info.client_id
    );
    let ran = async |d: &Driver| -> bool {
        let v = d
            .call(
                "POST",
                "/execute/sync",
                Some(json!({"script": "return window.__xss === 1", "args": []})),
            )
            .await;
        v.as_bool() != Some(false)
    };
    let mut pages = 0;
    for p in PAYLOADS {
        let q = enc(p);
        let urls = [
            // The ALB's 561 page, on the app's own origin.
            format!("{}/oauth2/idpresponse?error={q}&state=x", lab.info.alb),
            // Cognito's error page.
            format!("{}/error?error={q}&client_id=x", lab.info.cognito),
            // The sign-in form echoes its query string into the form's action.
            format!("{}/login?{authz}&state={q}", lab.info.cognito),
            // The app's unknown-path answer names the path.
            format!("{}/{q}", lab.info.alb),
        ];
        for url in urls {
            d.call("POST", "/url", Some(json!({"url": url}))).await;
            assert!(!ran(&d).await, "a script ran at {url}");
            pages += 1;
        }
        // The form shows the username it was sent back with a wrong password.
        d.call(
            "POST",
            "/url",
            Some(json!({"url": format!("{}/login?{authz}", lab.info.cognito)})),
        )
        .await;
        d.type_into("#signInFormUsername", p).await;
        d.type_into("#signInFormPassword", "wrong").await;
        d.click("input[name=signInSubmitButton]").await;
        // The click starts a navigation that WebDriver does not wait for.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = d.text().await;
            if text.contains("Incorrect username or password") {
                break;
            }
            assert!(Instant::now() < deadline, "no error shown: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!ran(&d).await, "a script ran in the re-shown form for {p}");
        pages += 1;
    }
    assert_eq!(pages, PAYLOADS.len() * 5);
    d.call("DELETE", "", None).await;
    lab.stop().await;
    let _ = std::fs::remove_dir_all(tmp);
}
