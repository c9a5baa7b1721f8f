//! The hosted UI: `/oauth2/authorize` checked as Cognito checks it (exact `redirect_uri`, PKCE
//! S256), the `/login` form with its `XSRF-TOKEN` cookie and the lockout, and the hosted UI's own
//! session, which lets a later authorize skip the form.

use super::*;

impl Cognito {
    /// Validates an authorize-style query. `Err` is the response to send instead.
    pub(super) fn check_authz(&self, q: &HashMap<String, String>) -> Result<Authz, Resp> {
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
        let pool = self.pool();
        let Some(client) = get("client_id").and_then(|id| pool.client(&id)) else {
            return Err(html(
                StatusCode::BAD_REQUEST,
                pages::error("client_id is missing or not a client of this user pool"),
            ));
        };
        let error_page = |error: &str| {
            Err(redirect(&format!(
                "{}/error?{}",
                self.base,
                query_string(&[("error", error), ("client_id", &client.client_id)])
            )))
        };
        // A client without AllowedOAuthFlowsUserPoolClient has no OAuth settings in force.
        if !client.oauth_enabled {
            return error_page("unauthorized_client");
        }
        let redirect_uri = get("redirect_uri").unwrap_or_default();
        if !client.callback_urls.contains(&redirect_uri) {
            return Err(redirect(&format!(
                "{}/error?{}",
                self.base,
                query_string(&[
                    ("error", "redirect_mismatch"),
                    ("client_id", &client.client_id)
                ])
            )));
        }
        let state = get("state");
        let back = |error: &str, description: &str| {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(s) = &state {
                pairs.push(("state", s));
            }
            Err(redirect(&append_query(
                &redirect_uri,
                &query_string(&pairs),
            )))
        };
        let response_type = get("response_type").unwrap_or_default();
        let flow = match response_type.as_str() {
            "code" => "code",
            "token" => "implicit",
            "" => return back("invalid_request", "response_type is required"),
            _ => {
                return back(
                    "unsupported_response_type",
                    "response_type must be code or token",
                );
            }
        };
        if !client.allowed_oauth_flows.iter().any(|f| f == flow) {
            return back("unauthorized_client", "this client may not use this flow");
        }
        let challenge = get("code_challenge");
        if challenge.as_deref().is_some_and(|c| !pkce_shaped(c)) {
            return back(
                "invalid_request",
                "code_challenge must be 43 to 128 characters of the base64url alphabet",
            );
        }
        match (challenge.is_some(), get("code_challenge_method").as_deref()) {
            (true, Some("S256")) | (false, None) => {}
            (true, None) => return back("invalid_request", "code_challenge_method is required"),
            (true, Some(_)) => return back("invalid_request", "only S256 is supported"),
            (false, Some(_)) => return back("invalid_request", "code_challenge is required"),
        }
        let scopes: Vec<String> = match get("scope") {
            None => client.allowed_oauth_scopes.clone(),
            Some(s) => s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if let Some(bad) = scopes
            .iter()
            .find(|s| !client.allowed_oauth_scopes.contains(s))
        {
            return back(
                "invalid_scope",
                &format!("{bad} is not allowed for this client"),
            );
        }
        let needs_openid = scopes
            .iter()
            .any(|s| matches!(s.as_str(), "email" | "phone" | "profile"));
        if needs_openid && !scopes.iter().any(|s| s == "openid") {
            return back("invalid_scope", "email, phone and profile need openid");
        }
        // The hosted UI's own form is the COGNITO provider; without it there is nothing to show.
        if !client.identity_providers.iter().any(|p| p == "COGNITO") {
            return Err(html(
                StatusCode::BAD_REQUEST,
                pages::error("Login option is not available. Please try another one"),
            ));
        }
        if pool.domain_version == Some(2) && !client.branded {
            return Err(html(
                StatusCode::BAD_REQUEST,
                pages::error(
                    "This app client has no managed login branding style, so its sign-in pages cannot be shown (create-managed-login-branding makes one).",
                ),
            ));
        }
        Ok(Authz {
            client_id: client.client_id.clone(),
            redirect_uri,
            response_type,
            state,
            scopes,
            challenge,
            nonce: get("nonce"),
        })
    }

    pub(super) fn session_user(&self, req: &Req) -> Option<(String, String, u64)> {
        let sid = req.cookie(SESSION_COOKIE)?;
        let mut st = self.state();
        let t = self.clock.now();
        let s = st.sessions.live(sid, t)?;
        // Continuing a session refreshes it to a full hour.
        s.expires = t + self.pool().lifetimes.hosted_ui_session;
        Some((sid.to_owned(), s.username.clone(), s.auth_time))
    }

    pub(super) fn session_cookie(&self, sid: &str) -> String {
        format!(
            "{SESSION_COOKIE}={sid}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
            self.pool().lifetimes.hosted_ui_session,
            self.secure()
        )
    }

    pub(super) fn secure(&self) -> &'static str {
        if self.base.starts_with("https://") {
            "; Secure"
        } else {
            ""
        }
    }

    pub(super) fn authorize(&self, req: &Req) -> Resp {
        let authz = match self.check_authz(&req.query()) {
            Ok(a) => a,
            Err(resp) => return resp,
        };
        match self.session_user(req) {
            // The hosted-UI session is alive: straight back with a new code, no form.
            Some((sid, username, auth_time)) => {
                let mut resp = self.grant(&authz, &username, auth_time, &sid);
                add_cookie(&mut resp, &self.session_cookie(&sid));
                resp
            }
            None => redirect(&format!(
                "{}/login?{}",
                self.base,
                req.parts.uri.query().unwrap_or("")
            )),
        }
    }

    pub(super) fn login_page(&self, req: &Req) -> Resp {
        if let Err(resp) = self.check_authz(&req.query()) {
            return resp;
        }
        self.form(req, StatusCode::OK, None, "")
    }

    pub(super) fn form(
        &self,
        req: &Req,
        status: StatusCode,
        error: Option<&str>,
        username: &str,
    ) -> Resp {
        let csrf = req
            .cookie(CSRF_COOKIE)
            .filter(|c| c.len() == 36)
            .map_or_else(uuid, str::to_owned);
        let query = req.parts.uri.query().unwrap_or("");
        let mut resp = html(status, pages::login(query, &csrf, error, username));
        add_cookie(
            &mut resp,
            &format!(
                "{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Lax{}",
                self.secure()
            ),
        );
        add_cookie(&mut resp, "cognito-fl=\"W10=\"; Path=/; HttpOnly");
        resp
    }

    pub(super) fn login_submit(&self, req: &Req) -> Resp {
        let authz = match self.check_authz(&req.query()) {
            Ok(a) => a,
            Err(resp) => return resp,
        };
        let form = req.form();
        let field = |k: &str| form.get(k).map_or("", String::as_str);
        let csrf_ok = req
            .cookie(CSRF_COOKIE)
            .is_some_and(|c| !c.is_empty() && constant_time_eq(c, field("_csrf")));
        if !csrf_ok {
            return self.form(
                req,
                StatusCode::FORBIDDEN,
                Some("This form expired or was not sent from this page. Please sign in again."),
                field("username"),
            );
        }
        let t = self.clock.now();
        if form.contains_key("challenge") {
            return self.new_password_submit(req, &authz, &form, t);
        }
        let t_ms = self.clock.now_millis();
        let pool = self.pool();
        let known = pool.user(field("username"));
        let user = match known {
            Some(u) => {
                let mut st = self.state();
                let failures = st.failures.entry(u.username.clone()).or_default();
                if failures.locked(t_ms) {
                    // Refused without looking at the password, and not counted.
                    drop(st);
                    return self.form(
                        req,
                        StatusCode::OK,
                        Some("Password attempts exceeded"),
                        field("username"),
                    );
                }
                if constant_time_eq(&u.password, field("password")) {
                    st.failures.remove(&u.username);
                    Some(u)
                } else {
                    failures.failed(t_ms);
                    None
                }
            }
            None => None,
        };
        let Some(user) = user else {
            return self.form(
                req,
                StatusCode::OK,
                Some("Incorrect username or password."),
                field("username"),
            );
        };
        if user.must_change_password {
            let challenge = random_token(32);
            self.state().new_passwords.insert(
                challenge.clone(),
                NewPassword {
                    username: user.username.clone(),
                    expires: t + NEW_PASSWORD_WINDOW,
                },
                t,
            );
            return self.new_password_form(req, &challenge, None);
        }
        self.signed_in(&authz, &user.username, t)
    }

    /// The hosted-UI session and the grant for a user who has just signed in.
    fn signed_in(&self, authz: &Authz, user: &str, t: u64) -> Resp {
        let sid = random_token(32);
        self.state().sessions.insert(
            sid.clone(),
            HostedSession {
                username: user.to_owned(),
                auth_time: t,
                expires: t + self.pool().lifetimes.hosted_ui_session,
            },
            t,
        );
        let mut resp = self.grant(authz, user, t, &sid);
        add_cookie(&mut resp, &self.session_cookie(&sid));
        resp
    }

    fn new_password_form(&self, req: &Req, challenge: &str, error: Option<&str>) -> Resp {
        let csrf = req.cookie(CSRF_COOKIE).unwrap_or_default();
        let query = req.parts.uri.query().unwrap_or("");
        html(
            StatusCode::OK,
            pages::new_password(query, csrf, challenge, error),
        )
    }

    /// The second step of a first sign-in: the new password replaces the temporary one, in
    /// the user pool itself, and the user is signed in.
    fn new_password_submit(
        &self,
        req: &Req,
        authz: &Authz,
        form: &HashMap<String, String>,
        t: u64,
    ) -> Resp {
        let field = |k: &str| form.get(k).map_or("", String::as_str);
        let challenge = field("challenge");
        let username = self
            .state()
            .new_passwords
            .live(challenge, t)
            .map(|c| c.username.clone());
        let Some(username) = username else {
            return self.form(
                req,
                StatusCode::OK,
                Some("Your session has expired. Please sign in again."),
                "",
            );
        };
        let new = field("new_password");
        let problem = if new != field("confirm_password") {
            Some("Password does not match the confirm password.")
        } else {
            crate::aws::cognito_idp::password_problem(new)
        };
        if let Some(why) = problem {
            return self.new_password_form(req, challenge, Some(why));
        }
        let pool_id = self.directory.served_id();
        let set = self.directory.write(|pools| {
            let user = pools
                .iter_mut()
                .find(|p| p.id == pool_id)
                .and_then(|p| p.users.iter_mut().find(|u| u.username == username))
                .ok_or_else(|| {
                    crate::aws::ApiError::new("UserNotFoundException", "User does not exist.")
                })?;
            new.clone_into(&mut user.password);
            user.status = "CONFIRMED".into();
            user.modified = directory::epoch();
            Ok(())
        });
        if set.is_err() {
            return self.form(req, StatusCode::OK, Some("User does not exist."), "");
        }
        self.state().new_passwords.map.remove(challenge);
        self.signed_in(authz, &username, t)
    }

    /// The successful end of authorize: a code (or, for the implicit flow, tokens) for the client.
    pub(super) fn grant(&self, a: &Authz, username: &str, auth_time: u64, session: &str) -> Resp {
        if a.response_type == "token" {
            let pool = self.pool();
            let Some(user) = pool.user(username) else {
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    pages::error("user vanished"),
                );
            };
            let (access, id) = self.tokens(
                &a.client_id,
                user,
                &a.scopes,
                auth_time,
                a.nonce.as_deref(),
                &uuid(),
            );
            let expires = self.pool().lifetimes.access_token.to_string();
            let mut pairs = vec![("access_token", access.as_str())];
            if let Some(id) = &id {
                pairs.push(("id_token", id));
            }
            pairs.extend([("token_type", "Bearer"), ("expires_in", expires.as_str())]);
            if let Some(s) = &a.state {
                pairs.push(("state", s));
            }
            return redirect(&format!("{}#{}", a.redirect_uri, query_string(&pairs)));
        }
        let code = uuid();
        let t = self.clock.now();
        self.state().codes.insert(
            code.clone(),
            CodeGrant {
                client_id: a.client_id.clone(),
                redirect_uri: a.redirect_uri.clone(),
                scopes: a.scopes.clone(),
                username: username.to_owned(),
                challenge: a.challenge.clone(),
                nonce: a.nonce.clone(),
                auth_time,
                session: session.to_owned(),
                expires: t + self.pool().lifetimes.auth_code,
            },
            t,
        );
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = &a.state {
            pairs.push(("state", s));
        }
        redirect(&append_query(&a.redirect_uri, &query_string(&pairs)))
    }
}

pub(super) fn append_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}
