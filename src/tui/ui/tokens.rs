//! The tokens pane: the request the app logged, its three ALB headers decoded, the guide's
//! own check of each beside the app's verdict.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::frame::block;
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
    let now = u64::try_from(app.now_ms / 1000).unwrap_or(0);
    let when = time::utc(u64::try_from(ev.at_ms / 1000).unwrap_or(0));
    let position = if app.tokens.back == 0 {
        "newest".to_owned()
    } else {
        format!("{} back", app.tokens.back)
    };
    let head = Line::from(vec![
        Span::styled(
            format!("{} {} {}", ev.method, ev.path, ev.status),
            theme.bold(),
        ),
        Span::styled(
            format!(
                " · {} · {position} of {}",
                when.get(11..19).unwrap_or(&when),
                app.tokens.len()
            ),
            theme.dim(),
        ),
    ]);
    let [head_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    Paragraph::new(head).render(head_area, buf);

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
            if ok {
                Span::styled("= data's sub ✓ ", theme.pass())
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
        let mut max = 0;
        let mut parts = Vec::new();
        for ((name, mut lines), a) in sections.into_iter().zip(areas) {
            lines.insert(0, Line::styled(name, theme.heading()));
            max = max.max(scroll_max(&lines, a));
            parts.push((lines, a));
        }
        app.tokens_scroll_max.set(max);
        for (lines, a) in parts {
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((app.tokens.scroll.min(max), 0))
                .render(a, buf);
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
        let max = scroll_max(&lines, body);
        app.tokens_scroll_max.set(max);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.tokens.scroll.min(max), 0))
            .render(body, buf);
    }
}

/// How far `lines` wrapped into `area` can scroll before the last row leaves the bottom.
fn scroll_max(lines: &[Line], area: Rect) -> u16 {
    let rows: usize = lines
        .iter()
        .map(|l| super::step::wrapped_rows(&l.to_string(), usize::from(area.width)))
        .sum();
    u16::try_from(rows.saturating_sub(usize::from(area.height))).unwrap_or(u16::MAX)
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
    let left = claims
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .map(|exp| format!(" · {}", time::left(now, exp)))
        .unwrap_or_default();
    let mut lines = vec![match &t.verdict {
        Ok(()) => Line::from(vec![
            Span::styled(format!("{alg} ✓ verified"), theme.pass()),
            Span::styled(left, theme.dim()),
        ]),
        Err(why) => Line::styled(format!("{alg} ✗ {why}"), theme.fail()),
    }];
    if t.verdict.is_ok() {
        let ticks: Vec<String> = checks.iter().map(|c| format!("{c} ✓")).collect();
        lines.push(Line::styled(ticks.join(" "), theme.pass()));
    }
    lines.extend(app_line);
    if raw {
        lines.push(Line::styled(t.raw(), theme.code()));
        return lines;
    }
    // The header first (dim: it says how to check, the claims say who), then the claims.
    let mut head = vec![Span::styled("header ", theme.bold())];
    for (k, v) in header.iter().filter(|(k, _)| k.as_str() != "alg") {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        head.push(Span::styled(format!("{k} {v}  "), theme.dim()));
    }
    lines.push(Line::from(head));
    let mut spans = Vec::new();
    for (k, v) in &claims {
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        spans.push(Span::styled(format!("{k} "), theme.bold()));
        spans.push(Span::raw(format!("{v}  ")));
    }
    lines.push(Line::from(spans));
    lines
}
