//! Property tests: the parsers and verifiers never panic, whatever they are given.
#![allow(clippy::unwrap_used)]

use cognito_learning_tokens::keys::AlbKeys;
use cognito_learning_tokens::{AlbExpectations, AlbVerifier, Decoded, Jwt};
use proptest::prelude::*;

const REAL_TOKEN: &str = include_str!("data/alb-real-token.txt");
const REAL_KEY: &str = include_str!("data/alb-real-key.pem");

fn verifier() -> &'static AlbVerifier {
    static V: std::sync::OnceLock<AlbVerifier> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let keys = AlbKeys::offline();
        keys.insert_pem("c2f80c8b-c05c-4068-af14-17299f7896b1", REAL_KEY)
            .unwrap();
        let jwt = Jwt::parse(REAL_TOKEN).unwrap();
        AlbVerifier::new(
            keys,
            AlbExpectations {
                signer: jwt.header_str("signer").unwrap().into(),
                issuer: None,
                client: None,
            },
        )
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = Jwt::parse(&s);
        let _ = Decoded::parse(&s, 0);
    }

    #[test]
    fn jwt_shaped_text_never_panics(h in "[A-Za-z0-9_=-]{0,80}", p in "[A-Za-z0-9_=-]{0,80}", s in "[A-Za-z0-9_=-]{0,120}") {
        let t = format!("{h}.{p}.{s}");
        let _ = Jwt::parse(&t);
        let _ = Decoded::parse(&t, 0);
    }

    #[test]
    fn mutated_real_tokens_are_rejected_and_never_panic(
        edits in proptest::collection::vec((0usize..1000, any::<u8>()), 1..6)
    ) {
        let mut bytes = REAL_TOKEN.trim().as_bytes().to_vec();
        let mut changed = false;
        for (i, b) in edits {
            let i = i % bytes.len();
            changed |= bytes[i] != b;
            bytes[i] = b;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let res = runtime().block_on(verifier().verify(&text, 1_687_748_000));
        if changed {
            prop_assert!(res.is_err(), "a changed token was accepted: {text}");
        }
    }
}
