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
        let Some(action) = keys::action(&k) else {
            return Vec::new();
        };
        if self.help {
            // Any key closes the help; q still quits.
            self.help = false;
            return if action == Action::Quit && k.code != KeyCode::Esc {
                vec![Effect::Quit]
            } else {
                Vec::new()
            };
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
            Action::Open | Action::Check => return self.run_checks(),
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
                if let Some(id) = self.current().map(|l| l.id.clone()) {
                    self.progress.reset(self.track, &id);
                    self.results.retain(|(l, _, _), _| *l != self.lesson);
                    self.note = format!("progress for {id} reset");
                    return self.go(self.lesson, 0);
                }
            }
        }
        Vec::new()
    }

    pub(super) fn scroll(&mut self, by: isize) {
        match self.focus {
            Pane::Lessons => {
                let max = self.lessons.len().saturating_sub(1);
                self.cursor = self.cursor.saturating_add_signed(by).min(max);
            }
            Pane::Step => {
                self.step_scroll = self
                    .step_scroll
                    .saturating_add_signed(i16::try_from(by).unwrap_or(0));
            }
            Pane::Flow => self.flow.scroll = self.flow.scroll.saturating_add_signed(-by),
            Pane::Tokens => {
                self.tokens.scroll = self
                    .tokens
                    .scroll
                    .saturating_add_signed(i16::try_from(by).unwrap_or(0));
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
