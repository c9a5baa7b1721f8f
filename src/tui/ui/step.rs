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
    if app.focus == Pane::Lessons
        && let Some(e) = app
            .cursor
            .checked_sub(app.lessons.len())
            .and_then(|i| app.load_errors.get(i))
    {
        let b = block(
            app,
            theme,
            Pane::Step,
            " A lesson file that could not be loaded ",
        );
        let text = vec![
            Line::styled(e.file.clone(), theme.heading()),
            Line::raw(""),
            Line::styled(format!("line {}: {}", e.line, e.reason), theme.fail()),
            Line::raw(""),
            Line::styled(
                "Fix the file and start the guide again; the other lessons work meanwhile.",
                theme.dim(),
            ),
        ];
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(b)
            .render(area, buf);
        return;
    }
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
    // While `t` waits for how far, its question stays on the note line whatever else happens.
    let text = if app.asking_clock {
        crate::tui::app::CLOCK_PROMPT
    } else {
        app.note.as_str()
    };
    let note = u16::from(!text.is_empty());
    let room = inner.height.saturating_sub(3 + note).max(1);
    // Rows as the paragraph wraps them at this width, so that long reasons keep their room.
    let checks = Paragraph::new(checks).wrap(Wrap { trim: false });
    let wanted = u16::try_from(checks.line_count(inner.width)).unwrap_or(u16::MAX);
    let [text_area, checks_area, note_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(wanted.min(room)),
        Constraint::Length(note),
    ])
    .areas(inner);
    if note > 0 {
        Paragraph::new(Line::styled(format!(" » {text}"), theme.running())).render(note_area, buf);
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
    let text = Paragraph::new(text).wrap(Wrap { trim: false });
    let max = scroll_max(&text, text_area);
    app.step_scroll_max.set(max);
    text.scroll((app.step_scroll.min(max), 0))
        .render(text_area, buf);
    checks.render(checks_area, buf);
}

/// How far a wrapped paragraph in `area` can scroll before its last row leaves the bottom.
pub(super) fn scroll_max(p: &Paragraph, area: Rect) -> u16 {
    let rows = p.line_count(area.width);
    u16::try_from(rows.saturating_sub(usize::from(area.height))).unwrap_or(u16::MAX)
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
            Some(CheckState::Done(o)) => {
                let waiting = !o.pass && o.detail.starts_with("waiting for you");
                lines.push(if o.pass {
                    Line::from(vec![
                        Span::styled(" ✓ ", theme.pass()),
                        Span::raw(c.name.clone()),
                        Span::styled(format!(": {}", o.detail), theme.dim()),
                    ])
                } else if waiting {
                    Line::from(vec![
                        Span::styled(" ◷ ", theme.running()),
                        Span::raw(format!("{}: {}", c.name, o.detail)),
                    ])
                } else {
                    Line::from(vec![
                        Span::styled(" ✗ ", theme.fail()),
                        Span::raw(format!("{}: {}", c.name, o.detail)),
                    ])
                });
                // The command is what to type to see it yourself: after a pass as after a
                // failure (lesson 14's forged header is only shown this way).
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

#[cfg(test)]
mod tests {
    use ratatui::widgets::{Paragraph, Wrap};

    fn wrapped_rows(text: &str, width: u16) -> usize {
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .line_count(width)
    }

    #[test]
    fn rows_count_word_wrapping_not_characters() {
        assert_eq!(wrapped_rows("", 10), 1);
        assert_eq!(wrapped_rows("aaaa bbbb", 9), 1);
        // 23 characters fit 2 rows of 12 by count, but the words need 3.
        assert_eq!(wrapped_rows("aaaaaaa bbbbbbb ccccccc", 12), 3);
        assert_eq!(wrapped_rows("x 12345678901234567890", 10), 3);
    }
}
