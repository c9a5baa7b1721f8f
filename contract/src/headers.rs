//! The headers an ALB adds to a request it has authenticated (ALB user guide, "Authenticate
//! users using an Application Load Balancer", user claims encoding and signature verification).
//! Any header a client sends under these names is removed by the ALB before it adds its own.

/// The user claims, as a JWT signed by the ALB (ES256).
pub const OIDC_DATA: &str = "x-amzn-oidc-data";
/// The access token from the IdP's token endpoint, as it came.
pub const OIDC_ACCESS_TOKEN: &str = "x-amzn-oidc-accesstoken";
/// The `sub` claim from the IdP's userInfo endpoint.
pub const OIDC_IDENTITY: &str = "x-amzn-oidc-identity";
/// What the three names start with.
pub const OIDC_PREFIX: &str = "x-amzn-oidc-";
