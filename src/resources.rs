//! What the learner's account holds: the cloud track's checks of resource state (the network,
//! the load balancer's targets, the pipeline, the certificate, and what still bills), read with
//! [`Account`]. Each returns what it saw, or why the step is not done yet.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::account::{
    ACM, Account, CODEBUILD, CODEDEPLOY, CODEPIPELINE, EC2, ELBV2, entries, filters, text, xml,
};

type Res = Result<String, String>;

/// List prices in us-east-1 (dollars an hour), from the pricing pages the lessons cite.
mod price {
    pub const NAT_GATEWAY: f64 = 0.045;
    pub const PUBLIC_IPV4: f64 = 0.005;
    pub const ALB: f64 = 0.0225;

    pub fn instance(kind: &str) -> Option<f64> {
        match kind {
            "t3.micro" => Some(0.0104),
            "t4g.micro" => Some(0.0084),
            "t3.small" => Some(0.0208),
            "t4g.small" => Some(0.0168),
            _ => None,
        }
    }
}

/// Where a subnet's default route (`0.0.0.0/0`) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Internet(String),
    Nat(String),
    Other(String),
    Missing,
}

#[derive(Debug)]
struct Subnet {
    id: String,
    az: String,
    route: Route,
}

#[derive(Debug)]
struct Nat {
    id: String,
    state: String,
    subnet: String,
    addresses: Vec<String>,
    allocations: Vec<String>,
}

/// The VPC's id, from an id (`vpc-…`) or a `Name` tag; `None` when there is no such VPC.
async fn find_vpc(a: &Account, vpc: &str) -> Result<Option<String>, String> {
    let f: &[(&str, &[&str])] = if vpc.starts_with("vpc-") {
        &[("vpc-id", &[vpc])]
    } else {
        &[("tag:Name", &[vpc])]
    };
    let answer = a.query(&EC2, "DescribeVpcs", &filters(f)).await?;
    let doc = xml(&EC2, &answer)?;
    let ids: Vec<&str> = entries(doc.root(), "vpcSet")
        .filter_map(|v| text(v, "vpcId"))
        .collect();
    match ids.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).to_owned())),
        many => Err(format!(
            "{} VPCs are named {vpc} ({}): give the one to check with --vpc",
            many.len(),
            many.join(", ")
        )),
    }
}

async fn vpc_or_fail(a: &Account, vpc: &str) -> Result<String, String> {
    find_vpc(a, vpc).await?.ok_or_else(|| {
        if vpc.starts_with("vpc-") {
            format!("there is no VPC {vpc}")
        } else {
            format!(
                "no VPC is tagged Name={vpc}: tag yours, or give its id with --vpc (COGNITO_LEARNING_VPC)"
            )
        }
    })
}

/// The VPC's subnets, each with where its default route goes (its own route table's, else the
/// main table's).
async fn subnets(a: &Account, vpc: &str) -> Result<Vec<Subnet>, String> {
    let by_vpc = filters(&[("vpc-id", &[vpc])]);
    let (subnets, tables) = tokio::try_join!(
        a.query(&EC2, "DescribeSubnets", &by_vpc),
        a.query(&EC2, "DescribeRouteTables", &by_vpc)
    )?;
    let (subnets, tables) = (xml(&EC2, &subnets)?, xml(&EC2, &tables)?);
    let tables: Vec<_> = entries(tables.root(), "routeTableSet").collect();
    let default_route = |table: roxmltree::Node| {
        entries(table, "routeSet")
            .find(|r| text(*r, "destinationCidrBlock") == Some("0.0.0.0/0"))
            .map_or(Route::Missing, |r| {
                if text(r, "state") == Some("blackhole") {
                    Route::Other("a blackhole (its target is gone)".into())
                } else if let Some(nat) = text(r, "natGatewayId") {
                    Route::Nat(nat.into())
                } else if let Some(gw) = text(r, "gatewayId").filter(|g| g.starts_with("igw-")) {
                    Route::Internet(gw.into())
                } else {
                    Route::Other(
                        r.children()
                            .filter(|c| c.tag_name().name().ends_with("Id"))
                            .filter_map(|c| c.text())
                            .next()
                            .unwrap_or("something else")
                            .into(),
                    )
                }
            })
    };
    let associated = |subnet: &str| {
        tables
            .iter()
            .find(|t| entries(**t, "associationSet").any(|a| text(a, "subnetId") == Some(subnet)))
    };
    let main = tables
        .iter()
        .find(|t| entries(**t, "associationSet").any(|a| text(a, "main") == Some("true")));
    Ok(entries(subnets.root(), "subnetSet")
        .map(|s| {
            let id = text(s, "subnetId").unwrap_or_default().to_owned();
            let route = associated(&id)
                .or(main)
                .map_or(Route::Missing, |t| default_route(*t));
            Subnet {
                az: text(s, "availabilityZone").unwrap_or_default().to_owned(),
                id,
                route,
            }
        })
        .collect())
}

async fn nat_gateways(a: &Account, vpc: &str) -> Result<Vec<Nat>, String> {
    let answer = a
        .query(&EC2, "DescribeNatGateways", &filters(&[("vpc-id", &[vpc])]))
        .await?;
    let doc = xml(&EC2, &answer)?;
    Ok(entries(doc.root(), "natGatewaySet")
        .map(|n| Nat {
            id: text(n, "natGatewayId").unwrap_or_default().into(),
            state: text(n, "state").unwrap_or_default().into(),
            subnet: text(n, "subnetId").unwrap_or_default().into(),
            addresses: entries(n, "natGatewayAddressSet")
                .filter_map(|a| text(a, "publicIp"))
                .map(str::to_owned)
                .collect(),
            allocations: entries(n, "natGatewayAddressSet")
                .filter_map(|a| text(a, "allocationId"))
                .map(str::to_owned)
                .collect(),
        })
        .collect())
}

fn described(subnets: &[&Subnet]) -> String {
    subnets
        .iter()
        .map(|s| format!("{} ({})", s.id, s.az))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lesson 2: public subnets in two or more Availability Zones, and a private one.
pub async fn network(a: &Account, vpc: &str) -> Res {
    let id = vpc_or_fail(a, vpc).await?;
    let all = subnets(a, &id).await?;
    let public: Vec<&Subnet> = all
        .iter()
        .filter(|s| matches!(s.route, Route::Internet(_)))
        .collect();
    let private: Vec<&Subnet> = all
        .iter()
        .filter(|s| !matches!(s.route, Route::Internet(_)))
        .collect();
    if all.is_empty() {
        return Err(format!("{id} has no subnets yet"));
    }
    if public.is_empty() {
        return Err(format!(
            "no subnet of {id} routes 0.0.0.0/0 to an internet gateway: attach one to the VPC and add the route to the public subnets' route table"
        ));
    }
    let mut zones: Vec<&str> = public.iter().map(|s| s.az.as_str()).collect();
    zones.sort_unstable();
    zones.dedup();
    if zones.len() < 2 {
        return Err(format!(
            "the public subnets ({}) are all in {}: an internet-facing ALB needs subnets in two Availability Zones",
            described(&public),
            zones.join(", ")
        ));
    }
    if private.is_empty() {
        return Err(format!(
            "every subnet of {id} routes to the internet gateway ({}): the instance needs a private one",
            described(&public)
        ));
    }
    Ok(format!(
        "{id}: public {}; private {}",
        described(&public),
        described(&private)
    ))
}

/// Lesson 2: an available NAT gateway in a public subnet, with a public address, that a private
/// subnet's default route uses.
pub async fn nat_gateway(a: &Account, vpc: &str) -> Res {
    let id = vpc_or_fail(a, vpc).await?;
    let (all, nats) = tokio::try_join!(subnets(a, &id), nat_gateways(a, &id))?;
    let live: Vec<&Nat> = nats.iter().filter(|n| n.state != "deleted").collect();
    let Some(nat) = live
        .iter()
        .find(|n| n.state == "available")
        .or(live.first())
    else {
        return Err(format!("{id} has no NAT gateway"));
    };
    if nat.state != "available" {
        return Err(format!(
            "{} is {}, not yet available (it takes a few minutes)",
            nat.id, nat.state
        ));
    }
    let home = all.iter().find(|s| s.id == nat.subnet);
    if !home.is_some_and(|s| matches!(s.route, Route::Internet(_))) {
        return Err(format!(
            "{} sits in {}, which does not route to the internet gateway: a NAT gateway belongs in a public subnet",
            nat.id, nat.subnet
        ));
    }
    let Some(ip) = nat.addresses.first() else {
        return Err(format!("{} has no public address", nat.id));
    };
    let users: Vec<&Subnet> = all
        .iter()
        .filter(|s| s.route == Route::Nat(nat.id.clone()))
        .collect();
    if users.is_empty() {
        let private: Vec<&Subnet> = all
            .iter()
            .filter(|s| !matches!(s.route, Route::Internet(_)))
            .collect();
        let routes: Vec<String> = private
            .iter()
            .map(|s| match &s.route {
                Route::Missing => format!("{} has no default route", s.id),
                Route::Other(to) | Route::Nat(to) => format!("{} routes it to {to}", s.id),
                Route::Internet(_) => String::new(),
            })
            .collect();
        return Err(format!(
            "{} is available, but no private subnet sends 0.0.0.0/0 to it ({})",
            nat.id,
            if routes.is_empty() {
                "there is no private subnet".into()
            } else {
                routes.join("; ")
            }
        ));
    }
    Ok(format!(
        "{} ({ip}) is available in {}; {} route through it",
        nat.id,
        nat.subnet,
        described(&users)
    ))
}

/// Lesson 5: the ALB is active in two or more zones, and every target of its target groups is
/// healthy.
pub async fn targets_healthy(a: &Account, alb_arn: &str) -> Res {
    let lb = a
        .query(
            &ELBV2,
            "DescribeLoadBalancers",
            &[("LoadBalancerArns.member.1".into(), alb_arn.into())],
        )
        .await
        .map_err(|e| {
            if e.starts_with("LoadBalancerNotFound") {
                format!("there is no load balancer {alb_arn}")
            } else {
                e
            }
        })?;
    let doc = xml(&ELBV2, &lb)?;
    let Some(lb) = entries(doc.root(), "LoadBalancers").next() else {
        return Err(format!("there is no load balancer {alb_arn}"));
    };
    let name = text(lb, "LoadBalancerName").unwrap_or(alb_arn);
    let state = lb
        .descendants()
        .find(|n| n.has_tag_name("State"))
        .and_then(|s| text(s, "Code"))
        .unwrap_or("unknown");
    if state != "active" {
        return Err(format!("{name} is {state}, not active yet"));
    }
    let zones = entries(lb, "AvailabilityZones").count();
    if zones < 2 {
        return Err(format!(
            "{name} is in {zones} Availability Zone(s): an ALB needs two"
        ));
    }
    let groups = a
        .query(
            &ELBV2,
            "DescribeTargetGroups",
            &[("LoadBalancerArn".into(), alb_arn.into())],
        )
        .await?;
    let groups = xml(&ELBV2, &groups)?;
    let groups: Vec<(String, String)> = entries(groups.root(), "TargetGroups")
        .map(|g| {
            (
                text(g, "TargetGroupArn").unwrap_or_default().to_owned(),
                text(g, "TargetGroupName").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    if groups.is_empty() {
        return Err(format!(
            "{name} forwards to no target group: make one the listener's default action"
        ));
    }
    let mut seen = Vec::new();
    for (arn, group) in &groups {
        let health = a
            .query(
                &ELBV2,
                "DescribeTargetHealth",
                &[("TargetGroupArn".into(), arn.clone())],
            )
            .await?;
        let health = xml(&ELBV2, &health)?;
        let targets: Vec<_> = entries(health.root(), "TargetHealthDescriptions").collect();
        if targets.is_empty() {
            return Err(format!(
                "{group} has no registered targets: register the instance"
            ));
        }
        for t in targets {
            let id = t
                .descendants()
                .find(|n| n.has_tag_name("Target"))
                .and_then(|n| text(n, "Id"))
                .unwrap_or("?");
            let th = t.descendants().find(|n| n.has_tag_name("TargetHealth"));
            let state = th.and_then(|n| text(n, "State")).unwrap_or("unknown");
            if state != "healthy" {
                let why = th
                    .and_then(|n| text(n, "Description").or(text(n, "Reason")))
                    .unwrap_or("");
                return Err(format!(
                    "{id} in {group} is {state}{}{why}",
                    if why.is_empty() { "" } else { ": " }
                ));
            }
            seen.push(format!("{id} in {group}"));
        }
    }
    Ok(format!(
        "{name} is active in {zones} zones; healthy: {}",
        seen.join(", ")
    ))
}

/// A pipeline's definition, and the action of the given provider in it.
async fn pipeline(a: &Account, name: &str) -> Result<Value, String> {
    a.json(&CODEPIPELINE, "GetPipeline", json!({ "name": name }))
        .await
        .map_err(|e| {
            if e.starts_with("PipelineNotFoundException") {
                format!("there is no pipeline {name}")
            } else {
                e
            }
        })
}

/// The stage index and action of the first action by `provider`.
fn action<'a>(pipeline: &'a Value, provider: &str) -> Option<(usize, &'a Value)> {
    let stages = pipeline["pipeline"]["stages"].as_array()?;
    stages.iter().enumerate().find_map(|(i, s)| {
        s["actions"]
            .as_array()?
            .iter()
            .find(|a| a["actionTypeId"]["provider"] == provider)
            .map(|a| (i, a))
    })
}

/// Lesson 7: a V2 pipeline whose stages are source (CodeConnections), build (CodeBuild) and
/// deploy (CodeDeploy), in that order, and whose build project's latest build succeeded.
pub async fn pipeline_builds(a: &Account, name: &str) -> Res {
    let p = pipeline(a, name).await?;
    let kind = p["pipeline"]["pipelineType"].as_str().unwrap_or("V1");
    if kind != "V2" {
        return Err(format!(
            "{name} is a {kind} pipeline: create it as V2 (billed per action minute)"
        ));
    }
    let stages = [
        (
            "CodeStarSourceConnection",
            "a source action on a CodeConnections connection",
        ),
        (
            "CodeBuild",
            "a CodeBuild build action (without it, CodeDeploy gets source, not a binary)",
        ),
        ("CodeDeploy", "a CodeDeploy deploy action"),
    ];
    let mut last = None;
    let mut build = &Value::Null;
    for (provider, what) in stages {
        let Some((i, found)) = action(&p, provider) else {
            return Err(format!("{name} has no {what}"));
        };
        if last.is_some_and(|l| i < l) {
            return Err(format!(
                "{name} runs its {provider} action before the stage it needs"
            ));
        }
        last = Some(i);
        if provider == "CodeBuild" {
            build = found;
        }
    }
    let project = build["configuration"]["ProjectName"]
        .as_str()
        .ok_or_else(|| format!("{name}'s build action names no ProjectName"))?;
    let ids = a
        .json(
            &CODEBUILD,
            "ListBuildsForProject",
            json!({ "projectName": project, "sortOrder": "DESCENDING" }),
        )
        .await?;
    let Some(id) = ids["ids"].get(0).and_then(Value::as_str) else {
        return Err(format!(
            "{project} has not built yet: push to the fork, or Release change on the pipeline"
        ));
    };
    let builds = a
        .json(&CODEBUILD, "BatchGetBuilds", json!({ "ids": [id] }))
        .await?;
    let build = &builds["builds"][0];
    let status = build["buildStatus"].as_str().unwrap_or("unknown");
    match status {
        "SUCCEEDED" => Ok(format!(
            "{name}: source → build ({project}) → deploy; the latest build succeeded"
        )),
        "IN_PROGRESS" => Err(format!(
            "{project}'s latest build is still running (phase {})",
            build["currentPhase"].as_str().unwrap_or("unknown")
        )),
        _ => {
            let failed = build["phases"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["phaseStatus"] == "FAILED");
            let mut why = format!("{project}'s latest build is {status}");
            if let Some(p) = failed {
                let _ = write!(
                    why,
                    " in phase {}: {}",
                    p["phaseType"].as_str().unwrap_or("?"),
                    p["contexts"][0]["message"]
                        .as_str()
                        .unwrap_or("see its log")
                );
            }
            Err(why)
        }
    }
}

/// Lesson 7: the latest deployment of the pipeline's CodeDeploy action succeeded.
pub async fn deployed(a: &Account, name: &str) -> Res {
    let p = pipeline(a, name).await?;
    let Some((_, deploy)) = action(&p, "CodeDeploy") else {
        return Err(format!("{name} has no CodeDeploy deploy action"));
    };
    let config = &deploy["configuration"];
    let (Some(app), Some(group)) = (
        config["ApplicationName"].as_str(),
        config["DeploymentGroupName"].as_str(),
    ) else {
        return Err(format!(
            "{name}'s deploy action names no ApplicationName and DeploymentGroupName"
        ));
    };
    let list = a
        .json(
            &CODEDEPLOY,
            "ListDeployments",
            json!({ "applicationName": app, "deploymentGroupName": group }),
        )
        .await?;
    let ids: Vec<&Value> = list["deployments"]
        .as_array()
        .map(|a| a.iter().take(25).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(format!("{app}/{group} has no deployments yet"));
    }
    let got = a
        .json(
            &CODEDEPLOY,
            "BatchGetDeployments",
            json!({ "deploymentIds": ids }),
        )
        .await?;
    let latest = got["deploymentsInfo"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by(|x, y| {
            let t = |d: &Value| d["createTime"].as_f64().unwrap_or(0.0);
            t(x).total_cmp(&t(y))
        })
        .ok_or_else(|| format!("CodeDeploy described none of {app}/{group}'s deployments"))?;
    let id = latest["deploymentId"].as_str().unwrap_or("?");
    match latest["status"].as_str().unwrap_or("unknown") {
        "Succeeded" => Ok(format!("{id} to {app}/{group} succeeded")),
        "Failed" | "Stopped" => Err(format!(
            "{id} to {app}/{group} {}: {}",
            latest["status"].as_str().unwrap_or_default().to_lowercase(),
            latest["errorInformation"]["message"]
                .as_str()
                .unwrap_or("see the deployment's events")
        )),
        other => Err(format!("{id} to {app}/{group} is {other}, not finished")),
    }
}

/// Whether an ACM name (`app.example.com`, `*.example.com`) covers `host`.
fn covers(name: &str, host: &str) -> bool {
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
    let list = a
        .json(
            &ACM,
            "ListCertificates",
            json!({ "Includes": { "keyTypes": key_types } }),
        )
        .await?;
    let arns: Vec<&str> = list["CertificateSummaryList"]
        .as_array()
        .into_iter()
        .flatten()
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
            _ => status.to_owned(),
        });
    }
    Err(format!(
        "no issued certificate for {host}: {}",
        states.join("; ")
    ))
}

/// One thing that bills by the hour.
#[derive(Debug)]
struct Bill {
    what: String,
    /// Dollars an hour, when the price is known.
    hourly: Option<f64>,
}

/// Everything in the VPC that bills by the hour, and Elastic IPs left unattached in the Region.
async fn bills(a: &Account, vpc: &str) -> Result<(Option<String>, Vec<Bill>), String> {
    let mut out = Vec::new();
    // Addresses that belonged to a deleted NAT gateway: AWS disassociates them when it deletes
    // the gateway, but moto leaves them associated, so they are named here as well.
    let mut left_by_nat = Vec::new();
    let id = find_vpc(a, vpc).await?;
    if let Some(id) = &id {
        for n in nat_gateways(a, id).await? {
            if n.state == "deleted" || n.state == "failed" {
                left_by_nat.extend(n.allocations);
                continue;
            }
            out.push(Bill {
                what: format!(
                    "NAT gateway {} ({}, with {} public address(es))",
                    n.id,
                    n.state,
                    n.addresses.len()
                ),
                hourly: Some(price::NAT_GATEWAY + price::PUBLIC_IPV4 * n.addresses.len() as f64),
            });
        }
        let lbs = a.query(&ELBV2, "DescribeLoadBalancers", &[]).await?;
        let lbs = xml(&ELBV2, &lbs)?;
        for lb in entries(lbs.root(), "LoadBalancers") {
            if text(lb, "VpcId") != Some(id.as_str()) {
                continue;
            }
            let zones = entries(lb, "AvailabilityZones").count();
            out.push(Bill {
                what: format!(
                    "load balancer {} (in {zones} zones, a public IPv4 address each)",
                    text(lb, "LoadBalancerName").unwrap_or("?")
                ),
                hourly: Some(price::ALB + price::PUBLIC_IPV4 * zones as f64),
            });
        }
        let states: &[&str] = &["pending", "running", "stopping", "stopped"];
        let instances = a
            .query(
                &EC2,
                "DescribeInstances",
                &filters(&[("vpc-id", &[id.as_str()]), ("instance-state-name", states)]),
            )
            .await?;
        let instances = xml(&EC2, &instances)?;
        for r in entries(instances.root(), "reservationSet") {
            for i in entries(r, "instancesSet") {
                let kind = text(i, "instanceType").unwrap_or("?");
                let state = i
                    .descendants()
                    .find(|n| n.has_tag_name("instanceState"))
                    .and_then(|s| text(s, "name"))
                    .unwrap_or("?");
                let stopped = state == "stopped";
                out.push(Bill {
                    what: format!(
                        "instance {} ({kind}, {state}{})",
                        text(i, "instanceId").unwrap_or("?"),
                        if stopped { ": only its disk bills" } else { "" }
                    ),
                    hourly: if stopped { None } else { price::instance(kind) },
                });
            }
        }
    }
    let addresses = a.query(&EC2, "DescribeAddresses", &[]).await?;
    let addresses = xml(&EC2, &addresses)?;
    for ad in entries(addresses.root(), "addressesSet") {
        let alloc = text(ad, "allocationId").unwrap_or("?");
        if text(ad, "associationId").is_none() || left_by_nat.iter().any(|a| a == alloc) {
            out.push(Bill {
                what: format!(
                    "Elastic IP {} ({}), unattached",
                    text(ad, "publicIp").unwrap_or("?"),
                    alloc
                ),
                hourly: Some(price::PUBLIC_IPV4),
            });
        }
    }
    Ok((id, out))
}

fn bill_list(bills: &[Bill]) -> String {
    let total: f64 = bills.iter().filter_map(|b| b.hourly).sum();
    let items: Vec<String> = bills
        .iter()
        .map(|b| match b.hourly {
            Some(h) => format!("{} ${h:.4}/h", b.what),
            None => b.what.clone(),
        })
        .collect();
    format!(
        "{}; about ${total:.3}/h, ${:.2} a day at us-east-1 list prices",
        items.join("; "),
        total * 24.0
    )
}

/// Lesson 15: what bills by the hour now. With `none`, passes only when nothing does.
pub async fn hourly_costs(a: &Account, vpc: &str, none: bool) -> Res {
    let (id, bills) = bills(a, vpc).await?;
    let place = id.as_deref().unwrap_or("the Region");
    match (bills.is_empty(), none) {
        (true, _) => Ok(match id {
            Some(id) => {
                format!("nothing in {id} bills by the hour, and no Elastic IP is unattached")
            }
            None => format!("no VPC {vpc} any more, and no Elastic IP is unattached"),
        }),
        (false, false) => Ok(format!("billing in {place}: {}", bill_list(&bills))),
        (false, true) => Err(format!("still billing in {place}: {}", bill_list(&bills))),
    }
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
