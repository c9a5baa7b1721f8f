//! What the ALB runs: the served listener's rules, in priority order with the default rule
//! last, each action resolved against the lab's state. A forward names where its target
//! group's first registered target leads; an authenticate action carries its app client's
//! secret (the ALB reads it from Cognito, as on AWS), its pool's issuer and a verifier for its
//! ID tokens. Rebuilt when the load balancer or the user pools change.

use std::sync::Arc;

use cognito_learning_tokens::CognitoVerifier;

use super::rules::{AuthConfig, Condition, FixedResponseConfig, RedirectConfig};
use crate::cognito::Directory;
use crate::elb::{self, LoadBalancing};

#[derive(Debug, Default)]
pub struct Served {
    /// The listener's protocol (`HTTPS` or `HTTP`), empty when there is no listener.
    pub protocol: String,
    pub rules: Vec<Compiled>,
    /// The pool issuer and app client of the first authenticate action: what the lab's app
    /// is told to expect.
    pub identity: Option<(String, String)>,
}

#[derive(Debug)]
pub struct Compiled {
    pub conditions: Vec<Condition>,
    pub steps: Vec<Step>,
}

#[derive(Debug)]
pub enum Step {
    Authenticate(Arc<AuthStep>),
    Forward(Upstream),
    Redirect(RedirectConfig),
    Fixed(FixedResponseConfig),
}

#[derive(Debug)]
pub enum Upstream {
    Url(String),
    /// The target group has no registered target: the ALB answers 503.
    NoTargets,
    /// Its target leads nowhere in the lab (another instance, another port): 502.
    Nowhere(String),
}

#[derive(Debug)]
pub struct AuthStep {
    pub config: AuthConfig,
    pub client_id: String,
    /// Empty when the client is gone or has none; the token endpoint then refuses the ALB.
    pub client_secret: String,
    pub issuer: String,
    /// The hosted UI's origin when the rule's domain is the one the lab serves; otherwise the
    /// domain's public address, which a browser cannot reach from the lab, as on AWS.
    pub origin: String,
    pub verifier: CognitoVerifier,
}

impl AuthStep {
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/oauth2/authorize", self.origin)
    }
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/token", self.origin)
    }
    pub fn userinfo_endpoint(&self) -> String {
        format!("{}/oauth2/userInfo", self.origin)
    }
}

impl Served {
    /// The authenticate step that uses `cookie` for `client`, wherever it is.
    pub fn auth_for(&self, cookie: &str, client: &str) -> Option<&Arc<AuthStep>> {
        self.rules
            .iter()
            .flat_map(|r| &r.steps)
            .filter_map(|s| match s {
                Step::Authenticate(a) => Some(a),
                _ => None,
            })
            .find(|a| {
                a.config.session_cookie_name == cookie
                    && (client.is_empty() || a.client_id == client)
            })
    }

    pub fn build(lb: &LoadBalancing, directory: &Directory, cognito_url: &str, app: &str) -> Self {
        // The hosted UI serves the pool the first authenticate rule names.
        let named = lb.read(|s| {
            let l = s.served_listener()?;
            let mut rules: Vec<&elb::ListenerRule> =
                s.rules.iter().filter(|r| r.listener == l.arn).collect();
            rules.sort_by_key(|r| r.priority);
            rules
                .iter()
                .flat_map(|r| &r.actions)
                .chain(&l.default_actions)
                .find_map(|a| a.authenticate_cognito_config.as_ref())
                .map(|c| c.pool_id().to_owned())
        });
        if let Some(pool) = named {
            directory.prefer(&pool);
        }
        let served_pool = directory.served();
        let region = lb.region.clone();
        lb.read(|s| {
            let Some(listener) = s.served_listener() else {
                return Served::default();
            };
            let mut rules: Vec<&elb::ListenerRule> = s
                .rules
                .iter()
                .filter(|r| r.listener == listener.arn)
                .collect();
            rules.sort_by_key(|r| r.priority);
            let mut identity = None;
            let mut compile = |conditions: &[Condition], actions: &[super::rules::Action]| {
                let mut sorted = actions.to_vec();
                sorted.sort_by_key(|a| a.order.unwrap_or(1));
                let steps = sorted
                    .iter()
                    .filter_map(|a| match a.kind.as_str() {
                        "authenticate-cognito" => {
                            let c = a.authenticate_cognito_config.clone()?;
                            let pool_id = c.pool_id().to_owned();
                            let (secret, domain) = directory.read(|pools| {
                                let pool = pools.iter().find(|p| p.id == pool_id);
                                let secret = pool
                                    .and_then(|p| {
                                        p.clients.iter().find(|cl| cl.id == c.user_pool_client_id)
                                    })
                                    .and_then(|cl| cl.secret.clone())
                                    .unwrap_or_default();
                                let domain = pool
                                    .and_then(|p| p.domain.as_ref())
                                    .map(|d| d.prefix.clone());
                                (secret, domain)
                            });
                            let fqdn =
                                |prefix: &str| format!("{prefix}.auth.{region}.amazoncognito.com");
                            let named = c.user_pool_domain.clone();
                            let ours = served_pool.exists
                                && served_pool.pool_id == pool_id
                                && domain
                                    .as_ref()
                                    .is_some_and(|d| *d == named || fqdn(d) == named);
                            let origin = if ours {
                                cognito_url.to_owned()
                            } else if named.contains('.') {
                                format!("https://{named}")
                            } else {
                                format!("https://{}", fqdn(&named))
                            };
                            let issuer = format!("{cognito_url}/{pool_id}");
                            if identity.is_none() {
                                identity = Some((issuer.clone(), c.user_pool_client_id.clone()));
                            }
                            Some(Step::Authenticate(Arc::new(AuthStep {
                                verifier: CognitoVerifier::new(&issuer, &c.user_pool_client_id),
                                client_id: c.user_pool_client_id.clone(),
                                client_secret: secret,
                                issuer,
                                origin,
                                config: c,
                            })))
                        }
                        "forward" => {
                            let arn = a.target_groups().first().map(|s| (*s).to_owned())?;
                            let upstream = match s.target_group(&arn) {
                                Some(tg) => match tg.targets.first() {
                                    None => Upstream::NoTargets,
                                    Some(t) => match elb::target_url(tg, &t.id, t.port, app) {
                                        Some(u) => Upstream::Url(u),
                                        None => Upstream::Nowhere(format!("{}:{}", t.id, t.port)),
                                    },
                                },
                                None => Upstream::NoTargets,
                            };
                            Some(Step::Forward(upstream))
                        }
                        "redirect" => a.redirect_config.clone().map(Step::Redirect),
                        "fixed-response" => a.fixed_response_config.clone().map(Step::Fixed),
                        _ => None,
                    })
                    .collect();
                Compiled {
                    conditions: conditions.to_vec(),
                    steps,
                }
            };
            let mut compiled: Vec<Compiled> = rules
                .iter()
                .map(|r| compile(&r.conditions, &r.actions))
                .collect();
            compiled.push(compile(&[], &listener.default_actions));
            Served {
                protocol: listener.protocol.clone(),
                rules: compiled,
                identity,
            }
        })
    }
}
