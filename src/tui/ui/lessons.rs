//! The lessons pane: each lesson with its progress on this track.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::frame::block;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

pub(super) fn lessons(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let b = block(app, theme, Pane::Lessons, " Lessons ");
    let inner = b.inner(area);
    b.render(area, buf);
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in app.lessons.iter().enumerate() {
        let done = app.progress.count(app.track, &l.id);
        let (mark, style) = if done == l.steps.len() {
            ("✓", theme.pass())
        } else if i == app.lesson {
            ("▸", theme.bold())
        } else if done > 0 {
            ("◐", Style::new())
        } else {
            (" ", Style::new())
        };
        let num = l.number().map_or_else(String::new, |n| format!("{n:>2} "));
        let row = Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(format!("{num}{}", l.title)),
        ]);
        lines.push(if i == app.cursor && app.focus == Pane::Lessons {
            row.style(theme.selected())
        } else {
            row
        });
    }
    for (i, e) in app.load_errors.iter().enumerate() {
        let name = e.file.rsplit('/').next().unwrap_or(&e.file);
        let row = Line::styled(format!("✗ {name}"), theme.fail());
        lines.push(
            if app.cursor == app.lessons.len() + i && app.focus == Pane::Lessons {
                row.style(theme.selected())
            } else {
                row
            },
        );
    }
    if lines.is_empty() {
        lines.push(Line::styled("no lessons found", theme.fail()));
    }
    // Keep the highlighted row on screen.
    let height = usize::from(inner.height);
    let skip = app.cursor.saturating_sub(height.saturating_sub(1));
    Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()).render(inner, buf);
}
