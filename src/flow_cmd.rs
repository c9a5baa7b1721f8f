//! `cognito-learning flow`: what the running lab saw, written as HAR or a Mermaid diagram.

use std::path::PathBuf;

use clap::Args;
use cognito_learning::export;
use cognito_learning_contract::lab::default_state_dir;
use cognito_learning_contract::trace::{Client, TracePage};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true).args(["har", "mermaid"]))]
pub struct FlowArgs {
    /// Write HAR 1.2 here (a browser's developer tools open it).
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// Write a Mermaid sequence diagram here (for a Markdown page).
    #[arg(long, value_name = "FILE")]
    pub mermaid: Option<PathBuf>,
    /// Leave out the exchanges the guide's own checks made.
    #[arg(long)]
    pub learner_only: bool,
    /// The running lab's state directory [default: $XDG_STATE_HOME/cognito-learning/lab].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

pub async fn run(args: FlowArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let info = cognito_learning::io::running_lab(&dir)
        .await
        .with_context(|| {
            format!(
                "no lab is running from {} (start one with `cognito-learning lab`, or the guide)",
                dir.display()
            )
        })?;
    let page: TracePage = reqwest::get(info.trace_url())
        .await
        .with_context(|| format!("the lab at {} does not answer", info.aws))?
        .json()
        .await
        .context("the lab's trace")?;
    let events: Vec<_> = page
        .events
        .into_iter()
        .filter(|e| !args.learner_only || e.client == Client::Learner)
        .collect();
    // The files hold tokens: only their owner may read them.
    if let Some(path) = &args.har {
        export::write_har(&events, path).with_context(|| format!("writing {}", path.display()))?;
        say!(
            "{} exchange(s) written to {} (HAR 1.2)",
            events.len(),
            path.display()
        );
    }
    if let Some(path) = &args.mermaid {
        export::write_mermaid(&events, path)
            .with_context(|| format!("writing {}", path.display()))?;
        say!(
            "{} exchange(s) written to {} (Mermaid)",
            events.len(),
            path.display()
        );
    }
    Ok(())
}
