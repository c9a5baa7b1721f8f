//! The footer's keys and the help overlay, both from the one key table.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use crate::tui::app::App;
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

/// A cleared box of `width` × `height` in the middle of `area`.
fn popup(area: Rect, width: u16, height: u16, buf: &mut Buffer) -> Rect {
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height.min(area.height)),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, popup, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(width.min(area.width)),
        Constraint::Fill(1),
    ])
    .areas(mid);
    Clear.render(popup, buf);
    popup
}

/// The question a fresh local track starts with: how to start the lab.
pub(super) fn ask_lab(theme: Theme, area: Rect, buf: &mut Buffer) {
    let choice = |key: &'static str, what: &'static str| {
        Line::from(vec![
            Span::styled(format!(" {key}  "), theme.key()),
            Span::styled(what, theme.bold()),
        ])
    };
    let lines = vec![
        Line::raw(" How should the local lab start? The guide remembers your answer."),
        Line::raw(""),
        choice("b", "blank: you build it"),
        Line::raw("    Only the load balancer, the app's instance and its log group exist. You"),
        Line::raw("    make the target group, listeners, user pool, client, users and the ALB's"),
        Line::raw("    rule with the AWS CLI, as on AWS; each step shows the commands."),
        Line::raw(""),
        choice("w", "built: watch it work"),
        Line::raw("    Everything is made already; the lessons show how to read it and break it."),
        Line::raw(""),
        Line::styled(
            " Later: `cognito-learning --lab blank` or `--lab built` changes it.  q quits.",
            theme.dim(),
        ),
    ];
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = popup(area, 80, height, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" The local lab ")
                .border_style(theme.focused_border()),
        )
        .render(area, buf);
}

/// The key table. On a screen shorter than the table, the arrows scroll it and the title says
/// which rows are shown.
pub(super) fn help(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let height = u16::try_from(keys::KEYS.len() + 4).unwrap_or(u16::MAX);
    let popup = popup(area, 84, height, buf);
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
        " mouse: scroll a pane with the wheel, click to focus it; any other key closes",
        theme.dim(),
    ));
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let shown = popup.height.saturating_sub(2);
    let max = total.saturating_sub(shown);
    app.help_scroll_max.set(max);
    let scroll = app.help_scroll.min(max);
    let title = if max == 0 {
        " Keys ".to_owned()
    } else {
        format!(
            " Keys {}–{} of {total} · ↑↓ scroll ",
            scroll + 1,
            (scroll + shown).min(total)
        )
    };
    Paragraph::new(lines)
        .scroll((scroll, 0))
        .block(
            Block::bordered()
                .title(title)
                .border_style(theme.focused_border()),
        )
        .render(popup, buf);
}
