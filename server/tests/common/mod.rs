//! A key endpoint, signers and tokens for a lab-like ALB and user pool on loopback.
#![allow(dead_code, clippy::unwrap_used)]

pub mod moto;

use cognito_learning_tokens::sign::{AlbHeader, AlbSigner, KeyServer, RsaSigner};
use cognito_learning_tokens::time::now;
use serde_json::{Map, Value, json};

pub const ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/lab/50dc6c495c0c9188";
pub const CLIENT: &str = "labclient";

pub struct Idp {
    pub keys: KeyServer,
    pub base: String,
    pub issuer: String,
    pub alb: AlbSigner,
    pub access: RsaSigner,
}

impl Idp {
    pub async fn start() -> Self {
        let keys = KeyServer::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = keys.serve(listener).unwrap();
        let alb = AlbSigner::generate("2a4e1b8c-4c0e-4f1e-9a57-6d2d9a8e7b31").unwrap();
        keys.put_alb_key(&alb).unwrap();
        let access = RsaSigner::generate("access=").unwrap();
        keys.put_jwks("/eu-west-1_Lab", &[&access]);
        let issuer = format!("{base}/eu-west-1_Lab");
        Idp {
            keys,
            base,
            issuer,
            alb,
            access,
        }
    }

    /// `x-amzn-oidc-data` for `user`, signed as the ALB signs it.
    pub fn data(&self, user: &str) -> String {
        self.data_with(user, ARN, now() + 120)
    }

    pub fn data_with(&self, user: &str, signer: &str, exp: u64) -> String {
        let userinfo = json!({"sub": sub(user), "email_verified": "true",
                              "email": format!("{user}@example.com"), "username": user});
        self.alb
            .sign(
                &AlbHeader {
                    issuer: &self.issuer,
                    client: CLIENT,
                    signer,
                    exp,
                },
                userinfo.as_object().unwrap(),
            )
            .unwrap()
    }

    /// A Cognito access token for `user` with `groups`.
    pub fn access_token(&self, user: &str, groups: &[&str]) -> String {
        let t = now();
        let mut c: Map<String, Value> = json!({"sub": sub(user), "iss": self.issuer, "version": 2,
            "client_id": CLIENT, "token_use": "access", "scope": "openid email", "auth_time": t,
            "exp": t + 3600, "iat": t, "jti": "j", "username": user})
        .as_object()
        .unwrap()
        .clone();
        if !groups.is_empty() {
            c.insert("cognito:groups".into(), json!(groups));
        }
        self.access.sign(&c).unwrap()
    }
}

pub fn sub(user: &str) -> String {
    format!("{user}-0000-4000-8000-000000000000")
}

pub fn temp_log(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cognito-learning-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.log"));
    let _ = std::fs::remove_file(&path);
    path
}

pub fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
