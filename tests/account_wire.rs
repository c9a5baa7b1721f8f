#![allow(clippy::unwrap_used)]
//! The account client on the wire, where moto cannot show it: a small local stand-in answers
//! with the bodies AWS documents (throttling, a server error, an expired request, a clock AWS
//! refuses, lists in pages, a failed and a regional NAT gateway, namespaced JSON error types),
//! and the request bodies the client sends are compared with botocore's own serializer for the
//! same calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, future::ProvideCredentials as Provided,
};
use cognito_learning::account::{ACM, Account, CODEBUILD, CODEDEPLOY, EC2};
use cognito_learning::resources;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the stand-in received.
#[derive(Debug, Clone)]
struct Seen {
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A Query call's form, decoded.
    fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn param(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `X-Amz-Date` as Unix seconds.
    fn signed_at(&self) -> i64 {
        let d = self.header("x-amz-date").unwrap();
        let n = |r: std::ops::Range<usize>| d[r].parse::<i64>().unwrap();
        days_from_civil(n(0..4), n(4..6), n(6..8)) * 86_400
            + n(9..11) * 3600
            + n(11..13) * 60
            + n(13..15)
    }
}

/// An answer: status, headers, body.
struct Reply(u16, Vec<(&'static str, String)>, String);

fn xml(status: u16, body: &str) -> Reply {
    Reply(
        status,
        vec![("content-type", "text/xml".into())],
        body.into(),
    )
}

fn json_reply(status: u16, body: Value) -> Reply {
    Reply(
        status,
        vec![("content-type", "application/x-amz-json-1.1".into())],
        body.to_string(),
    )
}

type Script = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// A stand-in on a loopback port: each request is recorded and answered by `script`, given the
/// request and how many came before it.
struct StandIn {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (log, script) = (seen.clone(), Arc::new(script));
        let count = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (log, script, count) = (log.clone(), script.clone(), count.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    log.lock().unwrap().push(req.clone());
                    let Reply(status, headers, body) = script(&req, n);
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\nx-amzn-requestid: 0\r\n",
                        body.len()
                    );
                    if !headers.iter().any(|(n, _)| *n == "date") {
                        out += &format!("date: {}\r\n", http_date(now()));
                    }
                    for (n, v) in headers {
                        out += &format!("{n}: {v}\r\n");
                    }
                    out += "\r\n";
                    out += &body;
                    let _ = sock.write_all(out.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    Some(Seen { headers, body })
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Howard Hinnant's days-from-civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `Mon, 07 Dec 2026 12:00:00 GMT`, the answer's `Date`.
fn http_date(t: i64) -> String {
    cognito_learning_tokens::time::http_date(u64::try_from(t).unwrap())
}

/// Credentials that count how often they are asked for, expiring `valid` from now.
#[derive(Debug)]
struct Counting {
    asked: Arc<AtomicUsize>,
    valid: Duration,
}

impl ProvideCredentials for Counting {
    fn provide_credentials<'a>(&'a self) -> Provided<'a>
    where
        Self: 'a,
    {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Provided::ready(Ok(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("session".into()),
            Some(SystemTime::now() + self.valid),
            "counting",
        )))
    }
}

fn config(endpoint: Option<&str>, region: &str, creds: SharedCredentialsProvider) -> SdkConfig {
    let b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(creds);
    match endpoint {
        Some(e) => b.endpoint_url(e).build(),
        None => b.build(),
    }
}

fn static_creds() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        "AKIDEXAMPLE",
        "secret",
        None,
        None,
        "test",
    ))
}

fn account(url: &str) -> Account {
    Account::new(config(Some(url), "us-east-1", static_creds()))
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_a_lasting_one_is_reported() {
    let s = StandIn::start(Box::new(|_, n| match n {
        0 => json_reply(
            400,
            json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
        ),
        1 => Reply(503, vec![], String::new()),
        _ => json_reply(200, json!({"CertificateSummaryList": []})),
    }))
    .await;
    let got = account(&s.url)
        .json(&ACM, "ListCertificates", json!({}))
        .await
        .unwrap();
    assert_eq!(got["CertificateSummaryList"], json!([]));
    assert_eq!(s.seen().len(), 3, "two retries, then the answer");

    let s = StandIn::start(Box::new(|_, _| {
        xml(
            503,
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>",
        )
    }))
    .await;
    let err = account(&s.url)
        .query(&EC2, "DescribeVpcs", &[])
        .await
        .unwrap_err();
    assert_eq!(err, "RequestLimitExceeded: Request limit exceeded.");
    assert_eq!(s.seen().len(), 4, "a few attempts, not forever");
}

#[tokio::test]
async fn json_error_types_are_read_without_their_namespace_or_suffix() {
    let s = StandIn::start(Box::new(|_, n| match n {
        0 => json_reply(
            400,
            json!({
                "__type": "com.amazonaws.codedeploy.v20141006#DeploymentGroupDoesNotExistException:http://internal.amazon.com/coral/",
                "message": "No Deployment Group found for name: site"
            }),
        ),
        _ => Reply(
            400,
            vec![("x-amzn-errortype", "AccessDeniedException:http://internal.amazon.com/".into())],
            "{}".into(),
        ),
    }))
    .await;
    let a = account(&s.url);
    let input = json!({"applicationName": "cognito-learning", "deploymentGroupName": "site"});
    let err = a
        .json(&CODEDEPLOY, "GetDeploymentGroup", input.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "DeploymentGroupDoesNotExistException: No Deployment Group found for name: site"
    );
    let err = a
        .json(&CODEDEPLOY, "GetDeploymentGroup", input)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("not allowed to call CodeDeploy GetDeploymentGroup"),
        "{err}"
    );
}

#[tokio::test]
async fn an_expired_request_is_told_from_a_wrong_clock_with_awss_own_words() {
    // EC2's answer to a request signed with expired credentials, the clocks agreeing.
    let s = StandIn::start(Box::new(|_, _| {
        xml(
            400,
            "<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has expired.</Message></Error></Errors><RequestID>r</RequestID></Response>",
        )
    }))
    .await;
    let err = account(&s.url)
        .query(&EC2, "DescribeVpcs", &[])
        .await
        .unwrap_err();
    assert!(err.contains("credentials have expired"), "{err}");
    assert!(
        err.contains("RequestExpired: Request has expired."),
        "{err}"
    );
    assert!(err.contains("aws sso login"), "{err}");
    assert_eq!(s.seen().len(), 1, "not retried");

    // The same code from an AWS whose clock is 20 minutes ahead: the clock is named.
    let s = StandIn::start(Box::new(|_, _| {
        let mut r = xml(
            400,
            "<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has expired.</Message></Error></Errors><RequestID>r</RequestID></Response>",
        );
        r.1.push(("date", http_date(now() + 20 * 60)));
        r
    }))
    .await;
    let err = account(&s.url)
        .query(&EC2, "DescribeVpcs", &[])
        .await
        .unwrap_err();
    assert!(err.contains("clock is 20 min behind AWS's"), "{err}");
    assert!(
        err.contains("RequestExpired: Request has expired."),
        "{err}"
    );
    assert_eq!(s.seen().len(), 2, "corrected once, then reported");
}

/// An AWS whose clock runs 15 minutes ahead, refusing what is signed more than 5 minutes off
/// its own time as AWS does.
fn skewed(refuse_always: bool) -> Script {
    Box::new(move |req, _| {
        let theirs = now() + 15 * 60;
        let mut r = if refuse_always || (req.signed_at() - theirs).abs() > 5 * 60 {
            json_reply(
                400,
                json!({
                    "__type": "InvalidSignatureException",
                    "message": format!("Signature expired: {} is now earlier than {} ({} - 5 min.)",
                        req.header("x-amz-date").unwrap(), "later", "now")
                }),
            )
        } else {
            json_reply(200, json!({"ids": []}))
        };
        r.1.push(("date", http_date(theirs)));
        r
    })
}

#[tokio::test]
async fn a_skewed_clock_is_corrected_once_from_the_answers_date() {
    let s = StandIn::start(skewed(false)).await;
    let a = account(&s.url);
    let input = json!({"projectName": "cognito-learning-build"});
    a.json(&CODEBUILD, "ListBuildsForProject", input.clone())
        .await
        .unwrap();
    let seen = s.seen();
    assert_eq!(seen.len(), 2, "refused, then signed with AWS's time");
    let off = seen[1].signed_at() - (now() + 15 * 60);
    assert!(off.abs() <= 60, "signed {off} s from AWS's clock");
    // The correction is kept: the next call goes through at once.
    a.json(&CODEBUILD, "ListBuildsForProject", input.clone())
        .await
        .unwrap();
    assert_eq!(s.seen().len(), 3);

    // An AWS that refuses whatever the time: the clock is named, once, with AWS's message.
    let s = StandIn::start(skewed(true)).await;
    let err = account(&s.url)
        .json(&CODEBUILD, "ListBuildsForProject", input)
        .await
        .unwrap_err();
    assert!(err.contains("clock is 15 min behind AWS's"), "{err}");
    assert!(
        err.contains("InvalidSignatureException: Signature expired"),
        "{err}"
    );
    assert!(!err.contains("aws sso login"), "not the credentials: {err}");
    assert_eq!(s.seen().len(), 2, "one correction, no more");
}

#[tokio::test]
async fn credentials_are_kept_until_shortly_before_they_expire() {
    for (valid, expected) in [(Duration::from_secs(3600), 1), (Duration::from_secs(60), 3)] {
        let s = StandIn::start(Box::new(|_, _| {
            json_reply(200, json!({"CertificateSummaryList": []}))
        }))
        .await;
        let asked = Arc::new(AtomicUsize::new(0));
        let creds = SharedCredentialsProvider::new(Counting {
            asked: asked.clone(),
            valid,
        });
        let a = Account::new(config(Some(&s.url), "us-east-1", creds));
        for _ in 0..3 {
            a.json(&ACM, "ListCertificates", json!({})).await.unwrap();
        }
        assert_eq!(
            asked.load(Ordering::SeqCst),
            expected,
            "credentials valid for {valid:?}"
        );
        assert_eq!(s.seen()[2].header("x-amz-security-token"), Some("session"));
    }
}

#[test]
fn public_endpoints_follow_the_partitions_domain() {
    for (region, endpoint) in [
        ("eu-west-1", "https://ec2.eu-west-1.amazonaws.com"),
        ("cn-north-1", "https://ec2.cn-north-1.amazonaws.com.cn"),
        ("eusc-de-east-1", "https://ec2.eusc-de-east-1.amazonaws.eu"),
    ] {
        let a = Account::new(config(None, region, static_creds()));
        assert_eq!(a.endpoint(&EC2).unwrap(), endpoint);
    }
}

const VPC: &str = "<DescribeVpcsResponse><vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet></DescribeVpcsResponse>";

/// Two subnets in two pages: a public one (its table routes to the internet gateway) and a
/// private one (its table routes to `nat`).
fn network_pages(req: &Seen, nat_page2: &str) -> Reply {
    let action = req.param("Action").unwrap();
    let token = req.param("NextToken");
    let body = match (action.as_str(), token.as_deref()) {
        ("DescribeVpcs", _) => VPC.to_owned(),
        ("DescribeSubnets", None) => "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-pub</subnetId><availabilityZone>eu-west-1a</availabilityZone></item></subnetSet><nextToken>subnets-2</nextToken></DescribeSubnetsResponse>".into(),
        ("DescribeSubnets", Some("subnets-2")) => "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-priv</subnetId><availabilityZone>eu-west-1b</availabilityZone></item></subnetSet></DescribeSubnetsResponse>".into(),
        ("DescribeRouteTables", _) => "<DescribeRouteTablesResponse><routeTableSet>\
            <item><routeTableId>rtb-pub</routeTableId><associationSet><item><subnetId>subnet-pub</subnetId><main>false</main></item></associationSet>\
              <routeSet><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><gatewayId>igw-1</gatewayId><state>active</state></item></routeSet></item>\
            <item><routeTableId>rtb-priv</routeTableId><associationSet><item><subnetId>subnet-priv</subnetId><main>false</main></item></associationSet>\
              <routeSet><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-1</natGatewayId><state>active</state></item></routeSet></item>\
            </routeTableSet></DescribeRouteTablesResponse>".into(),
        ("DescribeNatGateways", None) => "<DescribeNatGatewaysResponse><natGatewaySet/><nextToken>nats-2</nextToken></DescribeNatGatewaysResponse>".into(),
        ("DescribeNatGateways", Some("nats-2")) => format!("<DescribeNatGatewaysResponse><natGatewaySet>{nat_page2}</natGatewaySet></DescribeNatGatewaysResponse>"),
        other => panic!("unexpected {other:?}"),
    };
    xml(200, &body)
}

#[tokio::test]
async fn pages_are_followed_and_a_failed_or_regional_nat_gateway_is_read_right() {
    // As EC2 lists a NAT gateway made before the internet gateway was attached.
    let failed = "<item><natGatewayId>nat-1</natGatewayId><state>failed</state><subnetId>subnet-pub</subnetId>\
        <failureCode>Gateway.NotAttached</failureCode><failureMessage>Network vpc-1 has no Internet gateway attached</failureMessage>\
        <natGatewayAddressSet/></item>";
    let s = StandIn::start(Box::new(move |req, _| network_pages(req, failed))).await;
    let err = resources::nat_gateway(&account(&s.url), "vpc-1")
        .await
        .unwrap_err();
    assert!(
        err.contains(
            "nat-1 failed (Gateway.NotAttached: Network vpc-1 has no Internet gateway attached)"
        ),
        "{err}"
    );
    assert!(!err.contains("a few minutes"), "{err}");
    let asked: Vec<Option<String>> = s
        .seen()
        .iter()
        .filter(|r| r.param("Action").as_deref() == Some("DescribeNatGateways"))
        .map(|r| r.param("NextToken"))
        .collect();
    assert_eq!(asked, [None, Some("nats-2".into())]);

    // A regional NAT gateway has no subnet: the private subnet on the second page uses it.
    let regional = "<item><natGatewayId>nat-1</natGatewayId><state>available</state><availabilityMode>regional</availabilityMode>\
        <natGatewayAddressSet><item><publicIp>203.0.113.7</publicIp><allocationId>eipalloc-1</allocationId></item></natGatewayAddressSet></item>\
        <item><natGatewayId>nat-0</natGatewayId><state>deleting</state><subnetId>subnet-pub</subnetId><natGatewayAddressSet/></item>";
    let s = StandIn::start(Box::new(move |req, _| network_pages(req, regional))).await;
    let ok = resources::nat_gateway(&account(&s.url), "vpc-1")
        .await
        .unwrap();
    assert!(
        ok.contains("nat-1 (203.0.113.7) is available, regional"),
        "{ok}"
    );
    assert!(ok.contains("subnet-priv"), "{ok}");
}

#[tokio::test]
async fn the_latest_deployment_is_the_groups_last_attempted_one() {
    let s = StandIn::start(Box::new(|req, _| {
        let target = req.header("x-amz-target").unwrap_or_default().to_owned();
        let op = target.rsplit('.').next().unwrap_or_default();
        match op {
            "GetPipeline" => json_reply(200, json!({"pipeline": {"stages": [
                {"name": "Deploy", "actions": [{"name": "Deploy",
                  "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
                  "configuration": {"ApplicationName": "cognito-learning", "DeploymentGroupName": "site"}}]}]}})),
            "GetDeploymentGroup" => json_reply(200, json!({"deploymentGroupInfo": {
                "deploymentGroupName": "site",
                "lastAttemptedDeployment": {"deploymentId": "d-NEWEST", "status": "Failed", "createTime": 1.7e9}}})),
            "BatchGetDeployments" => json_reply(200, json!({"deploymentsInfo": [{
                "deploymentId": "d-NEWEST", "status": "Failed", "createTime": 1.7e9,
                "errorInformation": {"code": "SCRIPT_FAILED", "message": "Script at specified location: deploy/hooks/validate.sh run as user root failed with exit code 1"}}]})),
            other => json_reply(400, json!({"__type": "UnknownOperationException", "message": other})),
        }
    }))
    .await;
    let err = resources::deployed(&account(&s.url), "cognito-learning")
        .await
        .unwrap_err();
    assert!(
        err.starts_with("d-NEWEST to cognito-learning/site failed"),
        "{err}"
    );
    assert!(err.contains("validate.sh"), "{err}");
    let ops: Vec<String> = s
        .seen()
        .iter()
        .filter_map(|r| r.header("x-amz-target").map(str::to_owned))
        .collect();
    assert!(
        !ops.iter().any(|o| o.ends_with("ListDeployments")),
        "{ops:?}"
    );
}

/// What botocore sends for each call: `[service, operation, params]` in, the body and
/// `X-Amz-Target` out.
fn botocore(calls: &Value) -> Vec<(String, Option<String>)> {
    const SERIALIZE: &str = r#"
import json, sys
import botocore.session, botocore.serialize
session = botocore.session.get_session()
out = []
for service, operation, params in json.load(sys.stdin):
    model = session.get_service_model(service)
    op = model.operation_model(operation)
    req = botocore.serialize.create_serializer(model.metadata["protocol"]).serialize_to_request(params, op)
    body = req["body"]
    if isinstance(body, bytes):
        body = body.decode()
    if isinstance(body, dict):
        from urllib.parse import urlencode
        body = urlencode(body)
    out.append([body, req["headers"].get("X-Amz-Target")])
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", SERIALIZE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with botocore (scripts/test installs awscli)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(calls.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The form pairs of a Query body, sorted (the order of parameters carries no meaning).
fn pairs(body: &str) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    p.sort();
    p
}

#[tokio::test]
async fn request_bodies_are_what_botocore_serializes_for_the_same_calls() {
    // Each call the checks make, with a second page where the call pages.
    let s = StandIn::start(Box::new(|req, _| {
        if req.header("x-amz-target").is_some() {
            let next = if req.body.contains("page-2") { Value::Null } else { json!("page-2") };
            json_reply(200, json!({"CertificateSummaryList": [], "NextToken": next, "deployments": [], "nextToken": next,
                "deploymentGroupInfo": {}, "ids": []}))
        } else {
            let action = req.param("Action").unwrap();
            let next = if req.param("NextToken").is_some() || req.param("Marker").is_some() {
                String::new()
            } else {
                "<nextToken>page-2</nextToken><NextMarker>page-2</NextMarker>".into()
            };
            xml(200, &format!("<{action}Response>{next}</{action}Response>"))
        }
    }))
    .await;
    let a = account(&s.url);
    let key_types = json!({"Includes": {"keyTypes": ["RSA_2048", "EC_prime256v1"]}});
    a.json_pages(&ACM, "ListCertificates", key_types.clone(), "NextToken")
        .await
        .unwrap();
    let group = json!({"applicationName": "cognito-learning", "deploymentGroupName": "site"});
    a.json_pages(&CODEDEPLOY, "ListDeployments", group.clone(), "nextToken")
        .await
        .unwrap();
    a.json(&CODEDEPLOY, "GetDeploymentGroup", group.clone())
        .await
        .unwrap();
    let project = json!({"projectName": "cognito-learning-build"});
    a.json(&CODEBUILD, "ListBuildsForProject", project.clone())
        .await
        .unwrap();
    let by_vpc = cognito_learning::account::filters(&[
        ("vpc-id", &["vpc-1"]),
        ("instance-state-name", &["running", "stopped"]),
    ]);
    a.query_pages(&EC2, "DescribeInstances", &by_vpc)
        .await
        .unwrap();
    a.query_pages(
        &cognito_learning::account::ELBV2,
        "DescribeLoadBalancers",
        &[],
    )
    .await
    .unwrap();

    let filters = json!([
        {"Name": "vpc-id", "Values": ["vpc-1"]},
        {"Name": "instance-state-name", "Values": ["running", "stopped"]}
    ]);
    let with = |v: &Value, k: &str| {
        let mut v = v.clone();
        v[k] = json!("page-2");
        v
    };
    let expected = botocore(&json!([
        ["acm", "ListCertificates", key_types],
        ["acm", "ListCertificates", with(&key_types, "NextToken")],
        ["codedeploy", "ListDeployments", group],
        ["codedeploy", "ListDeployments", with(&group, "nextToken")],
        ["codedeploy", "GetDeploymentGroup", group],
        ["codebuild", "ListBuildsForProject", project],
        ["ec2", "DescribeInstances", {"Filters": filters}],
        ["ec2", "DescribeInstances", {"Filters": filters, "NextToken": "page-2"}],
        ["elbv2", "DescribeLoadBalancers", {}],
        ["elbv2", "DescribeLoadBalancers", {"Marker": "page-2"}],
    ]));
    let seen = s.seen();
    assert_eq!(seen.len(), expected.len());
    for (sent, (body, target)) in seen.iter().zip(&expected) {
        assert_eq!(sent.header("x-amz-target"), target.as_deref());
        match target {
            Some(_) => {
                let ours: Value = serde_json::from_str(&sent.body).unwrap();
                let theirs: Value = serde_json::from_str(body).unwrap();
                assert_eq!(ours, theirs, "{target:?}");
                assert_eq!(
                    sent.header("content-type"),
                    Some("application/x-amz-json-1.1")
                );
            }
            None => assert_eq!(pairs(&sent.body), pairs(body)),
        }
    }
}

#[tokio::test]
async fn the_bill_counts_no_public_address_for_an_internal_alb_and_an_elastic_ip_on_a_stopped_instance()
 {
    let s = StandIn::start(Box::new(|req, _| {
        let action = req.param("Action").unwrap();
        let body = match action.as_str() {
            "DescribeVpcs" => VPC.to_owned(),
            "DescribeNatGateways" => "<DescribeNatGatewaysResponse><natGatewaySet/></DescribeNatGatewaysResponse>".into(),
            "DescribeLoadBalancers" => "<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers>\
                <member><LoadBalancerName>inside</LoadBalancerName><VpcId>vpc-1</VpcId><Scheme>internal</Scheme>\
                <AvailabilityZones><member><ZoneName>eu-west-1a</ZoneName></member><member><ZoneName>eu-west-1b</ZoneName></member></AvailabilityZones></member>\
                </LoadBalancers></DescribeLoadBalancersResult></DescribeLoadBalancersResponse>".into(),
            "DescribeInstances" => "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>\
                <instanceId>i-stopped</instanceId><instanceType>t3.micro</instanceType><instanceState><code>80</code><name>stopped</name></instanceState>\
                </item></instancesSet></item></reservationSet></DescribeInstancesResponse>".into(),
            "DescribeAddresses" => "<DescribeAddressesResponse><addressesSet><item><publicIp>198.51.100.9</publicIp>\
                <allocationId>eipalloc-9</allocationId><associationId>eipassoc-9</associationId><instanceId>i-stopped</instanceId>\
                </item></addressesSet></DescribeAddressesResponse>".into(),
            other => panic!("unexpected {other}"),
        };
        xml(200, &body)
    }))
    .await;
    let bill = resources::hourly_costs(&account(&s.url), "vpc-1", false)
        .await
        .unwrap();
    assert!(
        bill.contains("load balancer inside (internal, in 2 zones) $0.0225/h"),
        "{bill}"
    );
    assert!(
        bill.contains(
            "Elastic IP 198.51.100.9 (eipalloc-9), on i-stopped, which is stopped $0.0050/h"
        ),
        "{bill}"
    );
    assert!(
        bill.contains("i-stopped (t3.micro, stopped: only its disk bills)"),
        "{bill}"
    );
    assert!(!bill.contains("public IPv4"), "{bill}");
}

#[tokio::test]
async fn a_failed_build_phase_and_a_failed_certificate_say_why() {
    let s = StandIn::start(Box::new(|req, _| {
        let target = req.header("x-amz-target").unwrap_or_default().to_owned();
        match target.rsplit('.').next().unwrap_or_default() {
            "GetPipeline" => json_reply(200, json!({"pipeline": {"pipelineType": "V2", "stages": [
                {"name": "Source", "actions": [{"actionTypeId": {"provider": "CodeStarSourceConnection"}}]},
                {"name": "Build", "actions": [{"actionTypeId": {"provider": "CodeBuild"}, "configuration": {"ProjectName": "cognito-learning-build"}}]},
                {"name": "Deploy", "actions": [{"actionTypeId": {"provider": "CodeDeploy"}}]}]}})),
            "ListBuildsForProject" => json_reply(200, json!({"ids": ["cognito-learning-build:1"]})),
            "BatchGetBuilds" => json_reply(200, json!({"builds": [{"buildStatus": "TIMED_OUT", "phases": [
                {"phaseType": "INSTALL", "phaseStatus": "SUCCEEDED"},
                {"phaseType": "BUILD", "phaseStatus": "TIMED_OUT", "contexts": [{"statusCode": "BUILD_TIMED_OUT", "message": "Build has timed out. "}]}]}]})),
            "ListCertificates" => json_reply(200, json!({"CertificateSummaryList": [
                {"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc", "DomainName": "app.example.com"}]})),
            "DescribeCertificate" => json_reply(200, json!({"Certificate": {
                "CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
                "Status": "FAILED", "FailureReason": "CAA_ERROR"}})),
            other => json_reply(400, json!({"__type": "UnknownOperationException", "message": other})),
        }
    }))
    .await;
    let a = account(&s.url);
    let err = resources::pipeline_builds(&a, "cognito-learning")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "cognito-learning-build's latest build is TIMED_OUT in phase BUILD (TIMED_OUT): Build has timed out. "
    );
    let listed = s
        .seen()
        .into_iter()
        .find(|r| {
            r.header("x-amz-target")
                .is_some_and(|t| t.ends_with("ListBuildsForProject"))
        })
        .unwrap();
    assert!(!listed.body.contains("sortOrder"), "{}", listed.body);
    let err = resources::certificate(&a, "app.example.com")
        .await
        .unwrap_err();
    assert!(
        err.contains("FAILED (CAA_ERROR): request a new certificate"),
        "{err}"
    );
}

/// The environment and profile settings an SDK config would load, by variable name.
#[derive(Debug)]
struct Settings(Vec<(&'static str, &'static str)>);

impl aws_types::service_config::LoadServiceConfig for Settings {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == key.env())
            .map(|(_, v)| (*v).to_owned())
    }
}

#[test]
fn configured_endpoints_are_used_unless_they_are_to_be_ignored() {
    let with = |settings: Vec<(&'static str, &'static str)>| {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:4566")
            .service_config(Settings(settings))
            .credentials_provider(static_creds())
            .build();
        Account::new(config).endpoint(&EC2).unwrap()
    };
    assert_eq!(
        with(vec![("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5555/")]),
        "http://127.0.0.1:5555",
        "the service's own setting first"
    );
    assert_eq!(
        with(vec![]),
        "http://127.0.0.1:4566",
        "then AWS_ENDPOINT_URL"
    );
    assert_eq!(
        with(vec![
            ("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5555"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]),
        "https://ec2.eu-west-1.amazonaws.com",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS skips both"
    );
}
