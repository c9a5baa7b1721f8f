//! `cognito-learning`: the lab guide and its subcommands.

/// `println!` that ends the process quietly, as a Unix tool does, when what reads its output
/// has gone (`cognito-learning lessons | head -3`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(141);
        }
    }};
}

mod decode;
mod flow_cmd;
mod guide;
mod lab;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cognito-learning",
    version,
    about = "A terminal lab guide to an AWS Application Load \
Balancer, Amazon Cognito and a four-route app: how a user is authenticated and authorised, step by step.",
    // The guide's options belong after a subcommand (`check --lessons DIR`), never silently
    // before it.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    guide: guide::GuideArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an ALB or Cognito JWT and verify it where its keys can be reached.
    /// Exit status: 0 valid, 1 invalid or unverifiable, 2 not a token.
    Decode(decode::DecodeArgs),
    /// Run the local lab (ALB and Cognito stand-ins and the app) until Ctrl-C.
    Lab(lab::LabArgs),
    /// Run lesson checks without the guide. Exit status: 0 when every check passes, 1 when one
    /// fails, 2 when the lessons cannot be loaded or the lesson does not exist.
    Check(Box<guide::CheckArgs>),
    /// List the lessons with their steps and checks per track.
    Lessons(guide::LessonsArgs),
    /// Write what the running lab saw: HAR 1.2 for a browser's developer tools, or a Mermaid
    /// sequence diagram (client secrets and passwords masked; the files are 0600).
    Flow(flow_cmd::FlowArgs),
}

fn main() {
    let cli = Cli::parse();
    // The guide is one event loop whose work is waiting on the network: a single-threaded
    // runtime serves it (and an in-process lab) with one heap arena and no idle workers.
    // The headless commands may use every core.
    let runtime = match cli.command {
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cognito-learning: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Some(Command::Decode(args)) => decode::run(args).await,
            Some(Command::Lab(args)) => match lab::run(args).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("cognito-learning lab: {e:#}");
                    1
                }
            },
            Some(Command::Check(args)) => guide::check(*args).await,
            Some(Command::Lessons(args)) => guide::list(&args),
            Some(Command::Flow(args)) => match flow_cmd::run(args).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("cognito-learning flow: {e:#}");
                    1
                }
            },
            None => guide::interactive(cli.guide).await,
        }
    });
    std::process::exit(code);
}
