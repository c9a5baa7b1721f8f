//! An exchange opened from the Flow pane, over the panes: everything the lab saw of it, each
//! part explained (see [`crate::exchange`]).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::step::scroll_max;
use crate::exchange::{Kind, read_out};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The Flow pane's selected exchange, over most of `area`, scrolled `scroll` rows.
pub(super) fn exchange(app: &App, scroll: u16, theme: Theme, area: Rect, buf: &mut Buffer) {
    // A selection that aged out of the buffer lets go: nothing is open any more.
    let Some(e) = app.flow.selection() else {
        return;
    };
    let now = u64::try_from(app.lab_now_ms() / 1000).unwrap_or(0);
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
    let area = Rect::new(
        area.x + 2.min(area.width),
        area.y + 1.min(area.height),
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    Clear.render(area, buf);
    let block = Block::bordered()
        .title(format!(" {} → {} ", e.request, e.status))
        .title_bottom(" j/k scroll · ←/→ the exchange before or after · Esc closes ")
        .border_style(theme.focused_border());
    let inner = block.inner(area);
    block.render(area, buf);
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    let max = scroll_max(&text, inner);
    app.opened_scroll_max.set(max);
    text.scroll((scroll.min(max), 0)).render(inner, buf);
}
