//! Keys and the mouse, turned into changes of the guide's state (through the one key table).

use super::app::*;
use super::keys::{self, Action};
use ratatui::crossterm::event::{KeyCode, KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

impl App {
    pub(super) fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if self.editing_filter {
            match k.code {
                KeyCode::Enter => self.editing_filter = false,
                KeyCode::Esc => {
                    self.editing_filter = false;
                    self.tokens.filter.clear();
                }
                KeyCode::Backspace => {
                    self.tokens.filter.pop();
                }
                KeyCode::Char(c) => self.tokens.filter.push(c),
                _ => {}
            }
            self.tokens.refilter();
            self.tokens.back = 0;
            return Vec::new();
        }
        if self.asking_lab {
            let quit = keys::action(&k) == Some(Action::Quit);
            let start = match k.code {
                KeyCode::Char('b') => crate::progress::LabStart::Blank,
                KeyCode::Char('w') => crate::progress::LabStart::Built,
                _ if quit => return vec![Effect::Quit],
                _ => return Vec::new(),
            };
            self.asking_lab = false;
            self.progress.lab = Some(start);
            return vec![Effect::StartLab(start), Effect::SaveProgress];
        }
        if std::mem::take(&mut self.asking_clock) {
            use crate::io::clock::ClockChange;
            let change = match k.code {
                KeyCode::Char('1') => ClockChange::Advance(60),
                KeyCode::Char('3') => ClockChange::Advance(180),
                KeyCode::Char('h') => ClockChange::Advance(3600),
                KeyCode::Char('d') => ClockChange::Advance(86_400),
                KeyCode::Char('w') => ClockChange::Advance(7 * 86_400),
                KeyCode::Char('0') => ClockChange::Reset,
                _ => {
                    self.note = "the lab's clock is left as it was".into();
                    return Vec::new();
                }
            };
            self.note = "moving the lab's clock…".into();
            return vec![Effect::MoveClock(change)];
        }
        let Some(action) = keys::action(&k) else {
            return Vec::new();
        };
        if self.opened.is_some() {
            return self.exchange_key(action);
        }
        if std::mem::take(&mut self.confirm_reset) {
            if action == Action::Reset {
                return self.reset_lesson();
            }
            self.note = "the lesson's progress is kept".into();
        }
        if self.help {
            // The arrows scroll a help taller than the screen; any other key closes it, and
            // q still quits.
            let max = self.help_scroll_max.get();
            let by = |s: u16, d: i32| {
                u16::try_from((i32::from(s) + d).clamp(0, i32::from(max))).unwrap_or(0)
            };
            match action {
                Action::Up => self.help_scroll = by(self.help_scroll, -1),
                Action::Down => self.help_scroll = by(self.help_scroll, 1),
                Action::PageUp => self.help_scroll = by(self.help_scroll, -10),
                Action::PageDown => self.help_scroll = by(self.help_scroll, 10),
                _ => {
                    self.help = false;
                    self.help_scroll = 0;
                    if action == Action::Quit && k.code != KeyCode::Esc {
                        return vec![Effect::Quit];
                    }
                }
            }
            return Vec::new();
        }
        match action {
            Action::Quit => return vec![Effect::Quit],
            Action::Help => self.help = true,
            Action::NextPane | Action::PrevPane => {
                let i = PANES.iter().position(|p| *p == self.focus).unwrap_or(0);
                let step = if action == Action::NextPane { 1 } else { 3 };
                self.focus = PANES[(i + step) % PANES.len()];
            }
            Action::Up => self.scroll(-1),
            Action::Down => self.scroll(1),
            Action::PageUp => self.scroll(-10),
            Action::PageDown => self.scroll(10),
            Action::Left => {
                let max = self.tokens.visible_count().saturating_sub(1);
                self.tokens.back = (self.tokens.back + 1).min(max);
                self.tokens.scroll = 0;
            }
            Action::Right => {
                self.tokens.back = self.tokens.back.saturating_sub(1);
                self.tokens.scroll = 0;
            }
            Action::Open if self.focus == Pane::Lessons => {
                if self.cursor < self.lessons.len() {
                    return self.go(self.cursor, 0);
                }
            }
            Action::Open if self.focus == Pane::Flow => match self.flow.selection() {
                Some(_) => self.opened = Some(0),
                None => {
                    self.note =
                        "select an exchange with k (older) and j (newer), then Enter".into();
                }
            },
            Action::Open if self.focus == Pane::Tokens => {
                self.note = "←/→ move between requests; r shows the raw token".into();
            }
            Action::Open | Action::Check => return self.run_checks(false),
            Action::ShowMe => return self.run_checks(true),
            Action::HideGuide => {
                self.flow.toggle_guide();
                self.note = if self.flow.hide_guide {
                    "the Flow pane hides the guide's own exchanges (g shows them)".into()
                } else {
                    "the Flow pane shows the guide's exchanges too, marked ⚙ (g hides them)".into()
                };
            }
            Action::Follow => self.flow.selected = None,
            Action::Export => return self.export(),
            Action::Copy => {
                let token = self.tokens.shown().and_then(|e| {
                    (e.data.as_ref().map(|t| ("x-amzn-oidc-data", t)))
                        .or_else(|| e.access.as_ref().map(|t| ("the access token", t)))
                });
                match token {
                    Some((which, t)) => {
                        self.note = format!(
                            "{which} copied to the clipboard (OSC 52; your terminal must allow it)"
                        );
                        return vec![Effect::Copy(t.raw())];
                    }
                    None => {
                        self.note = "no token to copy: the Tokens pane is empty (or open an exchange in the Flow pane and press y)".into();
                    }
                }
            }
            Action::Decode => {
                self.note = "d decodes an open exchange's tokens: select one in the Flow pane and press Enter first".into();
            }
            Action::Clock if self.track == crate::lessons::Track::Cloud => {
                self.note =
                    "the cloud track runs on AWS's clock: time travel is the local lab's (t)"
                        .into();
            }
            Action::Clock => {
                self.asking_clock = true;
            }
            Action::NextStep => return self.next_step(),
            Action::PrevStep => {
                if self.step > 0 {
                    return self.go(self.lesson, self.step - 1);
                } else if self.lesson > 0 {
                    let last = self.lessons[self.lesson - 1].steps.len().saturating_sub(1);
                    return self.go(self.lesson - 1, last);
                }
            }
            Action::Hint => {
                let n = self
                    .current()
                    .and_then(|l| l.steps.get(self.step))
                    .map_or(0, |s| s.hints.len());
                if self.hints < n {
                    self.hints += 1;
                } else {
                    self.note = if n == 0 {
                        "this step has no hints".into()
                    } else {
                        "every hint is shown".into()
                    };
                }
            }
            Action::Filter => {
                self.editing_filter = true;
                self.focus = Pane::Tokens;
            }
            Action::Pause => {
                self.tokens.paused = !self.tokens.paused;
                if !self.tokens.paused {
                    self.tokens.held = 0;
                }
            }
            Action::Raw => self.raw = !self.raw,
            Action::Reset => {
                if let Some(l) = self.current() {
                    self.note = format!(
                        "reset the progress of lesson {}? R again resets it; any other key keeps it",
                        l.id
                    );
                    self.confirm_reset = true;
                }
            }
        }
        Vec::new()
    }

    fn reset_lesson(&mut self) -> Vec<Effect> {
        let Some(id) = self.current().map(|l| l.id.clone()) else {
            return Vec::new();
        };
        self.progress.reset(self.track, &id);
        self.results.retain(|(l, _, _), _| *l != self.lesson);
        let effects = self.go(self.lesson, 0);
        self.note = format!("progress for {id} reset");
        effects
    }

    /// Keys while an exchange is open: scroll it, move to the one before or after, close it.
    /// The open exchange is the Flow pane's selection, so moving it moves the selection (but
    /// never past the newest, which would let go of it).
    fn exchange_key(&mut self, action: Action) -> Vec<Effect> {
        let Some(scroll) = self.opened else {
            return Vec::new();
        };
        let max = self.opened_scroll_max.get();
        let by: i16 = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -10,
            Action::PageDown => 10,
            Action::Left | Action::Right => {
                let was = self.flow.selected;
                self.flow
                    .select(if action == Action::Left { -1 } else { 1 });
                if self.flow.selected.is_none() {
                    self.flow.selected = was;
                }
                self.opened = Some(0);
                return Vec::new();
            }
            Action::Quit | Action::Open => {
                self.opened = None;
                return Vec::new();
            }
            Action::Copy | Action::Decode => return self.exchange_tokens(action),
            Action::Export => return self.export(),
            _ => return Vec::new(),
        };
        self.opened = Some(scroll.min(max).saturating_add_signed(by).min(max));
        Vec::new()
    }

    /// `y` or `d` in an open exchange: its tokens copied (the first) or decoded.
    fn exchange_tokens(&mut self, action: Action) -> Vec<Effect> {
        let Some(e) = self.flow.selection() else {
            return Vec::new();
        };
        let tokens = e
            .exchange
            .as_deref()
            .map(crate::export::tokens_in)
            .unwrap_or_default();
        let Some((label, first)) = tokens.first().cloned() else {
            self.note = "this exchange carries no token".into();
            return Vec::new();
        };
        if action == Action::Copy {
            self.note =
                format!("{label} copied to the clipboard (OSC 52; your terminal must allow it)");
            return vec![Effect::Copy(first)];
        }
        let (request, client) = (e.request.clone(), e.client);
        let at_ms = i64::try_from(e.start_ms).unwrap_or(0);
        self.opened = None;
        self.focus = Pane::Tokens;
        self.note = format!(
            "decoding {}: they show in the Tokens pane",
            tokens
                .iter()
                .map(|(l, _)| *l)
                .collect::<Vec<_>>()
                .join(", ")
        );
        vec![Effect::Decode {
            request,
            client,
            at_ms,
            tokens,
        }]
    }

    /// `e`: the Flow pane's exchanges (as shown: `g` hides the guide's) written as files.
    fn export(&mut self) -> Vec<Effect> {
        let events: Vec<_> = self.flow.visible().cloned().collect();
        if events.is_empty() {
            self.note = "the Flow pane has no exchange to export yet".into();
            return Vec::new();
        }
        self.note = format!("exporting {} exchange(s)…", events.len());
        vec![Effect::Export(events)]
    }

    pub(super) fn scroll(&mut self, by: isize) {
        match self.focus {
            Pane::Lessons => {
                // Broken lesson files are listed after the lessons, to be read.
                let max = (self.lessons.len() + self.load_errors.len()).saturating_sub(1);
                self.cursor = self.cursor.saturating_add_signed(by).min(max);
            }
            Pane::Step => {
                self.step_scroll = self
                    .step_scroll
                    .min(self.step_scroll_max.get())
                    .saturating_add_signed(i16::try_from(by).unwrap_or(0))
                    .min(self.step_scroll_max.get());
            }
            Pane::Flow => self.flow.select(by),
            Pane::Tokens => {
                let max = self.tokens_scroll_max.get();
                self.tokens.scroll = self
                    .tokens
                    .scroll
                    .min(max)
                    .saturating_add_signed(i16::try_from(by).unwrap_or(0))
                    .min(max);
            }
        }
    }

    pub(super) fn mouse(&mut self, m: MouseEvent) {
        let by = match m.kind {
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::Down(_) => 0,
            _ => return,
        };
        let at = Position::new(m.column, m.row);
        let areas = super::ui::Areas::new(self.size);
        let Some(pane) = [
            (Pane::Lessons, areas.lessons),
            (Pane::Step, areas.step),
            (Pane::Flow, areas.flow),
            (Pane::Tokens, areas.tokens),
        ]
        .into_iter()
        .find(|(_, r)| r.contains(at))
        .map(|(p, _)| p) else {
            return;
        };
        self.focus = pane;
        if by != 0 {
            self.scroll(by);
        }
    }
}
