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
    /// Something the learner should know about how it started (another lab on the usual
    /// ports).
    pub note: Option<String>,
}

/// Starts or finds the target. For the local track: a lab already answering on its recorded
/// URLs is used as it is; otherwise one starts in-process on the configured ports, or on free
/// ports when those are taken.
pub async fn start(start: Start) -> anyhow::Result<Started> {
    match start {
        Start::Cloud(s) => Ok(Started {
            target: Target::cloud(&s).await,
            lab: None,
            note: None,
        }),
        Start::Local(opts) => {
            if let Some(info) = running_lab(&opts.state_dir).await {
                return Ok(Started {
                    target: Target::local(&info),
                    lab: None,
                    note: None,
                });
            }
            let (lab, note) = match Lab::start(opts.clone()).await {
                Ok(lab) => (lab, None),
                Err(first) => {
                    let other = other_lab(opts.api_port).await;
                    let lab = Lab::start(LabOptions {
                        alb_port: 0,
                        cognito_port: 0,
                        api_port: 0,
                        server_port: 0,
                        ..opts.clone()
                    })
                    .await
                    .with_context(|| format!("{first:#}; on free ports too"))?;
                    let note = other.map(|run| {
                        format!(
                            "another cognito-learning lab (run {run}) answers on the usual ports, started from another state directory than {}; this one runs on free ports. To use that lab, give its --state-dir (or stop it)",
                            opts.state_dir.display()
                        )
                    });
                    (lab, note)
                }
            };
            Ok(Started {
                target: Target::local(&lab.info),
                lab: Some(lab),
                note,
            })
        }
    }
}

/// The run of a cognito-learning lab answering on `api_port` of loopback (its trace endpoint
/// says so), if one does: a lab from another state directory.
async fn other_lab(api_port: u16) -> Option<String> {
    if api_port == 0 {
        return None;
    }
    let url = format!("http://127.0.0.1:{api_port}/lab/trace?after={}", u64::MAX);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .ok()?;
    let page: cognito_learning_contract::trace::TracePage =
        http.get(url).send().await.ok()?.json().await.ok()?;
    Some(page.run)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lab_from_another_state_directory_is_recognised_by_its_port() {
        let dir = std::env::temp_dir().join(format!("cl-other-lab-{}", std::process::id()));
        let lab = Lab::start(LabOptions {
            state_dir: dir.clone(),
            ..LabOptions::any_ports()
        })
        .await
        .unwrap();
        let port = lab.info.aws.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(other_lab(port).await, Some(lab.info.run.clone()));
        // Something else on a port (the app's) is not taken for a lab.
        let app: u16 = lab.info.server.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(other_lab(app).await, None);
        lab.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
