//! How to start the lab: ports, where its state lives, and what a learner may change.

use std::path::PathBuf;

use crate::alb;
use crate::alb::rules::Rule;
use crate::cognito::{self, PoolConfig};

/// How to start the lab. Every port may be 0 (any free port).
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub alb_port: u16,
    pub cognito_port: u16,
    pub api_port: u16,
    pub server_port: u16,
    /// Another app to put behind the ALB instead of the built-in server.
    pub upstream: Option<String>,
    pub state_dir: PathBuf,
    /// The group `/v1/secrets` requires of the built-in server (`None`: any signed-in user).
    pub required_group: Option<String>,
    /// Replaces the demo pool (its callback and sign-out URLs are the caller's to set).
    pub pool: Option<PoolConfig>,
    /// Replaces the default listener rules. A `forward` target of `{app}` is the lab's app.
    pub rules: Option<Vec<Rule>>,
    /// Token lifetimes for the demo pool (lessons about expiry shorten them).
    pub lifetimes: Option<cognito::Lifetimes>,
    /// Users for the demo pool instead of alice and bob.
    pub users: Option<Vec<cognito::User>>,
    /// Refuse AWS API requests not signed with the lab's credentials (on unless turned off).
    pub check_signatures: bool,
    /// Seconds a login may take (AWS: 15 minutes, not configurable; tests shorten it).
    pub login_window: u64,
    /// Start with only the load balancer, the instance and its log group: no user pool,
    /// target group, listener or users (`lab --blank`), for a learner who builds the rest.
    pub blank: bool,
    /// A built lab broken in one documented way ([`crate::scenario::SCENARIOS`]).
    pub scenario: Option<String>,
}

impl LabOptions {
    /// The defaults, with every port 0: any free port (tests, benchmarks, a second lab).
    pub fn any_ports() -> Self {
        Self {
            alb_port: 0,
            cognito_port: 0,
            api_port: 0,
            server_port: 0,
            ..Self::default()
        }
    }
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            alb_port: 8080,
            cognito_port: 9229,
            api_port: 4566,
            server_port: 5000,
            upstream: None,
            state_dir: cognito_learning_contract::lab::default_state_dir(),
            required_group: Some("secret-readers".into()),
            pool: None,
            rules: None,
            lifetimes: None,
            users: None,
            check_signatures: true,
            login_window: alb::LOGIN_WINDOW,
            blank: false,
            scenario: None,
        }
    }
}
