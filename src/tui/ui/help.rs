//! The footer's keys and the help overlay, both from the one key table.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use crate::tui::keys;
use crate::tui::theme::Theme;

pub(super) fn footer(theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    for (key, what) in keys::footer() {
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

pub(super) fn help(theme: Theme, area: Rect, buf: &mut Buffer) {
    let height = u16::try_from(keys::KEYS.len() + 4).unwrap_or(u16::MAX);
    let width = 72.min(area.width);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height.min(area.height)),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, popup, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(width),
        Constraint::Fill(1),
    ])
    .areas(mid);
    Clear.render(popup, buf);
    let mut lines: Vec<Line> = keys::KEYS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<10}", b.label), theme.key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " mouse: scroll a pane with the wheel, click to focus it; any key closes",
        theme.dim(),
    ));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" Keys ")
                .border_style(theme.focused_border()),
        )
        .render(popup, buf);
}
