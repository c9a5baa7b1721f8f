//! ELBv2's control plane for the lab's one load balancer, in the Query protocol the AWS CLI
//! and SDKs speak: a form body (`Action=CreateRule&Version=2015-12-01&Conditions.member.1.…`),
//! SigV4 for `elasticloadbalancing`, and XML answers in the 2015-12-01 namespace, errors as
//! `<ErrorResponse><Error><Type>Sender</Type><Code>…`.
//!
//! Operations: DescribeLoadBalancers (and CreateLoadBalancer for the lab's own name), target
//! groups and their targets and health, listeners, rules and their priorities. Each checks
//! what it is given as AWS does before anything changes, with the error codes of AWS's model.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use serde_json::{Map, Value, json};

use super::{ApiError, lower_first, strings};
use crate::alb::rules::{Action, Condition, check_actions};
use crate::cognito::Directory;
use crate::elb::{
    self, LB_NAME, Listener, ListenerRule, LoadBalancing, MAX_LISTENERS, MAX_RULES,
    MAX_TARGET_GROUPS, MAX_TARGETS, State, Target, TargetGroup, VPC_ID,
};
use crate::http::{Resp, response};

const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
pub const VERSION: &str = "2015-12-01";

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Empty<Bytes>,
>;

#[derive(Debug)]
pub struct Elbv2 {
    pub lb: Arc<LoadBalancing>,
    directory: Arc<Directory>,
    /// The app on the lab's instance, where `APP_PORT` of the instance leads.
    app: String,
    http: HttpClient,
}

/// Parameter names whose values are numbers or booleans (the Query protocol sends all as text).
const NUMBERS: &[&str] = &[
    "Port",
    "Priority",
    "Order",
    "SessionTimeout",
    "Weight",
    "DurationSeconds",
    "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds",
    "HealthyThresholdCount",
    "UnhealthyThresholdCount",
    "PageSize",
];
const BOOLEANS: &[&str] = &["HealthCheckEnabled", "Enabled", "IsDefault"];

/// The form's flattened names (`A.member.1.B`, `M.entry.1.key`) as a JSON tree.
pub fn parse_form(body: &[u8]) -> (Option<String>, Option<String>, Map<String, Value>) {
    let mut root = Value::Object(Map::new());
    let (mut action, mut version) = (None, None);
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "Action" => action = Some(v.into_owned()),
            "Version" => version = Some(v.into_owned()),
            _ => {
                let mut at = &mut root;
                for seg in k.split('.') {
                    if !at.is_object() {
                        *at = Value::Object(Map::new());
                    }
                    let Value::Object(m) = at else { break };
                    at = m.entry(seg.to_owned()).or_insert(Value::Null);
                }
                if at.is_null() {
                    *at = Value::String(v.into_owned());
                }
            }
        }
    }
    let tree = match normalize(None, root) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    (action, version, tree)
}

fn normalize(key: Option<&str>, v: Value) -> Value {
    match v {
        Value::Object(mut m) => {
            if m.len() == 1 && m.contains_key("member") {
                let Some(Value::Object(items)) = m.remove("member") else {
                    return Value::Array(vec![]);
                };
                let mut items: Vec<(u64, Value)> = items
                    .into_iter()
                    .filter_map(|(i, v)| Some((i.parse().ok()?, v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                return Value::Array(items.into_iter().map(|(_, v)| normalize(None, v)).collect());
            }
            if m.len() == 1 && m.contains_key("entry") {
                let Some(Value::Object(entries)) = m.remove("entry") else {
                    return Value::Object(Map::new());
                };
                let mut entries: Vec<(u64, Value)> = entries
                    .into_iter()
                    .filter_map(|(i, v)| Some((i.parse().ok()?, v)))
                    .collect();
                entries.sort_by_key(|(i, _)| *i);
                return Value::Object(
                    entries
                        .into_iter()
                        .filter_map(|(_, e)| {
                            Some((e.get("key")?.as_str()?.to_owned(), e.get("value")?.clone()))
                        })
                        .collect(),
                );
            }
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let v = normalize(Some(&k), v);
                        (k, v)
                    })
                    .collect(),
            )
        }
        // An empty list is sent as `Name=`.
        Value::String(s) if s.is_empty() && key.is_some_and(is_list) => Value::Array(vec![]),
        Value::String(s) if key.is_some_and(|k| NUMBERS.contains(&k)) => s
            .parse::<u64>()
            .map_or(Value::String(s), |n| Value::Number(n.into())),
        Value::String(s) if key.is_some_and(|k| BOOLEANS.contains(&k)) => match s.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s),
        },
        v => v,
    }
}

fn is_list(key: &str) -> bool {
    matches!(
        key,
        "Conditions"
            | "Actions"
            | "DefaultActions"
            | "Certificates"
            | "Targets"
            | "Values"
            | "Names"
            | "TargetGroupArns"
            | "ListenerArns"
            | "RuleArns"
            | "LoadBalancerArns"
            | "RulePriorities"
            | "Subnets"
            | "SecurityGroups"
    )
}

/// The XML body for a JSON result: objects as elements, lists as `<member>`s, the one map the
/// API has (`AuthenticationRequestExtraParams`) as `<entry><key/><value/></entry>`s.
fn xml(out: &mut String, v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if v.is_null() {
                    continue;
                }
                out.push('<');
                out.push_str(k);
                out.push('>');
                match (k.as_str(), v) {
                    ("AuthenticationRequestExtraParams", Value::Object(entries)) => {
                        for (key, value) in entries {
                            out.push_str("<entry><key>");
                            escape(out, key);
                            out.push_str("</key><value>");
                            escape(out, value.as_str().unwrap_or_default());
                            out.push_str("</value></entry>");
                        }
                    }
                    _ => xml(out, v),
                }
                out.push_str("</");
                out.push_str(k);
                out.push('>');
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str("<member>");
                xml(out, item);
                out.push_str("</member>");
            }
        }
        Value::String(s) => escape(out, s),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => {}
    }
}

/// Text in XML is escaped as HTML is: the same characters, by the project's one function.
fn escape(out: &mut String, s: &str) {
    out.push_str(&cognito_learning_server::escape_html(s));
}

fn xml_response(status: StatusCode, body: String) -> Resp {
    response(status, "text/xml", body)
}

/// `<OpResponse><OpResult>…</OpResult><ResponseMetadata>…` for a result.
pub fn ok(op: &str, result: &Value) -> Resp {
    let mut body = format!("<{op}Response xmlns=\"{NAMESPACE}\"><{op}Result>");
    xml(&mut body, result);
    body.push_str(&format!(
        "</{op}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{op}Response>",
        crate::state::uuid()
    ));
    xml_response(StatusCode::OK, body)
}

/// The Query protocol's error envelope.
pub fn error(e: &ApiError) -> Resp {
    let mut message = String::new();
    escape(&mut message, &e.message);
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{message}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        e.code,
        crate::state::uuid()
    );
    let status = match e.code {
        "HealthUnavailable" => StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    xml_response(status, body)
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationError", message)
}

fn required<'a>(req: &'a Map<String, Value>, name: &str) -> Result<&'a Value, ApiError> {
    req.get(name).filter(|v| !v.is_null()).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

fn text<'a>(req: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    required(req, name)?
        .as_str()
        .ok_or_else(|| validation(format!("{name} must be text")))
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value, name: &str) -> Result<T, ApiError> {
    serde_json::from_value(v.clone()).map_err(|e| validation(format!("{name}: {e}")))
}

fn number(req: &Map<String, Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match req.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| validation(format!("{name} must be a whole number"))),
    }
}

fn listener_not_found() -> ApiError {
    ApiError::new("ListenerNotFound", "One or more listeners not found")
}
fn rule_not_found() -> ApiError {
    ApiError::new("RuleNotFound", "One or more rules not found")
}
fn target_group_not_found() -> ApiError {
    ApiError::new("TargetGroupNotFound", "One or more target groups not found")
}

/// One page of a list: `Marker` is the index this lab gave as `NextMarker`.
fn paged(req: &Map<String, Value>, items: Vec<Value>, key: &str) -> Result<Value, ApiError> {
    let size = number(req, "PageSize")?.unwrap_or(400);
    if !(1..=400).contains(&size) {
        return Err(validation("PageSize must be between 1 and 400"));
    }
    let start = match req.get("Marker").and_then(Value::as_str) {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= items.len())
            .ok_or_else(|| validation("Marker is not one this load balancer gave"))?,
    };
    let end = (start + size as usize).min(items.len());
    let mut out = Map::new();
    out.insert(key.into(), Value::Array(items[start..end].to_vec()));
    if end < items.len() {
        out.insert("NextMarker".into(), Value::String(end.to_string()));
    }
    Ok(Value::Object(out))
}

impl Elbv2 {
    pub fn new(lb: Arc<LoadBalancing>, directory: Arc<Directory>, app: &str) -> Self {
        Self {
            lb,
            directory,
            app: app.trim_end_matches('/').to_owned(),
            http: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http(),
        }
    }

    /// Runs one operation; `Ok` is the `<OpResult>` content.
    pub async fn call(&self, op: &str, req: &Map<String, Value>) -> Result<Value, ApiError> {
        match op {
            "DescribeLoadBalancers" => self.describe_load_balancers(req),
            "CreateLoadBalancer" => self.create_load_balancer(req),
            "DeleteLoadBalancer" => Err(ApiError::new(
                "OperationNotPermitted",
                format!(
                    "The lab's load balancer, {LB_NAME}, cannot be deleted; delete its listeners and target groups instead"
                ),
            )),
            "CreateTargetGroup" => self.create_target_group(req),
            "DescribeTargetGroups" => self.describe_target_groups(req),
            "DeleteTargetGroup" => self.delete_target_group(req),
            "RegisterTargets" => self.register_targets(req, true),
            "DeregisterTargets" => self.register_targets(req, false),
            "DescribeTargetHealth" => self.describe_target_health(req).await,
            "CreateListener" => self.create_listener(req),
            "DescribeListeners" => self.describe_listeners(req),
            "ModifyListener" => self.modify_listener(req),
            "DeleteListener" => self.delete_listener(req),
            "CreateRule" => self.create_rule(req),
            "DescribeRules" => self.describe_rules(req),
            "ModifyRule" => self.modify_rule(req),
            "SetRulePriorities" => self.set_rule_priorities(req),
            "DeleteRule" => self.delete_rule(req),
            op => Err(ApiError::new(
                "InvalidAction",
                format!("{op} is not an operation the lab's load balancer serves"),
            )),
        }
    }

    fn lb_json(&self, created: f64) -> Value {
        let region = &self.lb.region;
        json!({
            "LoadBalancerArn": self.lb.lb_arn(),
            // The lab's ALB answers on http://localhost:PORT (`lab --json` gives the port).
            "DNSName": "localhost",
            "CanonicalHostedZoneId": "Z32O12XQLNTSW2",
            "CreatedTime": iso(created),
            "LoadBalancerName": LB_NAME,
            "Scheme": "internet-facing",
            "VpcId": VPC_ID,
            "State": {"Code": "active"},
            "Type": "application",
            "AvailabilityZones": [
                {"ZoneName": format!("{region}a"), "SubnetId": "subnet-0a1b2c3d4e5f60001"},
                {"ZoneName": format!("{region}b"), "SubnetId": "subnet-0a1b2c3d4e5f60002"},
            ],
            "SecurityGroups": ["sg-0a1b2c3d4e5f60003"],
            "IpAddressType": "ipv4",
        })
    }

    fn describe_load_balancers(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arns = strings(req, "LoadBalancerArns");
        let names = strings(req, "Names");
        let ours = self.lb.lb_arn();
        if let Some(a) = arns.iter().find(|a| **a != ours) {
            return Err(ApiError::new(
                "LoadBalancerNotFound",
                format!("Load balancers '[{a}]' not found"),
            ));
        }
        if let Some(n) = names.iter().find(|n| *n != LB_NAME) {
            return Err(ApiError::new(
                "LoadBalancerNotFound",
                format!("Load balancers '[{n}]' not found"),
            ));
        }
        let created = self.lb.read(|s| s.created);
        paged(req, vec![self.lb_json(created)], "LoadBalancers")
    }

    /// The lab has one load balancer: asking for it by name answers it, as a repeated
    /// identical call does on AWS.
    fn create_load_balancer(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let name = text(req, "Name")?;
        if name != LB_NAME {
            return Err(ApiError::new(
                "TooManyLoadBalancers",
                format!(
                    "The lab has one load balancer, named '{LB_NAME}'; create it with that name (it already exists)"
                ),
            ));
        }
        let created = self.lb.read(|s| s.created);
        Ok(json!({"LoadBalancers": [self.lb_json(created)]}))
    }

    fn tg_json(&self, s: &State, tg: &TargetGroup) -> Value {
        let lbs: Vec<String> = if s.in_use(&tg.arn) {
            vec![self.lb.lb_arn()]
        } else {
            vec![]
        };
        json!({
            "TargetGroupArn": tg.arn,
            "TargetGroupName": tg.name,
            "Protocol": tg.protocol,
            "Port": tg.port,
            "VpcId": tg.vpc_id,
            "HealthCheckProtocol": tg.health_check_protocol,
            "HealthCheckPort": tg.health_check_port,
            "HealthCheckEnabled": tg.health_check_enabled,
            "HealthCheckIntervalSeconds": tg.interval,
            "HealthCheckTimeoutSeconds": tg.timeout,
            "HealthyThresholdCount": tg.healthy_threshold,
            "UnhealthyThresholdCount": tg.unhealthy_threshold,
            "HealthCheckPath": tg.health_check_path,
            "Matcher": {"HttpCode": tg.matcher},
            "LoadBalancerArns": lbs,
            "TargetType": tg.target_type,
            "ProtocolVersion": "HTTP1",
            "IpAddressType": "ipv4",
        })
    }

    fn create_target_group(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let name = text(req, "Name")?;
        check_name(name)?;
        let target_type = req
            .get("TargetType")
            .and_then(Value::as_str)
            .unwrap_or("instance");
        if !matches!(target_type, "instance" | "ip") {
            return Err(validation(format!(
                "The lab's target groups hold 'instance' or 'ip' targets, not '{target_type}'"
            )));
        }
        let protocol = req
            .get("Protocol")
            .and_then(Value::as_str)
            .ok_or_else(|| validation("A protocol must be specified"))?;
        if !matches!(protocol, "HTTP" | "HTTPS") {
            return Err(validation(format!(
                "Protocol '{protocol}' is not supported for target groups of Application Load Balancers"
            )));
        }
        let port = number(req, "Port")?.ok_or_else(|| validation("A port must be specified"))?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| validation("Port must be between 1 and 65535"))?;
        let vpc = req
            .get("VpcId")
            .and_then(Value::as_str)
            .ok_or_else(|| validation("A VPC ID must be specified"))?;
        let mut tg = TargetGroup::new(&self.lb.region, name, port, vpc);
        tg.protocol = protocol.into();
        tg.target_type = target_type.into();
        tg.health_check_protocol = protocol.into();
        if let Some(p) = req.get("HealthCheckProtocol").and_then(Value::as_str) {
            tg.health_check_protocol = p.into();
        }
        if let Some(p) = req.get("HealthCheckPort") {
            tg.health_check_port = p.as_str().map_or_else(|| p.to_string(), str::to_owned);
        }
        if let Some(e) = req.get("HealthCheckEnabled").and_then(Value::as_bool) {
            tg.health_check_enabled = e;
        }
        if let Some(p) = req.get("HealthCheckPath").and_then(Value::as_str) {
            if !p.starts_with('/') || p.len() > 1024 {
                return Err(validation(
                    "A health check path must start with '/' and be at most 1024 characters",
                ));
            }
            tg.health_check_path = p.into();
        }
        let bounded = |name: &str, lo: u64, hi: u64, into: &mut u32| -> Result<(), ApiError> {
            if let Some(v) = number(req, name)? {
                if !(lo..=hi).contains(&v) {
                    return Err(validation(format!("{name} must be between {lo} and {hi}")));
                }
                *into = v as u32;
            }
            Ok(())
        };
        bounded("HealthCheckIntervalSeconds", 5, 300, &mut tg.interval)?;
        bounded("HealthCheckTimeoutSeconds", 2, 120, &mut tg.timeout)?;
        bounded("HealthyThresholdCount", 2, 10, &mut tg.healthy_threshold)?;
        bounded(
            "UnhealthyThresholdCount",
            2,
            10,
            &mut tg.unhealthy_threshold,
        )?;
        if tg.timeout >= tg.interval {
            return Err(validation(
                "Health check timeout must be smaller than the interval",
            ));
        }
        if let Some(code) = req
            .get("Matcher")
            .and_then(|m| m.get("HttpCode"))
            .and_then(Value::as_str)
        {
            parse_matcher(code).ok_or_else(|| {
                validation(format!(
                    "Health check matcher HTTP code '{code}' must be within '200-499'"
                ))
            })?;
            tg.matcher = code.into();
        }
        self.lb.write(|s| {
            if let Some(old) = s.target_groups.iter().find(|t| t.name == tg.name) {
                let same = TargetGroup {
                    arn: old.arn.clone(),
                    targets: old.targets.clone(),
                    ..tg.clone()
                };
                return if &same == old {
                    Ok(json!({"TargetGroups": [self.tg_json(s, old)]}))
                } else {
                    Err(ApiError::new(
                        "DuplicateTargetGroupName",
                        "A target group with the same name exists, but with different settings",
                    ))
                };
            }
            if s.target_groups.len() >= MAX_TARGET_GROUPS {
                return Err(ApiError::new(
                    "TooManyTargetGroups",
                    format!("The lab holds at most {MAX_TARGET_GROUPS} target groups"),
                ));
            }
            let out = json!({"TargetGroups": [self.tg_json(s, &tg)]});
            s.target_groups.push(tg);
            Ok(out)
        })
    }

    fn describe_target_groups(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arns = strings(req, "TargetGroupArns");
        let names = strings(req, "Names");
        if let Some(lb) = req.get("LoadBalancerArn").and_then(Value::as_str)
            && lb != self.lb.lb_arn()
        {
            return Err(ApiError::new(
                "LoadBalancerNotFound",
                format!("Load balancer '{lb}' not found"),
            ));
        }
        let only_in_use = req.contains_key("LoadBalancerArn");
        let items = self.lb.read(|s| {
            for a in &arns {
                if s.target_group(a).is_none() {
                    return Err(target_group_not_found());
                }
            }
            for n in &names {
                if !s.target_groups.iter().any(|t| &t.name == n) {
                    return Err(ApiError::new(
                        "TargetGroupNotFound",
                        format!("Target groups '[{n}]' not found"),
                    ));
                }
            }
            Ok(s.target_groups
                .iter()
                .filter(|t| arns.is_empty() || arns.contains(&t.arn))
                .filter(|t| names.is_empty() || names.contains(&t.name))
                .filter(|t| !only_in_use || s.in_use(&t.arn))
                .map(|t| self.tg_json(s, t))
                .collect::<Vec<_>>())
        })?;
        paged(req, items, "TargetGroups")
    }

    fn delete_target_group(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = text(req, "TargetGroupArn")?;
        self.lb.write(|s| {
            if s.in_use(arn) {
                return Err(ApiError::new(
                    "ResourceInUse",
                    format!("Target group '{arn}' is currently in use by a listener or a rule"),
                ));
            }
            // Deleting one that is gone already succeeds, as on AWS.
            s.target_groups.retain(|t| t.arn != arn);
            Ok(json!({}))
        })
    }

    fn targets(&self, req: &Map<String, Value>, tg: &TargetGroup) -> Result<Vec<Target>, ApiError> {
        let Some(list) = req.get("Targets").and_then(Value::as_array) else {
            return Err(validation("Targets must be given"));
        };
        let mut out = Vec::new();
        for t in list {
            let id = t
                .get("Id")
                .and_then(Value::as_str)
                .ok_or_else(|| validation("Each target needs an Id"))?;
            let port = match t.get("Port").and_then(Value::as_u64) {
                Some(p) => u16::try_from(p)
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| validation("Port must be between 1 and 65535"))?,
                None => tg.port,
            };
            out.push(Target {
                id: id.into(),
                port,
            });
        }
        Ok(out)
    }

    fn register_targets(&self, req: &Map<String, Value>, add: bool) -> Result<Value, ApiError> {
        let arn = text(req, "TargetGroupArn")?;
        self.lb.write(|s| {
            let tg = s
                .target_groups
                .iter_mut()
                .find(|t| t.arn == arn)
                .ok_or_else(target_group_not_found)?;
            let targets = self.targets(req, tg)?;
            if add {
                for t in &targets {
                    let valid = match tg.target_type.as_str() {
                        "ip" => t.id.parse::<std::net::Ipv4Addr>().is_ok(),
                        _ => t.id == cognito_learning_contract::ssm::INSTANCE_ID,
                    };
                    if !valid {
                        return Err(ApiError::new(
                            "InvalidTarget",
                            match tg.target_type.as_str() {
                                "ip" => format!("The IP address '{}' is not a valid IPv4 address", t.id),
                                _ => format!(
                                    "The following targets are not valid instances: '{}' (the lab's instance is {})",
                                    t.id,
                                    cognito_learning_contract::ssm::INSTANCE_ID
                                ),
                            },
                        ));
                    }
                }
                for t in targets {
                    if !tg.targets.contains(&t) {
                        if tg.targets.len() >= MAX_TARGETS {
                            return Err(ApiError::new(
                                "TooManyTargets",
                                format!("A target group in the lab holds at most {MAX_TARGETS} targets"),
                            ));
                        }
                        tg.targets.push(t);
                    }
                }
            } else {
                if let Some(t) = targets.iter().find(|t| !tg.targets.contains(t)) {
                    return Err(ApiError::new(
                        "InvalidTarget",
                        format!("The target '{}' on port {} is not registered", t.id, t.port),
                    ));
                }
                tg.targets.retain(|t| !targets.contains(t));
            }
            Ok(json!({}))
        })
    }

    async fn describe_target_health(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = text(req, "TargetGroupArn")?;
        let (tg, in_use) = self.lb.read(|s| {
            s.target_group(arn)
                .cloned()
                .map(|t| (t, s.in_use(arn)))
                .ok_or_else(target_group_not_found)
        })?;
        let asked = match req.get("Targets") {
            Some(_) => self.targets(req, &tg)?,
            None => tg.targets.clone(),
        };
        let mut out = Vec::new();
        for t in asked {
            let health = if !tg.targets.contains(&t) {
                health(
                    "unused",
                    Some("Target.NotRegistered"),
                    "Target is not registered to the target group",
                )
            } else if !in_use {
                health(
                    "unused",
                    Some("Target.NotInUse"),
                    "Target group is not configured to receive traffic from the load balancer",
                )
            } else if !tg.health_check_enabled {
                health(
                    "unavailable",
                    Some("Target.HealthCheckDisabled"),
                    "Health checks are disabled",
                )
            } else {
                self.probe(&tg, &t).await
            };
            let hc_port = if tg.health_check_port == "traffic-port" {
                t.port.to_string()
            } else {
                tg.health_check_port.clone()
            };
            out.push(json!({
                "Target": {"Id": t.id, "Port": t.port},
                "HealthCheckPort": hc_port,
                "TargetHealth": health,
            }));
        }
        Ok(json!({"TargetHealthDescriptions": out}))
    }

    /// One health check, now: the lab does not wait for thresholds, so a target is healthy
    /// or unhealthy at the first check.
    async fn probe(&self, tg: &TargetGroup, t: &Target) -> Value {
        let port = if tg.health_check_port == "traffic-port" {
            t.port
        } else {
            tg.health_check_port.parse().unwrap_or(t.port)
        };
        let Some(base) = elb::target_url(tg, &t.id, port, &self.app) else {
            return health(
                "unhealthy",
                Some("Target.FailedHealthChecks"),
                "Health checks failed",
            );
        };
        let Ok(uri) = format!("{base}{}", tg.health_check_path).parse::<http::Uri>() else {
            return health(
                "unhealthy",
                Some("Target.FailedHealthChecks"),
                "Health checks failed",
            );
        };
        let call = self.http.get(uri);
        match tokio::time::timeout(Duration::from_secs(u64::from(tg.timeout)), call).await {
            Err(_) => health("unhealthy", Some("Target.Timeout"), "Request timed out"),
            Ok(Err(_)) => health(
                "unhealthy",
                Some("Target.FailedHealthChecks"),
                "Health checks failed",
            ),
            Ok(Ok(resp)) => {
                let code = resp.status().as_u16();
                let _ = resp.into_body().collect().await;
                if parse_matcher(&tg.matcher)
                    .is_some_and(|m| m.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code)))
                {
                    json!({"State": "healthy"})
                } else {
                    health(
                        "unhealthy",
                        Some("Target.ResponseCodeMismatch"),
                        &format!("Health checks failed with these codes: [{code}]"),
                    )
                }
            }
        }
    }

    fn listener_json(&self, l: &Listener) -> Value {
        let mut v = json!({
            "ListenerArn": l.arn,
            "LoadBalancerArn": self.lb.lb_arn(),
            "Port": l.port,
            "Protocol": l.protocol,
            "DefaultActions": l.default_actions.iter().map(Action::to_api).collect::<Vec<_>>(),
        });
        if !l.certificates.is_empty() {
            v["Certificates"] = json!(
                l.certificates
                    .iter()
                    .map(|c| json!({"CertificateArn": c}))
                    .collect::<Vec<_>>()
            );
        }
        if let Some(p) = &l.ssl_policy {
            v["SslPolicy"] = json!(p);
        }
        v
    }

    /// The checks CreateListener, ModifyListener, CreateRule and ModifyRule share: every
    /// action well formed, every target group there, and an authenticate action only on an
    /// HTTPS listener, for a user pool client that exists and has a secret (the ALB reads it
    /// with DescribeUserPoolClient).
    fn check_actions(
        &self,
        s: &State,
        actions: &Value,
        protocol: &str,
    ) -> Result<Vec<Action>, ApiError> {
        let actions: Vec<Action> = typed(actions, "Actions")?;
        let actions = check_actions(&actions).map_err(validation)?;
        for a in &actions {
            for tg in a.target_groups() {
                if s.target_group(tg).is_none() {
                    return Err(ApiError::new(
                        "TargetGroupNotFound",
                        format!("Target groups '[{tg}]' not found"),
                    ));
                }
            }
            if let Some(c) = &a.authenticate_cognito_config {
                if protocol != "HTTPS" {
                    return Err(ApiError::new(
                        "InvalidLoadBalancerAction",
                        format!(
                            "Authenticate actions are supported only on HTTPS listeners, not on a {protocol} listener"
                        ),
                    ));
                }
                let pool = c.pool_id().to_owned();
                let client = c.user_pool_client_id.clone();
                self.directory.read(|pools| {
                    let p = pools.iter().find(|p| p.id == pool).ok_or_else(|| {
                        ApiError::new(
                            "InvalidLoadBalancerAction",
                            format!("User pool {pool} does not exist."),
                        )
                    })?;
                    let cl = p.clients.iter().find(|cl| cl.id == client).ok_or_else(|| {
                        ApiError::new(
                            "InvalidLoadBalancerAction",
                            format!("User pool client {client} does not exist."),
                        )
                    })?;
                    if cl.secret.is_none() {
                        return Err(ApiError::new(
                            "InvalidLoadBalancerAction",
                            "The user pool client must have a client secret",
                        ));
                    }
                    Ok(())
                })?;
            }
        }
        Ok(actions)
    }

    /// `Protocol`, `Port`, `Certificates` and `SslPolicy` of a new or changed listener.
    fn check_tls(&self, l: &mut Listener, req: &Map<String, Value>) -> Result<(), ApiError> {
        if let Some(certs) = req.get("Certificates").and_then(Value::as_array) {
            l.certificates = certs
                .iter()
                .filter_map(|c| c.get("CertificateArn").and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
        }
        if let Some(p) = req.get("SslPolicy").and_then(Value::as_str) {
            if !p.starts_with("ELBSecurityPolicy-") {
                return Err(ApiError::new(
                    "SSLPolicyNotFound",
                    format!("SSL policy '{p}' not found"),
                ));
            }
            l.ssl_policy = Some(p.into());
        }
        match l.protocol.as_str() {
            "HTTPS" => {
                if l.certificates.len() != 1 {
                    return Err(validation(
                        "A certificate must be specified for HTTPS listeners, and only one",
                    ));
                }
                let ours = elb::certificate_arn(&self.lb.region);
                if l.certificates[0] != ours {
                    return Err(ApiError::new(
                        "CertificateNotFound",
                        format!(
                            "Certificate '{}' not found (the lab holds one certificate, {ours}: aws acm list-certificates)",
                            l.certificates[0]
                        ),
                    ));
                }
                l.ssl_policy
                    .get_or_insert_with(|| "ELBSecurityPolicy-2016-08".into());
            }
            "HTTP" => {
                l.certificates.clear();
                l.ssl_policy = None;
            }
            p => {
                return Err(ApiError::new(
                    "UnsupportedProtocol",
                    format!(
                        "Protocol '{p}' is not supported by Application Load Balancers: use HTTP or HTTPS"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn create_listener(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let lb = text(req, "LoadBalancerArn")?;
        if lb != self.lb.lb_arn() {
            return Err(ApiError::new(
                "LoadBalancerNotFound",
                format!("Load balancer '{lb}' not found"),
            ));
        }
        let defaults = required(req, "DefaultActions")?;
        let protocol = req
            .get("Protocol")
            .and_then(Value::as_str)
            .unwrap_or("HTTP");
        let port = number(req, "Port")?.unwrap_or(if protocol == "HTTPS" { 443 } else { 80 });
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| validation("Port must be between 1 and 65535"))?;
        let mut l = elb::new_listener(&self.lb.region, port, protocol);
        self.check_tls(&mut l, req)?;
        self.lb.write(|s| {
            l.default_actions = self.check_actions(s, defaults, &l.protocol)?;
            if s.listeners.iter().any(|x| x.port == l.port) {
                return Err(ApiError::new(
                    "DuplicateListener",
                    "A listener already exists on this port for this load balancer",
                ));
            }
            if s.listeners.len() >= MAX_LISTENERS {
                return Err(ApiError::new(
                    "TooManyListeners",
                    format!("The lab's load balancer holds at most {MAX_LISTENERS} listeners"),
                ));
            }
            let out = json!({"Listeners": [self.listener_json(&l)]});
            s.listeners.push(l);
            Ok(out)
        })
    }

    fn describe_listeners(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arns = strings(req, "ListenerArns");
        let lb = req.get("LoadBalancerArn").and_then(Value::as_str);
        if lb.is_none() && arns.is_empty() {
            return Err(validation(
                "You must specify either listener ARNs or a load balancer ARN",
            ));
        }
        if let Some(lb) = lb
            && lb != self.lb.lb_arn()
        {
            return Err(ApiError::new(
                "LoadBalancerNotFound",
                format!("Load balancer '{lb}' not found"),
            ));
        }
        let items = self.lb.read(|s| {
            if arns
                .iter()
                .any(|a| !s.listeners.iter().any(|l| &l.arn == a))
            {
                return Err(listener_not_found());
            }
            let mut ls: Vec<&Listener> = s
                .listeners
                .iter()
                .filter(|l| arns.is_empty() || arns.contains(&l.arn))
                .collect();
            ls.sort_by_key(|l| l.port);
            Ok(ls.into_iter().map(|l| self.listener_json(l)).collect())
        })?;
        paged(req, items, "Listeners")
    }

    /// Fields left out keep their values; lists given replace the old ones whole.
    fn modify_listener(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = text(req, "ListenerArn")?;
        self.lb.write(|s| {
            let mut l = s
                .listeners
                .iter()
                .find(|l| l.arn == arn)
                .cloned()
                .ok_or_else(listener_not_found)?;
            if let Some(p) = req.get("Protocol").and_then(Value::as_str) {
                l.protocol = p.into();
            }
            if let Some(p) = number(req, "Port")? {
                l.port = u16::try_from(p)
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| validation("Port must be between 1 and 65535"))?;
            }
            self.check_tls(&mut l, req)?;
            let actions = match req.get("DefaultActions") {
                Some(d) => d.clone(),
                None => serde_json::to_value(&l.default_actions).unwrap_or_default(),
            };
            l.default_actions = self.check_actions(s, &actions, &l.protocol)?;
            // A listener turning HTTP keeps no authenticate rule.
            if l.protocol != "HTTPS" {
                for r in s.rules.iter().filter(|r| r.listener == l.arn) {
                    if r.actions
                        .iter()
                        .any(|a| a.authenticate_cognito_config.is_some())
                    {
                        return Err(ApiError::new(
                            "InvalidLoadBalancerAction",
                            format!(
                                "Rule '{}' authenticates, which only an HTTPS listener can do",
                                r.arn
                            ),
                        ));
                    }
                }
            }
            if s.listeners
                .iter()
                .any(|x| x.port == l.port && x.arn != l.arn)
            {
                return Err(ApiError::new(
                    "DuplicateListener",
                    "A listener already exists on this port for this load balancer",
                ));
            }
            let out = json!({"Listeners": [self.listener_json(&l)]});
            if let Some(slot) = s.listeners.iter_mut().find(|x| x.arn == l.arn) {
                *slot = l;
            }
            Ok(out)
        })
    }

    fn delete_listener(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = text(req, "ListenerArn")?;
        self.lb.write(|s| {
            if !s.listeners.iter().any(|l| l.arn == arn) {
                return Err(listener_not_found());
            }
            s.listeners.retain(|l| l.arn != arn);
            s.rules.retain(|r| r.listener != arn);
            Ok(json!({}))
        })
    }

    fn rule_json(r: &ListenerRule) -> Value {
        json!({
            "RuleArn": r.arn,
            "Priority": r.priority.to_string(),
            "Conditions": r.conditions.iter().map(Condition::to_api).collect::<Vec<_>>(),
            "Actions": r.actions.iter().map(Action::to_api).collect::<Vec<_>>(),
            "IsDefault": false,
        })
    }

    fn default_rule_json(l: &Listener) -> Value {
        json!({
            "RuleArn": l.default_rule,
            "Priority": "default",
            "Conditions": [],
            "Actions": l.default_actions.iter().map(Action::to_api).collect::<Vec<_>>(),
            "IsDefault": true,
        })
    }

    fn check_conditions(req: &Map<String, Value>) -> Result<Vec<Condition>, ApiError> {
        let conditions: Vec<Condition> = typed(required(req, "Conditions")?, "Conditions")?;
        if conditions.is_empty() {
            return Err(validation("A rule must have at least one condition"));
        }
        for c in &conditions {
            c.validate().map_err(validation)?;
        }
        for field in ["path-pattern", "host-header", "http-request-method"] {
            if conditions.iter().filter(|c| c.field == field).count() > 1 {
                return Err(validation(format!(
                    "A rule can have at most one '{field}' condition"
                )));
            }
        }
        let values: usize = conditions
            .iter()
            .map(|c| {
                c.all_values().len()
                    + c.http_header_config.as_ref().map_or(0, |h| h.values.len())
                    + c.query_string_config.as_ref().map_or(0, |q| q.values.len())
            })
            .sum();
        if values > 5 {
            return Err(validation(
                "A rule can have at most 5 condition values in all",
            ));
        }
        Ok(conditions)
    }

    fn create_rule(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let listener = text(req, "ListenerArn")?;
        let priority = number(req, "Priority")?.ok_or_else(|| {
            validation("1 validation error detected: Value null at 'priority' failed to satisfy constraint: Member must not be null")
        })?;
        if !(1..=50_000).contains(&priority) {
            return Err(validation(format!(
                "Priority '{priority}' must be between 1 and 50000"
            )));
        }
        let priority = priority as u32;
        let conditions = Self::check_conditions(req)?;
        let actions = required(req, "Actions")?;
        self.lb.write(|s| {
            let l = s
                .listeners
                .iter()
                .find(|l| l.arn == listener)
                .ok_or_else(listener_not_found)?;
            let actions = self.check_actions(s, actions, &l.protocol)?;
            if s.rules
                .iter()
                .any(|r| r.listener == listener && r.priority == priority)
            {
                return Err(ApiError::new(
                    "PriorityInUse",
                    format!("Priority '{priority}' is currently in use"),
                ));
            }
            if s.rules.len() >= MAX_RULES {
                return Err(ApiError::new(
                    "TooManyRules",
                    format!("A load balancer can have at most {MAX_RULES} rules"),
                ));
            }
            let rule = ListenerRule {
                arn: elb::rule_arn(listener),
                listener: listener.into(),
                priority,
                conditions,
                actions,
            };
            let out = json!({"Rules": [Self::rule_json(&rule)]});
            s.rules.push(rule);
            Ok(out)
        })
    }

    fn describe_rules(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let listener = req.get("ListenerArn").and_then(Value::as_str);
        let arns = strings(req, "RuleArns");
        if listener.is_none() == arns.is_empty() {
            return Err(validation(
                "You must specify either a listener ARN or rule ARNs, not both",
            ));
        }
        let items = self.lb.read(|s| {
            let mut out: Vec<Value> = Vec::new();
            if let Some(arn) = listener {
                let l = s
                    .listeners
                    .iter()
                    .find(|l| l.arn == arn)
                    .ok_or_else(listener_not_found)?;
                let mut rules: Vec<&ListenerRule> =
                    s.rules.iter().filter(|r| r.listener == arn).collect();
                rules.sort_by_key(|r| r.priority);
                out.extend(rules.into_iter().map(Self::rule_json));
                out.push(Self::default_rule_json(l));
            } else {
                for a in &arns {
                    if let Some(r) = s.rules.iter().find(|r| &r.arn == a) {
                        out.push(Self::rule_json(r));
                    } else if let Some(l) = s.listeners.iter().find(|l| &l.default_rule == a) {
                        out.push(Self::default_rule_json(l));
                    } else {
                        return Err(rule_not_found());
                    }
                }
            }
            Ok(out)
        })?;
        paged(req, items, "Rules")
    }

    /// Conditions and actions left out stay as they are; the priority changes only with
    /// SetRulePriorities. A default rule takes new actions only.
    fn modify_rule(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = text(req, "RuleArn")?;
        let conditions = match req.get("Conditions") {
            Some(_) => Some(Self::check_conditions(req)?),
            None => None,
        };
        self.lb.write(|s| {
            if let Some(i) = s.listeners.iter().position(|l| l.default_rule == arn) {
                if conditions.is_some() {
                    return Err(ApiError::new(
                        "OperationNotPermitted",
                        "The conditions of a default rule cannot be modified",
                    ));
                }
                if let Some(a) = req.get("Actions") {
                    let protocol = s.listeners[i].protocol.clone();
                    let actions = self.check_actions(s, a, &protocol)?;
                    s.listeners[i].default_actions = actions;
                }
                return Ok(json!({"Rules": [Self::default_rule_json(&s.listeners[i])]}));
            }
            let i = s
                .rules
                .iter()
                .position(|r| r.arn == arn)
                .ok_or_else(rule_not_found)?;
            let protocol = s
                .listeners
                .iter()
                .find(|l| l.arn == s.rules[i].listener)
                .map_or_else(|| "HTTP".to_owned(), |l| l.protocol.clone());
            let actions = match req.get("Actions") {
                Some(a) => Some(self.check_actions(s, a, &protocol)?),
                None => None,
            };
            let r = &mut s.rules[i];
            if let Some(c) = conditions {
                r.conditions = c;
            }
            if let Some(a) = actions {
                r.actions = a;
            }
            Ok(json!({"Rules": [Self::rule_json(r)]}))
        })
    }

    fn set_rule_priorities(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let list = required(req, "RulePriorities")?
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut wanted: Vec<(String, u32)> = Vec::new();
        for p in &list {
            let arn = p
                .get("RuleArn")
                .and_then(Value::as_str)
                .ok_or_else(|| validation("Each rule priority needs a RuleArn"))?;
            let priority = p
                .get("Priority")
                .and_then(Value::as_u64)
                .filter(|p| (1..=50_000).contains(p))
                .ok_or_else(|| validation("Each priority must be between 1 and 50000"))?;
            wanted.push((arn.into(), priority as u32));
        }
        self.lb.write(|s| {
            let mut next = s.rules.clone();
            for (arn, priority) in &wanted {
                if s.listeners.iter().any(|l| &l.default_rule == arn) {
                    return Err(ApiError::new(
                        "OperationNotPermitted",
                        "The priority of a default rule cannot be changed",
                    ));
                }
                let r = next
                    .iter_mut()
                    .find(|r| &r.arn == arn)
                    .ok_or_else(rule_not_found)?;
                r.priority = *priority;
            }
            for (arn, _) in &wanted {
                let r = next
                    .iter()
                    .find(|r| &r.arn == arn)
                    .ok_or_else(rule_not_found)?;
                if next
                    .iter()
                    .any(|o| o.arn != r.arn && o.listener == r.listener && o.priority == r.priority)
                {
                    return Err(ApiError::new(
                        "PriorityInUse",
                        format!("Priority '{}' is currently in use", r.priority),
                    ));
                }
            }
            let out: Vec<Value> = wanted
                .iter()
                .filter_map(|(arn, _)| next.iter().find(|r| &r.arn == arn))
                .map(Self::rule_json)
                .collect();
            s.rules = next;
            Ok(json!({"Rules": out}))
        })
    }

    fn delete_rule(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let arn = text(req, "RuleArn")?;
        self.lb.write(|s| {
            if s.listeners.iter().any(|l| l.default_rule == arn) {
                return Err(ApiError::new(
                    "OperationNotPermitted",
                    "A default rule cannot be deleted",
                ));
            }
            if !s.rules.iter().any(|r| r.arn == arn) {
                return Err(rule_not_found());
            }
            s.rules.retain(|r| r.arn != arn);
            Ok(json!({}))
        })
    }
}

fn health(state: &str, reason: Option<&str>, description: &str) -> Value {
    json!({"State": state, "Reason": reason, "Description": description})
}

/// A name for a load balancer or target group: 1 to 32 alphanumerics and hyphens, no hyphen
/// at either end.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "Target group name '{name}' can have a maximum of 32 characters, contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen"
        )))
    }
}

/// `200`, `200,302` or `200-299`, each code within 200–499.
pub fn parse_matcher(code: &str) -> Option<Vec<(u16, u16)>> {
    code.split(',')
        .map(|part| {
            let (lo, hi) = match part.trim().split_once('-') {
                Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
                None => {
                    let c = part.trim().parse().ok()?;
                    (c, c)
                }
            };
            ((200..=499).contains(&lo) && (lo..=499).contains(&hi)).then_some((lo, hi))
        })
        .collect()
}

/// ISO 8601 with milliseconds, as the Query protocol writes timestamps.
fn iso(epoch: f64) -> String {
    cognito_learning_tokens::time::utc_millis((epoch * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_forms_become_trees() {
        let body = b"Action=CreateRule&Version=2015-12-01&ListenerArn=L&Priority=10\
&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fv1%2Fsecrets%2A\
&Actions.member.2.Type=forward&Actions.member.2.Order=2&Actions.member.2.TargetGroupArn=T\
&Actions.member.1.Type=authenticate-cognito&Actions.member.1.Order=1\
&Actions.member.1.AuthenticateCognitoConfig.AuthenticationRequestExtraParams.entry.1.key=lang\
&Actions.member.1.AuthenticateCognitoConfig.AuthenticationRequestExtraParams.entry.1.value=en&Tags=";
        let (action, version, tree) = parse_form(body);
        assert_eq!(action.as_deref(), Some("CreateRule"));
        assert_eq!(version.as_deref(), Some(VERSION));
        assert_eq!(tree["Priority"], 10);
        assert_eq!(
            tree["Conditions"][0]["PathPatternConfig"]["Values"][0],
            "/v1/secrets*"
        );
        assert_eq!(tree["Actions"][0]["Type"], "authenticate-cognito");
        assert_eq!(tree["Actions"][1]["Order"], 2);
        assert_eq!(
            tree["Actions"][0]["AuthenticateCognitoConfig"]["AuthenticationRequestExtraParams"]["lang"],
            "en"
        );
    }

    #[test]
    fn results_become_xml() {
        let resp = ok(
            "DescribeRules",
            &json!({"Rules": [{"Priority": "10", "IsDefault": false, "Actions": [{"Type": "authenticate-cognito",
                "AuthenticateCognitoConfig": {"AuthenticationRequestExtraParams": {"a": "<b>"}}}]}]}),
        );
        let crate::http::Body::Whole(Some(body)) = resp.body() else {
            panic!("a whole body")
        };
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.starts_with("<DescribeRulesResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeRulesResult><Rules><member><Priority>10</Priority><IsDefault>false</IsDefault>"), "{body}");
        assert!(body.contains("<AuthenticationRequestExtraParams><entry><key>a</key><value>&lt;b&gt;</value></entry></AuthenticationRequestExtraParams>"));
        assert!(body.contains("<ResponseMetadata><RequestId>"));
    }

    #[test]
    fn matchers_read_as_the_api_writes_them() {
        assert_eq!(parse_matcher("200"), Some(vec![(200, 200)]));
        assert_eq!(parse_matcher("200,302"), Some(vec![(200, 200), (302, 302)]));
        assert_eq!(parse_matcher("200-299"), Some(vec![(200, 299)]));
        assert_eq!(parse_matcher("600"), None);
        assert_eq!(parse_matcher("abc"), None);
    }
}
