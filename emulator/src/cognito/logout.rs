//! `/logout`, in both documented forms: `logout_uri` (back to a registered sign-out URL) and
//! `redirect_uri` (to sign in again); either ends the hosted UI's session.

use super::*;

impl Cognito {
    pub(super) fn logout(&self, req: &Req) -> Resp {
        let q = req.query();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        let pool = self.pool();
        let client = get("client_id").and_then(|id| pool.client(id));
        let missing = || {
            redirect(&format!(
                "{}/error?{}",
                self.base,
                query_string(&[
                    ("error", "Required parameters missing"),
                    ("client_id", get("client_id").map_or("", |s| s.as_str()))
                ])
            ))
        };
        let Some(client) = client else {
            return missing();
        };
        let mut resp = if let Some(uri) = get("logout_uri") {
            if !client.logout_urls.contains(uri) {
                return missing();
            }
            redirect(uri)
        } else if let (Some(uri), Some(rt)) = (get("redirect_uri"), get("response_type")) {
            if !client.callback_urls.contains(uri) {
                return missing();
            }
            let scope = get("scope")
                .cloned()
                .unwrap_or_else(|| client.allowed_oauth_scopes.join(" "));
            let mut pairs = vec![
                ("client_id", client.client_id.as_str()),
                ("redirect_uri", uri),
                ("response_type", rt),
                ("scope", &scope),
            ];
            if let Some(s) = get("state") {
                pairs.push(("state", s));
            }
            redirect(&format!("{}/login?{}", self.base, query_string(&pairs)))
        } else {
            return missing();
        };
        if let Some(sid) = req.cookie(SESSION_COOKIE) {
            let mut st = self.state();
            st.sessions.map.remove(sid);
            // The session's refresh tokens end with it, so an ALB that still holds one cannot
            // quietly renew a session the user ended.
            st.refresh.map.retain(|_, g| g.session != sid);
        }
        add_cookie(
            &mut resp,
            &format!(
                "{SESSION_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{}",
                self.secure()
            ),
        );
        resp
    }
}
