//! `/oauth2/userInfo`: the user's attributes for a valid access token, with Cognito's string
//! booleans.

use super::*;

impl Cognito {
    pub(super) fn userinfo(&self, req: &Req) -> Resp {
        let fail = |status: StatusCode, challenge: &str| {
            let mut r = json_resp(
                status,
                &json!({"error": if status == StatusCode::BAD_REQUEST {"invalid_request"} else {"invalid_token"}}),
            );
            if let Ok(v) = http::HeaderValue::from_str(challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        };
        let bad_request = || {
            fail(
                StatusCode::BAD_REQUEST,
                r#"error="invalid_request", error_description="Bad OAuth2 request at UserInfo Endpoint""#,
            )
        };
        let invalid = || {
            fail(
                StatusCode::UNAUTHORIZED,
                r#"error="invalid_token", error_description="Access token is expired, disabled, or deleted, or the user has globally signed out.""#,
            )
        };
        let Some(token) = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return bad_request();
        };
        let Ok(claims) = self.access_key.verify(token.trim()) else {
            return invalid();
        };
        let str_claim = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
        let live = claims
            .get("exp")
            .and_then(Value::as_u64)
            .is_some_and(|e| e > self.clock.now());
        let openid = str_claim("scope").split(' ').any(|s| s == "openid");
        if !live
            || str_claim("iss") != self.issuer()
            || str_claim("token_use") != "access"
            || !openid
        {
            return invalid();
        }
        let pool = self.pool();
        let Some(user) = pool.user_by_sub(str_claim("sub")) else {
            return invalid();
        };
        // Cognito's userInfo sends booleans as strings, and the username alongside.
        json_resp(
            StatusCode::OK,
            &json!({"sub": user.sub(), "email_verified": "true", "email": user.email, "username": user.username}),
        )
    }
}
