//! The tokens pane: the request the app logged, its three ALB headers decoded, the guide's
//! own check of each beside the app's verdict.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::frame::block;
use super::step::scroll_max;
use crate::stream::SeenToken;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;
use cognito_learning_tokens::{AlbVerifier, CognitoVerifier, TokenUse, time};

pub(super) fn tokens(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let status = if app.tokens.paused {
        Span::styled(
            format!(" paused, {} held ", app.tokens.held),
            theme.running(),
        )
    } else if app.stream_status == "live" {
        Span::styled(" live ● ", theme.pass())
    } else {
        // Keep the left title readable: the status gets what is left of the border.
        let room = usize::from(area.width).saturating_sub(14);
        let mut status: String = app.stream_status.chars().take(room).collect();
        if status.len() < app.stream_status.len() {
            status.pop();
            status.push('…');
        }
        let style = if app.stream_status.starts_with("waiting") {
            theme.running()
        } else {
            theme.fail()
        };
        Span::styled(format!(" {status} "), style)
    };
    let title = if app.editing_filter || !app.tokens.filter.is_empty() {
        format!(
            " Tokens /{}{} ",
            app.tokens.filter,
            if app.editing_filter { "▏" } else { "" }
        )
    } else {
        " Tokens ".into()
    };
    let b = block(app, theme, Pane::Tokens, title).title(Line::from(status).right_aligned());
    let inner = b.inner(area);
    b.render(area, buf);
    let Some(ev) = app.tokens.shown() else {
        let hint = if app.tokens.is_empty() {
            " no tokens yet: sign in at /v1/secrets and they appear here"
        } else {
            " no token matches the filter"
        };
        Paragraph::new(Line::styled(hint, theme.dim()))
            .wrap(Wrap { trim: false })
            .render(inner, buf);
        return;
    };
    let now = u64::try_from(app.lab_now_ms() / 1000).unwrap_or(0);
    let when = time::clock(u64::try_from(ev.at_ms / 1000).unwrap_or(0));
    let position = if app.tokens.back == 0 {
        "newest".to_owned()
    } else {
        format!("{} back", app.tokens.back)
    };
    let head = Line::from(vec![
        Span::styled(
            if ev.status == 0 {
                // Decoded from an exchange rather than logged by the app: no answer of its.
                format!("{} {}", ev.method, ev.path)
            } else {
                format!("{} {} {}", ev.method, ev.path, ev.status)
            },
            theme.bold(),
        ),
        Span::styled(
            format!(" · {} · {position} of {}", when, app.tokens.len()),
            theme.dim(),
        ),
    ]);
    let [head_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    Paragraph::new(head).render(head_area, buf);

    // The identity header is not signed: it is ticked only when the data token it must
    // match verified.
    let data_verified = ev.data.as_ref().is_some_and(|d| {
        d.verdict.is_ok()
            && d.claims()
                .get("exp")
                .and_then(serde_json::Value::as_u64)
                .is_some_and(|exp| exp > now)
    });
    let identity = ev.identity.as_ref().map(|sub| {
        let matches = ev
            .data
            .as_ref()
            .is_some_and(|d| d.claims().get("sub").is_some_and(|s| s == sub.as_str()));
        (sub.clone(), matches)
    });
    let identity_lines = match identity {
        None => vec![Line::styled("not sent", theme.dim())],
        Some((sub, ok)) => vec![Line::from(vec![
            if ok && data_verified {
                Span::styled("= data's sub ✓ ", theme.pass())
            } else if ok {
                Span::styled(
                    "= data's sub, which is not verified: no trust ",
                    theme.fail(),
                )
            } else {
                Span::styled("≠ data's sub ✗ ", theme.fail())
            },
            Span::raw(sub),
        ])],
    };
    let sections = [
        (
            "x-amzn-oidc-data",
            token_lines(
                ev.data.as_ref(),
                AlbVerifier::CHECKS,
                ev.app.data.as_deref(),
                app.raw,
                now,
                theme,
            ),
        ),
        (
            "x-amzn-oidc-accesstoken",
            token_lines(
                ev.access.as_ref(),
                CognitoVerifier::checks(TokenUse::Access),
                ev.app.access.as_deref(),
                app.raw,
                now,
                theme,
            ),
        ),
        ("x-amzn-oidc-identity", identity_lines),
    ];
    if body.width >= 90 {
        // Wide: the three side by side.
        let areas: [Rect; 3] = Layout::horizontal([
            Constraint::Percentage(40),
            Constraint::Percentage(40),
            Constraint::Percentage(20),
        ])
        .areas(body);
        let parts: Vec<(Paragraph, Rect)> = sections
            .into_iter()
            .zip(areas)
            .map(|((name, mut lines), a)| {
                lines.insert(0, Line::styled(name, theme.heading()));
                (Paragraph::new(lines).wrap(Wrap { trim: false }), a)
            })
            .collect();
        let max = parts
            .iter()
            .map(|(p, a)| scroll_max(p, *a))
            .max()
            .unwrap_or(0);
        app.tokens_scroll_max.set(max);
        for (p, a) in parts {
            p.scroll((app.tokens.scroll.min(max), 0)).render(a, buf);
        }
    } else {
        // Narrow: one under the other, the claims run together; the one-line identity first,
        // so that it stays on screen.
        let [data, access, identity] = sections;
        let mut lines = Vec::new();
        for (name, section) in [identity, data, access] {
            let mut it = section.into_iter();
            let mut first = vec![Span::styled(format!("{name} "), theme.heading())];
            if let Some(l) = it.next() {
                first.extend(l.spans);
            }
            lines.push(Line::from(first));
            lines.extend(it);
        }
        let p = Paragraph::new(lines).wrap(Wrap { trim: false });
        let max = scroll_max(&p, body);
        app.tokens_scroll_max.set(max);
        p.scroll((app.tokens.scroll.min(max), 0)).render(body, buf);
    }
}

pub(super) fn token_lines(
    t: Option<&SeenToken>,
    checks: &[&str],
    app_said: Option<&str>,
    raw: bool,
    now: u64,
    theme: Theme,
) -> Vec<Line<'static>> {
    // The app's own verdict, as it logged it, beside the guide's check.
    let app_line = app_said.map(|said| {
        let style = if said == "valid" {
            theme.pass()
        } else if said.starts_with("unverified") {
            theme.dim()
        } else {
            theme.fail()
        };
        Line::styled(format!("the app: {said}"), style)
    });
    let Some(t) = t else {
        return match app_line {
            // Redacted in the log: the guide cannot check it again.
            Some(l) => vec![l],
            None => vec![Line::styled("not sent", theme.dim())],
        };
    };
    // Only the text is buffered; the token on screen is decoded here.
    let (header, claims) = t.parts();
    let alg = header
        .get("alg")
        .and_then(|a| a.as_str())
        .unwrap_or("?")
        .to_owned();
    let exp = claims.get("exp").and_then(serde_json::Value::as_u64);
    let expired = exp.is_some_and(|e| e <= now);
    let left = exp
        .map(|exp| format!(" · {}", time::left(now, exp)))
        .unwrap_or_default();
    // Verified as of when it was sent; a token that has expired since gets no tick now.
    let mut lines = vec![match &t.verdict {
        Ok(()) if expired => Line::from(vec![
            Span::styled(format!("{alg} verified when it was sent"), theme.dim()),
            Span::styled(left, theme.fail()),
        ]),
        Ok(()) => Line::from(vec![
            Span::styled(format!("{alg} ✓ verified"), theme.pass()),
            Span::styled(left, theme.dim()),
        ]),
        Err(why) => Line::styled(format!("{alg} ✗ {why}"), theme.fail()),
    }];
    if t.verdict.is_ok() && !expired {
        let ticks: Vec<String> = checks.iter().map(|c| format!("{c} ✓")).collect();
        lines.push(Line::styled(ticks.join(" "), theme.pass()));
    }
    lines.extend(app_line);
    if raw {
        lines.push(Line::styled(t.raw(), theme.code()));
        return lines;
    }
    // The header first (it says how to check), then the claims (who, for what, until when),
    // each with what it is for.
    lines.push(Line::styled("header", theme.bold()));
    for (k, v) in header.iter().filter(|(k, _)| k.as_str() != "alg") {
        lines.push(claim_line(k, v, now, theme));
    }
    lines.push(Line::styled("claims", theme.bold()));
    for (k, v) in &claims {
        lines.push(claim_line(k, v, now, theme));
    }
    lines
}

/// `exp 2026-12-07 09:40:12Z (in 2 min) · when it stops being accepted …`
fn claim_line(k: &str, v: &serde_json::Value, now: u64, theme: Theme) -> Line<'static> {
    let shown = match (k, v) {
        ("exp" | "iat" | "auth_time" | "nbf", serde_json::Value::Number(n)) => {
            n.as_u64().map_or_else(
                || n.to_string(),
                |t| {
                    let when = time::utc(t).replace('T', " ");
                    let rel = if t > now {
                        format!("in {}", time::span(t - now))
                    } else {
                        time::ago(now, t)
                    };
                    format!("{when} ({rel})")
                },
            )
        }
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    };
    let mut spans = vec![
        Span::styled(format!("{k} "), theme.bold()),
        Span::raw(shown),
    ];
    if let Some(what) = explain_claim(k) {
        spans.push(Span::styled(format!(" · {what}"), theme.dim()));
    }
    Line::from(spans)
}

/// What a claim or header field is for, and which check relies on it.
fn explain_claim(k: &str) -> Option<&'static str> {
    Some(match k {
        "sub" => "the user's id in the pool, never reused: the app names the caller by it",
        "username" => "the user's name in the pool",
        "email" => "from userInfo",
        "email_verified" => "whether the user proved the address",
        "exp" => "after this every verifier refuses it (the exp check)",
        "iat" => "when it was issued",
        "nbf" => "not accepted before this",
        "auth_time" => "when the password was last typed; a silent re-login keeps it",
        "iss" => "who issued it: the pool's URL (the iss check)",
        "client_id" | "client" => "the app client it was issued through (the client check)",
        "aud" => "the app client an ID token is for",
        "token_use" => "access or id: the app takes only an access token (the use check)",
        "scope" => "what the client asked for at sign-in",
        "cognito:groups" => "the groups when it was issued: /v1/secrets needs secret-readers",
        "origin_jti" => "the sign-in it came from: revoking its refresh token ends them all",
        "jti" => "this token's own id",
        "event_id" => "the sign-in event",
        "version" => "the token format",
        "signer" => "the ALB that signed it: the app checks it is its own (the signer check)",
        "kid" => "which key signed it: fetched from the ALB's or the pool's key endpoint",
        "typ" => "the token type",
        _ => return None,
    })
}
