//! Checking AWS Signature Version 4 on requests to the lab's AWS APIs.
//!
//! The lab makes its own credentials at start (as AWS's local emulators do), so that no web page
//! or other local program can write to it unnoticed. The check is the documented one: rebuild
//! the canonical request from what arrived, sign it with the secret, compare.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use http::HeaderMap;

/// Why a request was refused, as AWS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// No or unreadable `Authorization` header, or an unknown access key.
    UnrecognizedClient(String),
    /// The signature does not match.
    InvalidSignature(String),
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

/// Percent-encoding as SigV4 wants it: RFC 3986 unreserved characters stay.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies the request's signature against `creds`; `Ok` carries the signing region.
pub fn verify(
    creds: &Credentials,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, SigError> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SigError::UnrecognizedClient("Missing Authentication Token".into()))?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| SigError::UnrecognizedClient("only AWS4-HMAC-SHA256 is supported".into()))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(SigError::UnrecognizedClient(
            "malformed Authorization header".into(),
        ));
    };
    // AKID/date/region/service/aws4_request
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(SigError::UnrecognizedClient(
            "malformed credential scope".into(),
        ));
    };
    if key_id != creds.access_key_id {
        return Err(SigError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        ));
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SigError::InvalidSignature("missing X-Amz-Date".into()))?;
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| hex(digest(&SHA256, body).as_ref()), str::to_owned);
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        uri_encode(if path.is_empty() { "/" } else { path }, true),
        canonical_query(query),
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(digest(&SHA256, canonical_request.as_bytes()).as_ref())
    );
    let k_date = hmac256(format!("AWS4{}", creds.secret_access_key).as_bytes(), date);
    let k_region = hmac256(&k_date, region);
    let k_service = hmac256(&k_region, service);
    let k_signing = hmac256(&k_service, "aws4_request");
    let expected = hex(&hmac256(&k_signing, &string_to_sign));
    let same = aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        signature.as_bytes(),
    );
    if same.is_err() {
        return Err(SigError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method."
                .into(),
        ));
    }
    Ok(region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example (IAM ListUsers, "Create a signed AWS API request").
    #[test]
    fn the_documented_example_verifies() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        h.insert("host", "iam.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let q = "Action=ListUsers&Version=2010-05-08";
        assert_eq!(
            verify(&creds, "GET", "/", q, &h, b""),
            Ok("us-east-1".into())
        );
        assert!(matches!(
            verify(
                &creds,
                "GET",
                "/",
                "Action=ListRoles&Version=2010-05-08",
                &h,
                b""
            ),
            Err(SigError::InvalidSignature(_))
        ));
        let other = Credentials {
            access_key_id: "AKIDOTHER".into(),
            ..creds.clone()
        };
        assert!(matches!(
            verify(&other, "GET", "/", q, &h, b""),
            Err(SigError::UnrecognizedClient(_))
        ));
        h.remove("authorization");
        assert!(matches!(
            verify(&creds, "GET", "/", q, &h, b""),
            Err(SigError::UnrecognizedClient(_))
        ));
    }
}
