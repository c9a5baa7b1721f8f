//! Making keys and signing tokens the way the ALB and Cognito do (feature `sign`).
//!
//! Used by the local lab's stand-ins and by tests. The ALB signer reproduces the real wire
//! format: header keys in the ALB's order, base64url with `=` padding, raw r‖s signature.
//! Keys are made and kept with aws-lc-rs. The ALB's ES256 signatures are made by `jsonwebtoken`;
//! RS256 signatures are made with the parsed key kept, because `jsonwebtoken` parses an RSA
//! private key again for every signature, which doubled the cost of a login in the lab.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};

/// The ALB's P-256 signing key and its `kid`.
pub struct AlbSigner {
    pub kid: String,
    key: EcdsaKeyPair,
    signing: EncodingKey,
}

impl std::fmt::Debug for AlbSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// `jsonwebtoken`'s signature over `input`, as raw bytes.
fn sign_with(input: &str, key: &EncodingKey, alg: Algorithm) -> Result<Vec<u8>, Unspecified> {
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).map_err(|_| Unspecified)?;
    URL_SAFE_NO_PAD.decode(sig).map_err(|_| Unspecified)
}

/// What the ALB writes into the header of `x-amzn-oidc-data`.
#[derive(Debug, Clone)]
pub struct AlbHeader<'a> {
    pub issuer: &'a str,
    pub client: &'a str,
    pub signer: &'a str,
    pub exp: u64,
}

impl AlbSigner {
    pub fn generate(kid: impl Into<String>) -> Result<Self, Unspecified> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)?;
        let der = key.to_pkcs8v1()?;
        Self::from_pkcs8(kid, der.as_ref())
    }

    pub fn from_pkcs8(kid: impl Into<String>, der: &[u8]) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|_| Unspecified)?,
            signing: EncodingKey::from_ec_der(der),
        })
    }

    /// The private key, to keep keys across restarts.
    pub fn pkcs8(&self) -> Result<Vec<u8>, Unspecified> {
        Ok(self.key.to_pkcs8v1()?.as_ref().to_vec())
    }

    /// The public key as the ALB's key endpoint serves it.
    pub fn public_key_pem(&self) -> Result<String, Unspecified> {
        let der = self.key.public_key().as_der()?;
        Ok(pem("PUBLIC KEY", der.as_ref()))
    }

    /// `x-amzn-oidc-data` for `userinfo`: the userinfo claims as received, then `exp` and `iss`.
    pub fn sign(
        &self,
        h: &AlbHeader<'_>,
        userinfo: &Map<String, Value>,
    ) -> Result<String, Unspecified> {
        let header = json!({
            "typ": "JWT",
            "kid": self.kid,
            "alg": "ES256",
            "iss": h.issuer,
            "client": h.client,
            "signer": h.signer,
            "exp": h.exp,
        });
        let mut claims = userinfo.clone();
        claims.insert("exp".into(), h.exp.into());
        claims.insert("iss".into(), h.issuer.into());
        self.sign_raw(
            &header.to_string(),
            &Value::Object(claims).to_string(),
            true,
        )
    }

    /// Signs any header and payload text, padded or not: for building forgeries in tests.
    pub fn sign_raw(
        &self,
        header: &str,
        payload: &str,
        padded: bool,
    ) -> Result<String, Unspecified> {
        let b64 = |b: &[u8]| match padded {
            true => URL_SAFE.encode(b),
            false => URL_SAFE_NO_PAD.encode(b),
        };
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let sig = sign_with(&input, &self.signing, Algorithm::ES256)?;
        Ok(format!("{input}.{}", b64(&sig)))
    }
}

/// A Cognito-style RS256 signing key, published in a JWKS.
pub struct RsaSigner {
    pub kid: String,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    pub fn generate(kid: impl Into<String>) -> Result<Self, Unspecified> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048)?;
        let der: Pkcs8V1Der<'static> = key.as_der()?;
        Self::from_pkcs8(kid, der.as_ref())
    }

    pub fn from_pkcs8(kid: impl Into<String>, der: &[u8]) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            key: RsaKeyPair::from_pkcs8(der).map_err(|_| Unspecified)?,
            rng: SystemRandom::new(),
        })
    }

    pub fn pkcs8(&self) -> Result<Vec<u8>, Unspecified> {
        let der: Pkcs8V1Der<'static> = self.key.as_der()?;
        Ok(der.as_ref().to_vec())
    }

    /// The public key as a JWK, as Cognito publishes it.
    pub fn jwk(&self) -> Value {
        let c = PublicKeyComponents::<Vec<u8>>::from(self.key.public_key());
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(&c.e),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&c.n),
            "use": "sig",
        })
    }

    /// Checks a token this key signed: `alg` RS256, this `kid`, a valid signature. Claims are
    /// the caller's to check.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, crate::error::TokenError> {
        let jwt = crate::jwt::Jwt::parse(token)?;
        jwt.require_alg("RS256")?;
        if jwt.header_str("kid") != Some(self.kid.as_str()) {
            return Err(crate::error::TokenError::UnknownKid {
                kid: jwt.header_str("kid").unwrap_or_default().to_owned(),
                reason: "not this pool's access-token key".into(),
            });
        }
        let c = PublicKeyComponents::<Vec<u8>>::from(self.key.public_key());
        let key = jsonwebtoken::DecodingKey::from_rsa_raw_components(&c.n, &c.e);
        let signed = jsonwebtoken::crypto::verify(
            jwt.signature_text,
            jwt.signing_input.as_bytes(),
            &key,
            Algorithm::RS256,
        );
        if !matches!(signed, Ok(true)) {
            return Err(crate::error::TokenError::Signature { hint: None });
        }
        Ok(jwt.claims)
    }

    /// A compact JWT with header `{"kid","alg":"RS256"}` over `claims`.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, Unspecified> {
        let header = json!({ "kid": self.kid, "alg": "RS256" });
        self.sign_raw(
            &header.to_string(),
            &Value::Object(claims.clone()).to_string(),
        )
    }

    /// Signs any header and payload text (unpadded, as Cognito encodes).
    pub fn sign_raw(&self, header: &str, payload: &str) -> Result<String, Unspecified> {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, input.as_bytes(), &mut sig)?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

/// A PEM block with 64-character lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Serves public keys over HTTP the way AWS does: the ALB's PEM at `/<kid>`, a user pool's JWKS
/// at `/<pool>/.well-known/jwks.json`. Counts the requests it answers, so tests can see caching.
#[derive(Debug, Clone, Default)]
pub struct KeyServer {
    files: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl KeyServer {
    /// Listens on `listener` (bind 127.0.0.1:0 for tests) and returns its base URL.
    pub fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<String> {
        use hyper::service::service_fn;
        let addr = listener.local_addr()?;
        let me = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let me = me.clone();
                    async move { Ok::<_, std::convert::Infallible>(me.answer(req.uri().path())) }
                });
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Ok(format!("http://{addr}"))
    }

    fn answer(&self, path: &str) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
        use std::sync::atomic::Ordering;
        self.hits.fetch_add(1, Ordering::SeqCst);
        let body = self.files.lock().ok().and_then(|f| f.get(path).cloned());
        let (status, body) = match body {
            Some(b) => (200, b),
            None => (404, String::new()),
        };
        let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
        resp
    }

    /// Serves `body` at `path`.
    pub fn put(&self, path: &str, body: String) {
        if let Ok(mut f) = self.files.lock() {
            f.insert(path.to_owned(), body);
        }
    }

    /// Publishes the ALB signer's public key at `/<kid>`.
    pub fn put_alb_key(&self, signer: &AlbSigner) -> Result<(), Unspecified> {
        self.put(&format!("/{}", signer.kid), signer.public_key_pem()?);
        Ok(())
    }

    /// Publishes `keys` as the JWKS of the issuer whose path is `issuer_path` (e.g. `/eu-west-1_Lab`).
    pub fn put_jwks(&self, issuer_path: &str, keys: &[&RsaSigner]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        self.put(
            &format!("{issuer_path}/.well-known/jwks.json"),
            json!({ "keys": keys }).to_string(),
        );
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}
