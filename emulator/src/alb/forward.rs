//! Forwarding to a target: hop-by-hop headers dropped, `X-Forwarded-*` and `X-Amzn-Trace-Id`
//! set, and on a rule that authenticates, the ALB's three headers in place of any the client
//! sent under those names.
//!
//! On a rule that only forwards, a client's `x-amzn-oidc-*` headers reach the target as they
//! came: AWS documents no stripping there, so the app must verify them wherever it reads them.

use super::*;

impl Alb {
    /// Sends the request on to `target`, with the ALB's headers. `authenticates` says whether
    /// the rule has an authenticate action, whose headers then replace the client's.
    pub(super) async fn forward(
        &self,
        req: &Req,
        target: &str,
        auth: Option<&AuthStep>,
        user: Option<&Opened>,
    ) -> Resp {
        let authenticates = auth.is_some();
        let pq = req.parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = Request::builder()
            .method(req.parts.method.clone())
            .uri(format!("{}{pq}", target.trim_end_matches('/')));
        let mut xff: Option<String> = None;
        let mut trace_id: Option<String> = None;
        if let Some(h) = out.headers_mut() {
            for (name, value) in &req.parts.headers {
                let n = name.as_str();
                if HOP_BY_HOP.contains(&n)
                    || (authenticates && n.starts_with("x-amzn-oidc-"))
                    || n == "x-forwarded-proto"
                    || n == "x-forwarded-port"
                {
                    continue;
                }
                match n {
                    "x-forwarded-for" => xff = value.to_str().ok().map(str::to_owned),
                    "x-amzn-trace-id" => trace_id = value.to_str().ok().map(str::to_owned),
                    _ => {
                        h.append(name.clone(), value.clone());
                    }
                }
            }
            let client = req.peer.ip().to_string();
            let xff = match xff {
                Some(x) if !x.trim().is_empty() => format!("{x}, {client}"),
                _ => client,
            };
            let mut set = |k: &'static str, v: String| {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            };
            set("x-forwarded-for", xff);
            set("x-amzn-trace-id", trace_header(trace_id.as_deref()));
            h.insert("x-forwarded-proto", HeaderValue::from_static("http"));
            h.insert("x-forwarded-port", self.forwarded_port.clone());
            if let (Some(o), Some(auth)) = (user, auth) {
                if let Some(data) = self.data_token(o, auth) {
                    h.insert("x-amzn-oidc-data", data);
                }
                if let Some(v) = &o.access {
                    h.insert("x-amzn-oidc-accesstoken", v.clone());
                }
                if let Some(v) = &o.identity {
                    h.insert("x-amzn-oidc-identity", v.clone());
                }
            }
        }
        let label = format!("{} {pq}", req.parts.method);
        let began = self.trace.begin();
        let url = format!("{}{pq}", target.trim_end_matches('/'));
        let ex = out.headers_ref().map_or_else(Captured::default, |h| {
            crate::trace::request(&req.parts.method, url, h, &req.body)
        });
        let sent = match out.body(Full::new(req.body.clone())) {
            Ok(r) => tokio::time::timeout(Duration::from_secs(60), self.http.request(r)).await,
            Err(_) => return alb_page(400, "the request could not be forwarded"),
        };
        let resp = match sent {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.trace.emit(
                    began,
                    (Actor::Alb, Actor::App),
                    label,
                    502,
                    format!("target unreachable: {e}"),
                    ex,
                );
                return alb_page(502, &format!("target {target} unreachable"));
            }
            Err(_) => {
                self.trace.emit(
                    began,
                    (Actor::Alb, Actor::App),
                    label,
                    504,
                    "target timed out".into(),
                    ex,
                );
                return alb_page(504, "target timed out");
            }
        };
        let (parts, body) = resp.into_parts();
        let body = match Limited::new(body, 64 << 20).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return alb_page(502, "the target's response broke off"),
        };
        let note = user.map(|o| {
            let s = &o.session;
            let who = s
                .userinfo
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or(&s.sub);
            format!("with x-amzn-oidc-* for {who}")
        });
        self.trace.emit(
            began,
            (Actor::Alb, Actor::App),
            label,
            parts.status.as_u16(),
            note.unwrap_or_default(),
            crate::trace::answered(ex, &parts.headers, &body),
        );
        let mut r = http::Response::new(crate::http::Body::whole(body));
        *r.status_mut() = parts.status;
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                r.headers_mut().append(name.clone(), value.clone());
            }
        }
        r
    }
}

pub(super) const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];
