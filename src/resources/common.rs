//! What every resource check shares: the account's services and readers, the result type and
//! the list prices.

pub(super) use crate::account::{
    ACM, Account, CODEBUILD, CODEDEPLOY, CODEPIPELINE, EC2, ELBV2, docs, entries, filters, text,
    xml,
};

pub(super) type Res = Result<String, String>;

/// List prices in us-east-1 (dollars an hour), from the pricing pages the lessons cite.
pub(super) mod price {
    pub const NAT_GATEWAY: f64 = 0.045;
    pub const PUBLIC_IPV4: f64 = 0.005;
    pub const ALB: f64 = 0.0225;

    pub fn instance(kind: &str) -> Option<f64> {
        match kind {
            "t3.micro" => Some(0.0104),
            "t4g.micro" => Some(0.0084),
            "t3.small" => Some(0.0208),
            "t4g.small" => Some(0.0168),
            _ => None,
        }
    }
}
