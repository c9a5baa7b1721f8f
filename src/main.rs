//! `cognito-learning`: the lab guide and its subcommands.

mod decode;

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
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Decode(args)) => decode::run(args).await,
        None => {
            eprintln!(
                "cognito-learning: the interactive lab guide and the local lab are not built yet.\n\
                 Available now: `cognito-learning decode TOKEN` (see --help), and the app itself:\n\
                 `cargo run -p cognito-learning-server`."
            );
            2
        }
    };
    std::process::exit(code);
}
