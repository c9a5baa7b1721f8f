//! ACM for the lab's one certificate, for `localhost`: what `aws acm list-certificates` and
//! `describe-certificate` show, so that an HTTPS listener can name it. The lab's ALB socket is
//! plain HTTP on loopback; the certificate stands in for the one a learner requests on AWS.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::ApiError;
use crate::elb::{self, LoadBalancing};

#[derive(Debug)]
pub struct Acm {
    lb: Arc<LoadBalancing>,
}

impl Acm {
    pub fn new(lb: Arc<LoadBalancing>) -> Self {
        Self { lb }
    }

    pub fn call(&self, op: &str, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = elb::certificate_arn(&self.lb.region);
        let (created, in_use) = self.lb.read(|s| {
            let users: Vec<String> = s
                .listeners
                .iter()
                .filter(|l| l.certificates.contains(&arn))
                .map(|_| self.lb.lb_arn())
                .take(1)
                .collect();
            (s.created, users)
        });
        let not_after = created + 395.0 * 86_400.0;
        match op {
            "ListCertificates" => {
                let statuses: Vec<&str> = req
                    .get("CertificateStatuses")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let list = if statuses.is_empty() || statuses.contains(&"ISSUED") {
                    vec![json!({
                        "CertificateArn": arn,
                        "DomainName": "localhost",
                        "SubjectAlternativeNameSummaries": ["localhost"],
                        "HasAdditionalSubjectAlternativeNames": false,
                        "Status": "ISSUED",
                        "Type": "IMPORTED",
                        "KeyAlgorithm": "EC-prime256v1",
                        "KeyUsages": ["DIGITAL_SIGNATURE"],
                        "ExtendedKeyUsages": ["TLS_WEB_SERVER_AUTHENTICATION"],
                        "InUse": !in_use.is_empty(),
                        "Exported": false,
                        "RenewalEligibility": "INELIGIBLE",
                        "NotBefore": created,
                        "NotAfter": not_after,
                        "CreatedAt": created,
                        "ImportedAt": created,
                    })]
                } else {
                    vec![]
                };
                Ok(json!({"CertificateSummaryList": list}))
            }
            "DescribeCertificate" => {
                let asked = req
                    .get("CertificateArn")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ApiError::new("ValidationException", "CertificateArn is required")
                    })?;
                if asked != arn {
                    return Err(ApiError::new(
                        "ResourceNotFoundException",
                        format!(
                            "Could not find certificate with ARN '{asked}'. The lab holds one certificate: {arn}"
                        ),
                    ));
                }
                Ok(json!({"Certificate": {
                    "CertificateArn": arn,
                    "DomainName": "localhost",
                    "SubjectAlternativeNames": ["localhost"],
                    "Subject": "CN=localhost",
                    "Issuer": "cognito-learning lab",
                    "Serial": "6f:1c:2b:8e",
                    "Status": "ISSUED",
                    "Type": "IMPORTED",
                    "KeyAlgorithm": "EC-prime256v1",
                    "SignatureAlgorithm": "SHA256WITHECDSA",
                    "InUseBy": in_use,
                    "CreatedAt": created,
                    "ImportedAt": created,
                    "NotBefore": created,
                    "NotAfter": not_after,
                    "RenewalEligibility": "INELIGIBLE",
                    "KeyUsages": [{"Name": "DIGITAL_SIGNATURE"}],
                    "ExtendedKeyUsages": [{"Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1"}],
                    "Options": {"CertificateTransparencyLoggingPreference": "DISABLED"},
                }}))
            }
            op => Err(ApiError::unknown_operation(op)),
        }
    }
}
