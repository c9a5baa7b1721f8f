//! The network: the VPC found by id or Name tag, its subnets' routes (public through an
//! internet gateway, private through a NAT gateway) and its NAT gateways.

use super::common::*;

/// Where a subnet's default route (`0.0.0.0/0`) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    Internet(String),
    Nat(String),
    Other(String),
    Missing,
}

#[derive(Debug)]
pub(super) struct Subnet {
    pub(super) id: String,
    pub(super) az: String,
    pub(super) route: Route,
}

#[derive(Debug)]
pub(super) struct Nat {
    pub(super) id: String,
    pub(super) state: String,
    /// Empty for a regional NAT gateway (`availabilityMode` `regional`), which has none.
    pub(super) subnet: String,
    /// `regional`, or `zonal` (also when EC2 does not say).
    pub(super) mode: String,
    /// Why a `failed` gateway failed.
    pub(super) failure: String,
    pub(super) addresses: Vec<String>,
    pub(super) allocations: Vec<String>,
}

/// The VPC's id, from an id (`vpc-…`) or a `Name` tag; `None` when there is no such VPC.
pub(super) async fn find_vpc(a: &Account, vpc: &str) -> Result<Option<String>, String> {
    let f: &[(&str, &[&str])] = if vpc.starts_with("vpc-") {
        &[("vpc-id", &[vpc])]
    } else {
        &[("tag:Name", &[vpc])]
    };
    let pages = a.query_pages(&EC2, "DescribeVpcs", &filters(f)).await?;
    let docs = docs(&EC2, &pages)?;
    let ids: Vec<&str> = docs
        .iter()
        .flat_map(|d| entries(d.root(), "vpcSet"))
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

pub(super) async fn vpc_or_fail(a: &Account, vpc: &str) -> Result<String, String> {
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
pub(super) async fn subnets(a: &Account, vpc: &str) -> Result<Vec<Subnet>, String> {
    let by_vpc = filters(&[("vpc-id", &[vpc])]);
    let (subnets, tables) = tokio::try_join!(
        a.query_pages(&EC2, "DescribeSubnets", &by_vpc),
        a.query_pages(&EC2, "DescribeRouteTables", &by_vpc)
    )?;
    let (subnets, tables) = (docs(&EC2, &subnets)?, docs(&EC2, &tables)?);
    let tables: Vec<_> = tables
        .iter()
        .flat_map(|d| entries(d.root(), "routeTableSet"))
        .collect();
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
    Ok(subnets
        .iter()
        .flat_map(|d| entries(d.root(), "subnetSet"))
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

pub(super) async fn nat_gateways(a: &Account, vpc: &str) -> Result<Vec<Nat>, String> {
    let pages = a
        .query_pages(&EC2, "DescribeNatGateways", &filters(&[("vpc-id", &[vpc])]))
        .await?;
    let docs = docs(&EC2, &pages)?;
    Ok(docs
        .iter()
        .flat_map(|d| entries(d.root(), "natGatewaySet"))
        .map(|n| Nat {
            id: text(n, "natGatewayId").unwrap_or_default().into(),
            state: text(n, "state").unwrap_or_default().into(),
            subnet: text(n, "subnetId").unwrap_or_default().into(),
            mode: text(n, "availabilityMode").unwrap_or("zonal").into(),
            failure: [text(n, "failureCode"), text(n, "failureMessage")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": "),
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

pub(super) fn described(subnets: &[&Subnet]) -> String {
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
    // A deleted or deleting gateway is gone; a failed one stays listed for about an hour, and
    // is only the answer when there is nothing better.
    let live: Vec<&Nat> = nats
        .iter()
        .filter(|n| n.state != "deleted" && n.state != "deleting")
        .collect();
    let pick = |state: &str| live.iter().find(|n| n.state == state);
    let Some(nat) = pick("available").or(pick("pending")).or(live.first()) else {
        return Err(format!("{id} has no NAT gateway"));
    };
    match nat.state.as_str() {
        "available" => {}
        "pending" => {
            return Err(format!(
                "{} is pending, not yet available (it takes a few minutes)",
                nat.id
            ));
        }
        "failed" => {
            return Err(format!(
                "{} failed{}: it stays listed as failed for about an hour, and bills nothing. Check that the VPC has an internet gateway attached and the subnet is public, then create a new one",
                nat.id,
                if nat.failure.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", nat.failure)
                }
            ));
        }
        other => return Err(format!("{} is {other}, not available", nat.id)),
    }
    // A regional NAT gateway spans the VPC's zones and has no subnet of its own.
    let home = all.iter().find(|s| s.id == nat.subnet);
    if nat.mode != "regional" && !home.is_some_and(|s| matches!(s.route, Route::Internet(_))) {
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
    let place = if nat.mode == "regional" {
        "regional".to_owned()
    } else {
        format!("in {}", nat.subnet)
    };
    Ok(format!(
        "{} ({ip}) is available, {place}; {} route through it",
        nat.id,
        described(&users)
    ))
}
