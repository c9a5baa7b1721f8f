//! The frame every pane is drawn in: its title, and a thick border when it has the focus.

use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders};

use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

pub(super) fn block<'a>(
    app: &App,
    theme: Theme,
    pane: Pane,
    title: impl Into<Line<'a>>,
) -> Block<'a> {
    let focused = app.focus == pane;
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme.border()
        })
        .title(title)
}
