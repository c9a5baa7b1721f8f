//! What every AWS client here shares: how it connects (the lab's endpoint and credentials, or
//! the standard chain for a real account) and how its errors read to a learner.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::config::Credentials;
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The local lab: its endpoint, region and the credentials it made at start.
pub fn lab_config(endpoint: &str, region: &str, key: &str, secret: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                key,
                secret,
                None,
                None,
                "cognito-learning lab",
            )),
        )
        .build()
}

/// A real account, through the standard chain (profile, SSO, environment, instance role).
pub async fn account_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_owned()));
    }
    loader.load().await
}

/// Explains a failed call to `service` ("CloudWatch Logs", "SSM").
pub fn explain<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E>,
    service: &str,
) -> String {
    match err.code() {
        Some("UnrecognizedClientException" | "InvalidSignatureException" | "ExpiredTokenException") => {
            "the AWS credentials were refused: run `aws sso login` (or `aws configure`) for this profile, or restart the lab".into()
        }
        Some("AccessDeniedException") => format!("not allowed: {}", err.message().unwrap_or("")),
        Some("ThrottlingException") => format!("{service} is throttling these calls; slowing down"),
        Some(code) => format!("{code}: {}", err.message().unwrap_or("")),
        None => {
            if let Some(status) = err.raw_response().map(|r| r.status().as_u16()) {
                return format!("{service} answered HTTP {status} without an AWS error: does this endpoint implement the call?");
            }
            let text = DisplayErrorContext(err).to_string();
            if text.contains("credentials") {
                "no AWS credentials: run `aws sso login --profile NAME` or set AWS_PROFILE".into()
            } else {
                format!("cannot reach {service}: {}", root_cause(err))
            }
        }
    }
}

/// The innermost error's message ("Connection refused (os error 111)"): the one a learner can
/// act on, without the layers of client machinery above it.
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut e = err;
    while let Some(inner) = e.source() {
        e = inner;
    }
    e.to_string()
}
