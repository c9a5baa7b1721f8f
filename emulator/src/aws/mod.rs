//! The lab's AWS API endpoint: the AWS JSON 1.1 protocol as the SDKs speak it.
//!
//! `POST /` with `X-Amz-Target: <service prefix>.<Operation>`, a SigV4-signed request with the
//! credentials the lab made at start, a JSON body; errors are `{"__type", "message"}` with HTTP
//! 400. Serves CloudWatch Logs ([`logs`], with Live Tail's event stream in [`tail`]), SSM for
//! the lab's one instance ([`ssm`]), Cognito's control plane ([`cognito_idp`]), ACM's one
//! certificate ([`acm`]), and the ALB's public keys by `kid`, unsigned, as the real key
//! endpoint does. ELBv2 ([`elbv2`]) speaks the Query protocol instead: a form body, XML back.

pub mod acm;
pub mod cognito_idp;
pub mod elbv2;
pub mod filter;
pub mod journal;
pub mod logs;
pub mod sigv4;
pub mod ssm;
pub mod tail;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::http::{Body, Req, Resp, response};
use sigv4::{Credentials, SigError};

const JSON_11: &str = "application/x-amz-json-1.1";

/// An AWS error: its `__type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn unknown_operation(op: &str) -> Self {
        Self::new(
            "UnknownOperationException",
            format!("{op} is not an operation the lab serves"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            "ServiceUnavailableException",
            "the lab's state is unavailable",
        )
    }

    fn into_response(self) -> Resp {
        let status = match self.code {
            "ServiceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut r = response(
            status,
            JSON_11,
            json!({"__type": self.code, "message": self.message}).to_string(),
        );
        if let Ok(v) = http::HeaderValue::from_str(self.code) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        r
    }
}

/// What an operation answers: a JSON document, or an event stream.
enum Reply {
    Json(Value),
    Events(tokio::sync::mpsc::Receiver<Bytes>),
}

/// `AllowedOAuthFlows` → `allowedOAuthFlows`, as AWS names a member in a validation message.
pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// A list of strings in a request (empty when it is not there).
pub(crate) fn strings(req: &Map<String, Value>, name: &str) -> Vec<String> {
    req.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What follows the control plane beyond the ALB and the hosted UI (the lab's app): told after
/// every change, and answered before the call that made it.
pub trait Follower: Send + Sync + std::fmt::Debug {
    fn sync(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The services beside CloudWatch Logs, each built from the lab's parts.
#[derive(Debug)]
pub struct Services {
    pub ssm: ssm::Ssm,
    pub cognito_idp: cognito_idp::CognitoIdp,
    pub elbv2: elbv2::Elbv2,
    pub acm: acm::Acm,
}

#[derive(Debug)]
pub struct AwsApi {
    pub credentials: Credentials,
    /// Off only when the lab is started with signature checks disabled.
    pub check_signatures: bool,
    pub logs: std::sync::Arc<logs::Logs>,
    pub ssm: ssm::Ssm,
    pub cognito_idp: cognito_idp::CognitoIdp,
    pub elbv2: elbv2::Elbv2,
    pub acm: acm::Acm,
    pub follower: std::sync::OnceLock<std::sync::Arc<dyn Follower>>,
    /// The region requests must be signed for.
    region: String,
    alb_key: (String, String),
}

impl AwsApi {
    /// `alb_key` is the ALB's `(kid, PEM)`; `ssm` knows where the lab's app is.
    pub fn new(
        credentials: Credentials,
        check_signatures: bool,
        region: &str,
        alb_key: (String, String),
        services: Services,
    ) -> Self {
        let Services {
            ssm,
            cognito_idp,
            elbv2,
            acm,
        } = services;
        Self {
            credentials,
            check_signatures,
            logs: std::sync::Arc::new(logs::Logs::new(region, "123456789012")),
            ssm,
            cognito_idp,
            elbv2,
            acm,
            follower: std::sync::OnceLock::new(),
            region: region.to_owned(),
            alb_key,
        }
    }

    pub async fn handle(&self, req: &Req) -> Resp {
        if req.parts.method == Method::GET {
            return match req.path().strip_prefix("/elb-public-keys/") {
                Some(kid) if kid == self.alb_key.0 => response(
                    StatusCode::OK,
                    "application/x-pem-file",
                    self.alb_key.1.clone(),
                ),
                _ => response(StatusCode::NOT_FOUND, "text/plain", "not found"),
            };
        }
        let form = req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if form && req.parts.method == Method::POST {
            return self.query(req).await;
        }
        match self.call(req).await {
            Ok(Reply::Json(v)) => response(StatusCode::OK, JSON_11, v.to_string()),
            Ok(Reply::Events(rx)) => {
                let mut r = http::Response::new(Body::Stream(rx));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/vnd.amazon.eventstream"),
                );
                r
            }
            Err(e) => e.into_response(),
        }
    }

    /// The Query protocol (ELBv2): `Action` and `Version` in a signed form body.
    async fn query(&self, req: &Req) -> Resp {
        let (action, version, params) = elbv2::parse_form(&req.body);
        let answer = async {
            if self.check_signatures {
                self.verify(req, Some("elasticloadbalancing"), &[])?;
            }
            let action = action.ok_or_else(|| ApiError::new("MissingAction", "no Action"))?;
            if version.as_deref() != Some(elbv2::VERSION) {
                return Err(ApiError::new(
                    "InvalidAction",
                    format!(
                        "the lab serves the Query protocol for ELBv2 (Version={}) only",
                        elbv2::VERSION
                    ),
                ));
            }
            let result = self.elbv2.call(&action, &params).await?;
            self.follow().await;
            Ok((action, result))
        };
        match answer.await {
            Ok((action, result)) => elbv2::ok(&action, &result),
            Err(e) => elbv2::error(&e),
        }
    }

    async fn follow(&self) {
        if let Some(f) = self.follower.get() {
            f.sync().await;
        }
    }

    fn verify(&self, req: &Req, service: Option<&str>, signed: &[&str]) -> Result<(), ApiError> {
        let expect = sigv4::Expect {
            region: &self.region,
            service,
            signed,
            now: cognito_learning_tokens::time::now(),
        };
        sigv4::verify(
            &self.credentials,
            &expect,
            req.parts.method.as_str(),
            req.path(),
            req.parts.uri.query().unwrap_or(""),
            &req.parts.headers,
            &req.body,
        )
        .map_err(|e| match e {
            SigError::UnrecognizedClient(m) => ApiError::new("UnrecognizedClientException", m),
            SigError::IncompleteSignature(m) => ApiError::new("IncompleteSignatureException", m),
            SigError::InvalidSignature(m) => ApiError::new("InvalidSignatureException", m),
        })
        .map(|_| ())
    }

    async fn call(&self, req: &Req) -> Result<Reply, ApiError> {
        if req.parts.method != Method::POST {
            return Err(ApiError::new("InvalidAction", "use POST"));
        }
        let target = req.header("x-amz-target");
        // RevokeToken is called without a signature, as on AWS: the client secret proves who asks.
        let unsigned = target == Some("AWSCognitoIdentityProviderService.RevokeToken");
        if self.check_signatures && !unsigned {
            let service =
                target
                    .and_then(|t| t.split_once('.'))
                    .and_then(|(prefix, _)| match prefix {
                        "Logs_20140328" => Some("logs"),
                        "AmazonSSM" => Some("ssm"),
                        "AWSCognitoIdentityProviderService" => Some("cognito-idp"),
                        "CertificateManager" => Some("acm"),
                        _ => None,
                    });
            self.verify(req, service, &["x-amz-target"])?;
        }
        let target =
            target.ok_or_else(|| ApiError::new("MissingAction", "no X-Amz-Target header"))?;
        let body: Map<String, Value> = if req.body.is_empty() {
            Map::new()
        } else {
            serde_json::from_slice(&req.body)
                .map_err(|e| ApiError::new("SerializationException", e.to_string()))?
        };
        match target.split_once('.') {
            Some(("Logs_20140328", "StartLiveTail")) => {
                let (session, feed) = self.logs.start_live_tail(&body)?;
                let (tx, rx) = tokio::sync::mpsc::channel(tail::BUFFERED_UPDATES);
                tokio::spawn(tail::run(session, feed, tx));
                Ok(Reply::Events(rx))
            }
            Some(("Logs_20140328", op)) => self.logs.call(op, &body).map(Reply::Json),
            Some(("AmazonSSM", op)) => self.ssm.call(op, &body).await.map(Reply::Json),
            Some(("AWSCognitoIdentityProviderService", op)) => {
                let r = self.cognito_idp.call(op, &body).map(Reply::Json);
                self.follow().await;
                r
            }
            Some(("CertificateManager", op)) => self.acm.call(op, &body).map(Reply::Json),
            Some((_, op)) => Err(ApiError::unknown_operation(op)),
            None => Err(ApiError::new(
                "MissingAction",
                format!("malformed X-Amz-Target {target}"),
            )),
        }
    }
}
