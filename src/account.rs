//! Read-only calls to the AWS services whose state the cloud track checks (EC2, Elastic Load
//! Balancing, ACM, CodePipeline, CodeBuild, CodeDeploy), signed with AWS's own SigV4 signer.
//!
//! The checks make a dozen calls between them. One small client for the two wire protocols those
//! services speak (the Query protocol with XML answers, and JSON 1.1) keeps the guide's build a
//! fraction of what six generated SDKs would cost. Credentials, Region and endpoints come from
//! the same [`SdkConfig`] as the CloudWatch Logs and SSM clients, so profiles, SSO, the
//! environment, `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_EC2` (and so on) all
//! work as they do for the AWS CLI.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
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
    Query { version: &'static str },
    /// JSON 1.1: the operation in `X-Amz-Target`, prefixed with this.
    Json { target: &'static str },
}

pub const EC2: Service = Service {
    name: "EC2",
    id: "EC2",
    signing: "ec2",
    env: "AWS_ENDPOINT_URL_EC2",
    api: Api::Query {
        version: "2016-11-15",
    },
};
pub const ELBV2: Service = Service {
    name: "Elastic Load Balancing",
    id: "Elastic Load Balancing v2",
    signing: "elasticloadbalancing",
    env: "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    api: Api::Query {
        version: "2015-12-01",
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
}

impl Account {
    pub fn new(config: SdkConfig) -> Self {
        Self {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    fn region(&self) -> Result<String, String> {
        self.config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| "no AWS Region: set AWS_REGION or give --region".into())
    }

    /// The service's endpoint: its own setting, then `AWS_ENDPOINT_URL`, then the public one.
    pub fn endpoint(&self, s: &Service) -> Result<String, String> {
        let own = ServiceConfigKey::builder()
            .service_id(s.id)
            .env(s.env)
            .profile("endpoint_url")
            .build()
            .ok()
            .and_then(|key| self.config.service_config()?.load_config(key));
        if let Some(url) = own.or_else(|| self.config.endpoint_url().map(str::to_owned)) {
            return Ok(url.trim_end_matches('/').to_owned());
        }
        let region = self.region()?;
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Ok(format!("https://{}.{region}.{suffix}", s.signing))
    }

    /// A Query-protocol call; `Ok` is the XML answer.
    pub async fn query(
        &self,
        s: &Service,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, String> {
        let Api::Query { version } = s.api else {
            return Err(format!("{} does not speak the Query protocol", s.name));
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", version)
            .extend_pairs(params)
            .finish();
        let ct = "application/x-www-form-urlencoded; charset=utf-8";
        let (status, text) = self
            .send(s, &[("content-type", ct)], body.into_bytes())
            .await?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        // EC2 answers <Response><Errors><Error>; the others <ErrorResponse><Error>.
        let doc = roxmltree::Document::parse(&text).ok();
        let field = |name: &str| {
            doc.as_ref()
                .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)))
                .and_then(|n| n.text())
                .map(str::to_owned)
        };
        Err(explain(
            s,
            action,
            status,
            field("Code").as_deref(),
            field("Message").unwrap_or_default(),
        ))
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
        let (status, text) = self
            .send(s, &headers, input.to_string().into_bytes())
            .await?;
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(doc);
        }
        // `__type` may carry a namespace: "com.amazon.coral.service#AccessDeniedException".
        let code = doc["__type"]
            .as_str()
            .map(|t| t.rsplit('#').next().unwrap_or(t));
        let message = doc["message"]
            .as_str()
            .or(doc["Message"].as_str())
            .unwrap_or_default();
        Err(explain(s, operation, status, code, message.to_owned()))
    }

    async fn send(
        &self,
        s: &Service,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, String), String> {
        let url = format!("{}/", self.endpoint(s)?);
        let region = self.region()?;
        let creds = match self.config.credentials_provider() {
            Some(p) => p.provide_credentials().await.map_err(|e| {
                format!(
                    "no AWS credentials ({}): run `aws sso login --profile NAME` or set AWS_PROFILE",
                    crate::aws::root_cause(&e)
                )
            })?,
            None => return Err("no AWS credentials: run `aws configure` or set AWS_PROFILE".into()),
        };
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(s.signing)
            .time(SystemTime::now())
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
        let text = r.text().await.map_err(|e| e.to_string())?;
        Ok((status, text))
    }
}

/// What a refused call means for the learner.
fn explain(s: &Service, call: &str, status: u16, code: Option<&str>, message: String) -> String {
    match code {
        Some(
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "AuthFailure"
            | "SignatureDoesNotMatch"
            | "InvalidSignatureException"
            | "ExpiredToken"
            | "ExpiredTokenException",
        ) => format!(
            "{} refused the AWS credentials ({}): run `aws sso login` (or `aws configure`) for this profile",
            s.name,
            code.unwrap_or_default()
        ),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            format!("not allowed to call {} {call}: {message}", s.name)
        }
        Some(code) => format!("{code}: {message}"),
        None => format!(
            "{} answered HTTP {status} to {call} without an AWS error: is this endpoint {}?",
            s.name, s.name
        ),
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
