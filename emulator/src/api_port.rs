//! The lab's AWS API port: SigV4-signed AWS APIs, and the lab's trace for a guide in another
//! process.

use std::sync::Arc;

use cognito_learning_contract::lab::RUN_HEADER;

use crate::lab_clock::{self, Clock};
use crate::trace::{self, Trace};
use crate::{aws, http};

/// The AWS API port: the AWS APIs, and the lab's trace for a guide in another process.
pub(crate) struct ApiPort {
    pub(crate) api: Arc<aws::AwsApi>,
    pub(crate) trace: Arc<Trace>,
    pub(crate) run: String,
    pub(crate) clock: Clock,
    pub(crate) state_dir: std::path::PathBuf,
}

impl http::Service for ApiPort {
    async fn call(&self, req: http::Req) -> http::Resp {
        if req.parts.method == ::http::Method::GET && req.path() == "/lab/trace" {
            return trace_page(&self.trace, &self.run, self.clock.offset(), &req);
        }
        if req.path() == "/lab/clock" {
            return self.clock_page(&req);
        }
        self.api.handle(&req).await
    }
}

/// `GET /lab/trace?after=SEQ`: the trace events after `SEQ` (all kept ones without it), oldest
/// first, as `{"events": [...]}`, for a lab guide in another process. Unsigned, like the ALB key
/// endpoint, and on loopback only: the events hold whole exchanges, tokens included, with the
/// client secret and typed passwords masked.
fn trace_page(trace: &Trace, run: &str, clock_offset: i64, req: &http::Req) -> http::Resp {
    let after: u64 = req
        .query()
        .get("after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let page = trace::TracePage {
        run: run.to_owned(),
        events: trace.after(after),
        clock_offset,
    };
    http::response(
        ::http::StatusCode::OK,
        "application/json;charset=UTF-8",
        serde_json::to_vec(&page).unwrap_or_default(),
    )
}

impl ApiPort {
    /// `GET /lab/clock`: the lab's clock. `POST /lab/clock` with `{"advance": SECONDS}` or
    /// `{"reset": true}` moves it; the request must carry the lab's run in [`RUN_HEADER`].
    fn clock_page(&self, req: &http::Req) -> http::Resp {
        let answer = |status, body: serde_json::Value| {
            http::response(status, "application/json", body.to_string())
        };
        match req.parts.method {
            ::http::Method::GET => {}
            ::http::Method::POST => {
                let run_ok = req
                    .parts
                    .headers
                    .get(RUN_HEADER)
                    .is_some_and(|r| r.as_bytes() == self.run.as_bytes());
                if !run_ok {
                    return answer(
                        ::http::StatusCode::FORBIDDEN,
                        serde_json::json!({"message": format!("moving the lab's clock needs the {RUN_HEADER} header with the lab's run (in running.json)")}),
                    );
                }
                let change = match serde_json::from_slice::<lab_clock::Change>(&req.body) {
                    Ok(c) => c,
                    Err(e) => {
                        return answer(
                            ::http::StatusCode::BAD_REQUEST,
                            serde_json::json!({"message": format!("the body is not {{\"advance\": SECONDS}} or {{\"reset\": true}}: {e}")}),
                        );
                    }
                };
                if let Err(e) = lab_clock::apply(&self.clock, &self.state_dir, &change) {
                    return answer(
                        ::http::StatusCode::BAD_REQUEST,
                        serde_json::json!({ "message": e }),
                    );
                }
            }
            _ => {
                return answer(
                    ::http::StatusCode::METHOD_NOT_ALLOWED,
                    serde_json::json!({"message": "GET reads the lab's clock, POST moves it"}),
                );
            }
        }
        answer(
            ::http::StatusCode::OK,
            serde_json::to_value(lab_clock::state(&self.clock)).unwrap_or_default(),
        )
    }
}
