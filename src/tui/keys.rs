//! The one key table: what each key does, and the help overlay and footer generated from it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Left,
    Right,
    Open,
    Check,
    NextStep,
    PrevStep,
    Hint,
    Filter,
    Pause,
    Raw,
    Reset,
    HideGuide,
    Follow,
    ShowMe,
    Clock,
    Export,
    Copy,
    Decode,
}

pub struct Binding {
    pub keys: &'static [KeyCode],
    /// How the help shows the keys.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the footer line: the key as written there, and a word for what it does.
    pub footer: Option<(&'static str, &'static str)>,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
    footer: Option<(&'static str, &'static str)>,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        help,
        footer,
    }
}

pub const KEYS: &[Binding] = &[
    b(
        &[KeyCode::Char('?')],
        "?",
        Action::Help,
        "show or hide this help",
        Some(("?", "help")),
    ),
    b(
        &[KeyCode::Tab],
        "Tab",
        Action::NextPane,
        "next pane",
        Some(("Tab", "pane")),
    ),
    b(
        &[KeyCode::BackTab],
        "Shift-Tab",
        Action::PrevPane,
        "previous pane",
        None,
    ),
    b(
        &[KeyCode::Up, KeyCode::Char('k')],
        "↑ k",
        Action::Up,
        "move up, or scroll the pane",
        None,
    ),
    b(
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓ j",
        Action::Down,
        "move down, or scroll the pane",
        Some(("j/k", "move")),
    ),
    b(
        &[KeyCode::PageUp],
        "PgUp",
        Action::PageUp,
        "scroll a page up",
        None,
    ),
    b(
        &[KeyCode::PageDown],
        "PgDn",
        Action::PageDown,
        "scroll a page down",
        None,
    ),
    b(
        &[KeyCode::Left, KeyCode::Char('[')],
        "← [",
        Action::Left,
        "tokens: an older request",
        None,
    ),
    b(
        &[KeyCode::Right, KeyCode::Char(']')],
        "→ ]",
        Action::Right,
        "tokens: a newer request",
        None,
    ),
    b(
        &[KeyCode::Enter],
        "Enter",
        Action::Open,
        "lessons: open; flow: open the exchange; step: run the checks",
        Some(("Enter", "open")),
    ),
    b(
        &[KeyCode::Char('c')],
        "c",
        Action::Check,
        "run this step's checks",
        Some(("c", "check")),
    ),
    b(
        &[KeyCode::Char('s')],
        "s",
        Action::ShowMe,
        "show me: the guide does it itself (marked ⚙, it passes nothing)",
        None,
    ),
    b(
        &[KeyCode::Char('g')],
        "g",
        Action::HideGuide,
        "flow: hide or show the exchanges the guide's own checks made",
        None,
    ),
    b(
        &[KeyCode::End, KeyCode::Char('G')],
        "End G",
        Action::Follow,
        "flow: follow new traffic again",
        None,
    ),
    b(
        &[KeyCode::Char('n')],
        "n",
        Action::NextStep,
        "next step",
        None,
    ),
    b(
        &[KeyCode::Char('p')],
        "p",
        Action::PrevStep,
        "previous step",
        Some(("n/p", "step")),
    ),
    b(
        &[KeyCode::Char('h')],
        "h",
        Action::Hint,
        "show the next hint",
        Some(("h", "hint")),
    ),
    b(
        &[KeyCode::Char('/')],
        "/",
        Action::Filter,
        "filter the token stream (Enter keeps, Esc clears)",
        Some(("/", "filter")),
    ),
    b(
        &[KeyCode::Char(' ')],
        "space",
        Action::Pause,
        "pause or resume the token stream",
        Some(("space", "pause")),
    ),
    b(
        &[KeyCode::Char('r')],
        "r",
        Action::Raw,
        "tokens: raw or decoded",
        None,
    ),
    b(
        &[KeyCode::Char('t')],
        "t",
        Action::Clock,
        "time travel: move the lab's clock (then 1, 3, h, d, w; 0 resets)",
        None,
    ),
    b(
        &[KeyCode::Char('e')],
        "e",
        Action::Export,
        "export the Flow pane as .har and .mmd here (g leaves out ⚙ rows)",
        None,
    ),
    b(
        &[KeyCode::Char('y')],
        "y",
        Action::Copy,
        "copy the shown token, or an open exchange's (OSC 52 clipboard)",
        None,
    ),
    b(
        &[KeyCode::Char('d')],
        "d",
        Action::Decode,
        "open exchange: decode and verify its tokens in the Tokens pane",
        None,
    ),
    b(
        &[KeyCode::Char('R')],
        "R",
        Action::Reset,
        "reset this lesson's progress (asks first)",
        None,
    ),
    b(
        &[KeyCode::Char('q'), KeyCode::Esc],
        "q Esc",
        Action::Quit,
        "quit (Esc closes help or an open exchange first)",
        Some(("q", "quit")),
    ),
];

/// The action for a key, if any. Ctrl-C always quits.
pub fn action(key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    KEYS.iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.action)
}

/// The footer: the most used keys, from the same table.
pub fn footer() -> Vec<(&'static str, &'static str)> {
    KEYS.iter().filter_map(|b| b.footer).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in KEYS {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }

    #[test]
    fn ctrl_c_quits_and_c_checks() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&ctrl_c), Some(Action::Quit));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(action(&c), Some(Action::Check));
    }
}
