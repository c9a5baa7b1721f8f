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
    /// A required part of the signature is missing: a date, a header that must be signed.
    IncompleteSignature(String),
    /// The signature does not match, is out of date, or is scoped to another region or service.
    InvalidSignature(String),
}

/// What a request must be signed for.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The lab's region.
    pub region: &'a str,
    /// The signing name of the operation's service (`logs`, `ssm`), when the operation is known.
    pub service: Option<&'a str>,
    /// Headers that must be among the signed ones besides `host` and `x-amz-date`
    /// (`x-amz-target` for the JSON protocols).
    pub signed: &'a [&'a str],
    /// The lab's clock, in Unix seconds.
    pub now: u64,
}

/// How far a request's date may be from the lab's clock, as on AWS.
pub const MAX_SKEW: u64 = 15 * 60;

/// `20150830T123600Z` for a Unix time.
pub fn amz_date(secs: u64) -> String {
    cognito_learning_tokens::time::utc(secs).replace(['-', ':'], "")
}

/// Unix seconds of a `20150830T123600Z` date (or an RFC 7231 `Date`), if it reads as one.
fn parse_date(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' {
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u64>().ok();
        return civil_secs(
            num(0..4)?,
            num(4..6)?,
            num(6..8)?,
            num(9..11)?,
            num(11..13)?,
            num(13..15)?,
        );
    }
    // `Tue, 01 Dec 2026 21:24:56 GMT`
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == month)? as u64 + 1;
    let mut hms = time.split(':').map(|x| x.parse::<u64>().ok());
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    civil_secs(year.parse().ok()?, m, day.parse().ok()?, h, mi, sec)
}

/// Unix seconds of a UTC date and time (Howard Hinnant's days-from-civil).
fn civil_secs(y: u64, m: u64, d: u64, h: u64, mi: u64, s: u64) -> Option<u64> {
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
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
    if keep_slash {
        cognito_learning_server::web::percent_encode_path(s)
    } else {
        cognito_learning_server::web::percent_encode(s)
    }
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

/// Verifies the request's signature against `creds` as AWS does: the date within 15 minutes of
/// the lab's clock, the scope's date, region and service, the headers that must be signed, the
/// payload hash computed from the body received. `Ok` carries the signing region.
pub fn verify(
    creds: &Credentials,
    expect: &Expect<'_>,
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
    let (date_header, sent_date) = match headers.get("x-amz-date").and_then(|v| v.to_str().ok()) {
        Some(d) => ("x-amz-date", d),
        None => match headers.get("date").and_then(|v| v.to_str().ok()) {
            Some(d) => ("date", d),
            None => {
                return Err(SigError::IncompleteSignature(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                        .into(),
                ));
            }
        },
    };
    let Some(at) = parse_date(sent_date) else {
        return Err(SigError::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{sent_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    let iso = amz_date(at);
    if at + MAX_SKEW < expect.now {
        return Err(SigError::InvalidSignature(format!(
            "Signature expired: {iso} is now earlier than {} ({} - 15 min.)",
            amz_date(expect.now - MAX_SKEW),
            amz_date(expect.now)
        )));
    }
    if at > expect.now + MAX_SKEW {
        return Err(SigError::InvalidSignature(format!(
            "Signature not yet current: {iso} is still later than {} ({} + 15 min.)",
            amz_date(expect.now + MAX_SKEW),
            amz_date(expect.now)
        )));
    }
    if date != &iso[..8] {
        return Err(SigError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{sent_date}'.",
            &iso[..8]
        )));
    }
    if region != expect.region {
        return Err(SigError::InvalidSignature(format!(
            "Credential should be scoped to a valid region. This lab's region is '{}'.",
            expect.region
        )));
    }
    if let Some(want) = expect.service
        && service != want
    {
        return Err(SigError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{want}'. "
        )));
    }
    let signed: Vec<&str> = signed_headers.split(';').collect();
    let must = |name: &str, shown: &str| {
        if signed.contains(&name) {
            Ok(())
        } else {
            Err(SigError::IncompleteSignature(format!(
                "'{shown}' must be a 'SignedHeader' in the AWS Authorization."
            )))
        }
    };
    must("host", "Host' or ':authority")?;
    if date_header == "x-amz-date" {
        must("x-amz-date", "X-Amz-Date")?;
    }
    for h in expect.signed {
        must(h, &title_case(h))?;
    }
    let body_hash = hex(digest(&SHA256, body).as_ref());
    if let Some(claimed) = headers.get("x-amz-content-sha256")
        && claimed.as_bytes() != body_hash.as_bytes()
    {
        return Err(SigError::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
        ));
    }
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
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{body_hash}",
        uri_encode(if path.is_empty() { "/" } else { path }, true),
        canonical_query(query),
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{iso}\n{date}/{region}/{service}/aws4_request\n{}",
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

/// `x-amz-target` → `X-Amz-Target`, for AWS's messages.
fn title_case(h: &str) -> String {
    h.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
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
        let at = parse_date("20150830T123600Z").unwrap();
        let expect = Expect {
            region: "us-east-1",
            service: Some("iam"),
            signed: &[],
            now: at + 60,
        };
        let verify =
            |c: &Credentials, m, p, q, h: &HeaderMap, b: &[u8]| verify(c, &expect, m, p, q, h, b);
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

    #[test]
    fn dates_read_as_aws_writes_them() {
        assert_eq!(parse_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(
            parse_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        for bad in [
            "",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150830T253600Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
