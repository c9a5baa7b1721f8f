//! For the benchmark: serves a lab ALB's public key on loopback and writes signed
//! `x-amzn-oidc-data` tokens (valid for an hour) to a file, one a line, then waits for Ctrl-C.
//!
//! `bench_fixture PORT COUNT OUT` prints `ready <ARN> <ISSUER>` once the key is served.

use cognito_learning_tokens::sign::{AlbHeader, AlbSigner, KeyServer};
use cognito_learning_tokens::time::now;
use serde_json::json;

const ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/bench/50dc6c495c0c9188";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, count, out] = &args[..] else {
        anyhow::bail!("usage: bench_fixture PORT COUNT OUT");
    };
    let keys = KeyServer::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>()?)).await?;
    let base = keys.serve(listener)?;
    let signer = AlbSigner::generate("0f5d3c2b-8a4e-4b6f-9c1d-7e2a3b4c5d6e")
        .map_err(|_| anyhow::anyhow!("key generation failed"))?;
    keys.put_alb_key(&signer)
        .map_err(|_| anyhow::anyhow!("key export failed"))?;
    let issuer = format!("{base}/eu-west-1_Bench");
    let mut lines = String::new();
    for i in 0..count.parse::<usize>()? {
        let user = format!("user{i}");
        let userinfo = json!({"sub": format!("{i:08}-0000-4000-8000-000000000000"),
            "email_verified": "true", "email": format!("{user}@example.com"), "username": user});
        let header = AlbHeader {
            issuer: &issuer,
            client: "benchclient",
            signer: ARN,
            exp: now() + 3600,
        };
        let token = signer
            .sign(
                &header,
                userinfo
                    .as_object()
                    .ok_or_else(|| anyhow::anyhow!("object"))?,
            )
            .map_err(|_| anyhow::anyhow!("signing failed"))?;
        lines.push_str(&token);
        lines.push('\n');
    }
    std::fs::write(out, lines)?;
    println!("ready {ARN} {issuer} {base}");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
