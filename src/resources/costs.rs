//! What still bills by the hour in the VPC (NAT gateways, public IPv4 addresses, load
//! balancers, instances), at the list prices the lessons cite.

use super::common::*;
use super::network::{find_vpc, nat_gateways};

/// One thing that bills by the hour.
#[derive(Debug)]
pub(super) struct Bill {
    what: String,
    /// Dollars an hour, when the price is known.
    hourly: Option<f64>,
}

/// Everything in the VPC that bills by the hour, and Elastic IPs left unattached in the Region.
pub(super) async fn bills(a: &Account, vpc: &str) -> Result<(Option<String>, Vec<Bill>), String> {
    let mut out = Vec::new();
    // Addresses that belonged to a deleted NAT gateway: AWS disassociates them when it deletes
    // the gateway, but moto leaves them associated, so they are named here as well.
    let mut left_by_nat = Vec::new();
    // A stopped instance bills nothing itself, but an Elastic IP on it does.
    let mut stopped_instances: Vec<String> = Vec::new();
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
        let pages = a.query_pages(&ELBV2, "DescribeLoadBalancers", &[]).await?;
        for lbs in docs(&ELBV2, &pages)? {
            for lb in entries(lbs.root(), "LoadBalancers") {
                if text(lb, "VpcId") != Some(id.as_str()) {
                    continue;
                }
                let zones = entries(lb, "AvailabilityZones").count();
                let name = text(lb, "LoadBalancerName").unwrap_or("?");
                // An internal load balancer has private addresses only.
                out.push(if text(lb, "Scheme") == Some("internal") {
                    Bill {
                        what: format!("load balancer {name} (internal, in {zones} zones)"),
                        hourly: Some(price::ALB),
                    }
                } else {
                    Bill {
                        what: format!(
                            "load balancer {name} (in {zones} zones, a public IPv4 address each)"
                        ),
                        hourly: Some(price::ALB + price::PUBLIC_IPV4 * zones as f64),
                    }
                });
            }
        }
        let states: &[&str] = &["pending", "running", "stopping", "stopped"];
        let pages = a
            .query_pages(
                &EC2,
                "DescribeInstances",
                &filters(&[("vpc-id", &[id.as_str()]), ("instance-state-name", states)]),
            )
            .await?;
        for instances in docs(&EC2, &pages)? {
            for i in
                entries(instances.root(), "reservationSet").flat_map(|r| entries(r, "instancesSet"))
            {
                let kind = text(i, "instanceType").unwrap_or("?");
                let state = i
                    .descendants()
                    .find(|n| n.has_tag_name("instanceState"))
                    .and_then(|s| text(s, "name"))
                    .unwrap_or("?");
                let stopped = state == "stopped";
                if stopped {
                    stopped_instances.push(text(i, "instanceId").unwrap_or_default().to_owned());
                }
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
        let ip = text(ad, "publicIp").unwrap_or("?");
        if text(ad, "associationId").is_none() || left_by_nat.iter().any(|a| a == alloc) {
            out.push(Bill {
                what: format!("Elastic IP {ip} ({alloc}), unattached"),
                hourly: Some(price::PUBLIC_IPV4),
            });
        } else if let Some(on) =
            text(ad, "instanceId").filter(|i| stopped_instances.iter().any(|s| s == i))
        {
            out.push(Bill {
                what: format!("Elastic IP {ip} ({alloc}), on {on}, which is stopped"),
                hourly: Some(price::PUBLIC_IPV4),
            });
        }
    }
    Ok((id, out))
}

pub(super) fn bill_list(bills: &[Bill]) -> String {
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
