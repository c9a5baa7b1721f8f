//! An exchange opened from the Flow pane, over the panes: everything the lab saw of it, each
//! part explained (see [`crate::exchange`]).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::exchange::{Kind, read_out};
use crate::tui::app::{App, Opened};
use crate::tui::theme::Theme;

/// The popup's place on a screen of `area`.
fn place(area: Rect) -> Rect {
    let (w, h) = (area.width.saturating_sub(4), area.height.saturating_sub(2));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// How far the open exchange can scroll on a screen of `area`: its wrapped rows less the
/// rows shown.
pub fn max_scroll(app: &App, o: Opened, area: Rect) -> u16 {
    let Some(e) = app.flow.get(o.key) else {
        return 0;
    };
    let inner = place(area);
    let width = usize::from(inner.width.saturating_sub(2)).max(1);
    let now = u64::try_from(app.now_ms / 1000).unwrap_or(0);
    let rows: usize = read_out(e, now)
        .iter()
        .map(|(_, t)| (t.chars().count() + 6).div_ceil(width).max(1))
        .sum();
    u16::try_from(rows.saturating_sub(usize::from(inner.height.saturating_sub(2))))
        .unwrap_or(u16::MAX)
}

pub(super) fn exchange(app: &App, o: Opened, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(e) = app.flow.get(o.key) else {
        return;
    };
    let now = u64::try_from(app.now_ms / 1000).unwrap_or(0);
    let lines: Vec<Line> = read_out(e, now)
        .into_iter()
        .map(|(kind, text)| match kind {
            Kind::Heading => Line::styled(text, theme.heading()),
            Kind::Field => Line::styled(format!("  {text}"), theme.code()),
            Kind::Explain => Line::styled(format!("      {text}"), theme.dim()),
            Kind::Text => Line::raw(format!("  {text}")),
            Kind::Dim => Line::styled(text, theme.dim()),
        })
        .collect();
    let area = place(area);
    ratatui::widgets::Clear.render(area, buf);
    let title = format!(" {} → {} ", e.request, e.status);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((o.scroll, 0))
        .block(
            Block::bordered()
                .title(title)
                .title_bottom(" j/k scroll · ←/→ the exchange before or after · Esc closes ")
                .border_style(theme.focused_border()),
        )
        .render(area, buf);
}
