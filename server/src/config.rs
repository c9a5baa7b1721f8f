//! Settings: flags, then `COGNITO_LEARNING_*` environment variables, then a TOML file, then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

/// Everything the server can be told. Every flag also reads the environment variable shown.
#[derive(Debug, Clone, Default, Parser, Deserialize)]
#[command(
    name = "cognito-learning-server",
    version,
    about = "The four-route app behind an AWS ALB with Cognito \
authentication: /, /v1/public, /v1/secrets, /logout. It verifies what the ALB sends and logs every request \
to server.log and CloudWatch Logs."
)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// A TOML file with any of these settings (keys as the long flag names, e.g. `site-url`).
    #[arg(long, env = "COGNITO_LEARNING_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5000; use 0.0.0.0:5000 behind a real ALB].
    #[arg(long, env = "COGNITO_LEARNING_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The site's public URL, as the browser sees it [default: http://localhost:8080, the local lab's ALB].
    #[arg(long, env = "COGNITO_LEARNING_SITE_URL")]
    pub site_url: Option<String>,
    /// The Cognito domain that serves /login and /logout, e.g. https://PREFIX.auth.REGION.amazoncognito.com [default: http://127.0.0.1:9229].
    #[arg(long, env = "COGNITO_LEARNING_COGNITO_DOMAIN")]
    pub cognito_domain: Option<String>,
    /// The Cognito app client id the ALB uses.
    #[arg(long, env = "COGNITO_LEARNING_CLIENT_ID")]
    pub client_id: Option<String>,
    /// AWS region of the ALB and the user pool (also read from AWS_REGION).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// The Cognito user pool id (REGION_xxxx); with --region it gives the issuer.
    #[arg(long, env = "COGNITO_LEARNING_USER_POOL_ID")]
    pub user_pool_id: Option<String>,
    /// The token issuer, when it is not https://cognito-idp.REGION.amazonaws.com/POOL (the local lab).
    #[arg(long, env = "COGNITO_LEARNING_COGNITO_ISSUER")]
    pub cognito_issuer: Option<String>,
    /// The load balancer's ARN: tokens whose `signer` differs are refused.
    #[arg(long, env = "COGNITO_LEARNING_ALB_ARN")]
    pub alb_arn: Option<String>,
    /// Where the ALB's public keys are, by kid [default: https://public-keys.auth.elb.REGION.amazonaws.com].
    #[arg(long, env = "COGNITO_LEARNING_ALB_KEY_URL")]
    pub alb_key_url: Option<String>,
    /// The ALB rule's session cookie name [default: AWSELBAuthSessionCookie].
    #[arg(long, env = "COGNITO_LEARNING_SESSION_COOKIE")]
    pub session_cookie: Option<String>,
    /// A Cognito group the caller must be in to read /v1/secrets (from the verified access token).
    #[arg(long, env = "COGNITO_LEARNING_REQUIRED_GROUP")]
    pub required_group: Option<String>,
    /// The JSON-lines log file [default: server.log].
    #[arg(long, env = "COGNITO_LEARNING_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    /// CloudWatch Logs group [default: cognito-learning].
    #[arg(long, env = "COGNITO_LEARNING_LOG_GROUP")]
    pub log_group: Option<String>,
    /// CloudWatch Logs stream [default: api].
    #[arg(long, env = "COGNITO_LEARNING_LOG_STREAM")]
    pub log_stream: Option<String>,
    /// Ship log lines to CloudWatch Logs: on or off [default: on]. The endpoint follows AWS_ENDPOINT_URL.
    #[arg(long, env = "COGNITO_LEARNING_CLOUDWATCH", value_parser = on_off)]
    pub cloudwatch: Option<bool>,
    /// Replace raw tokens and cookie values in the logs with their length.
    #[arg(long, env = "COGNITO_LEARNING_REDACT_TOKENS", num_args = 0..=1, default_missing_value = "on", value_parser = on_off)]
    pub redact_tokens: Option<bool>,
    /// The AWS endpoint for CloudWatch Logs (the SDK's own AWS_ENDPOINT_URL), e.g. the local lab's.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// Seconds a client has from a request's first byte to its last header byte [default: 10].
    #[arg(long, env = "COGNITO_LEARNING_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds an idle keep-alive connection stays open [default: 65, longer than the ALB's 60 s
    /// idle timeout, as AWS advises for targets].
    #[arg(long, env = "COGNITO_LEARNING_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u64>,
    /// Connections open at once; more wait in the listen queue [default: 4096, or fewer when the
    /// process may open fewer files].
    #[arg(long, env = "COGNITO_LEARNING_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Static credentials, for a server started in-process by the local lab. Never a flag: a
    /// secret on a command line is visible to every user of the machine.
    #[arg(skip)]
    #[serde(skip)]
    pub aws_credentials: Option<StaticCredentials>,
}

/// An access key pair, with a `Debug` that does not print the secret.
#[derive(Clone, Default)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticCredentials({}, [redacted])", self.access_key_id)
    }
}

fn on_off(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(format!("expected on or off, got {s:?}")),
    }
}

/// A setting that is wrong, named the way the user wrote it.
#[derive(Debug, thiserror::Error)]
#[error("--{setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

fn bad(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub site_url: String,
    pub cognito_domain: String,
    pub client_id: Option<String>,
    pub region: Option<String>,
    /// How to verify `x-amzn-oidc-data`; `None` when not configured (then /v1/secrets answers 401).
    pub alb: Option<AlbSettings>,
    pub issuer: Option<String>,
    pub session_cookie: String,
    pub required_group: Option<String>,
    pub log_file: PathBuf,
    pub log_group: String,
    pub log_stream: String,
    pub cloudwatch: bool,
    pub redact_tokens: bool,
    pub aws_endpoint_url: Option<String>,
    pub aws_credentials: Option<StaticCredentials>,
    /// Timeouts and the connection cap of the listener.
    pub limits: crate::net::Limits,
    /// The clock tokens are verified against: the wall clock, or the local lab's, which a
    /// learner may move forward to watch tokens expire.
    pub clock: cognito_learning_tokens::time::Clock,
}

#[derive(Debug, Clone)]
pub struct AlbSettings {
    pub arn: String,
    pub key_url: String,
}

impl Settings {
    /// Fills what the flags and environment left open from the `--config` file.
    pub fn with_file(mut self) -> Result<Self, ConfigError> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| bad("config", format!("{}: {e}", path.display())))?;
        let file: Settings =
            toml::from_str(&text).map_err(|e| bad("config", format!("{}: {e}", path.display())))?;
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = file.$f; } )* };
        }
        fill!(
            listen,
            site_url,
            cognito_domain,
            client_id,
            region,
            user_pool_id,
            cognito_issuer,
            alb_arn,
            alb_key_url,
            session_cookie,
            required_group,
            log_file,
            log_group,
            log_stream,
            cloudwatch,
            redact_tokens,
            header_timeout,
            idle_timeout,
            max_connections
        );
        Ok(self)
    }

    /// Applies defaults and checks every setting.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let site_url = url(
            "site-url",
            self.site_url.as_deref().unwrap_or("http://localhost:8080"),
        )?;
        let cognito_domain = url(
            "cognito-domain",
            self.cognito_domain
                .as_deref()
                .unwrap_or("http://127.0.0.1:9229"),
        )?;
        if let Some(region) = &self.region
            && !region_like(region)
        {
            return Err(bad(
                "region",
                format!("{region:?} is not a region name like eu-west-1"),
            ));
        }
        let issuer = match (&self.cognito_issuer, &self.user_pool_id, &self.region) {
            (Some(iss), _, _) => Some(url("cognito-issuer", iss)?),
            (None, Some(pool), Some(region)) => {
                if !pool.starts_with(&format!("{region}_")) {
                    return Err(bad(
                        "user-pool-id",
                        format!(
                            "{pool:?} does not belong to region {region} (expected {region}_…)"
                        ),
                    ));
                }
                Some(format!("https://cognito-idp.{region}.amazonaws.com/{pool}"))
            }
            (None, Some(_), None) => {
                return Err(bad(
                    "user-pool-id",
                    "needs --region to build the issuer URL",
                ));
            }
            (None, None, _) => None,
        };
        let alb = match &self.alb_arn {
            None => None,
            Some(arn) => {
                if !arn.starts_with("arn:aws") || !arn.contains(":elasticloadbalancing:") {
                    return Err(bad(
                        "alb-arn",
                        format!(
                            "{arn:?} is not a load balancer ARN (arn:aws:elasticloadbalancing:…)"
                        ),
                    ));
                }
                let key_url = match (&self.alb_key_url, &self.region) {
                    (Some(u), _) => url("alb-key-url", u)?,
                    (None, Some(r)) => format!("https://public-keys.auth.elb.{r}.amazonaws.com"),
                    (None, None) => {
                        return Err(bad(
                            "alb-key-url",
                            "needed (or --region) to fetch the ALB's keys",
                        ));
                    }
                };
                Some(AlbSettings {
                    arn: arn.clone(),
                    key_url,
                })
            }
        };
        if let Some(group) = &self.required_group {
            if group.trim().is_empty() {
                return Err(bad("required-group", "is empty"));
            }
            if issuer.is_none() || self.client_id.is_none() {
                return Err(bad(
                    "required-group",
                    "needs --client-id and --user-pool-id (or --cognito-issuer) to verify the access token",
                ));
            }
            if alb.is_none() {
                return Err(bad(
                    "required-group",
                    "needs --alb-arn: groups are read only for verified callers",
                ));
            }
        }
        let session_cookie = self
            .session_cookie
            .unwrap_or_else(|| "AWSELBAuthSessionCookie".into());
        if session_cookie.is_empty()
            || !session_cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(bad(
                "session-cookie",
                format!("{session_cookie:?} is not a cookie name"),
            ));
        }
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 512
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
        };
        let log_group = self.log_group.unwrap_or_else(|| "cognito-learning".into());
        if !name_ok(&log_group) || log_group.starts_with("aws/") {
            return Err(bad(
                "log-group",
                format!("{log_group:?} is not a valid log group name"),
            ));
        }
        let log_stream = self.log_stream.unwrap_or_else(|| "api".into());
        if log_stream.is_empty() || log_stream.len() > 512 || log_stream.contains([':', '*']) {
            return Err(bad(
                "log-stream",
                format!("{log_stream:?} is not a valid log stream name"),
            ));
        }
        let log_file = self.log_file.unwrap_or_else(|| PathBuf::from("server.log"));
        check_writable(&log_file)?;
        let app = crate::net::Limits::APP;
        let secs = |setting, v: Option<u64>, default: std::time::Duration| match v {
            Some(0) => Err(bad(setting, "must be at least 1 second")),
            Some(s) => Ok(std::time::Duration::from_secs(s)),
            None => Ok(default),
        };
        let limits = crate::net::Limits {
            header_timeout: secs("header-timeout", self.header_timeout, app.header_timeout)?,
            idle_timeout: secs("idle-timeout", self.idle_timeout, app.idle_timeout)?,
            max_connections: match self.max_connections {
                Some(0) => return Err(bad("max-connections", "must be at least 1")),
                Some(n) => n,
                None => app.max_connections,
            },
            ..app
        };
        Ok(Config {
            listen: self
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5000))),
            site_url,
            cognito_domain,
            client_id: self.client_id,
            region: self.region,
            alb,
            issuer,
            session_cookie,
            required_group: self.required_group,
            log_file,
            log_group,
            log_stream,
            cloudwatch: self.cloudwatch.unwrap_or(true),
            redact_tokens: self.redact_tokens.unwrap_or(false),
            aws_endpoint_url: match &self.aws_endpoint_url {
                Some(u) => Some(url("aws-endpoint-url", u)?),
                None => None,
            },
            aws_credentials: self.aws_credentials,
            limits,
            clock: cognito_learning_tokens::time::Clock::default(),
        })
    }
}

fn url(setting: &'static str, value: &str) -> Result<String, ConfigError> {
    let uri: http::Uri = value
        .parse()
        .map_err(|e| bad(setting, format!("{value:?} is not a URL: {e}")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(value.trim_end_matches('/').to_owned()),
        _ => Err(bad(
            setting,
            format!("{value:?} is not an http(s) URL with a host"),
        )),
    }
}

fn region_like(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn check_writable(path: &Path) -> Result<(), ConfigError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|e| bad("log-file", format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec![
            "server",
            "--log-file",
            "/tmp/cognito-learning-config-test.log",
        ];
        argv.extend_from_slice(args);
        Settings::try_parse_from(argv).unwrap().validate()
    }

    #[test]
    fn defaults_are_the_local_lab() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(c.site_url, "http://localhost:8080");
        assert!(c.alb.is_none());
        assert!(c.cloudwatch);
    }

    #[test]
    fn the_issuer_and_key_url_come_from_the_region() {
        let c = parse(&[
            "--region",
            "eu-west-1",
            "--user-pool-id",
            "eu-west-1_AbC",
            "--client-id",
            "c",
            "--alb-arn",
            "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/y",
        ])
        .unwrap();
        assert_eq!(
            c.issuer.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC")
        );
        assert_eq!(
            c.alb.unwrap().key_url,
            "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--site-url", "nope"],
                "--site-url: \"nope\" is not an http(s) URL",
            ),
            (
                &["--region", "Mars"],
                "--region: \"Mars\" is not a region name",
            ),
            (&["--alb-arn", "arn:aws:s3:::b"], "--alb-arn:"),
            (
                &["--alb-arn", "arn:aws:elasticloadbalancing:x"],
                "--alb-key-url: needed",
            ),
            (
                &["--user-pool-id", "eu-west-1_x"],
                "--user-pool-id: needs --region",
            ),
            (
                &["--required-group", "g"],
                "--required-group: needs --client-id",
            ),
            (&["--log-group", "aws/lambda"], "--log-group:"),
            (&["--log-stream", "a:b"], "--log-stream:"),
        ];
        for (args, msg) in cases {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.starts_with(msg), "{args:?}: {err}");
        }
    }

    #[test]
    fn the_file_fills_what_flags_leave_open() {
        let path = std::env::temp_dir().join("cognito-learning-config-test.toml");
        std::fs::write(
            &path,
            "site-url = \"https://app.example.com\"\nclient-id = \"fromfile\"\n",
        )
        .unwrap();
        let s = Settings::try_parse_from([
            "server",
            "--config",
            path.to_str().unwrap(),
            "--client-id",
            "fromflag",
            "--log-file",
            "/tmp/cognito-learning-config-test.log",
        ])
        .unwrap();
        let c = s.with_file().unwrap().validate().unwrap();
        assert_eq!(c.site_url, "https://app.example.com");
        assert_eq!(c.client_id.as_deref(), Some("fromflag"));
        std::fs::write(&path, "sight-url = 1\n").unwrap();
        let s = Settings::try_parse_from(["server", "--config", path.to_str().unwrap()]).unwrap();
        assert!(
            s.with_file()
                .unwrap_err()
                .to_string()
                .contains("unknown field `sight-url`")
        );
    }
}
