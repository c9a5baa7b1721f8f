//! `cognito-learning`: the lab guide and its subcommands.

mod decode;
mod lab;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cognito-learning",
    version,
    about = "A terminal lab guide to an AWS Application Load \
Balancer, Amazon Cognito and a four-route app: how a user is authenticated and authorised, step by step."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an ALB or Cognito JWT and verify it where its keys can be reached.
    /// Exit status: 0 valid, 1 invalid or unverifiable, 2 not a token.
    Decode(decode::DecodeArgs),
    /// Run the local lab (ALB and Cognito stand-ins and the app) until Ctrl-C.
    Lab(lab::LabArgs),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Decode(args)) => decode::run(args).await,
        Some(Command::Lab(args)) => match lab::run(args).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("cognito-learning lab: {e:#}");
                1
            }
        },
        None => {
            eprintln!(
                "cognito-learning: the interactive lab guide is not built yet.\n\
                 Available now: `cognito-learning lab` (the local lab), `cognito-learning decode TOKEN`,\n\
                 and the app itself: `cargo run -p cognito-learning-server`. See --help."
            );
            2
        }
    };
    std::process::exit(code);
}
