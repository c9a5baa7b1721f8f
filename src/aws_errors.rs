//! AWS SDK errors turned into sentences a learner can act on, shared by every client here.

use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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
                format!("cannot reach {service}: {text}")
            }
        }
    }
}
