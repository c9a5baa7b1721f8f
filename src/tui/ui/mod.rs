//! Drawing the guide: `impl Widget for &App`, pure. One function per pane.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::App;
use super::theme::Theme;

mod exchange;
mod flow;
mod frame;
mod help;
mod lessons;
mod step;
mod tokens;

use flow::flow;
use help::{footer, help};
use lessons::lessons;
use step::step;
use tokens::tokens;

/// Where each pane goes for a screen size; the mouse handler uses the same.
#[derive(Debug, Clone, Copy)]
pub struct Areas {
    pub top: Rect,
    pub lessons: Rect,
    pub step: Rect,
    pub flow: Rect,
    pub tokens: Rect,
    pub footer: Rect,
}

impl Areas {
    pub fn new(area: Rect) -> Self {
        let [top, main, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        let [upper, lower] =
            Layout::vertical([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
        let list = if area.width >= 100 { 26 } else { 22 };
        let [lessons, step] =
            Layout::horizontal([Constraint::Length(list), Constraint::Min(0)]).areas(upper);
        let [flow, tokens] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(lower);
        Self {
            top,
            lessons,
            step,
            flow,
            tokens,
            footer,
        }
    }
}

/// The guide draws itself with this theme; tests may draw with another.
pub struct View<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        View {
            app: self,
            theme: Theme::from_env(),
        }
        .render(area, buf);
    }
}

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = Areas::new(area);
        top(self.app, self.theme, a.top, buf);
        lessons(self.app, self.theme, a.lessons, buf);
        step(self.app, self.theme, a.step, buf);
        flow(self.app, self.theme, a.flow, buf);
        tokens(self.app, self.theme, a.tokens, buf);
        footer(self.theme, a.footer, buf);
        if let Some(scroll) = self.app.opened {
            exchange::exchange(self.app, scroll, self.theme, area, buf);
        }
        if self.app.help {
            help(self.app, self.theme, area, buf);
        } else if self.app.asking_lab {
            help::ask_lab(self.theme, area, buf);
        }
    }
}

fn top(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = if area.width >= 100 {
        vec![
            Span::styled(" cognito-learning", theme.title()),
            Span::raw(format!(" · {} ", app.label)),
        ]
    } else {
        vec![Span::styled(format!(" {} ", app.label), theme.title())]
    };
    if !app.ready && app.services.is_empty() {
        spans.push(Span::styled(" starting…", theme.running()));
    }
    for s in &app.services {
        let (dot, style) = match s.up {
            Some(true) => ("●", theme.pass()),
            Some(false) => ("○", theme.fail()),
            None => ("◌", theme.running()),
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(dot, style));
        spans.push(Span::raw(format!(" {} {}", s.name, s.addr)));
    }
    if app.clock_offset != 0 {
        let now = u64::try_from(app.lab_now_ms() / 1000).unwrap_or(0);
        spans.push(Span::styled(
            format!(
                "  ⏱ lab time {} (+{})",
                crate::io::clock::lab_time(app.clock_offset, now),
                cognito_learning_tokens::time::span(app.clock_offset.unsigned_abs())
            ),
            theme.running(),
        ));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}
