//! The kinds of check a lesson step may hold, as its file writes them (`kind = "http"`, …),
//! with their defaults.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a check does, by `kind`. Strings may use the `{name}` variables in [`super::VARIABLES`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Kind {
    /// One request, no redirects followed, no cookies.
    Http {
        url: String,
        #[serde(default = "get")]
        method: String,
        /// Request headers to send (a forged one, say).
        #[serde(default)]
        send: BTreeMap<String, String>,
        status: Option<u16>,
        /// The `Location` header starts with this.
        location: Option<String>,
        /// Each named header contains this text.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The body contains this text.
        body: Option<String>,
        /// A cookie whose name starts with this is set.
        sets_cookie: Option<String>,
    },
    /// A browser's login through the hosted UI, starting at `path` on the site.
    Login {
        user: String,
        #[serde(default = "secrets")]
        path: String,
        #[serde(default = "ok")]
        status: u16,
        body: Option<String>,
    },
    /// After a login, `path` expires the ALB's session cookie and `/v1/secrets` asks again.
    LogoutExpiresCookie {
        user: String,
        #[serde(default = "logout")]
        path: String,
        #[serde(default = "session_cookie")]
        cookie: String,
    },
    /// After a login and `logout`, whether `/v1/secrets` logs straight back in without the form.
    SilentRelogin {
        user: String,
        logout: String,
        silent: bool,
    },
    /// After `user` opens `path`, the app's log shows the request's tokens, verified, with
    /// these claims (of the ALB's `x-amzn-oidc-data` unless `token = "access"`).
    TokenInLogs {
        user: String,
        #[serde(default = "secrets")]
        path: String,
        #[serde(default = "data")]
        token: String,
        #[serde(default)]
        claims: BTreeMap<String, String>,
        /// Read the learner's own request instead of signing in.
        #[serde(default)]
        yours: bool,
    },
    /// The learner's own sign-in: the app's log holds a request of theirs (not the guide's) to
    /// `path` through the ALB, with `user`'s verified data token, answered `status`.
    YourSignIn {
        user: String,
        #[serde(default = "secrets")]
        path: String,
        #[serde(default = "ok")]
        status: u16,
    },
    /// The learner's own logout, `through` the app's `/logout` alone (`app`) or Cognito's
    /// (`cognito`), after which their next sign-in was `silent` or showed the `form` (read
    /// from the lab's trace).
    YourLogout { through: String, then: String },
    /// Something time did to the learner's own session (read from the lab's trace), after the
    /// lab's clock moved on or the time passed: `fresh_data_token` (a request after the data
    /// token's two minutes carried a new one), `refresh` (the ALB refreshed the expired access
    /// token through the back channel), `hosted_ui_hour` (Cognito's session cookie, past its
    /// hour, no longer signed in), `session_timeout` (the ALB's session timed out: a full
    /// sign-in), `refresh_refused` (a refresh after a sign-out was refused: sign in again).
    YourTime { what: String },
    /// The guide demonstrates a [`Kind::YourTime`] with its own browser, moving the lab's clock.
    ShowTime { what: String },
    /// An `x-amzn-oidc-data` the learner sent straight to the app, refused (the app's log).
    YourForgedHeader {
        #[serde(default = "secrets")]
        path: String,
    },
    /// The instance is managed by SSM and online.
    SsmOnline {
        #[serde(default = "instance")]
        instance: String,
    },
    /// One of the project's read-only commands, run on the instance through SSM.
    SsmCommand {
        #[serde(default = "instance")]
        instance: String,
        run: String,
        stdout: Option<String>,
    },
    /// The log group exists.
    LogGroupExists {
        #[serde(default = "log_group")]
        group: String,
    },
    /// A host name resolves (to at least `min_addresses` distinct addresses: an internet-facing
    /// ALB has one per Availability Zone).
    DnsResolves {
        host: String,
        #[serde(default = "one")]
        min_addresses: usize,
    },
    /// `https://host/` presents a certificate valid for `host` that chains to a trusted root.
    TlsCertificate { host: String },
    /// Nothing answers at `url` any more: the name does not resolve, or the connection is
    /// refused or times out (for checking a tear-down).
    Unreachable { url: String },
    /// The issuer's OpenID discovery document and its JWKS are valid for Cognito.
    OidcDiscovery {
        #[serde(default = "issuer")]
        issuer: String,
    },
    /// The VPC (an id, or its `Name` tag) has public subnets in two or more Availability Zones
    /// and a private one (cloud track).
    Network {
        #[serde(default = "vpc")]
        vpc: String,
    },
    /// An available NAT gateway in a public subnet that a private subnet routes through.
    NatGateway {
        #[serde(default = "vpc")]
        vpc: String,
    },
    /// The ALB is active in two or more zones and every target of its target groups is healthy.
    TargetsHealthy {
        #[serde(default = "alb_arn")]
        alb_arn: String,
    },
    /// A V2 pipeline with source, build and deploy stages, whose latest build succeeded.
    PipelineBuilds {
        #[serde(default = "pipeline")]
        pipeline: String,
    },
    /// The latest deployment of the pipeline's CodeDeploy action succeeded.
    Deployed {
        #[serde(default = "pipeline")]
        pipeline: String,
    },
    /// ACM holds an issued certificate that covers `host`.
    Certificate { host: String },
    /// The ALB has an HTTPS:443 listener with a certificate, and its HTTP:80 listener (if any)
    /// redirects to HTTPS with a 301 (DescribeListeners).
    Listeners {
        #[serde(default = "alb_arn")]
        alb_arn: String,
    },
    /// The app client `{client_id}` of `{user_pool_id}` has what the ALB's sign-in and the
    /// proper logout need (DescribeUserPoolClient).
    AppClient {},
    /// Lists what bills by the hour in the VPC (and unattached Elastic IPs); with `none`,
    /// passes only when nothing does.
    HourlyCosts {
        #[serde(default = "vpc")]
        vpc: String,
        #[serde(default)]
        none: bool,
    },
    /// The listener rule for `/v1/secrets` and the app client it names have nothing the ALB's
    /// sign-in or the proper logout would trip on (read with DescribeRules and
    /// DescribeUserPoolClient, from the lab or the learner's account).
    Sound {},
}

pub(super) fn get() -> String {
    "GET".into()
}
pub(super) fn secrets() -> String {
    "/v1/secrets".into()
}
pub(super) fn logout() -> String {
    "/logout".into()
}
pub(super) fn ok() -> u16 {
    200
}
pub(super) fn one() -> usize {
    1
}
pub(super) fn session_cookie() -> String {
    "AWSELBAuthSessionCookie".into()
}
pub(super) fn data() -> String {
    "data".into()
}
pub(super) fn instance() -> String {
    "{instance}".into()
}
pub(super) fn log_group() -> String {
    "{log_group}".into()
}
pub(super) fn issuer() -> String {
    "{issuer}".into()
}
pub(super) fn vpc() -> String {
    "{vpc}".into()
}
pub(super) fn alb_arn() -> String {
    "{alb_arn}".into()
}
pub(super) fn pipeline() -> String {
    "{pipeline}".into()
}
