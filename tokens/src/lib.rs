//! Decoding and verifying the JSON Web Tokens that sit between an AWS Application Load Balancer,
//! Amazon Cognito and an app, in one place for the server, the lab guide and the local lab.
//!
//! A tour:
//! - [`jwt`] splits a compact JWT into its parts without trusting any of them. It accepts the
//!   ALB's quirk of base64url *with* `=` padding, and keeps the signing input exactly as received.
//! - [`alb`] verifies `x-amzn-oidc-data`: ES256 with a raw 64-byte r‖s signature over the padded
//!   text, the key fetched by `kid` from the ALB's public-key endpoint ([`keys::AlbKeys`]), then
//!   `signer`, `iss`, `client` and the numeric `exp` in the header.
//! - [`cognito`] verifies Cognito ID and access tokens: RS256 with the issuer's JWKS
//!   ([`keys::Jwks`]), `iss`, `token_use`, `client_id` or `aud`, `exp`.
//! - [`decoded`] turns any JWT into what a person wants to read: header, claims, times in UTC and
//!   how long ago or how far ahead they are.
//! - [`cache`]: a bounded map keyed by the SHA-256 of text, for results worth not recomputing.
//! - [`sign`] (feature `sign`) makes keys and signs tokens the way the ALB and Cognito do, for the
//!   local lab and for tests.
//!
//! Every rejection is a [`TokenError`] whose `Display` is one line saying why.

pub mod alb;
pub mod cache;
pub mod cognito;
pub mod decoded;
mod error;
pub mod jwt;
pub mod keys;
pub mod logged;
#[cfg(feature = "sign")]
pub mod sign;
pub mod time;
mod verified;

pub use alb::{AlbExpectations, AlbVerifier};
pub use cognito::{CognitoVerifier, TokenUse};
pub use decoded::{Decoded, TokenKind};
pub use error::TokenError;
pub use jwt::Jwt;
pub use verified::Verified;
