//! The flow pane: each exchange as an arrow between the four actors' lanes, the back channel
//! marked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::frame::block;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;
use cognito_learning_contract::trace::{Actor, Client, TraceEvent};

pub(super) fn lane(a: Actor) -> usize {
    Actor::ALL.iter().position(|x| *x == a).unwrap_or(0)
}

pub(super) fn flow(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let rows = usize::from(area.height.saturating_sub(3));
    let (window, selected, below) = app.flow.window(rows);
    let mut title = vec![Span::raw(" Flow ")];
    if app.flow.hide_guide {
        let (guide, _) = app.flow.counts();
        title.push(Span::styled(
            format!("· {guide} of the guide's hidden (g) "),
            theme.dim(),
        ));
    }
    if selected.is_some() {
        let newer = if below > 0 {
            format!(", {below} newer below")
        } else {
            String::new()
        };
        title.push(Span::styled(
            format!("· paused{newer} · Enter opens · End follows "),
            theme.running(),
        ));
    }
    let b = block(app, theme, Pane::Flow, Line::from(title));
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.width < 20 || inner.height < 2 {
        return;
    }
    let w = usize::from(inner.width);
    let step = (w - 2) / 4;
    let x = |i: usize| 1 + i * step + step / 2;
    let mut head = vec![' '; w];
    for (i, name) in Actor::ALL.map(Actor::name).iter().enumerate() {
        let start = x(i).saturating_sub(name.len() / 2);
        for (j, ch) in name.chars().enumerate() {
            if let Some(c) = head.get_mut(start + j) {
                *c = ch;
            }
        }
    }
    let mut lines = vec![Line::styled(
        head.into_iter().collect::<String>(),
        theme.bold(),
    )];
    if app.flow.is_empty() {
        lines.push(Line::styled(
            if app.track == crate::lessons::Track::Local {
                " no traffic yet: open the site, or run a step's checks"
            } else {
                " requests appear here as the app logs them"
            },
            theme.dim(),
        ));
    }
    for (i, e) in window.into_iter().enumerate() {
        let line = arrow(e, w, &x, theme);
        lines.push(if selected == Some(i) {
            line.style(theme.selected())
        } else {
            line
        });
    }
    Paragraph::new(lines).render(inner, buf);
}

/// One exchange as a row: lanes as `│`, an arrow between the two parties, the label on it.
pub(super) fn arrow(
    e: &TraceEvent,
    w: usize,
    x: &dyn Fn(usize) -> usize,
    theme: Theme,
) -> Line<'static> {
    let mut row = vec![' '; w];
    for i in 0..Actor::ALL.len() {
        if let Some(c) = row.get_mut(x(i)) {
            *c = '│';
        }
    }
    let (from, to) = (x(lane(e.from)), x(lane(e.to)));
    let (lo, hi) = (from.min(to), from.max(to));
    for c in row.iter_mut().take(hi).skip(lo + 1) {
        *c = '─';
    }
    if to > from {
        row[hi - 1] = '▶';
    } else if to < from {
        row[lo + 1] = '◀';
    }
    let label = format!(
        "{}{}{} {}{}",
        if e.client == Client::Guide {
            "⚙ "
        } else {
            ""
        },
        if e.back_channel { "⇢ " } else { "" },
        e.request,
        e.status,
        if e.note.is_empty() {
            String::new()
        } else {
            format!(" · {}", e.note)
        }
    );
    // The label rides on the arrow from just after its left end, over the lanes if it is long.
    let start = lo + 2;
    for (j, ch) in label.chars().enumerate() {
        match row.get_mut(start + j) {
            Some(c) => *c = ch,
            None => break,
        }
    }
    let style = if e.client == Client::Guide {
        theme.dim()
    } else if e.back_channel {
        theme.back_channel()
    } else if e.status >= 400 {
        theme.fail()
    } else {
        Style::new()
    };
    Line::styled(row.into_iter().collect::<String>(), style)
}
