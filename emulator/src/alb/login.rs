//! The `authenticate-cognito` action: a request's session cookie opened (or refreshed through
//! the back channel), or the browser sent to the IdP with a `state` and a nonce cookie; and
//! `/oauth2/idpresponse`, where the code is swapped for tokens and the session cookies are set.

use super::*;

impl Alb {
    /// The authenticate-cognito action for one request.
    pub(super) async fn authenticate(&self, req: &Req, auth: &Arc<AuthStep>) -> Auth {
        let cfg = &auth.config;
        let name = &cfg.session_cookie_name;
        let session = self.open_session(req, name);
        let t = self.clock.now();
        match session {
            Some(o) if o.session.session_exp > t => {
                let s = &o.session;
                if s.access_exp > t {
                    return Auth::User(o, Vec::new());
                }
                let Some(refresh) = s.refresh_token.clone() else {
                    // No refresh token: the session simply lasts until its timeout.
                    return Auth::User(o, Vec::new());
                };
                match self.refresh(s, &refresh, auth).await {
                    Ok(fresh) => match self.session_cookies(req, name, &fresh) {
                        Ok(set) => Auth::User(Arc::new(Opened::new(fresh)), set),
                        Err(r) => Auth::Respond(r),
                    },
                    // The IdP says no (say, the user logged out): log in again.
                    Err(_) => {
                        Auth::Respond(why(self.start_login(req, auth), alb_note::REFRESH_REFUSED))
                    }
                }
            }
            // Expired authentication information is sent to the IdP even under `deny`.
            Some(_) => match cfg.on_unauthenticated_request {
                OnUnauthenticated::Allow => Auth::Anonymous,
                _ => Auth::Respond(why(
                    self.start_login(req, auth),
                    alb_note::SESSION_TIMED_OUT,
                )),
            },
            None => match cfg.on_unauthenticated_request {
                OnUnauthenticated::Authenticate => Auth::Respond(self.start_login(req, auth)),
                OnUnauthenticated::Allow => Auth::Anonymous,
                OnUnauthenticated::Deny => {
                    Auth::Respond(alb_page(401, "unauthenticated request under deny"))
                }
            },
        }
    }

    /// 302 to the authorization endpoint, with the nonce cookie that ties the answer back.
    pub(super) fn start_login(&self, req: &Req, auth: &AuthStep) -> Resp {
        let cfg = &auth.config;
        let Some(host) = req.header("host").filter(|h| !h.is_empty()) else {
            return alb_page(401, "no Host header: unable to generate a redirect URL");
        };
        let nonce = random_alnum(16);
        let state = LoginState {
            nonce: nonce.clone(),
            uri: req
                .parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            started: self.clock.now(),
            cookie: cfg.session_cookie_name.clone(),
            client: auth.client_id.clone(),
        };
        let Some(state) = self.sealer.seal(&state, "state") else {
            return alb_page(500, "AuthUnhandledException");
        };
        let redirect_uri = format!("http://{host}/oauth2/idpresponse");
        let mut location = format!(
            "{}?client_id={}&redirect_uri={}&response_type=code&scope={}&state={}",
            auth.authorization_endpoint(),
            encode(&auth.client_id),
            encode(&redirect_uri),
            encode(&cfg.scope),
            encode(&state),
        );
        for (k, v) in cfg.extra_params().take(10) {
            location.push_str(&format!("&{}={}", encode(k), encode(v)));
        }
        let mut r = redirect(&location);
        r.headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
        add_cookie(
            &mut r,
            &format!(
                "{NONCE_COOKIE}={nonce}; Path=/; Max-Age={}; HttpOnly",
                self.login_window
            ),
        );
        r
    }

    /// `/oauth2/idpresponse`: finish the login.
    pub(super) async fn callback(&self, req: &Req, served: &Served) -> Resp {
        let q = req.query();
        if let Some(err) = q.get("error") {
            return alb_page(561, &format!("the IdP returned error={err}"));
        }
        let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
            return alb_page(401, "AuthMissingCodeParam");
        };
        let Some(state) = q.get("state").filter(|s| !s.is_empty()) else {
            return alb_page(401, "AuthMissingStateParam");
        };
        let Some(state) = self.sealer.open::<LoginState>(state, "state") else {
            return alb_page(401, "AuthInvalidStateParam");
        };
        if req.cookie(NONCE_COOKIE) != Some(state.nonce.as_str()) {
            return alb_page(
                401,
                "AuthInvalidCookie: the AWSALBAuthNonce cookie does not match the state",
            );
        }
        let Some(auth) = served.auth_for(&state.cookie, &state.client) else {
            return alb_page(
                401,
                "AuthInvalidStateParam: no rule on this listener started that login",
            );
        };
        if self.clock.now().saturating_sub(state.started) > self.login_window {
            return alb_page(
                401,
                "the login took longer than 15 minutes (the ALB's fixed limit)",
            );
        }
        let Some(host) = req.header("host") else {
            return alb_page(401, "no Host header");
        };
        let redirect_uri = format!("http://{host}/oauth2/idpresponse");
        let form = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id={}",
            encode(code),
            encode(&redirect_uri),
            encode(&auth.client_id)
        );
        let tokens = match self.token_request(form, "code → tokens", auth).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        let Some(id_token) = tokens.get("id_token").and_then(Value::as_str) else {
            return alb_page(401, "the scope returned no ID token (it needs openid)");
        };
        if let Err(e) = auth
            .verifier
            .verify(id_token, TokenUse::Id, self.clock.now())
            .await
        {
            return alb_page(401, &format!("AuthInvalidIdToken: {e}"));
        }
        let session = match self
            .session_from(
                &tokens,
                None,
                self.clock.now() + auth.config.session_timeout,
                auth,
            )
            .await
        {
            Ok(s) => s,
            Err(r) => return r,
        };
        let set = match self.session_cookies(req, &state.cookie, &session) {
            Ok(set) => set,
            Err(r) => return r,
        };
        let mut r = redirect(&format!("http://{host}{}", state.uri));
        r.headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
        for c in set {
            add_cookie(&mut r, &c);
        }
        add_cookie(
            &mut r,
            &format!("{NONCE_COOKIE}=; Path=/; Max-Age=0; HttpOnly"),
        );
        r
    }

    /// Builds a session from a token response: userInfo is called with the new access token.
    pub(super) async fn session_from(
        &self,
        tokens: &Map<String, Value>,
        refresh: Option<String>,
        session_exp: u64,
        auth: &AuthStep,
    ) -> Result<Session, Resp> {
        let Some(access) = tokens.get("access_token").and_then(Value::as_str) else {
            return Err(alb_page(561, "AuthTokenEpRequestFailed: no access_token"));
        };
        let userinfo = self.userinfo(access, auth).await?;
        let Some(sub) = userinfo
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(alb_page(561, "AuthUserinfoEpRequestFailed: no sub"));
        };
        let claims_size = Value::Object(userinfo.clone()).to_string().len() + access.len();
        if claims_size > MAX_CLAIMS {
            return Err(alb_page(500, "ELBAuthUserClaimsSizeExceeded"));
        }
        let access_exp = Jwt::parse(access)
            .ok()
            .and_then(|j| j.claims.get("exp").and_then(Value::as_u64))
            .or_else(|| {
                tokens
                    .get("expires_in")
                    .and_then(Value::as_u64)
                    .map(|e| self.clock.now() + e)
            })
            .unwrap_or_else(now);
        Ok(Session {
            sub,
            userinfo,
            access_token: access.to_owned(),
            refresh_token: tokens
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(refresh),
            access_exp,
            session_exp,
        })
    }

    pub(super) async fn refresh(
        &self,
        old: &Session,
        refresh: &str,
        auth: &AuthStep,
    ) -> Result<Session, Resp> {
        let form = format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}",
            encode(refresh),
            encode(&auth.client_id)
        );
        let tokens = self.token_request(form, "refresh", auth).await?;
        self.session_from(&tokens, Some(refresh.to_owned()), old.session_exp, auth)
            .await
    }

    /// Set-Cookie values for a session; shards the browser holds beyond the new count expire.
    pub(super) fn session_cookies(
        &self,
        req: &Req,
        name: &str,
        s: &Session,
    ) -> Result<Vec<String>, Resp> {
        let sealed = self
            .sealer
            .seal(s, name)
            .ok_or_else(|| alb_page(500, "AuthUnhandledException"))?;
        let shards = shard(name, &sealed)
            .ok_or_else(|| alb_page(500, "ELBAuthUserClaimsSizeExceeded: over 16K of cookie"))?;
        let expires = http_date(self.clock.now() + COOKIE_DAYS * 86_400);
        let mut out: Vec<String> = shards
            .iter()
            .map(|(k, v)| format!("{k}={v}; Expires={expires}; Path=/; HttpOnly"))
            .collect();
        for i in shards.len()..MAX_SHARDS {
            let stale = format!("{name}-{i}");
            if req.cookie(&stale).is_some() {
                out.push(format!(
                    "{stale}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly"
                ));
            }
        }
        Ok(out)
    }

    /// The session in the request's `<name>-0…3` cookies, if they open.
    pub(super) fn open_session(&self, req: &Req, name: &str) -> Option<Arc<Opened>> {
        let joined = unshard(name, |n| req.cookie(n))?;
        if let Some(o) = self.sessions.get(name, &joined) {
            return Some(o);
        }
        let o = Arc::new(Opened::new(self.sealer.open(&joined, name)?));
        self.sessions.insert(name, &joined, o.clone());
        Some(o)
    }

    /// `x-amzn-oidc-data` for a session: `exp` is the request time plus 120 s, as captured from
    /// real ALBs. Within one second a session's token is signed once and reused; its claims
    /// would be the same anyway, and signing is the dearest step of a forwarded request.
    pub(super) fn data_token(&self, o: &Opened, auth: &AuthStep) -> Option<HeaderValue> {
        let t = self.clock.now();
        o.data_token(t, || {
            let header = AlbHeader {
                issuer: &auth.issuer,
                client: &auth.client_id,
                signer: &self.arn,
                exp: t + DATA_TTL,
            };
            self.signer.sign(&header, &o.session.userinfo).ok()
        })
    }
}
