//! `/oauth2/token`: the authorization-code (with PKCE), refresh-token and client-credentials
//! grants, the client's authentication, and the tokens they answer with.

use super::*;

impl Cognito {
    /// An access token and, when `openid` was granted, an ID token.
    pub(super) fn tokens(
        &self,
        client_id: &str,
        user: &User,
        scopes: &[String],
        auth_time: u64,
        nonce: Option<&str>,
        origin_jti: &str,
    ) -> (String, Option<String>) {
        let t = self.clock.now();
        let sub = user.sub();
        let event_id = uuid();
        let mut access = Map::new();
        access.insert("sub".into(), sub.clone().into());
        if !user.groups.is_empty() {
            access.insert("cognito:groups".into(), json!(user.groups));
        }
        access.insert("iss".into(), self.issuer().into());
        access.insert("version".into(), 2.into());
        access.insert("client_id".into(), client_id.into());
        access.insert("origin_jti".into(), origin_jti.into());
        access.insert("event_id".into(), event_id.clone().into());
        access.insert("token_use".into(), "access".into());
        access.insert("scope".into(), scopes.join(" ").into());
        access.insert("auth_time".into(), auth_time.into());
        access.insert(
            "exp".into(),
            (t + self.pool().lifetimes.access_token).into(),
        );
        access.insert("iat".into(), t.into());
        access.insert("jti".into(), uuid().into());
        access.insert("username".into(), user.username.clone().into());
        let access = self.access_key.sign(&access).unwrap_or_default();
        if !scopes.iter().any(|s| s == "openid") {
            return (access, None);
        }
        let mut id = Map::new();
        id.insert("at_hash".into(), at_hash(&access).into());
        id.insert("sub".into(), sub.into());
        if !user.groups.is_empty() {
            id.insert("cognito:groups".into(), json!(user.groups));
        }
        id.insert("email_verified".into(), true.into());
        id.insert("iss".into(), self.issuer().into());
        id.insert("cognito:username".into(), user.username.clone().into());
        if let Some(n) = nonce {
            id.insert("nonce".into(), n.into());
        }
        id.insert("origin_jti".into(), origin_jti.into());
        id.insert("aud".into(), client_id.into());
        id.insert("event_id".into(), event_id.into());
        id.insert("token_use".into(), "id".into());
        id.insert("auth_time".into(), auth_time.into());
        id.insert("exp".into(), (t + self.pool().lifetimes.id_token).into());
        id.insert("iat".into(), t.into());
        id.insert("jti".into(), uuid().into());
        id.insert("email".into(), user.email.clone().into());
        (access, self.id_key.sign(&id).ok())
    }

    /// Who is calling the token endpoint: `client_secret_basic` or `client_secret_post`.
    pub(super) fn client_auth(
        &self,
        req: &Req,
        form: &HashMap<String, String>,
    ) -> Result<AppClient, Resp> {
        let basic = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(i, p)| (i.to_owned(), p.to_owned())));
        let (id, secret) = match basic {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (
                form.get("client_id").cloned(),
                form.get("client_secret").cloned(),
            ),
        };
        let client = id
            .as_deref()
            .and_then(|i| self.pool().client(i).cloned())
            .ok_or_else(|| oauth_error("invalid_client", None))?;
        if client.secret_matches(secret.as_deref()) {
            return Ok(client);
        }
        let why = if client.client_secret.is_some() {
            "invalid_client_secret"
        } else {
            "this client has no secret"
        };
        Err(oauth_error("invalid_client", Some(why)))
    }

    pub(super) fn token(&self, req: &Req) -> Resp {
        let form_type = req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return oauth_error(
                "invalid_request",
                Some("Content-Type must be application/x-www-form-urlencoded"),
            );
        }
        let form = req.form();
        let client = match self.client_auth(req, &form) {
            Ok(c) => c.clone(),
            Err(resp) => return resp,
        };
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.code_grant(&client, &form),
            Some("refresh_token") => self.refresh_grant(&client, &form),
            Some("client_credentials") => self.client_credentials(&client, &form),
            None => oauth_error("invalid_request", Some("grant_type is required")),
            Some(_) => oauth_error("unsupported_grant_type", None),
        }
    }

    pub(super) fn code_grant(&self, client: &AppClient, form: &HashMap<String, String>) -> Resp {
        if !client.allowed_oauth_flows.iter().any(|f| f == "code") {
            return oauth_error("unauthorized_client", None);
        }
        // Taken out on first use, whatever happens next: a code is good for one try only.
        let grant = form
            .get("code")
            .and_then(|c| self.state().codes.map.remove(c));
        let Some(g) =
            grant.filter(|g| g.expires > self.clock.now() && g.client_id == client.client_id)
        else {
            return oauth_error("invalid_grant", None);
        };
        if form.get("redirect_uri") != Some(&g.redirect_uri) {
            return oauth_error(
                "unauthorized_client",
                Some("redirect_uri does not match the authorize request"),
            );
        }
        if let Some(challenge) = &g.challenge {
            let ok = form.get("code_verifier").is_some_and(|v| {
                verifier_shaped(v)
                    && URL_SAFE_NO_PAD.encode(digest(&SHA256, v.as_bytes())) == *challenge
            });
            if !ok {
                return oauth_error(
                    "invalid_grant",
                    Some("code_verifier does not match the code_challenge"),
                );
            }
        }
        let Some(user) = self.pool().user(&g.username).cloned() else {
            return oauth_error("invalid_grant", None);
        };
        let origin_jti = uuid();
        let (access, id) = self.tokens(
            &client.client_id,
            &user,
            &g.scopes,
            g.auth_time,
            g.nonce.as_deref(),
            &origin_jti,
        );
        let refresh = format!(
            "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.{}",
            random_token(96)
        );
        let t = self.clock.now();
        self.state().refresh.insert(
            refresh.clone(),
            RefreshGrant {
                client_id: client.client_id.clone(),
                username: user.username.clone(),
                scopes: g.scopes.clone(),
                auth_time: g.auth_time,
                origin_jti,
                session: g.session,
                expires: t + self.pool().lifetimes.refresh_token,
            },
            t,
        );
        self.token_response(id, access, Some(refresh))
    }

    /// `200 {"id_token"?, "access_token", "refresh_token"?, "expires_in", "token_type"}`.
    pub(super) fn token_response(
        &self,
        id: Option<String>,
        access: String,
        refresh: Option<String>,
    ) -> Resp {
        let mut body = Map::new();
        if let Some(id) = id {
            body.insert("id_token".into(), id.into());
        }
        body.insert("access_token".into(), access.into());
        if let Some(r) = refresh {
            body.insert("refresh_token".into(), r.into());
        }
        body.insert(
            "expires_in".into(),
            self.pool().lifetimes.access_token.into(),
        );
        body.insert("token_type".into(), "Bearer".into());
        json_resp(StatusCode::OK, &Value::Object(body))
    }

    pub(super) fn refresh_grant(&self, client: &AppClient, form: &HashMap<String, String>) -> Resp {
        let grant = form
            .get("refresh_token")
            .and_then(|r| self.state().refresh.live(r, self.clock.now()).cloned())
            .filter(|g| g.client_id == client.client_id);
        let Some(g) = grant else {
            return oauth_error("invalid_grant", Some("Invalid Refresh Token"));
        };
        let Some(user) = self.pool().user(&g.username).cloned() else {
            return oauth_error("invalid_grant", None);
        };
        let (access, id) = self.tokens(
            &client.client_id,
            &user,
            &g.scopes,
            g.auth_time,
            None,
            &g.origin_jti,
        );
        // No new refresh token: this pool does not rotate them.
        self.token_response(id, access, None)
    }

    pub(super) fn client_credentials(
        &self,
        client: &AppClient,
        form: &HashMap<String, String>,
    ) -> Resp {
        let only_cc = client.allowed_oauth_flows == ["client_credentials"];
        if !only_cc || client.client_secret.is_none() {
            return oauth_error("unauthorized_client", None);
        }
        let custom: Vec<&String> = client
            .allowed_oauth_scopes
            .iter()
            .filter(|s| s.contains('/'))
            .collect();
        let scopes: Vec<String> = match form.get("scope") {
            None => custom.iter().map(|s| (*s).clone()).collect(),
            Some(s) => {
                let asked: Vec<String> = s
                    .split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect();
                if asked.iter().any(|a| !custom.contains(&a)) {
                    return oauth_error("invalid_scope", None);
                }
                asked
            }
        };
        let t = self.clock.now();
        let claims = json!({
            "sub": client.client_id, "token_use": "access", "scope": scopes.join(" "),
            "auth_time": t, "iss": self.issuer(), "exp": t + self.pool().lifetimes.access_token,
            "iat": t, "version": 2, "jti": uuid(), "client_id": client.client_id,
        });
        let access = claims
            .as_object()
            .and_then(|c| self.access_key.sign(c).ok())
            .unwrap_or_default();
        json_resp(
            StatusCode::OK,
            &json!({"access_token": access, "expires_in": self.pool().lifetimes.access_token, "token_type": "Bearer"}),
        )
    }
}

/// base64url of the left half of SHA-256 of the access token (OIDC Core 3.1.3.6).
pub(super) fn at_hash(access: &str) -> String {
    URL_SAFE_NO_PAD.encode(&digest(&SHA256, access.as_bytes()).as_ref()[..16])
}
