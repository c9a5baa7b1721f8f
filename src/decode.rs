//! `cognito-learning decode`: read a token, show what is in it, and say whether it can be trusted.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use cognito_learning_contract::lab::{LabInfo, default_state_dir, read_running};
use cognito_learning_tokens::keys::{AlbKeys, Jwks};
use cognito_learning_tokens::time::{left, now};
use cognito_learning_tokens::{
    AlbExpectations, AlbVerifier, CognitoVerifier, Decoded, TokenKind, TokenUse,
};
use serde_json::json;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token, or `-` (or nothing) to read it from standard input.
    pub token: Option<String>,
    /// Base URL of the ALB's public keys (the key is fetched from <URL>/<kid>)
    /// [default: https://public-keys.auth.elb.<region from the signer>.amazonaws.com].
    #[arg(long)]
    pub alb_key_url: Option<String>,
    /// A PEM file with the ALB's public key for this token's kid, instead of fetching it.
    #[arg(long, conflicts_with = "alb_key_url")]
    pub alb_key_file: Option<PathBuf>,
    /// The load balancer's ARN; without it the signer is shown but not checked.
    #[arg(long)]
    pub alb_arn: Option<String>,
    /// The Cognito JWKS URL [default: <iss>/.well-known/jwks.json].
    #[arg(long)]
    pub jwks_url: Option<String>,
    /// The expected issuer; without it the token's own `iss` is used and not checked.
    #[arg(long)]
    pub issuer: Option<String>,
    /// The expected app client id; without it the token's own is used and not checked.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Where to look for a running local lab whose tokens need no flags
    /// [default: $XDG_STATE_HOME/cognito-learning/lab].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Verify as of this Unix time instead of now (to check an old token's signature).
    #[arg(long)]
    pub now: Option<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Exit codes: 0 valid, 1 invalid or unverifiable, 2 not a token.
pub async fn run(args: DecodeArgs) -> i32 {
    let token = match read_token(args.token.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cognito-learning decode: {e}");
            return 2;
        }
    };
    let at = args.now.unwrap_or_else(now);
    let decoded = match Decoded::parse(&token, at) {
        Ok(d) => d,
        Err(e) => {
            if args.json {
                say!("{}", json!({"error": e.to_string()}));
            } else {
                eprintln!("cognito-learning decode: {e}");
            }
            return 2;
        }
    };
    let lab = lab_for(&args, &decoded);
    let args = with_lab(args, lab.as_ref());
    let verdict = verify(&args, &token, &decoded, at).await;
    if args.json {
        let (valid, detail) = match &verdict {
            Ok(v) => (true, v.clone()),
            Err(e) => (false, e.clone()),
        };
        say!(
            "{}",
            json!({"token": decoded, "valid": valid, "verdict": detail, "unchecked": unchecked(&args, &decoded), "lab": lab.is_some()})
        );
    } else {
        print!("{}", decoded.to_text());
        if let Some(lab) = &lab {
            say!(
                "checked   against the running local lab: its keys, ALB {}, issuer {}, client {}",
                lab.alb_arn,
                lab.issuer,
                lab.client_id
            );
        }
        match &verdict {
            Ok(v) => say!("verdict   ✓ valid: {v}"),
            Err(e) => say!("verdict   ✗ {e}"),
        }
        for u in unchecked(&args, &decoded) {
            say!("          note: {u}");
        }
    }
    i32::from(verdict.is_err())
}

/// The running local lab, when this token is one of its own: its ALB signed it, or its pool
/// issued it.
fn lab_for(args: &DecodeArgs, d: &Decoded) -> Option<LabInfo> {
    let dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let info = read_running(&dir)?;
    let text = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
        m.get(k).and_then(|v| v.as_str()).map(str::to_owned)
    };
    let mine = match d.kind {
        TokenKind::AlbData => text(&d.header, "signer").as_deref() == Some(info.alb_arn.as_str()),
        TokenKind::CognitoAccess | TokenKind::CognitoId => {
            text(&d.claims, "iss").as_deref() == Some(info.issuer.as_str())
        }
        TokenKind::Jwt => false,
    };
    mine.then_some(info)
}

/// `args` with what the lab knows in place of what was not given: where its ALB's keys are,
/// and the ALB, issuer and client its tokens must name.
fn with_lab(mut args: DecodeArgs, lab: Option<&LabInfo>) -> DecodeArgs {
    if let Some(lab) = lab {
        if args.alb_key_file.is_none() && args.alb_key_url.is_none() {
            args.alb_key_url = Some(lab.alb_key_url.clone());
        }
        args.alb_arn.get_or_insert_with(|| lab.alb_arn.clone());
        args.issuer.get_or_insert_with(|| lab.issuer.clone());
        args.client_id.get_or_insert_with(|| lab.client_id.clone());
    }
    args
}

fn read_token(arg: Option<&str>) -> Result<String, String> {
    match arg {
        Some(t) if t != "-" => Ok(t.trim().to_owned()),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(s.trim().to_owned())
        }
    }
}

/// What this run could not check for lack of an expected value.
fn unchecked(args: &DecodeArgs, d: &Decoded) -> Vec<&'static str> {
    let mut out = Vec::new();
    match d.kind {
        TokenKind::AlbData => {
            if args.alb_arn.is_none() {
                out.push("signer not checked (pass --alb-arn)");
            }
        }
        TokenKind::CognitoAccess | TokenKind::CognitoId => {}
        TokenKind::Jwt => return out,
    }
    if args.issuer.is_none() {
        out.push("issuer not checked (pass --issuer)");
    }
    if args.client_id.is_none() {
        out.push("client not checked (pass --client-id)");
    }
    out
}

async fn verify(args: &DecodeArgs, token: &str, d: &Decoded, at: u64) -> Result<String, String> {
    let header = |k: &str| {
        d.header
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let claim = |k: &str| {
        d.claims
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    match d.kind {
        TokenKind::AlbData => {
            let kid = header("kid");
            let keys = if let Some(path) = &args.alb_key_file {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| format!("--alb-key-file {}: {e}", path.display()))?;
                let keys = AlbKeys::offline();
                keys.insert_pem(&kid, &pem).map_err(|e| e.to_string())?;
                keys
            } else if let Some(url) = &args.alb_key_url {
                AlbKeys::new(url)
            } else {
                // arn:aws:elasticloadbalancing:<region>:...
                let signer = header("signer");
                let region = signer.split(':').nth(3).filter(|r| !r.is_empty());
                let region =
                    region.ok_or("cannot tell the region from the signer; pass --alb-key-url")?;
                AlbKeys::for_region(region)
            };
            let v = AlbVerifier::new(
                keys,
                AlbExpectations {
                    signer: args.alb_arn.clone().unwrap_or_else(|| header("signer")),
                    issuer: args.issuer.clone(),
                    client: args.client_id.clone(),
                },
            );
            let ok = v.verify(token, at).await.map_err(|e| e.to_string())?;
            Ok(format!(
                "ES256 signature by key {kid}, {}",
                left(at, ok.exp)
            ))
        }
        TokenKind::CognitoAccess | TokenKind::CognitoId => {
            let (use_, client_claim) = match d.kind {
                TokenKind::CognitoAccess => (TokenUse::Access, "client_id"),
                _ => (TokenUse::Id, "aud"),
            };
            let issuer = args.issuer.clone().unwrap_or_else(|| claim("iss"));
            let client = args
                .client_id
                .clone()
                .unwrap_or_else(|| claim(client_claim));
            let jwks = match &args.jwks_url {
                Some(u) => Jwks::new(u.clone()),
                None => Jwks::for_issuer(&issuer),
            };
            let url = jwks.url().to_owned();
            let v = CognitoVerifier::with_jwks(issuer, client, jwks);
            let ok = v.verify(token, use_, at).await.map_err(|e| e.to_string())?;
            Ok(format!(
                "RS256 signature by key {} from {url}, {}",
                header("kid"),
                left(at, ok.exp)
            ))
        }
        TokenKind::Jwt => Err(
            "not verified: neither an ALB x-amzn-oidc-data token nor a Cognito ID or access token"
                .into(),
        ),
    }
}
