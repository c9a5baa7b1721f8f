//! The ALB's back channel to the IdP: the token endpoint (with `client_secret_basic`) and
//! userInfo, each under a time limit, each traced, each failure answered as the ALB answers it.

use super::*;

impl Alb {
    /// POST to the token endpoint with `client_secret_basic`.
    pub(super) async fn token_request(
        &self,
        form: String,
        what: &str,
        auth: &AuthStep,
    ) -> Result<Map<String, Value>, Resp> {
        let basic = STANDARD.encode(format!("{}:{}", auth.client_id, auth.client_secret));
        let req = Request::post(auth.token_endpoint())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .body(Bytes::from(form));
        let began = self.trace.begin();
        let (status, body, ex) = match self.back_channel(req, "POST /oauth2/token").await {
            Ok(r) => r,
            Err(e) => return Err(alb_page(500, &format!("AuthTokenEpRequestTimeout: {e}"))),
        };
        let json: Map<String, Value> = serde_json::from_slice(&body).unwrap_or_default();
        let error = json.get("error").and_then(Value::as_str).unwrap_or("");
        self.trace.emit(
            began,
            (Actor::Alb, Actor::Cognito),
            "POST /oauth2/token".into(),
            status,
            if status == 200 {
                format!(
                    "{what}: id, access{} token",
                    if json.contains_key("refresh_token") {
                        ", refresh"
                    } else {
                        ""
                    }
                )
            } else {
                format!("error={error}")
            },
            ex,
        );
        match status {
            200 => Ok(json),
            400 if error == "invalid_grant" => Err(alb_page(401, "AuthInvalidGrantError")),
            _ => Err(alb_page(
                561,
                &format!("AuthTokenEpRequestFailed: HTTP {status} {error}"),
            )),
        }
    }

    pub(super) async fn userinfo(
        &self,
        access: &str,
        auth: &AuthStep,
    ) -> Result<Map<String, Value>, Resp> {
        let req = Request::get(auth.userinfo_endpoint())
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Bytes::new());
        let began = self.trace.begin();
        let (status, body, ex) = match self.back_channel(req, "GET /oauth2/userInfo").await {
            Ok(r) => r,
            Err(e) => return Err(alb_page(500, &format!("AuthUserinfoEpRequestTimeout: {e}"))),
        };
        let json: Option<Map<String, Value>> = serde_json::from_slice(&body).ok();
        let who = json
            .as_ref()
            .and_then(|j| j.get("username"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        self.trace.emit(
            began,
            (Actor::Alb, Actor::Cognito),
            "GET /oauth2/userInfo".into(),
            status,
            format!("claims of {who}"),
            ex,
        );
        match (status, json) {
            (200, Some(j)) => Ok(j),
            _ => Err(alb_page(
                561,
                &format!("AuthUserinfoEpRequestFailed: HTTP {status}"),
            )),
        }
    }

    pub(super) async fn back_channel(
        &self,
        req: Result<Request<Bytes>, http::Error>,
        what: &str,
    ) -> Result<(u16, Bytes, Captured), String> {
        let req = req.map_err(|e| format!("{what}: {e}"))?;
        let sent = crate::trace::request(
            req.method(),
            req.uri().to_string(),
            req.headers(),
            req.body(),
        );
        let call = async {
            let resp = self
                .http
                .request(req.map(Full::new))
                .await
                .map_err(|e| e.to_string())?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, 1 << 20)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let ex = crate::trace::answered(sent, &parts.headers, &body);
            Ok::<_, String>((parts.status.as_u16(), body, ex))
        };
        tokio::time::timeout(BACK_CHANNEL_TIMEOUT, call)
            .await
            .map_err(|_| format!("{what}: no answer in {BACK_CHANNEL_TIMEOUT:?}"))?
    }
}
