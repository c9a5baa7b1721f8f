#![allow(clippy::unwrap_used)]
//! The cloud track's resource checks against moto's server, an implementation of EC2, Elastic
//! Load Balancing, ACM, CodePipeline, CodeBuild and CodeDeploy that this project did not write.
//! The resources are made by `tests/fixtures/account.py` with boto3, AWS's own Python SDK, as a
//! learner's CLI commands would make them; the checks read them over loopback with our SigV4
//! client.

#[path = "fixtures/account.rs"]
mod fixture;
#[path = "../server/tests/common/moto.rs"]
mod moto;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use cognito_learning::account::Account;
use cognito_learning::resources;
use moto::Moto;

fn account(endpoint: &str) -> Account {
    Account::new(
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            )))
            .build(),
    )
}

/// Runs the fixture's steps against moto, in us-east-1; returns the ids they made.
fn build(moto: &Moto, steps: &[&str]) -> serde_json::Value {
    fixture::build(&moto.1, "us-east-1", steps)
}

#[tokio::test]
async fn the_network_checks_follow_the_build() {
    let moto = Moto::start();
    let a = account(&moto.1);

    let err = resources::network(&a, "cognito-learning")
        .await
        .unwrap_err();
    assert!(
        err.contains("no VPC is tagged Name=cognito-learning"),
        "{err}"
    );

    build(&moto, &["vpc-one-zone"]);
    let err = resources::network(&a, "cognito-learning")
        .await
        .unwrap_err();
    assert!(err.contains("are all in us-east-1a"), "{err}");
    assert!(err.contains("two Availability Zones"), "{err}");

    // A second VPC of the same name is ambiguous; its id is not.
    let ids = build(&moto, &["vpc"]);
    let err = resources::network(&a, "cognito-learning")
        .await
        .unwrap_err();
    assert!(err.contains("2 VPCs are named cognito-learning"), "{err}");
    let vpc = ids["vpc"].as_str().unwrap();
    let seen = resources::network(&a, vpc).await.unwrap();
    for subnet in ids["public"].as_array().unwrap() {
        assert!(seen.contains(subnet.as_str().unwrap()), "{seen}");
    }
    assert!(
        seen.contains("us-east-1a") && seen.contains("us-east-1b"),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("private {}", ids["private"].as_str().unwrap())),
        "{seen}"
    );

    let err = resources::nat_gateway(&a, vpc).await.unwrap_err();
    assert_eq!(err, format!("{vpc} has no NAT gateway"));
}

#[tokio::test]
async fn the_nat_gateway_check_wants_the_private_route() {
    let moto = Moto::start();
    let a = account(&moto.1);
    let ids = build(&moto, &["vpc", "nat"]);
    let seen = resources::nat_gateway(&a, "cognito-learning")
        .await
        .unwrap();
    let nat = ids["nat"].as_str().unwrap();
    assert!(seen.starts_with(nat), "{seen}");
    assert!(seen.contains(ids["nat_subnet"].as_str().unwrap()), "{seen}");
    assert!(seen.ends_with("route through it"), "{seen}");
}

#[tokio::test]
async fn the_load_balancer_pipeline_and_certificate_are_read() {
    let moto = Moto::start();
    let a = account(&moto.1);
    let ids = build(&moto, &["vpc", "nat", "app", "pipeline", "certificate"]);

    let alb = ids["alb_arn"].as_str().unwrap();
    let seen = resources::targets_healthy(&a, alb).await.unwrap();
    assert!(seen.contains("active in 2 zones"), "{seen}");
    assert!(seen.contains(ids["instance"].as_str().unwrap()), "{seen}");
    let gone = alb.replace("cognito-learning", "nothing-here");
    let err = resources::targets_healthy(&a, &gone).await.unwrap_err();
    assert_eq!(err, format!("there is no load balancer {gone}"));

    let seen = resources::pipeline_builds(&a, "cognito-learning")
        .await
        .unwrap();
    assert!(seen.contains("build (cognito-learning-build)"), "{seen}");
    assert!(seen.ends_with("the latest build succeeded"), "{seen}");
    let err = resources::pipeline_builds(&a, "nope").await.unwrap_err();
    assert_eq!(err, "there is no pipeline nope");

    // moto records a deployment but never runs it, so it stays Created.
    let err = resources::deployed(&a, "cognito-learning")
        .await
        .unwrap_err();
    let deployment = ids["deployment"].as_str().unwrap();
    assert_eq!(
        err,
        format!("{deployment} to cognito-learning/site is Created, not finished")
    );

    let seen = resources::certificate(&a, "app.example.com").await.unwrap();
    assert!(seen.contains("for app.example.com is issued"), "{seen}");
    let err = resources::certificate(&a, "pending.example.com")
        .await
        .unwrap_err();
    assert!(err.contains("PENDING_VALIDATION"), "{err}");
    let err = resources::certificate(&a, "other.example.com")
        .await
        .unwrap_err();
    assert!(
        err.contains("no certificate for other.example.com"),
        "{err}"
    );
}

#[tokio::test]
async fn what_bills_is_listed_until_it_is_all_gone() {
    let moto = Moto::start();
    let a = account(&moto.1);
    let ids = build(&moto, &["vpc", "nat", "app"]);

    let seen = resources::hourly_costs(&a, "cognito-learning", false)
        .await
        .unwrap();
    assert!(seen.contains(ids["nat"].as_str().unwrap()), "{seen}");
    assert!(
        seen.contains("load balancer cognito-learning (in 2 zones"),
        "{seen}"
    );
    assert!(seen.contains("t3.micro, running"), "{seen}");
    // 0.045 + 0.005 (NAT and its address) + 0.0225 + 2 × 0.005 (ALB) + 0.0104 (t3.micro).
    assert!(seen.contains("about $0.093/h"), "{seen}");
    let err = resources::hourly_costs(&a, "cognito-learning", true)
        .await
        .unwrap_err();
    assert!(err.starts_with("still billing in vpc-"), "{err}");

    // Everything deleted but the NAT gateway's Elastic IP: the classic forgotten charge.
    build(&moto, &["teardown"]);
    let err = resources::hourly_costs(&a, "cognito-learning", true)
        .await
        .unwrap_err();
    assert!(err.contains("Elastic IP"), "{err}");
    assert!(err.contains(ids["eip"].as_str().unwrap()), "{err}");
    assert!(
        !err.contains("NAT gateway") && !err.contains("load balancer"),
        "{err}"
    );

    build(&moto, &["release"]);
    let seen = resources::hourly_costs(&a, "cognito-learning", true)
        .await
        .unwrap();
    assert!(
        seen.contains("bills by the hour, and no Elastic IP"),
        "{seen}"
    );
}

/// A stopped instance bills nothing itself but its Elastic IP does; an internal load balancer
/// has no public addresses to bill.
#[tokio::test]
async fn a_stopped_instances_elastic_ip_bills_and_an_internal_alb_has_no_public_address() {
    let moto = Moto::start();
    let a = account(&moto.1);
    let ids = build(&moto, &["vpc", "nat", "app", "parked"]);
    let seen = resources::hourly_costs(&a, "cognito-learning", false)
        .await
        .unwrap();
    let instance = ids["parked"].as_str().unwrap();
    assert!(
        seen.contains(&format!("on {instance}, which is stopped $0.0050/h")),
        "{seen}"
    );
    assert!(seen.contains(ids["parked_eip"].as_str().unwrap()), "{seen}");
    assert!(
        seen.contains("t3.micro, stopped: only its disk bills"),
        "{seen}"
    );
    assert!(
        seen.contains("load balancer cognito-learning-inside (internal, in 2 zones) $0.0225/h"),
        "{seen}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let a = account(&format!("http://127.0.0.1:{port}"));
    let err = resources::network(&a, "cognito-learning")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        format!("cannot reach EC2 at http://127.0.0.1:{port}: connection refused (os error 111)")
    );
    let err = resources::pipeline_builds(&a, "x").await.unwrap_err();
    assert!(err.starts_with("cannot reach CodePipeline at"), "{err}");
}

/// On the cloud track, a failed sign-in is explained from the learner's own app client, read
/// with DescribeUserPoolClient (here from moto, where boto3 made a client the ALB cannot use).
#[test]
fn a_failed_sign_in_on_the_cloud_track_reads_the_app_client() {
    let moto = Moto::start();
    let made = std::process::Command::new("python3")
        .args([
            "-c",
            r#"
import boto3, json, sys
c = boto3.client("cognito-idp", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing")
pool = c.create_user_pool(PoolName="cognito-learning")["UserPool"]["Id"]
client = c.create_user_pool_client(UserPoolId=pool, ClientName="alb", AllowedOAuthFlows=["implicit"],
    AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["email"], SupportedIdentityProviders=["COGNITO"],
    CallbackURLs=["https://app.example.com/oauth2/idpresponse"])["UserPoolClient"]["ClientId"]
# The ALB: its security group without the outbound rule, and only an HTTP listener.
mk = lambda n: boto3.client(n, endpoint_url=sys.argv[1], region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
ec2, elb = mk("ec2"), mk("elbv2")
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
           for i, z in [(1, "a"), (2, "b")]]
sg = ec2.create_security_group(GroupName="alb", Description="the ALB", VpcId=vpc)["GroupId"]
ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
lb = elb.create_load_balancer(Name="cognito-learning", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]["LoadBalancerArn"]
tg = elb.create_target_group(Name="cognito-learning", Protocol="HTTP", Port=5000, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
print(json.dumps({"pool": pool, "client": client, "alb": lb, "sg": sg}))
"#,
            &moto.1,
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ids: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cognito-learning"))
        .args(["check", "--target", "aws", "--lesson", "9", "--step", "2"])
        .args(["--site", &format!("https://127.0.0.1:{closed}")])
        .args(["--alb-arn", ids["alb"].as_str().unwrap()])
        .args(["--user-pool-id", ids["pool"].as_str().unwrap()])
        .args(["--client-id", ids["client"].as_str().unwrap()])
        .env("AWS_ENDPOINT_URL", &moto.1)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("COGNITO_LEARNING_PASSWORD_ALICE", "Passw0rd!")
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("cl-cloud-diagnose"),
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    for finding in [
        "Why: the listener the site uses is HTTP",
        "the app client has no secret",
        "its flows: implicit",
        "openid, which the ALB asks for, is not among the app client's scopes (email)",
        &format!("the ALB sends redirect_uri https://127.0.0.1:{closed}/oauth2/idpresponse"),
        "an authenticate-cognito rule needs an HTTPS listener",
        &format!(
            "the ALB's security group ({}) has no outbound rule for port 443",
            ids["sg"].as_str().unwrap()
        ),
    ] {
        assert!(said.contains(finding), "{finding}: {said}");
    }
}
