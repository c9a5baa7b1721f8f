//! What answers: the services on the guide's top line and the probe for each.

use std::time::Duration;

use crate::lessons::Track;
use crate::target::Target;

pub use crate::target::addr_of;

/// One service on the top line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub addr: String,
    /// `None` until probed.
    pub up: Option<bool>,
}

/// Whether a TCP connection to `addr` opens within `limit`: a probe that sends no request, so
/// it never shows in the lab's trace.
pub async fn reachable(addr: &str, limit: Duration) -> bool {
    // `localhost` may resolve to ::1 first, where the lab does not listen.
    let addr = addr.replace("localhost", "127.0.0.1");
    tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// The services on the top line, with the address each is probed at.
pub fn services(t: &Target) -> Vec<(Service, String)> {
    let var = |k: &str| t.vars.get(k).cloned().unwrap_or_default();
    let mut list = vec![("ALB", var("site")), ("Cognito", var("cognito"))];
    if t.track == Track::Local {
        if let Some(lab) = &t.lab {
            list.push(("AWS", lab.aws.clone()));
        }
        list.push(("app", var("app")));
    }
    list.into_iter()
        .filter_map(|(name, url)| Some((name, addr_of(&url)?)))
        .map(|(name, probe)| {
            let addr = if t.track == Track::Local {
                format!(":{}", probe.rsplit(':').next().unwrap_or_default())
            } else {
                probe.trim_end_matches(":443").to_owned()
            };
            (
                Service {
                    name: name.into(),
                    addr,
                    up: None,
                },
                probe,
            )
        })
        .collect()
}
