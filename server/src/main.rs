use anyhow::Context;
use clap::Parser;
use cognito_learning_server::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = match Settings::parse().with_file().and_then(Settings::validate) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cognito-learning-server: {e}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("--listen: cannot bind {}", config.listen))?;
    eprintln!(
        "cognito-learning-server listening on http://{} (log: {})",
        listener.local_addr()?,
        config.log_file.display()
    );
    cognito_learning_server::run(listener, config, shutdown_signal()).await
}

/// Ctrl-C or SIGTERM (what systemd and CodeDeploy's stop hook send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
