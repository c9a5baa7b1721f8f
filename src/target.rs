//! What the checks run against: the local lab, or the learner's own AWS account.
//!
//! Either way a [`Target`] is the same thing: the values of the lesson variables, the demo
//! users' passwords, an HTTP client that follows no redirects, the CloudWatch Logs and SSM
//! clients, and the verifiers for the tokens the app logs.

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::Args;
use cognito_learning_contract::lab::LabInfo;
use cognito_learning_tokens::keys::AlbKeys;
use cognito_learning_tokens::{AlbExpectations, AlbVerifier, CognitoVerifier};

use crate::account::Account;
use crate::lessons::Track;
use crate::stream::Checks;

/// The cloud track's settings: flags, or `COGNITO_LEARNING_*` environment variables. Profile and
/// Region come from the standard AWS chain unless given.
#[derive(Debug, Clone, Default, Args)]
pub struct CloudSettings {
    /// The AWS profile (else AWS_PROFILE, else the default chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// The AWS Region (else AWS_REGION or the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// The site's URL, as a browser opens it: https://app.example.com
    #[arg(long, env = "COGNITO_LEARNING_SITE")]
    pub site: Option<String>,
    /// The load balancer's own URL: http://NAME.REGION.elb.amazonaws.com
    #[arg(long, env = "COGNITO_LEARNING_ALB")]
    pub alb: Option<String>,
    /// The Cognito domain: a prefix (`myapp`) or a URL (https://auth.example.com).
    #[arg(long, env = "COGNITO_LEARNING_COGNITO_DOMAIN")]
    pub cognito_domain: Option<String>,
    #[arg(long, env = "COGNITO_LEARNING_USER_POOL_ID")]
    pub user_pool_id: Option<String>,
    #[arg(long, env = "COGNITO_LEARNING_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The ALB's ARN: the `signer` its tokens must carry.
    #[arg(long, env = "COGNITO_LEARNING_ALB_ARN")]
    pub alb_arn: Option<String>,
    /// The app's EC2 instance id.
    #[arg(long, env = "COGNITO_LEARNING_INSTANCE")]
    pub instance: Option<String>,
    #[arg(
        long,
        env = "COGNITO_LEARNING_LOG_GROUP",
        default_value = "cognito-learning"
    )]
    pub log_group: String,
    /// The user pool's issuer, if not https://cognito-idp.REGION.amazonaws.com/POOL_ID.
    #[arg(long, env = "COGNITO_LEARNING_ISSUER")]
    pub issuer: Option<String>,
    /// Where the ALB's public keys are, if not https://public-keys.auth.elb.REGION.amazonaws.com.
    #[arg(long, env = "COGNITO_LEARNING_ALB_KEYS_URL")]
    pub alb_keys_url: Option<String>,
    /// The VPC: its id (vpc-…), or the value of its Name tag.
    #[arg(long, env = "COGNITO_LEARNING_VPC", default_value = "cognito-learning")]
    pub vpc: String,
    /// The CodePipeline pipeline that deploys the app.
    #[arg(
        long,
        env = "COGNITO_LEARNING_PIPELINE",
        default_value = "cognito-learning"
    )]
    pub pipeline: String,
    /// How the guide follows the log group: `live-tail` (StartLiveTail, an update a second,
    /// billed per session minute past the free tier) or `poll` (FilterLogEvents).
    #[arg(
        long,
        env = "COGNITO_LEARNING_FOLLOW",
        default_value = "live-tail",
        value_parser = ["live-tail", "poll"]
    )]
    pub follow: String,
}

/// Everything a check needs.
#[derive(Debug)]
pub struct Target {
    pub track: Track,
    /// One line for the top of the screen.
    pub label: String,
    pub vars: BTreeMap<String, String>,
    pub passwords: BTreeMap<String, String>,
    pub http: reqwest::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ssm: aws_sdk_ssm::Client,
    /// The account's other services, for the checks of resource state (cloud track).
    pub account: Option<Account>,
    pub tokens: Arc<Checks>,
    /// Whether the token stream follows with Live Tail (else it polls).
    pub live_tail: bool,
    /// The lab's details (local track), to notice when it restarts.
    pub lab: Option<LabInfo>,
}

/// The entry of a local target's variables that says whether its lab started blank.
pub const LAB_MODE: &str = "lab";

/// A URL's host name.
pub fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok()?.host_str().map(str::to_owned)
}

/// A URL's `host:port`, the scheme's port when none is written.
pub fn addr_of(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
}

fn http_client() -> reqwest::Client {
    crate::browser::client().unwrap_or_default()
}

impl Target {
    pub fn local(i: &LabInfo) -> Self {
        let host = host_of(&i.alb).unwrap_or_else(|| "localhost".into());
        let host = host.as_str();
        let vars = [
            ("site", i.alb.as_str()),
            ("site_host", host),
            ("alb", i.alb.as_str()),
            ("alb_host", host),
            ("cognito", i.cognito.as_str()),
            ("issuer", i.issuer.as_str()),
            ("client_id", i.client_id.as_str()),
            ("user_pool_id", i.user_pool_id.as_str()),
            ("region", i.region.as_str()),
            ("log_group", "cognito-learning"),
            ("instance", cognito_learning_contract::ssm::INSTANCE_ID),
            ("alb_arn", i.alb_arn.as_str()),
            ("certificate_arn", i.certificate_arn.as_str()),
            ("app", i.server.as_str()),
            // Not a lesson variable: which of a step's notes the guide shows.
            (LAB_MODE, if i.blank { "blank" } else { "built" }),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (key, secret) = (&i.aws_access_key_id, &i.aws_secret_access_key);
        Self {
            track: Track::Local,
            label: "local lab".into(),
            vars,
            passwords: i
                .users
                .iter()
                .map(|u| (u.username.clone(), u.password.clone()))
                .collect(),
            http: http_client(),
            logs: crate::stream::lab_client(&i.aws, &i.region, key, secret),
            ssm: crate::instance::lab_client(&i.aws, &i.region, key, secret),
            // The lab's control plane answers the calls that say why a sign-in failed.
            account: Some(Account::new(crate::aws::lab_config(
                &i.aws, &i.region, key, secret,
            ))),
            tokens: Arc::new(Checks {
                alb: AlbVerifier::new(
                    AlbKeys::new(&i.alb_key_url),
                    AlbExpectations {
                        signer: i.alb_arn.clone(),
                        issuer: Some(i.issuer.clone()),
                        client: Some(i.client_id.clone()),
                    },
                ),
                cognito: CognitoVerifier::new(&i.issuer, &i.client_id),
            }),
            // The lab serves Live Tail too, but polling it every 400 ms shows a request
            // sooner than an update a second can.
            live_tail: false,
            lab: Some(i.clone()),
        }
    }

    /// The learner's account. Passwords for the lessons' users come from
    /// `COGNITO_LEARNING_PASSWORD_<USER>` (`COGNITO_LEARNING_PASSWORD_ALICE`).
    pub async fn cloud(s: &CloudSettings) -> Self {
        let config = crate::aws::account_config(s.profile.as_deref(), s.region.as_deref()).await;
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .or_else(|| s.region.clone());
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                vars.insert(k.to_owned(), v.trim_end_matches('/').to_owned());
            }
        };
        let site_host = s.site.as_deref().and_then(host_of);
        let cognito = match (&s.cognito_domain, &region) {
            (Some(d), _) if d.contains("://") => Some(d.clone()),
            (Some(d), Some(r)) => Some(format!("https://{d}.auth.{r}.amazoncognito.com")),
            _ => None,
        };
        let issuer = match (&s.issuer, &s.user_pool_id, &region) {
            (Some(i), _, _) => Some(i.clone()),
            (None, Some(p), Some(r)) => Some(format!("https://cognito-idp.{r}.amazonaws.com/{p}")),
            _ => None,
        };
        set("site", s.site.clone());
        set("site_host", site_host);
        set("alb", s.alb.clone());
        set("alb_host", s.alb.as_deref().and_then(host_of));
        set("cognito", cognito);
        set("issuer", issuer.clone());
        set("client_id", s.client_id.clone());
        set("user_pool_id", s.user_pool_id.clone());
        set("region", region.clone());
        set("log_group", Some(s.log_group.clone()));
        set("instance", s.instance.clone());
        set("alb_arn", s.alb_arn.clone());
        set("vpc", Some(s.vpc.clone()));
        set("pipeline", Some(s.pipeline.clone()));
        let passwords = std::env::vars()
            .filter_map(|(k, v)| {
                k.strip_prefix("COGNITO_LEARNING_PASSWORD_")
                    .map(|u| (u.to_lowercase(), v))
            })
            .collect();
        let key_base = s.alb_keys_url.clone().unwrap_or_else(|| {
            format!(
                "https://public-keys.auth.elb.{}.amazonaws.com",
                region.as_deref().unwrap_or("us-east-1")
            )
        });
        let issuer = issuer.unwrap_or_default();
        let client_id = s.client_id.clone().unwrap_or_default();
        Self {
            track: Track::Cloud,
            label: format!(
                "AWS {}{}",
                region.as_deref().unwrap_or("(no region)"),
                s.profile
                    .as_deref()
                    .map(|p| format!(" · profile {p}"))
                    .unwrap_or_default()
            ),
            vars,
            passwords,
            http: http_client(),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            account: Some(Account::new(config.clone())),
            tokens: Arc::new(Checks {
                alb: AlbVerifier::new(
                    AlbKeys::new(key_base),
                    AlbExpectations {
                        signer: s.alb_arn.clone().unwrap_or_default(),
                        issuer: Some(issuer.clone()),
                        client: Some(client_id.clone()),
                    },
                ),
                cognito: CognitoVerifier::new(issuer, client_id),
            }),
            live_tail: s.follow == "live-tail",
            lab: None,
        }
    }

    /// `s` with the target's values; `Err` says which setting to give.
    pub fn render(&self, s: &str) -> Result<String, String> {
        crate::lessons::render(s, &self.vars).map_err(|e| match self.track {
            Track::Local => e,
            _ => format!("{e}: give it with its flag or COGNITO_LEARNING_* variable (see --help)"),
        })
    }

    pub fn password(&self, user: &str) -> Result<&str, String> {
        self.passwords.get(user).map(String::as_str).ok_or_else(|| {
            format!(
                "no password for {user}: set COGNITO_LEARNING_PASSWORD_{}",
                user.to_uppercase()
            )
        })
    }
}
