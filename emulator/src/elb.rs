//! The lab's load balancer as ELBv2's control plane describes it: one Application Load
//! Balancer, and the target groups, listeners and rules a learner builds on it with
//! `aws elbv2` (served by `crate::aws::elbv2`). The ALB stand-in runs what is here: the
//! listener it serves and that listener's rules, in priority order (`crate::alb::served`).
//!
//! The lab has one socket for its ALB, so it serves one listener: the HTTPS one if there is
//! one (the socket is plain HTTP on loopback, standing in for 443), else the HTTP one.
//!
//! The state is one JSON file in the state directory (0600), written after each change; like
//! the user pools, it remembers the seed it grew from, and a lab started with another seed
//! (`--blank`, another `--config`) starts from that one. Every list is bounded.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::alb::rules::{Action, Condition, Rule};
use crate::aws::ApiError;
use crate::saved::Saved;

pub const FILE: &str = "elbv2.json";
pub const ACCOUNT: &str = "123456789012";
pub const LB_NAME: &str = "cognito-learning";
pub const LB_ID: &str = "4c2a8f6e1b3d5a79";
/// The lab's VPC, as its load balancer and its instance report it.
pub const VPC_ID: &str = "vpc-0a1b2c3d4e5f60718";
/// The port the app listens on inside the lab's one instance, as on the course's EC2 instance.
pub const APP_PORT: u16 = 5000;
/// The lab's own target group, in a built lab.
pub const LAB_TARGET_GROUP: &str = "cognito-learning";
pub const MAX_TARGET_GROUPS: usize = 20;
pub const MAX_TARGETS: usize = 20;
pub const MAX_LISTENERS: usize = 10;
/// Rules per load balancer, not counting default rules (the ALB quota).
pub const MAX_RULES: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub port: u16,
    pub vpc_id: String,
    pub target_type: String,
    pub health_check_enabled: bool,
    pub health_check_protocol: String,
    pub health_check_port: String,
    pub health_check_path: String,
    pub interval: u32,
    pub timeout: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: String,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Listener {
    pub arn: String,
    pub port: u16,
    pub protocol: String,
    pub certificates: Vec<String>,
    pub ssl_policy: Option<String>,
    pub default_actions: Vec<Action>,
    /// The ARN of its default rule.
    pub default_rule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ListenerRule {
    pub arn: String,
    pub listener: String,
    pub priority: u32,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    pub created: f64,
    pub target_groups: Vec<TargetGroup>,
    pub listeners: Vec<Listener>,
    pub rules: Vec<ListenerRule>,
}

/// What a new lab starts with.
#[derive(Debug, Clone)]
pub enum Seed {
    /// Only the load balancer.
    Blank,
    /// A target group with the app registered, an HTTPS listener forwarding to it, and these
    /// rules on it. `{app}` is that target group; an authenticate action's empty pool, client
    /// and domain are the lab's.
    Built {
        rules: Vec<Rule>,
        pool_arn: String,
        client_id: String,
        domain: String,
    },
}

#[derive(Debug)]
pub struct LoadBalancing {
    pub region: String,
    saved: Saved<State>,
}

pub fn lb_arn(region: &str) -> String {
    format!("arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{LB_NAME}/{LB_ID}")
}

/// The one certificate the lab holds, for `localhost`.
pub fn certificate_arn(region: &str) -> String {
    format!("arn:aws:acm:{region}:{ACCOUNT}:certificate/6f1c2b8e-4d3a-4e5f-9a7b-1c0d2e3f4a5b")
}

/// Sixteen hex digits, as ELB ids are.
pub fn hex_id() -> String {
    let s = crate::state::uuid().replace('-', "");
    s[..16].to_owned()
}

impl TargetGroup {
    /// A target group with the API's defaults for an HTTP target group.
    pub fn new(region: &str, name: &str, port: u16, vpc_id: &str) -> Self {
        Self {
            arn: format!(
                "arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/{name}/{}",
                hex_id()
            ),
            name: name.into(),
            protocol: "HTTP".into(),
            port,
            vpc_id: vpc_id.into(),
            target_type: "instance".into(),
            health_check_enabled: true,
            health_check_protocol: "HTTP".into(),
            health_check_port: "traffic-port".into(),
            health_check_path: "/".into(),
            interval: 30,
            timeout: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: "200".into(),
            targets: Vec::new(),
        }
    }
}

impl State {
    /// The listener the lab's socket serves: HTTPS first, then HTTP, lowest port first.
    pub fn served_listener(&self) -> Option<&Listener> {
        self.listeners
            .iter()
            .filter(|l| l.protocol == "HTTPS")
            .min_by_key(|l| l.port)
            .or_else(|| self.listeners.iter().min_by_key(|l| l.port))
    }

    pub fn target_group(&self, arn: &str) -> Option<&TargetGroup> {
        self.target_groups.iter().find(|t| t.arn == arn)
    }

    /// Whether a listener's default action or a rule forwards to the target group.
    pub fn in_use(&self, tg_arn: &str) -> bool {
        self.listeners
            .iter()
            .flat_map(|l| &l.default_actions)
            .chain(self.rules.iter().flat_map(|r| &r.actions))
            .any(|a| a.target_groups().contains(&tg_arn))
    }
}

impl LoadBalancing {
    /// The state kept in `state_dir`, or a new one grown from `seed`.
    pub fn open(state_dir: Option<&Path>, region: &str, seed: &Seed) -> anyhow::Result<Self> {
        let seed_key = match seed {
            Seed::Blank => "blank".to_owned(),
            Seed::Built { rules, .. } => serde_json::to_string(rules)?,
        };
        Ok(Self {
            region: region.into(),
            saved: Saved::open(
                state_dir.map(|d| d.join(FILE)),
                "its load balancer",
                seed_key,
                || from_seed(region, seed),
            )?,
        })
    }

    pub fn generation(&self) -> u64 {
        self.saved.generation()
    }

    pub fn lb_arn(&self) -> String {
        lb_arn(&self.region)
    }

    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.saved.read(f)
    }

    /// Runs a change; when it succeeds, the state is saved and the ALB sees it at its next
    /// request. A change checks what it is given before it changes anything.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut State) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        self.saved.write(f, || {})
    }
}

fn listener_arn(region: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:listener/app/{LB_NAME}/{LB_ID}/{}",
        hex_id()
    )
}

/// A new listener with its default rule's ARN.
pub fn new_listener(region: &str, port: u16, protocol: &str) -> Listener {
    let arn = listener_arn(region);
    let default_rule = rule_arn(&arn);
    Listener {
        arn,
        port,
        protocol: protocol.into(),
        certificates: Vec::new(),
        ssl_policy: None,
        default_actions: Vec::new(),
        default_rule,
    }
}

/// A new rule ARN on a listener.
pub fn rule_arn(listener_arn: &str) -> String {
    format!(
        "{}/{}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1),
        hex_id()
    )
}

fn from_seed(region: &str, seed: &Seed) -> anyhow::Result<State> {
    let created = crate::cognito::directory::epoch();
    let Seed::Built {
        rules,
        pool_arn,
        client_id,
        domain,
    } = seed
    else {
        return Ok(State {
            created,
            ..State::default()
        });
    };
    let mut tg = TargetGroup::new(region, LAB_TARGET_GROUP, APP_PORT, VPC_ID);
    tg.health_check_path = "/v1/public".into();
    tg.targets.push(Target {
        id: cognito_learning_contract::ssm::INSTANCE_ID.into(),
        port: APP_PORT,
    });
    let fill = |actions: &[Action]| -> anyhow::Result<Vec<Action>> {
        // A lab file may leave out `Order`: the actions then run as written.
        let unordered = actions.iter().all(|a| a.order.is_none()) && actions.len() > 1;
        let filled: Vec<Action> = actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut a = a.clone();
                if unordered {
                    a.order = u32::try_from(i + 1).ok();
                }
                if a.target_group_arn.as_deref() == Some("{app}") {
                    a.target_group_arn = Some(tg.arn.clone());
                }
                if let Some(f) = &mut a.forward_config {
                    for g in &mut f.target_groups {
                        if g.target_group_arn == "{app}" {
                            g.target_group_arn.clone_from(&tg.arn);
                        }
                    }
                }
                if let Some(c) = &mut a.authenticate_cognito_config {
                    if c.user_pool_arn.is_empty() {
                        c.user_pool_arn.clone_from(pool_arn);
                    }
                    if c.user_pool_client_id.is_empty() {
                        c.user_pool_client_id.clone_from(client_id);
                    }
                    if c.user_pool_domain.is_empty() {
                        c.user_pool_domain.clone_from(domain);
                    }
                }
                a
            })
            .collect();
        crate::alb::rules::check_actions(&filled)
            .map_err(|e| anyhow::anyhow!("a listener rule of the lab: {e}"))
    };
    let mut https = new_listener(region, 443, "HTTPS");
    https.certificates = vec![certificate_arn(region)];
    https.ssl_policy = Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into());
    https.default_actions = vec![Action::forward(&tg.arn)];
    let mut out = Vec::new();
    for r in rules {
        match r.priority {
            None => https.default_actions = fill(&r.actions)?,
            Some(priority) => out.push(ListenerRule {
                arn: rule_arn(&https.arn),
                listener: https.arn.clone(),
                priority,
                conditions: r.conditions.clone(),
                actions: fill(&r.actions)?,
            }),
        }
    }
    // HTTP:80 sends browsers to HTTPS, as lesson 8 leaves it.
    let mut http = new_listener(region, 80, "HTTP");
    http.default_actions = vec![Action::to_https()];
    Ok(State {
        created,
        target_groups: vec![tg],
        listeners: vec![https, http],
        rules: out,
    })
}

/// Where a registered target leads in the lab: port 5000 of the lab's instance is the app; an
/// `ip` target on 127.0.0.1 is that port on this machine. Anything else answers nothing.
pub fn target_url(tg: &TargetGroup, id: &str, port: u16, app: &str) -> Option<String> {
    match tg.target_type.as_str() {
        "instance" if id == cognito_learning_contract::ssm::INSTANCE_ID && port == APP_PORT => {
            Some(app.trim_end_matches('/').to_owned())
        }
        "ip" if id == "127.0.0.1" => Some(format!("http://127.0.0.1:{port}")),
        _ => None,
    }
}
