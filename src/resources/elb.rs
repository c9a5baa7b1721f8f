//! The load balancer's target groups and the health of their targets.

use super::common::*;

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
