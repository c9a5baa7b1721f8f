//! The certificate for the site's host in ACM: issued, and covering the name.

use serde_json::{Value, json};

use super::common::*;

/// Whether an ACM name (`app.example.com`, `*.example.com`) covers `host`.
pub(super) fn covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_ascii_lowercase(), host.to_ascii_lowercase());
    match name.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => name == host,
    }
}

/// Lesson 8: an issued ACM certificate that covers the site's name.
pub async fn certificate(a: &Account, host: &str) -> Res {
    let key_types = [
        "RSA_1024",
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "EC_prime256v1",
        "EC_secp384r1",
        "EC_secp521r1",
    ];
    let pages = a
        .json_pages(
            &ACM,
            "ListCertificates",
            json!({ "Includes": { "keyTypes": key_types } }),
            "NextToken",
        )
        .await?;
    let arns: Vec<&str> = pages
        .iter()
        .flat_map(|p| p["CertificateSummaryList"].as_array().into_iter().flatten())
        .filter(|c| {
            let sans = c["SubjectAlternativeNameSummaries"].as_array();
            c["DomainName"].as_str().is_some_and(|d| covers(d, host))
                || sans
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|n| covers(n, host))
        })
        .filter_map(|c| c["CertificateArn"].as_str())
        .collect();
    if arns.is_empty() {
        return Err(format!(
            "ACM holds no certificate for {host} in this Region: request one (it must be in the ALB's Region)"
        ));
    }
    let mut states = Vec::new();
    for arn in arns {
        let c = a
            .json(
                &ACM,
                "DescribeCertificate",
                json!({ "CertificateArn": arn }),
            )
            .await?;
        let c = &c["Certificate"];
        let status = c["Status"].as_str().unwrap_or("unknown");
        if status == "ISSUED" {
            let used: Vec<&str> = c["InUseBy"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let id = arn.rsplit('/').next().unwrap_or(arn);
            return Ok(if used.is_empty() {
                format!("certificate {id} for {host} is issued; no listener uses it yet")
            } else {
                format!(
                    "certificate {id} for {host} is issued and in use by {}",
                    used.iter()
                        .map(|u| u.split(':').next_back().unwrap_or(u))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        }
        let record = &c["DomainValidationOptions"][0]["ResourceRecord"];
        states.push(match (status, record["Name"].as_str()) {
            ("PENDING_VALIDATION", Some(cname)) => format!(
                "PENDING_VALIDATION: ACM waits for the CNAME {cname} → {}",
                record["Value"].as_str().unwrap_or("?")
            ),
            // ACM says why: CAA_ERROR, DOMAIN_NOT_ALLOWED, … (a timed-out one never validated).
            ("FAILED" | "VALIDATION_TIMED_OUT", _) => match c["FailureReason"].as_str() {
                Some(why) => format!("{status} ({why}): request a new certificate"),
                None => format!("{status}: request a new certificate"),
            },
            _ => status.to_owned(),
        });
    }
    Err(format!(
        "no issued certificate for {host}: {}",
        states.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("app.example.com", "APP.example.com"));
        assert!(covers("*.example.com", "app.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("example.com", "app.example.com"));
    }
}
