//! The lab's AWS API port: SigV4-signed AWS APIs, and the lab's trace for a guide in another
//! process.

use std::sync::Arc;

use crate::trace::{self, Trace};
use crate::{aws, http};

/// The AWS API port: the AWS APIs, and the lab's trace for a guide in another process.
pub(crate) struct ApiPort {
    pub(crate) api: Arc<aws::AwsApi>,
    pub(crate) trace: Arc<Trace>,
    pub(crate) run: String,
}

impl http::Service for ApiPort {
    async fn call(&self, req: http::Req) -> http::Resp {
        if req.parts.method == ::http::Method::GET && req.path() == "/lab/trace" {
            return trace_page(&self.trace, &self.run, &req);
        }
        self.api.handle(&req).await
    }
}

/// `GET /lab/trace?after=SEQ`: the trace events after `SEQ` (all kept ones without it), oldest
/// first, as `{"events": [...]}`, for a lab guide in another process. Unsigned, like the ALB key
/// endpoint, and on loopback only: the events hold whole exchanges, tokens included, with the
/// client secret and typed passwords masked.
fn trace_page(trace: &Trace, run: &str, req: &http::Req) -> http::Resp {
    let after: u64 = req
        .query()
        .get("after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let page = trace::TracePage {
        run: run.to_owned(),
        events: trace
            .recent()
            .into_iter()
            .filter(|e| e.seq > after)
            .collect(),
    };
    http::response(
        ::http::StatusCode::OK,
        "application/json;charset=UTF-8",
        serde_json::to_vec(&page).unwrap_or_default(),
    )
}
