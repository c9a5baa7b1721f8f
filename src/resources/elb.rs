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

/// The ALB's listeners as lesson 8 leaves them: HTTPS:443 with a certificate, and HTTP:80
/// (when there is one) redirecting to HTTPS on 443 with a 301.
pub async fn listeners(a: &Account, alb_arn: &str) -> Res {
    let doc = a
        .query(
            &ELBV2,
            "DescribeListeners",
            &[("LoadBalancerArn".into(), alb_arn.into())],
        )
        .await?;
    let doc = xml(&ELBV2, &doc)?;
    let mut https = None;
    let mut http = None;
    for l in entries(doc.root(), "Listeners") {
        let port = text(l, "Port").unwrap_or_default();
        match (text(l, "Protocol").unwrap_or_default(), port) {
            ("HTTPS", "443") => https = Some(l),
            ("HTTP", "80") => http = Some(l),
            _ => {}
        }
    }
    let Some(https) = https else {
        return Err("there is no HTTPS listener on port 443: create-listener --protocol HTTPS --port 443 with the certificate".into());
    };
    let cert = entries(https, "Certificates")
        .find_map(|c| text(c, "CertificateArn"))
        .unwrap_or_default();
    if cert.is_empty() {
        return Err("the HTTPS listener names no certificate".into());
    }
    let Some(http) = http else {
        return Ok(format!("HTTPS:443 with {cert}; no HTTP listener"));
    };
    let action = entries(http, "DefaultActions").next();
    let kind = action.and_then(|a| text(a, "Type")).unwrap_or("none");
    let redirect = action.and_then(|a| a.descendants().find(|n| n.has_tag_name("RedirectConfig")));
    let (protocol, port, status) = (
        redirect.and_then(|r| text(r, "Protocol")).unwrap_or(""),
        redirect.and_then(|r| text(r, "Port")).unwrap_or(""),
        redirect.and_then(|r| text(r, "StatusCode")).unwrap_or(""),
    );
    if kind != "redirect" || protocol != "HTTPS" || port != "443" || status != "HTTP_301" {
        return Err(format!(
            "HTTP:80's default action is {kind}{}: make it redirect to HTTPS, port 443, HTTP_301 (modify-listener)",
            if kind == "redirect" {
                format!(" to {protocol}:{port} with {status}")
            } else {
                String::new()
            }
        ));
    }
    Ok(format!(
        "HTTPS:443 with {cert}; HTTP:80 redirects to HTTPS:443 with a 301"
    ))
}
