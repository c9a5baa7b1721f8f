//! The step pane: the step's text, then its checks with what each saw and the command to try.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::frame::block;
use crate::tui::app::{App, CheckState, Pane};
use crate::tui::markdown;
use crate::tui::theme::Theme;

pub(super) fn step(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(lesson) = app.current() else {
        block(app, theme, Pane::Step, " No lesson ").render(area, buf);
        return;
    };
    let Some(s) = lesson.steps.get(app.step) else {
        return;
    };
    let num = lesson
        .number()
        .map_or_else(String::new, |n| format!("{n} · "));
    let passed = app.progress.passed(app.track, &lesson.id, app.step);
    let right = Line::from(vec![
        Span::raw(" "),
        Span::styled(if passed { "✓ " } else { "" }, theme.pass()),
        Span::raw(format!("step {} of {} ", app.step + 1, lesson.steps.len())),
    ])
    .right_aligned();
    let b = block(app, theme, Pane::Step, format!(" {num}{} ", lesson.title)).title(right);
    let inner = b.inner(area);
    b.render(area, buf);

    let checks = check_lines(app, theme, inner.width);
    let note = u16::from(!app.note.is_empty());
    let room = inner.height.saturating_sub(3 + note).max(1);
    // Lines as wrapped at this width, so that long reasons keep their room.
    let wanted: usize = checks
        .iter()
        .map(|l| l.width().div_ceil(usize::from(inner.width.max(1))).max(1))
        .sum();
    let wanted = u16::try_from(wanted).unwrap_or(u16::MAX);
    let [text_area, checks_area, note_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(wanted.min(room)),
        Constraint::Length(note),
    ])
    .areas(inner);
    if note > 0 {
        Paragraph::new(Line::styled(format!(" » {}", app.note), theme.running()))
            .render(note_area, buf);
    }

    let mut text = vec![
        Line::styled(s.title.clone(), theme.heading()),
        Line::raw(""),
    ];
    // The text may name the target's values ({site}); shown as written where one is unknown.
    let written = s.text_on(app.track, app.blank_lab());
    let body = app
        .target_vars
        .as_ref()
        .and_then(|v| crate::lessons::render(&written, v).ok());
    text.extend(markdown::render(body.as_deref().unwrap_or(&written), theme));
    if app.step + 1 == lesson.steps.len() && !lesson.sources.is_empty() {
        text.push(Line::raw(""));
        text.push(Line::styled("Sources", theme.bold()));
        for src in &lesson.sources {
            text.push(Line::styled(format!("• {src}"), theme.dim()));
        }
    }
    for (i, h) in s.hints.iter().take(app.hints).enumerate() {
        text.push(Line::raw(""));
        text.push(Line::from(vec![
            Span::styled(format!("Hint {}: ", i + 1), theme.bold()),
            Span::raw(h.clone()),
        ]));
    }
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((app.step_scroll, 0))
        .render(text_area, buf);
    Paragraph::new(checks)
        .wrap(Wrap { trim: false })
        .render(checks_area, buf);
}

pub(super) fn check_lines(app: &App, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let Some(s) = app.current().and_then(|l| l.steps.get(app.step)) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let header = format!("Checks ({} track)", app.track);
    let pad = usize::from(width).saturating_sub(header.chars().count() + 12);
    lines.push(Line::from(vec![
        Span::styled(header, theme.bold()),
        Span::raw(" ".repeat(pad)),
        Span::styled("c", theme.key()),
        Span::raw(": run all"),
    ]));
    let mut any = false;
    for (i, c) in s.checks_on(app.track) {
        any = true;
        match app.results.get(&(app.lesson, app.step, i)) {
            None => lines.push(Line::from(vec![
                Span::styled(" · ", theme.dim()),
                Span::raw(c.name.clone()),
            ])),
            Some(CheckState::Running) => lines.push(Line::from(vec![
                Span::styled(" … ", theme.running()),
                Span::raw(c.name.clone()),
            ])),
            Some(CheckState::Done(o)) if o.pass => lines.push(Line::from(vec![
                Span::styled(" ✓ ", theme.pass()),
                Span::raw(c.name.clone()),
                Span::styled(format!(": {}", o.detail), theme.dim()),
            ])),
            Some(CheckState::Done(o)) => {
                lines.push(Line::from(vec![
                    Span::styled(" ✗ ", theme.fail()),
                    Span::raw(format!("{}: {}", c.name, o.detail)),
                ]));
                let cmd = app
                    .target_vars
                    .as_ref()
                    .and_then(|v| crate::lessons::render(&c.command, v).ok())
                    .unwrap_or_else(|| c.command.clone());
                lines.push(Line::from(vec![
                    Span::styled("   try: $ ", theme.dim()),
                    Span::styled(cmd, theme.code()),
                ]));
            }
        }
    }
    if !any {
        lines.push(Line::styled(
            format!(
                " no checks on the {} track for this step: c marks it read",
                app.track
            ),
            theme.dim(),
        ));
    }
    lines
}
