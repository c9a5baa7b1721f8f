//! Read-only calls to the AWS services whose state the cloud track checks (EC2, Elastic Load
//! Balancing, ACM, CodePipeline, CodeBuild, CodeDeploy), signed with AWS's own SigV4 signer.
//!
//! The checks make a dozen calls between them. One small client for the two wire protocols those
//! services speak (the Query protocol with XML answers, and JSON 1.1) keeps the guide's build a
//! fraction of what six generated SDKs would cost. Credentials, Region and endpoints come from
//! the same [`SdkConfig`] as the CloudWatch Logs and SSM clients, so profiles, SSO, the
//! environment, `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_EC2` (and so on) all
//! work as they do for the AWS CLI.
//!
//! Like the SDKs, it keeps credentials until shortly before they expire, retries throttling and
//! server errors a few times with jittered backoff, follows each list's pages, and corrects its
//! clock once from an answer's `Date` when AWS refuses a request's time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_types::service_config::ServiceConfigKey;

/// How a service is reached and spoken to.
#[derive(Debug)]
pub struct Service {
    /// The name in messages ("EC2").
    pub name: &'static str,
    /// The SDKs' service id, which names its endpoint settings.
    id: &'static str,
    /// The SigV4 signing name, which is also the first label of its host name.
    signing: &'static str,
    /// `AWS_ENDPOINT_URL_<this>` overrides the endpoint for this service alone.
    env: &'static str,
    api: Api,
}

#[derive(Debug)]
enum Api {
    /// The Query protocol: a form POST with `Action` and `Version`, answered in XML.
    Query {
        version: &'static str,
        paging: Paging,
    },
    /// JSON 1.1: the operation in `X-Amz-Target`, prefixed with this.
    Json { target: &'static str },
}

/// How a Query service's lists page: the parameter that asks for the next page, and the
/// answer's element that holds its token.
#[derive(Debug, Clone, Copy)]
struct Paging {
    ask: &'static str,
    given: &'static str,
}

/// Pages read at most for one list: a learner's account has a handful of each thing.
const MAX_PAGES: usize = 20;

pub const EC2: Service = Service {
    name: "EC2",
    id: "EC2",
    signing: "ec2",
    env: "AWS_ENDPOINT_URL_EC2",
    api: Api::Query {
        version: "2016-11-15",
        paging: Paging {
            ask: "NextToken",
            given: "nextToken",
        },
    },
};
pub const ELBV2: Service = Service {
    name: "Elastic Load Balancing",
    id: "Elastic Load Balancing v2",
    signing: "elasticloadbalancing",
    env: "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    api: Api::Query {
        version: "2015-12-01",
        paging: Paging {
            ask: "Marker",
            given: "NextMarker",
        },
    },
};
pub const ACM: Service = Service {
    name: "ACM",
    id: "ACM",
    signing: "acm",
    env: "AWS_ENDPOINT_URL_ACM",
    api: Api::Json {
        target: "CertificateManager",
    },
};
pub const COGNITO_IDP: Service = Service {
    name: "Cognito",
    id: "Cognito Identity Provider",
    signing: "cognito-idp",
    env: "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    api: Api::Json {
        target: "AWSCognitoIdentityProviderService",
    },
};
pub const CODEPIPELINE: Service = Service {
    name: "CodePipeline",
    id: "CodePipeline",
    signing: "codepipeline",
    env: "AWS_ENDPOINT_URL_CODEPIPELINE",
    api: Api::Json {
        target: "CodePipeline_20150709",
    },
};
pub const CODEBUILD: Service = Service {
    name: "CodeBuild",
    id: "CodeBuild",
    signing: "codebuild",
    env: "AWS_ENDPOINT_URL_CODEBUILD",
    api: Api::Json {
        target: "CodeBuild_20161006",
    },
};
pub const CODEDEPLOY: Service = Service {
    name: "CodeDeploy",
    id: "CodeDeploy",
    signing: "codedeploy",
    env: "AWS_ENDPOINT_URL_CODEDEPLOY",
    api: Api::Json {
        target: "CodeDeploy_20141006",
    },
};

/// A learner's account, read through the standard chain's credentials.
#[derive(Debug, Clone)]
pub struct Account {
    config: SdkConfig,
    http: reqwest::Client,
    /// The credentials last provided, kept until [`CREDENTIALS_MARGIN`] before they expire.
    creds: Arc<Mutex<Option<Credentials>>>,
    /// How many seconds AWS's clock runs ahead of this computer's, once an answer showed it.
    skew: Arc<AtomicI64>,
}

/// Credentials this close to their expiry are provided again.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Attempts at a call that AWS throttles or answers with a server error.
const ATTEMPTS: u32 = 4;
/// The first retry waits up to this long, each next one up to twice as long (full jitter).
const BACKOFF: Duration = Duration::from_millis(200);
/// The error codes that mean "slow down" (EC2's, the Query services' and the JSON ones').
const THROTTLING: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
];
/// How far apart the clocks must be before an answer's `Date` corrects this one.
const SKEW_MIN: i64 = 60;

/// One answer, before it is read.
#[derive(Debug)]
struct Answer {
    status: u16,
    text: String,
    /// `x-amzn-errortype`, which JSON services may send instead of (or beside) `__type`.
    error_type: Option<String>,
    /// The answer's `Date`, as Unix seconds.
    date: Option<i64>,
}

/// A refusal, read: AWS's code and message.
#[derive(Debug, Default)]
struct Refusal {
    code: Option<String>,
    message: String,
}

impl Account {
    pub fn new(config: SdkConfig) -> Self {
        Self {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            creds: Arc::default(),
            skew: Arc::default(),
        }
    }

    fn region(&self) -> Result<String, String> {
        self.config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| "no AWS Region: set AWS_REGION or give --region".into())
    }

    /// A setting of the environment or the profile, as the SDKs read them for `s`: its own
    /// (`AWS_ENDPOINT_URL_EC2`, the profile's `services` section), then the general one.
    fn setting(&self, s: &Service, env: &'static str, profile: &'static str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(s.id)
            .env(env)
            .profile(profile)
            .build()
            .ok()?;
        self.config.service_config()?.load_config(key)
    }

    /// The service's endpoint, resolved as the SDKs do: its own setting, then
    /// `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`), then the Region's public
    /// endpoint. `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or the profile's
    /// `ignore_configured_endpoint_urls`) skips the configured ones.
    pub fn endpoint(&self, s: &Service) -> Result<String, String> {
        let ignore = self
            .setting(
                s,
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                "ignore_configured_endpoint_urls",
            )
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if !ignore {
            let own = self.setting(s, s.env, "endpoint_url");
            if let Some(url) = own.or_else(|| self.config.endpoint_url().map(str::to_owned)) {
                return Ok(url.trim_end_matches('/').to_owned());
            }
        }
        let region = self.region()?;
        Ok(format!(
            "https://{}.{region}.{}",
            s.signing,
            dns_suffix(&region)
        ))
    }

    /// A Query-protocol call; `Ok` is the XML answer.
    pub async fn query(
        &self,
        s: &Service,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, String> {
        let Api::Query { version, .. } = s.api else {
            return Err(format!("{} does not speak the Query protocol", s.name));
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", version)
            .extend_pairs(params)
            .finish();
        let ct = "application/x-www-form-urlencoded; charset=utf-8";
        let a = self
            .call(s, &[("content-type", ct)], body.into_bytes())
            .await?;
        if (200..300).contains(&a.status) {
            return Ok(a.text);
        }
        Err(self.explain(s, action, &a))
    }

    /// Every page of a Query-protocol list: the call again with each page's token, up to
    /// [`MAX_PAGES`].
    pub async fn query_pages(
        &self,
        s: &Service,
        action: &str,
        params: &[(String, String)],
    ) -> Result<Vec<String>, String> {
        let Api::Query { paging, .. } = s.api else {
            return Err(format!("{} does not speak the Query protocol", s.name));
        };
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut p = params.to_vec();
            if let Some(t) = token.take() {
                p.push((paging.ask.to_owned(), t));
            }
            let page = self.query(s, action, &p).await?;
            token = xml(s, &page)?
                .root()
                .descendants()
                .find(|n| n.has_tag_name(paging.given))
                .and_then(|n| n.text())
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            pages.push(page);
            if token.is_none() {
                break;
            }
        }
        Ok(pages)
    }

    /// A JSON 1.1 call; `Ok` is the answer's document.
    pub async fn json(
        &self,
        s: &Service,
        operation: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let Api::Json { target } = s.api else {
            return Err(format!("{} does not speak JSON", s.name));
        };
        let target = format!("{target}.{operation}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let a = self
            .call(s, &headers, input.to_string().into_bytes())
            .await?;
        if (200..300).contains(&a.status) {
            return Ok(serde_json::from_str(&a.text).unwrap_or_default());
        }
        Err(self.explain(s, operation, &a))
    }

    /// Every page of a JSON list: the call again with `token` set from each answer's, up to
    /// [`MAX_PAGES`].
    pub async fn json_pages(
        &self,
        s: &Service,
        operation: &str,
        input: serde_json::Value,
        token: &str,
    ) -> Result<Vec<serde_json::Value>, String> {
        let mut pages: Vec<serde_json::Value> = Vec::new();
        let mut input = input;
        for _ in 0..MAX_PAGES {
            let page = self.json(s, operation, input.clone()).await?;
            let next = page[token]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            pages.push(page);
            match next {
                Some(t) => input[token] = t.into(),
                None => break,
            }
        }
        Ok(pages)
    }

    /// Sends a call, again after throttling or a server error (up to [`ATTEMPTS`], with
    /// jittered backoff) and once more with the clock corrected when AWS refused the request's
    /// time. The answer is the last one, whatever it says.
    async fn call(
        &self,
        s: &Service,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let mut corrected = false;
        let mut attempt = 0;
        loop {
            let a = self.send(s, headers, body.clone()).await?;
            if (200..300).contains(&a.status) {
                return Ok(a);
            }
            let r = refusal(s, &a);
            let code = r.code.as_deref().unwrap_or_default();
            attempt += 1;
            if (THROTTLING.contains(&code) || a.status >= 500 || a.status == 429)
                && attempt < ATTEMPTS
            {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            if !corrected
                && skew_suspect(&r)
                && let Some(off) = self.clock_off(&a).filter(|o| o.abs() >= SKEW_MIN)
            {
                // The next attempt signs with AWS's time: what the SDKs do.
                self.skew
                    .store(self.skew.load(Ordering::Relaxed) + off, Ordering::Relaxed);
                corrected = true;
                continue;
            }
            return Ok(a);
        }
    }

    /// How many seconds AWS's clock (the answer's `Date`) runs ahead of the one requests are
    /// signed with.
    fn clock_off(&self, a: &Answer) -> Option<i64> {
        let ours = signing_time(self.skew.load(Ordering::Relaxed));
        let secs = ours.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        Some(a.date? - i64::try_from(secs).ok()?)
    }

    /// The credentials, from the cache while they have [`CREDENTIALS_MARGIN`] left (SSO and
    /// assume-role profiles make a call of their own for each).
    async fn credentials(&self) -> Result<Credentials, String> {
        let now = SystemTime::now();
        if let Ok(held) = self.creds.lock()
            && let Some(c) = held.as_ref()
            && c.expiry().is_none_or(|e| e > now + CREDENTIALS_MARGIN)
        {
            return Ok(c.clone());
        }
        let Some(p) = self.config.credentials_provider() else {
            return Err("no AWS credentials: run `aws configure` or set AWS_PROFILE".into());
        };
        let c = p.provide_credentials().await.map_err(|e| {
            format!(
                "no AWS credentials ({}): run `aws sso login --profile NAME` or set AWS_PROFILE",
                crate::aws::root_cause(&e)
            )
        })?;
        if let Ok(mut held) = self.creds.lock() {
            *held = Some(c.clone());
        }
        Ok(c)
    }

    async fn send(
        &self,
        s: &Service,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let url = format!("{}/", self.endpoint(s)?);
        let region = self.region()?;
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(s.signing)
            .time(signing_time(self.skew.load(Ordering::Relaxed)))
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing a request to {}: {e}", s.name))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| format!("signing a request to {}: {e}", s.name))?;
        let (signature, _) = sign(signable, &params)
            .map_err(|e| format!("signing a request to {}: {e}", s.name))?
            .into_parts();
        let mut req = self.http.post(&url).body(body);
        for (name, value) in headers.iter().copied().chain(signature.headers()) {
            req = req.header(name, value);
        }
        let r = req.send().await.map_err(|e| {
            let origin = url.trim_end_matches('/');
            if e.is_timeout() {
                format!("cannot reach {} at {origin}: timed out", s.name)
            } else {
                format!(
                    "cannot reach {} at {origin}: {}",
                    s.name,
                    crate::aws::root_cause(&e).to_lowercase()
                )
            }
        })?;
        let status = r.status().as_u16();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let error_type = header("x-amzn-errortype");
        let date = header("date")
            .as_deref()
            .and_then(cognito_learning_contract::trace::http_date_secs)
            .and_then(|d| i64::try_from(d).ok());
        let text = r.text().await.map_err(|e| e.to_string())?;
        Ok(Answer {
            status,
            text,
            error_type,
            date,
        })
    }

    /// What a refused call means for the learner, with AWS's own words.
    fn explain(&self, s: &Service, call: &str, a: &Answer) -> String {
        let r = refusal(s, a);
        let message = r.message.as_str();
        let said = |code: &str| {
            if message.is_empty() {
                code.to_owned()
            } else {
                format!("{code}: {message}")
            }
        };
        let Some(code) = r.code.as_deref() else {
            return format!(
                "{} answered HTTP {} to {call} without an AWS error: is this endpoint {}?",
                s.name, a.status, s.name
            );
        };
        let off = self
            .clock_off(a)
            .map(|o| o + self.skew.load(Ordering::Relaxed))
            .filter(|o| o.abs() >= SKEW_MIN);
        if time_refused(&r) || (skew_suspect(&r) && off.is_some()) {
            let by = match off {
                Some(o) => format!(
                    "this computer's clock is {} {} AWS's",
                    cognito_learning_tokens::time::span(o.unsigned_abs()),
                    if o > 0 { "behind" } else { "ahead of" }
                ),
                None => "this computer's clock is off".to_owned(),
            };
            return format!(
                "{} refused the request's time ({}): {by}. Set it right (on Linux, `timedatectl set-ntp true`)",
                s.name,
                said(code)
            );
        }
        match code {
            "RequestExpired" | "ExpiredToken" | "ExpiredTokenException" => format!(
                "{} says the AWS credentials have expired ({}): run `aws sso login` (or refresh them) for this profile",
                s.name,
                said(code)
            ),
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "AuthFailure"
            | "SignatureDoesNotMatch"
            | "InvalidSignatureException" => format!(
                "{} refused the AWS credentials ({}): run `aws sso login` (or `aws configure`) for this profile",
                s.name,
                said(code)
            ),
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                format!("not allowed to call {} {call}: {message}", s.name)
            }
            _ => said(code),
        }
    }
}

/// The error code and message of a refused call. Query services answer XML (EC2
/// `<Response><Errors><Error>`, the others `<ErrorResponse><Error>`); JSON services name the
/// code in `__type`, which may carry a namespace before `#` and extra text after `:`
/// (`aws.protocoltests#FooError:http://…`), else in `x-amzn-errortype`, read the same way.
fn refusal(s: &Service, a: &Answer) -> Refusal {
    match s.api {
        Api::Query { .. } => {
            let doc = roxmltree::Document::parse(&a.text).ok();
            let field = |name: &str| {
                doc.as_ref()
                    .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)))
                    .and_then(|n| n.text())
                    .map(str::to_owned)
            };
            Refusal {
                code: field("Code"),
                message: field("Message").unwrap_or_default(),
            }
        }
        Api::Json { .. } => {
            let doc: serde_json::Value = serde_json::from_str(&a.text).unwrap_or_default();
            let code = doc["__type"]
                .as_str()
                .or(a.error_type.as_deref())
                .map(error_code)
                .filter(|c| !c.is_empty());
            let message = doc["message"]
                .as_str()
                .or(doc["Message"].as_str())
                .unwrap_or_default()
                .to_owned();
            Refusal { code, message }
        }
    }
}

/// `ns#Code:extra` → `Code`.
fn error_code(t: &str) -> String {
    let t = t.rsplit('#').next().unwrap_or(t);
    t.split(':').next().unwrap_or(t).trim().to_owned()
}

/// Whether AWS refused the request because of when it was signed (a skewed clock): S3 and
/// some Query services say `RequestTimeTooSkewed`; the others a signature that "expired".
fn time_refused(r: &Refusal) -> bool {
    r.code.as_deref() == Some("RequestTimeTooSkewed")
        || (matches!(
            r.code.as_deref(),
            Some("SignatureDoesNotMatch" | "InvalidSignatureException" | "AuthFailure")
        ) && r.message.contains("Signature expired"))
}

/// Whether a refusal may come from a skewed clock, as the SDKs read it: then the answer's
/// `Date` decides (EC2 says `RequestExpired` both for a clock that is off and for expired
/// credentials).
fn skew_suspect(r: &Refusal) -> bool {
    time_refused(r)
        || matches!(
            r.code.as_deref(),
            Some(
                "RequestExpired"
                    | "RequestInTheFuture"
                    | "SignatureDoesNotMatch"
                    | "InvalidSignatureException"
                    | "AuthFailure"
            )
        )
}

/// The time to sign with: this computer's, moved by what AWS's clock said.
fn signing_time(skew: i64) -> SystemTime {
    let now = SystemTime::now();
    let by = Duration::from_secs(skew.unsigned_abs());
    if skew >= 0 { now + by } else { now - by }
}

/// How long the `attempt`th retry (from 1) waits: up to [`BACKOFF`] × 2^(attempt-1), anywhere
/// in that range.
fn backoff(attempt: u32) -> Duration {
    let cap = BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1));
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // A cheap mix of the clock's low bits: spread, not secret.
    let r = f64::from(nanos.wrapping_mul(2_654_435_761) % 1_000_000) / 1_000_000.0;
    cap.mul_f64(r)
}

/// The DNS suffix of a Region's partition: China's, the European Sovereign Cloud's
/// (`eusc-de-east-1`), else the commercial one.
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("eusc-") {
        "amazonaws.eu"
    } else {
        "amazonaws.com"
    }
}

/// The text of the first element named `name` under `node`, at any depth.
pub fn text<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    node.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
}

/// The entries of the first list named `list` under `node` (EC2's `<item>`s, the others'
/// `<member>`s).
pub fn entries<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    list: &str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + use<'a, 'i> {
    node.descendants()
        .find(|n| n.has_tag_name(list))
        .into_iter()
        .flat_map(|l| l.children().filter(roxmltree::Node::is_element))
}

/// Parses each page of an answer.
pub fn docs<'i>(s: &Service, pages: &'i [String]) -> Result<Vec<roxmltree::Document<'i>>, String> {
    pages.iter().map(|p| xml(s, p)).collect()
}

/// Parses an answer's XML.
pub fn xml<'i>(s: &Service, text: &'i str) -> Result<roxmltree::Document<'i>, String> {
    roxmltree::Document::parse(text)
        .map_err(|e| format!("{} answered XML that does not parse: {e}", s.name))
}

/// `Filter.N.Name` / `Filter.N.Value.M` pairs for an EC2 call.
pub fn filters(pairs: &[(&str, &[&str])]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (name, values)) in pairs.iter().enumerate() {
        out.push((format!("Filter.{}.Name", i + 1), (*name).to_owned()));
        for (j, v) in values.iter().enumerate() {
            out.push((format!("Filter.{}.Value.{}", i + 1, j + 1), (*v).to_owned()));
        }
    }
    out
}
