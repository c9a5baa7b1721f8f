//! `cognito-learning lab`: the local lab, headless, until Ctrl-C.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use cognito_learning_contract::lab::{LabInfo, default_state_dir, read_running};
use cognito_learning_emulator::{Lab, LabOptions};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LabArgs {
    #[command(subcommand)]
    pub action: Option<LabAction>,
    /// The ALB stand-in's port (browsers use http://localhost:PORT). 0 picks a free port.
    #[arg(long, default_value_t = 8080)]
    pub alb_port: u16,
    /// The Cognito stand-in's port (http://127.0.0.1:PORT).
    #[arg(long, default_value_t = 9229)]
    pub cognito_port: u16,
    /// The AWS API stand-in's port (the ALB's public keys live here).
    #[arg(long, default_value_t = 4566)]
    pub api_port: u16,
    /// The built-in app's port.
    #[arg(long, default_value_t = 5000)]
    pub server_port: u16,
    /// Put another app behind the ALB instead of the built-in one.
    #[arg(long)]
    pub upstream: Option<String>,
    /// The Cognito group /v1/secrets requires; `none` lets any signed-in user in.
    #[arg(long, default_value = "secret-readers")]
    pub required_group: String,
    /// Where the lab keeps its keys and the app's server.log
    /// [default: $XDG_STATE_HOME/cognito-learning/lab].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// A lab file (TOML) with users, token lifetimes, listener rules or the required group;
    /// see `LabFile` in the emulator crate. Flags given explicitly are applied first.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Accept AWS API requests without a valid signature (for tools that cannot sign).
    #[arg(long)]
    pub no_signature_check: bool,
    /// Print one JSON line with the lab's URLs, ids and users instead of prose.
    #[arg(long)]
    pub json: bool,
    /// Start with only what cannot be local (the load balancer, the app's instance and its
    /// log group): the learner builds the user pool, target group, listener and rules with
    /// the AWS CLI. Switching between a blank and a built lab starts its state afresh.
    #[arg(long)]
    pub blank: bool,
    /// Start a built lab broken in one documented way, for the troubleshooting lesson:
    /// callback-mismatch, no-code-grant, no-openid, oauth-off, no-cognito-provider or
    /// forward-first. Starting a scenario starts its exercise afresh.
    #[arg(long, value_name = "NAME", conflicts_with = "blank")]
    pub scenario: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LabAction {
    /// Move a running lab's clock forward, which its ALB, its Cognito and the app all read, to
    /// watch tokens and sessions expire: `lab clock +3m`, `lab clock 1h`, `lab clock reset`;
    /// with nothing after it, show the lab's time.
    Clock {
        /// How far forward (`90s`, `3m`, `1h`, `7d`, `1h30m`), or `reset` for the wall clock.
        #[arg(allow_hyphen_values = true)]
        change: Option<String>,
        /// The running lab's state directory [default: $XDG_STATE_HOME/cognito-learning/lab].
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Print the `export` lines that point the AWS CLI and SDKs at a running lab:
    /// `eval "$(cognito-learning lab env)"`.
    Env {
        /// The running lab's state directory [default: $XDG_STATE_HOME/cognito-learning/lab].
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
}

pub async fn run(args: LabArgs) -> anyhow::Result<()> {
    if let Some(LabAction::Clock { change, state_dir }) = &args.action {
        use cognito_learning::io::clock::{ClockChange, change as move_clock, describe};
        let wanted = ClockChange::parse(change.as_deref()).map_err(anyhow::Error::msg)?;
        let dir = state_dir.clone().unwrap_or_else(default_state_dir);
        let Some(info) = read_running(&dir) else {
            bail!(
                "no lab is running from {}: start one (`cognito-learning lab`, or the guide), then run this again",
                dir.display()
            );
        };
        let http = cognito_learning::browser::client()?;
        let state = move_clock(&http, &info, wanted)
            .await
            .map_err(anyhow::Error::msg)?;
        say!("{}", describe(state.offset, state.now));
        return Ok(());
    }
    if let Some(LabAction::Env { state_dir }) = args.action {
        let dir = state_dir.unwrap_or_else(default_state_dir);
        let Some(info) = read_running(&dir) else {
            bail!(
                "no lab is running from {}: start one (`cognito-learning lab`, or the guide), then run this again",
                dir.display()
            );
        };
        if !cognito_learning::io::answers(&info.aws).await {
            bail!(
                "the lab recorded in {} does not answer at {}: it has stopped; start it again",
                dir.display(),
                info.aws
            );
        }
        print!("{}", env_lines(&info));
        return Ok(());
    }
    let opts = LabOptions {
        alb_port: args.alb_port,
        cognito_port: args.cognito_port,
        api_port: args.api_port,
        server_port: args.server_port,
        upstream: args.upstream,
        state_dir: args
            .state_dir
            .unwrap_or_else(cognito_learning_contract::lab::default_state_dir),
        required_group: (args.required_group != "none").then_some(args.required_group),
        check_signatures: !args.no_signature_check,
        blank: args.blank,
        scenario: args.scenario,
        ..LabOptions::default()
    };
    let mut opts = opts;
    if let Some(path) = &args.config {
        cognito_learning_emulator::LabFile::load(path)?.apply(&mut opts);
    }
    let scenario = opts.scenario.clone();
    let lab = Lab::start(opts).await?;
    let i = &lab.info;
    if args.json {
        say!("{}", serde_json::to_string(i)?);
    } else if i.blank {
        say!("cognito-learning local lab, blank: build it with the AWS CLI; Ctrl-C stops it");
        say!();
        say!("  AWS CLI      eval \"$(cognito-learning lab env)\"");
        say!("  ALB          {}   ({})", i.alb, i.alb_arn);
        say!(
            "  instance     {}   (the app listens on its port 5000)",
            cognito_learning_contract::ssm::INSTANCE_ID
        );
        say!("  certificate  {}", i.certificate_arn);
        say!(
            "  hosted UI    {}   (serves the pool whose domain is newest)",
            i.cognito
        );
        say!();
        say!("  Nothing else exists yet: no user pool, target group, listener or users.");
    } else {
        say!("cognito-learning local lab: every service on loopback, Ctrl-C stops it");
        say!();
        say!("  open       {}/", i.alb);
        say!(
            "  ALB        {}      (rule: /v1/secrets* → authenticate-cognito, then forward)",
            i.alb
        );
        say!("  Cognito    {}     (issuer {})", i.cognito, i.issuer);
        say!(
            "  AWS APIs   {}     (CloudWatch Logs; ALB public keys: {}/<kid>)",
            i.aws,
            i.alb_key_url
        );
        say!("  app        {}", i.server);
        say!(
            "  AWS CLI    eval \"$(cognito-learning lab env)\"   (then: aws logs describe-log-groups)"
        );
        say!();
        for u in &i.users {
            let groups = if u.groups.is_empty() {
                "no groups".to_owned()
            } else {
                u.groups.join(", ")
            };
            say!(
                "  user {:<8} password {}   ({groups})",
                u.username,
                u.password
            );
        }
        say!();
        say!("  client id {}   ALB {}", i.client_id, i.alb_arn);
        if let Some(name) = scenario {
            say!();
            say!(
                "  scenario {name}: something is broken. Open /v1/secrets, then find and mend it with the AWS CLI."
            );
        }
    }
    let signal = stop_signal().await?;
    eprintln!("{signal}: stopping the lab (open requests finish, CloudWatch logs are saved)");
    lab.stop().await;
    Ok(())
}

/// Shell lines that make the AWS CLI and any SDK talk to the lab `info` describes: its endpoint,
/// its keys and its Region, with a profile or session token that would take their place unset.
pub fn env_lines(info: &LabInfo) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\'', r"'\''"));
    let mut out = format!(
        "# the local lab at {} (undo: unset AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION)\n",
        info.aws
    );
    for (name, value) in [
        ("AWS_ENDPOINT_URL", info.aws.as_str()),
        ("AWS_ACCESS_KEY_ID", info.aws_access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", info.aws_secret_access_key.as_str()),
        ("AWS_REGION", info.region.as_str()),
        ("AWS_DEFAULT_REGION", info.region.as_str()),
    ] {
        out.push_str(&format!("export {name}={}\n", quote(value)));
    }
    out.push_str("unset AWS_PROFILE AWS_SESSION_TOKEN AWS_IGNORE_CONFIGURED_ENDPOINT_URLS\n");
    out
}

/// Waits for Ctrl-C, SIGTERM or SIGHUP (a closed terminal, `kill`, a service manager): each
/// stops the lab the same way, saving what it holds.
pub async fn stop_signal() -> anyhow::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        Ok(tokio::select! {
            r = tokio::signal::ctrl_c() => { r?; "Ctrl-C" }
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        })
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}
