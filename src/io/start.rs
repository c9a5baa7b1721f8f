//! Finding or starting the target.

use std::time::Duration;

use anyhow::Context;
use cognito_learning_emulator::{Lab, LabOptions};

use super::probe::{addr_of, reachable};
use crate::target::{CloudSettings, Target};

/// How the guide finds its target.
#[derive(Debug, Clone)]
pub enum Start {
    /// Use a lab already answering (recorded in `options.state_dir`), else start one.
    Local(LabOptions),
    Cloud(CloudSettings),
}

/// A started target and, when this process started the lab, the lab to stop at the end.
pub struct Started {
    pub target: Target,
    pub lab: Option<Lab>,
}

/// Starts or finds the target. For the local track: a lab already answering on its recorded
/// URLs is used as it is; otherwise one starts in-process on the configured ports, or on free
/// ports when those are taken.
pub async fn start(start: Start) -> anyhow::Result<Started> {
    match start {
        Start::Cloud(s) => Ok(Started {
            target: Target::cloud(&s).await,
            lab: None,
        }),
        Start::Local(opts) => {
            if let Some(info) = running_lab(&opts.state_dir).await {
                return Ok(Started {
                    target: Target::local(&info),
                    lab: None,
                });
            }
            let lab = match Lab::start(opts.clone()).await {
                Ok(lab) => lab,
                Err(first) => Lab::start(LabOptions {
                    alb_port: 0,
                    cognito_port: 0,
                    api_port: 0,
                    server_port: 0,
                    ..opts
                })
                .await
                .with_context(|| format!("{first:#}; on free ports too"))?,
            };
            Ok(Started {
                target: Target::local(&lab.info),
                lab: Some(lab),
            })
        }
    }
}

/// The lab recorded in `state_dir`, if its ALB and AWS APIs answer.
pub async fn running_lab(
    state_dir: &std::path::Path,
) -> Option<cognito_learning_contract::lab::LabInfo> {
    let info = cognito_learning_contract::lab::read_running(state_dir)?;
    (answers(&info.alb).await && answers(&info.aws).await).then_some(info)
}

/// Whether a URL's host and port take a TCP connection within half a second.
pub async fn answers(url: &str) -> bool {
    match addr_of(url) {
        Some(addr) => reachable(&addr, Duration::from_millis(500)).await,
        None => false,
    }
}
