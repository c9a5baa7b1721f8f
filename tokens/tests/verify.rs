//! The verifiers against real HTTP key endpoints on loopback, the real ALB token, and a corpus of
//! forged and malformed tokens.
#![allow(clippy::unwrap_used)]

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use cognito_learning_tokens::keys::{AlbKeys, Jwks};
use cognito_learning_tokens::sign::{AlbHeader, AlbSigner, KeyServer, RsaSigner};
use cognito_learning_tokens::{
    AlbExpectations, AlbVerifier, CognitoVerifier, TokenError, TokenUse,
};
use serde_json::{Map, Value, json};

const REAL_TOKEN: &str = include_str!("data/alb-real-token.txt");
const REAL_KEY: &str = include_str!("data/alb-real-key.pem");
const REAL_KID: &str = "c2f80c8b-c05c-4068-af14-17299f7896b1";
const REAL_SIGNER: &str = "arn:aws:elasticloadbalancing:eu-central-1:197280958225:loadbalancer/app/ecs-with-cognito-lb/6284be65b827c598";
const REAL_ISS: &str = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_MyRrOCHQw";
const REAL_CLIENT: &str = "4fmvht22tjrgd7d3k3tghttct7";
const BEFORE_REAL_EXP: u64 = 1_687_748_000;

async fn start(server: &KeyServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    server.serve(listener).unwrap()
}

fn real_verifier() -> AlbVerifier {
    let keys = AlbKeys::offline();
    keys.insert_pem(REAL_KID, REAL_KEY).unwrap();
    AlbVerifier::new(
        keys,
        AlbExpectations {
            signer: REAL_SIGNER.into(),
            issuer: Some(REAL_ISS.into()),
            client: Some(REAL_CLIENT.into()),
        },
    )
}

#[tokio::test]
async fn the_real_alb_token_verifies_before_its_expiry() {
    let v = real_verifier()
        .verify(REAL_TOKEN, BEFORE_REAL_EXP)
        .await
        .unwrap();
    assert_eq!(v.claim_str("username"), Some("duke"));
    assert_eq!(
        v.claim_str("sub"),
        Some("23d498b2-3031-70d2-8a15-49dd886a087b")
    );
    assert_eq!(v.exp, 1_687_748_045);
}

#[tokio::test]
async fn the_real_alb_token_is_expired_after_its_exp() {
    let err = real_verifier()
        .verify(REAL_TOKEN, 1_687_748_045 + 180)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expired 3 min ago (exp 2023-06-26T02:54:05Z)"
    );
}

#[tokio::test]
async fn the_real_alb_token_is_rejected_with_any_byte_changed() {
    let v = real_verifier();
    let token = REAL_TOKEN.trim();
    for (i, orig) in token.char_indices() {
        for replacement in ['A', 'B', '-', '=', '.', 'z'] {
            if replacement == orig {
                continue;
            }
            let mut forged = token.to_owned();
            forged.replace_range(i..=i, &replacement.to_string());
            let res = v.verify(&forged, BEFORE_REAL_EXP).await;
            assert!(res.is_err(), "byte {i} {orig}->{replacement} was accepted");
        }
    }
}

#[tokio::test]
async fn the_real_alb_token_fails_with_its_padding_stripped() {
    let stripped = REAL_TOKEN.trim().replace('=', "");
    let err = real_verifier()
        .verify(&stripped, BEFORE_REAL_EXP)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad signature (the ALB signs its base64url text with = padding; was the padding stripped?)"
    );
}

struct Lab {
    signer: AlbSigner,
    server: KeyServer,
    verifier: AlbVerifier,
}

const SIGNER: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/lab/50dc6c495c0c9188";
const ISS: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Lab";
const CLIENT: &str = "labclient";
const NOW: u64 = 1_800_000_000;

async fn alb_lab() -> Lab {
    let signer = AlbSigner::generate("6f1c9b6e-3e2a-4d8f-9b1a-2c3d4e5f6a7b").unwrap();
    let server = KeyServer::default();
    let base = start(&server).await;
    server.put(
        &format!("/{}", signer.kid),
        signer.public_key_pem().unwrap(),
    );
    let verifier = AlbVerifier::new(
        AlbKeys::new(base),
        AlbExpectations {
            signer: SIGNER.into(),
            issuer: Some(ISS.into()),
            client: Some(CLIENT.into()),
        },
    );
    Lab {
        signer,
        server,
        verifier,
    }
}

fn userinfo() -> Map<String, Value> {
    json!({"sub":"u-1","email_verified":"true","email":"alice@example.com","username":"alice"})
        .as_object()
        .unwrap()
        .clone()
}

fn header(exp: u64) -> AlbHeader<'static> {
    AlbHeader {
        issuer: ISS,
        client: CLIENT,
        signer: SIGNER,
        exp,
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE.encode(v.to_string())
}

#[tokio::test]
async fn a_lab_signed_token_verifies_and_keys_are_fetched_once() {
    let lab = alb_lab().await;
    let token = lab.signer.sign(&header(NOW + 120), &userinfo()).unwrap();
    assert!(token.contains('='), "ALB tokens are padded");
    for _ in 0..5 {
        let v = lab.verifier.verify(&token, NOW).await.unwrap();
        assert_eq!(v.claim_str("email"), Some("alice@example.com"));
        assert_eq!(
            v.claim_str("iss"),
            Some(ISS),
            "payload ends with the issuer"
        );
    }
    assert_eq!(
        lab.server.hits(),
        1,
        "the key is cached after the first fetch"
    );
}

#[tokio::test]
async fn the_forgery_corpus_is_rejected_with_its_reason() {
    let lab = alb_lab().await;
    let good = lab.signer.sign(&header(NOW + 120), &userinfo()).unwrap();
    let kid = lab.signer.kid.clone();
    let h = |alg: &str, signer: &str| json!({"typ":"JWT","kid":kid,"alg":alg,"iss":ISS,"client":CLIENT,"signer":signer,"exp":NOW+120});
    let payload = json!({"sub":"u-1","exp":NOW+120,"iss":ISS});
    let input_none = format!("{}.{}", b64(&h("none", SIGNER)), b64(&payload));
    let hs_input = format!("{}.{}", b64(&h("HS256", SIGNER)), b64(&payload));
    let mac_key = hmac::Key::new(
        hmac::HMAC_SHA256,
        lab.signer.public_key_pem().unwrap().as_bytes(),
    );
    let hs_sig = URL_SAFE.encode(hmac::sign(&mac_key, hs_input.as_bytes()).as_ref());
    let other = AlbSigner::generate(kid.clone()).unwrap();
    let wrong_key = other.sign(&header(NOW + 120), &userinfo()).unwrap();
    let wrong_signer = lab
        .signer
        .sign_raw(
            &h(
                "ES256",
                "arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/evil/1",
            )
            .to_string(),
            &payload.to_string(),
            true,
        )
        .unwrap();
    let expired = lab.signer.sign(&header(NOW - 600), &userinfo()).unwrap();
    let exp_mismatch = lab
        .signer
        .sign_raw(
            &h("ES256", SIGNER).to_string(),
            &json!({"sub":"u-1","exp":NOW+9999,"iss":ISS}).to_string(),
            true,
        )
        .unwrap();
    let unpadded_signed = lab
        .signer
        .sign_raw(&h("ES256", SIGNER).to_string(), &payload.to_string(), false)
        .unwrap();
    let huge_header = format!("{}.{}.", URL_SAFE.encode("x".repeat(20_000)), b64(&payload));
    let traversal = {
        let mut hh = h("ES256", SIGNER);
        hh["kid"] = "../../etc/passwd".into();
        lab.signer
            .sign_raw(&hh.to_string(), &payload.to_string(), true)
            .unwrap()
    };

    let corpus: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{input_none}."),
            "alg is none, expected ES256",
        ),
        (
            "HS256 with the public key",
            format!("{hs_input}.{hs_sig}"),
            "alg is HS256, expected ES256",
        ),
        ("wrong key", wrong_key, "bad signature"),
        (
            "wrong signer",
            wrong_signer,
            "wrong signer arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/evil/1",
        ),
        ("expired", expired, "expired 10 min ago"),
        (
            "exp differs",
            exp_mismatch,
            "differs from exp in the payload",
        ),
        (
            "padding stripped",
            good.replace('=', ""),
            "was the padding stripped?",
        ),
        ("truncated", good[..good.len() - 10].to_owned(), "signature"),
        (
            "truncated at a dot",
            good[..good.rfind('.').unwrap()].to_owned(),
            "expected 3 dot-separated parts, found 2",
        ),
        (
            "not base64",
            "e30.e30.%%%".into(),
            "signature is not base64url",
        ),
        ("huge header", huge_header, "the limit is 16384"),
        (
            "kid path traversal",
            traversal,
            "is not a key id this verifier will look up",
        ),
        ("empty", String::new(), "empty token"),
        (
            "json array header",
            format!("{}.{}.", b64(&json!([1])), b64(&payload)),
            "header is not a JSON object",
        ),
    ];
    for (name, token, reason) in corpus {
        let err = lab.verifier.verify(&token, NOW).await.unwrap_err();
        assert!(
            err.to_string().contains(reason),
            "{name}: {err} (expected {reason:?})"
        );
    }
    // A token signed over unpadded text is a valid ES256 signature, but not what the ALB sends:
    // it verifies only because its own text is what it signed. Documented, and harmless.
    assert!(lab.verifier.verify(&unpadded_signed, NOW).await.is_ok());
    // Nothing in the corpus made us fetch a key other than the real one.
    assert!(lab.server.hits() <= 1);
}

#[tokio::test]
async fn unknown_kids_are_fetched_once_a_minute_at_most() {
    let lab = alb_lab().await;
    let stranger = AlbSigner::generate("00000000-0000-0000-0000-000000000000").unwrap();
    let token = stranger.sign(&header(NOW + 120), &userinfo()).unwrap();
    for _ in 0..3 {
        let err = lab.verifier.verify(&token, NOW).await.unwrap_err();
        assert!(matches!(err, TokenError::UnknownKid { .. }), "{err}");
    }
    assert_eq!(lab.server.hits(), 1);
}

#[tokio::test]
async fn an_unreachable_key_endpoint_is_reported() {
    let verifier = AlbVerifier::new(
        AlbKeys::new("http://127.0.0.1:1"),
        AlbExpectations {
            signer: SIGNER.into(),
            issuer: None,
            client: None,
        },
    );
    let signer = AlbSigner::generate("6f1c9b6e-0000-4d8f-9b1a-2c3d4e5f6a7b").unwrap();
    let token = signer.sign(&header(NOW + 120), &userinfo()).unwrap();
    let err = verifier.verify(&token, NOW).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("could not fetch keys from http://127.0.0.1:1/6f1c9b6e"),
        "{err}"
    );
}

struct Pool {
    id_key: RsaSigner,
    access_key: RsaSigner,
    server: KeyServer,
    verifier: CognitoVerifier,
}

async fn pool() -> Pool {
    let server = KeyServer::default();
    let base = start(&server).await;
    let issuer = format!("{base}/eu-west-1_Lab");
    let id_key = RsaSigner::generate("id-key=").unwrap();
    let access_key = RsaSigner::generate("access-key=").unwrap();
    server.put_jwks("/eu-west-1_Lab", &[&id_key, &access_key]);
    let verifier = CognitoVerifier::new(issuer, CLIENT);
    Pool {
        id_key,
        access_key,
        server,
        verifier,
    }
}

fn access_claims(p: &Pool) -> Map<String, Value> {
    json!({"sub":"u-1","cognito:groups":["secret-readers"],"iss":p.verifier.issuer(),"version":2,
           "client_id":CLIENT,"token_use":"access","scope":"openid email","auth_time":NOW-10,
           "exp":NOW+3600,"iat":NOW-10,"jti":"j","username":"alice"})
    .as_object()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn cognito_access_and_id_tokens_verify() {
    let p = pool().await;
    let access = p.access_key.sign(&access_claims(&p)).unwrap();
    let v = p
        .verifier
        .verify(&access, TokenUse::Access, NOW)
        .await
        .unwrap();
    assert_eq!(v.groups(), vec!["secret-readers"]);
    let mut id = access_claims(&p);
    id.remove("client_id");
    id.insert("aud".into(), CLIENT.into());
    id.insert("token_use".into(), "id".into());
    id.insert("email_verified".into(), true.into());
    let id = p.id_key.sign(&id).unwrap();
    p.verifier.verify(&id, TokenUse::Id, NOW).await.unwrap();
    assert_eq!(p.server.hits(), 1, "one JWKS fetch serves both keys");
}

#[tokio::test]
async fn cognito_rejections_say_why() {
    let p = pool().await;
    let with = |k: &str, v: Value| {
        let mut c = access_claims(&p);
        c.insert(k.into(), v);
        p.access_key.sign(&c).unwrap()
    };
    let stranger = RsaSigner::generate("access-key=").unwrap();
    let cases: Vec<(String, TokenUse, &str)> = vec![
        (
            with("token_use", "id".into()),
            TokenUse::Access,
            "token_use is id, expected access",
        ),
        (
            with("client_id", "other".into()),
            TokenUse::Access,
            "wrong client other, expected labclient",
        ),
        (
            with("iss", "https://evil".into()),
            TokenUse::Access,
            "wrong issuer https://evil",
        ),
        (
            with("exp", (NOW - 120).into()),
            TokenUse::Access,
            "expired 2 min ago",
        ),
        (
            with("exp", "soon".into()),
            TokenUse::Access,
            "claim exp is malformed",
        ),
        (
            p.access_key.sign(&access_claims(&p)).unwrap(),
            TokenUse::Id,
            "token_use is access, expected id",
        ),
        (
            stranger.sign(&access_claims(&p)).unwrap(),
            TokenUse::Access,
            "bad signature",
        ),
        (
            p.access_key
                .sign_raw(
                    r#"{"kid":"access-key=","alg":"none"}"#,
                    &Value::Object(access_claims(&p)).to_string(),
                )
                .unwrap(),
            TokenUse::Access,
            "alg is none, expected RS256",
        ),
    ];
    for (token, use_, reason) in cases {
        let err = p.verifier.verify(&token, use_, NOW).await.unwrap_err();
        assert!(
            err.to_string().contains(reason),
            "{err} (expected {reason:?})"
        );
    }
}

#[tokio::test]
async fn a_rotated_cognito_key_is_picked_up_by_one_refetch() {
    let p = pool().await;
    let token = p.access_key.sign(&access_claims(&p)).unwrap();
    p.verifier
        .verify(&token, TokenUse::Access, NOW)
        .await
        .unwrap();
    let rotated = RsaSigner::generate("rotated=").unwrap();
    p.server.put_jwks("/eu-west-1_Lab", &[&rotated]);
    // The verifier last fetched just now, so it waits before asking again: no stampede.
    let fresh = rotated.sign(&access_claims(&p)).unwrap();
    let err = p
        .verifier
        .verify(&fresh, TokenUse::Access, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::UnknownKid { .. }), "{err}");
    // A new verifier (as after the refetch gap) fetches once and finds it.
    let v = CognitoVerifier::with_jwks(
        p.verifier.issuer(),
        CLIENT,
        Jwks::for_issuer(p.verifier.issuer()),
    );
    v.verify(&fresh, TokenUse::Access, NOW).await.unwrap();
    assert_eq!(p.server.hits(), 2);
}

#[test]
fn unpadded_signature_text_is_not_the_alb_format() {
    // The real token's signature is 88 characters ending "==": 64 raw bytes, padded.
    let sig = REAL_TOKEN.trim().rsplit('.').next().unwrap();
    assert_eq!(sig.len(), 88);
    assert_eq!(URL_SAFE.decode(sig).unwrap().len(), 64);
    assert!(URL_SAFE_NO_PAD.decode(sig).is_err());
}
