//! The guide's state and its one `update`: every key, tick and task result arrives as a [`Msg`];
//! `update` changes the state and returns the [`Effect`]s (checks to run, progress to save) that
//! the runtime carries out in tasks. Nothing here awaits or touches the terminal.

use std::collections::{BTreeMap, HashMap};

use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;

use crate::checks::Outcome;
use crate::lessons::{Check, Lesson, LoadError, Track};
use crate::progress::Progress;
use crate::stream::TokenEvent;
use cognito_learning_contract::trace::{Actor, Client, TraceEvent};

pub use super::flow_log::{FLOW_BUFFER, FlowLog};
pub use super::token_log::{TOKEN_BUFFER, TokenLog};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Lessons,
    Step,
    Flow,
    Tokens,
}

pub(super) const PANES: [Pane; 4] = [Pane::Lessons, Pane::Step, Pane::Flow, Pane::Tokens];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState {
    Running,
    Done(Outcome),
}

/// A part of the system and whether it answers (`None`: not known yet).
pub use crate::io::Service;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// A second passed (times left to `exp` move on).
    Tick,
    /// The target is ready: its label and services.
    Ready {
        label: String,
        services: Vec<Service>,
        /// The lesson variables' values, to show commands as the learner would type them.
        vars: BTreeMap<String, String>,
    },
    /// Starting the target failed.
    Failed(String),
    CheckDone {
        generation: u64,
        lesson: usize,
        step: usize,
        check: usize,
        outcome: Outcome,
    },
    Tokens(Vec<TokenEvent>),
    StreamStatus(String),
    Flow(Vec<TraceEvent>),
    Health(Vec<Option<bool>>),
    /// The lab was started again under the guide: checks and followers now use the new run,
    /// whose lesson variables these are.
    LabRestarted {
        vars: BTreeMap<String, String>,
        services: Vec<Service>,
    },
    /// The lab serves another pool, client or users, as the learner's commands built them.
    LabChanged {
        vars: BTreeMap<String, String>,
    },
    /// No local lab runs and the learner has not said how to start one: ask.
    AskLab,
    /// The lab's clock runs this many seconds ahead of the wall clock (it was moved).
    LabClock(i64),
    /// A line for the status line: what a background task came to.
    Note(String),
    /// What moving the lab's clock came to.
    ClockMoved(Result<cognito_learning_contract::lab::ClockState, String>),
    /// A signal asked the guide to end.
    Quit,
}

impl From<crate::io::Event> for Msg {
    fn from(e: crate::io::Event) -> Self {
        use crate::io::Event;
        match e {
            Event::Tokens(t) => Msg::Tokens(t),
            Event::StreamStatus(s) => Msg::StreamStatus(s),
            Event::Flow(f) => Msg::Flow(f),
            Event::Health(h) => Msg::Health(h),
            Event::LabRestarted { vars, services } => Msg::LabRestarted { vars, services },
            Event::LabChanged { vars } => Msg::LabChanged { vars },
            Event::LabClock(offset) => Msg::LabClock(offset),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    RunChecks {
        generation: u64,
        lesson: usize,
        step: usize,
        checks: Vec<(usize, Check)>,
    },
    SaveProgress,
    /// Start the local lab, blank or built, as the learner chose (and remember the choice).
    StartLab(crate::progress::LabStart),
    /// Move the local lab's clock.
    MoveClock(crate::io::clock::ClockChange),
    /// Write these exchanges as HAR and Mermaid files.
    Export(Vec<TraceEvent>),
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Verify these tokens (label, raw) from one exchange and show them in the Tokens pane.
    Decode {
        request: String,
        client: Client,
        at_ms: i64,
        tokens: Vec<(&'static str, String)>,
    },
    Quit,
}

/// What `t` asks, on the note line until the next key.
pub const CLOCK_PROMPT: &str = "move the lab's clock: 1 +1m · 3 +3m · h +1h · d +1d · w +7d · 0 back to now · other keys cancel";

#[derive(Debug)]
pub struct App {
    pub lessons: Vec<Lesson>,
    pub load_errors: Vec<LoadError>,
    pub track: Track,
    pub label: String,
    pub ready: bool,
    pub services: Vec<Service>,
    pub progress: Progress,
    pub lesson: usize,
    pub step: usize,
    /// The highlighted row in the lessons pane.
    pub cursor: usize,
    pub focus: Pane,
    pub results: HashMap<(usize, usize, usize), CheckState>,
    generation: u64,
    /// How many of the step's hints are shown.
    pub hints: usize,
    pub step_scroll: u16,
    /// How far the step text can scroll at the size it was last drawn.
    pub step_scroll_max: std::cell::Cell<u16>,
    /// How far the Tokens pane can scroll at the size it was last drawn.
    pub tokens_scroll_max: std::cell::Cell<u16>,
    pub flow: FlowLog,
    pub tokens: TokenLog,
    pub editing_filter: bool,
    pub raw: bool,
    pub stream_status: String,
    pub note: String,
    pub help: bool,
    /// How far the help is scrolled, and how far it can be at the size it was last drawn.
    pub help_scroll: u16,
    pub help_scroll_max: std::cell::Cell<u16>,
    pub size: Rect,
    pub now_ms: i64,
    pub target_vars: Option<BTreeMap<String, String>>,
    /// Asking how to start the local lab (`b` blank, `w` built); other keys wait.
    pub asking_lab: bool,
    /// The Flow pane's selected exchange is open over the panes, scrolled this far.
    pub opened: Option<u16>,
    /// How far the open exchange can scroll at the size it was last drawn.
    pub opened_scroll_max: std::cell::Cell<u16>,
    /// `R` was pressed once: a second `R` resets the lesson.
    pub confirm_reset: bool,
    /// The step's checks last ran as "show me": the guide drove them, so they mark nothing.
    pub showing: bool,
    /// How far the lab's clock runs ahead of the wall clock, in seconds.
    pub clock_offset: i64,
    /// `t` was pressed: the next key says how far to move the lab's clock.
    pub asking_clock: bool,
}

impl App {
    pub fn new(
        lessons: Vec<Lesson>,
        load_errors: Vec<LoadError>,
        track: Track,
        progress: Progress,
    ) -> Self {
        let lesson = lessons
            .iter()
            .position(|l| l.id == progress.lesson)
            .unwrap_or(0);
        let step = lessons
            .get(lesson)
            .map_or(0, |l| progress.step.min(l.steps.len().saturating_sub(1)));
        let note = match load_errors.len() {
            0 => String::new(),
            n => format!("{n} lesson file(s) could not be loaded: see the lessons pane"),
        };
        Self {
            lessons,
            load_errors,
            track,
            label: match track {
                Track::Cloud => "AWS".into(),
                _ => "local lab".into(),
            },
            ready: false,
            services: Vec::new(),
            progress,
            lesson,
            step,
            cursor: lesson,
            focus: Pane::Step,
            results: HashMap::new(),
            generation: 0,
            hints: 0,
            step_scroll: 0,
            step_scroll_max: std::cell::Cell::new(u16::MAX),
            tokens_scroll_max: std::cell::Cell::new(u16::MAX),
            flow: FlowLog::default(),
            tokens: TokenLog::default(),
            editing_filter: false,
            raw: false,
            stream_status: "waiting for the app's log".into(),
            note,
            help: false,
            help_scroll: 0,
            help_scroll_max: std::cell::Cell::new(u16::MAX),
            size: Rect::new(0, 0, 80, 24),
            now_ms: i64::try_from(cognito_learning_tokens::time::now_millis()).unwrap_or(0),
            target_vars: None,
            asking_lab: false,
            opened: None,
            opened_scroll_max: std::cell::Cell::new(u16::MAX),
            confirm_reset: false,
            showing: false,
            clock_offset: 0,
            asking_clock: false,
        }
    }

    /// Now on the lab's clock (the wall clock's unless the learner moved it), in Unix
    /// milliseconds: what tokens' expiry is read against.
    pub fn lab_now_ms(&self) -> i64 {
        self.now_ms
            .saturating_add(self.clock_offset.saturating_mul(1000))
    }

    pub fn current(&self) -> Option<&Lesson> {
        self.lessons.get(self.lesson)
    }

    /// Whether the local lab started blank: the steps show what to build.
    pub fn blank_lab(&self) -> bool {
        self.target_vars
            .as_ref()
            .and_then(|v| v.get(crate::target::LAB_MODE))
            .is_some_and(|m| m == "blank")
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => return self.key(k),
            Msg::Mouse(m) => self.mouse(m),
            Msg::Resize(w, h) => self.size = Rect::new(0, 0, w, h),
            Msg::Tick => {
                self.now_ms = i64::try_from(cognito_learning_tokens::time::now_millis())
                    .unwrap_or(self.now_ms);
            }
            Msg::Ready {
                label,
                services,
                vars,
            } => {
                self.ready = true;
                self.target_vars = Some(vars);
                self.label = label;
                self.services = services;
            }
            Msg::Failed(why) => {
                self.note = why;
                self.services.iter_mut().for_each(|s| s.up = Some(false));
            }
            Msg::CheckDone {
                generation,
                lesson,
                step,
                check,
                outcome,
            } => {
                // A result from an earlier run of the same step is stale: drop it.
                if generation != self.generation {
                    return Vec::new();
                }
                self.results
                    .insert((lesson, step, check), CheckState::Done(outcome));
                return self.step_finished(lesson, step);
            }
            Msg::Tokens(events) => {
                let yours = events.iter().any(|e| e.client == Client::Learner);
                self.tokens.push(events);
                self.stream_status = "live".into();
                if yours {
                    return self.learner_acted();
                }
            }
            Msg::StreamStatus(s) => self.stream_status = s,
            Msg::Flow(events) => {
                let yours = events.iter().any(|e| e.client == Client::Learner);
                self.flow.add(events);
                if yours {
                    return self.learner_acted();
                }
            }
            Msg::LabRestarted { vars, services } => {
                self.services = services;
                // The new run's trace counts from 1 again: its flow starts on a clean pane.
                self.flow.clear();
                self.target_vars = Some(vars);
                self.note =
                    "the lab restarted: following its new run (the Flow pane starts again)".into();
                self.stream_status = "live".into();
            }
            Msg::AskLab => self.asking_lab = true,
            Msg::LabChanged { vars } => {
                let served = |v: &BTreeMap<String, String>| {
                    (v.get("user_pool_id").cloned(), v.get("client_id").cloned())
                };
                if self.target_vars.as_ref().map(served) != Some(served(&vars)) {
                    self.note = match (vars.get("user_pool_id"), vars.get("client_id")) {
                        (Some(p), Some(c)) if !p.is_empty() && !c.is_empty() => {
                            format!("the lab now serves user pool {p} with app client {c}")
                        }
                        (Some(p), _) if !p.is_empty() => {
                            format!("the lab now serves user pool {p} (no app client yet)")
                        }
                        _ => "the lab serves no user pool now".into(),
                    };
                }
                self.target_vars = Some(vars);
            }
            Msg::Health(up) => {
                for (s, u) in self.services.iter_mut().zip(up) {
                    s.up = u;
                }
            }
            Msg::LabClock(offset) => {
                if offset != self.clock_offset {
                    self.clock_offset = offset;
                    let now = u64::try_from(self.lab_now_ms() / 1000).unwrap_or(0);
                    self.note = crate::io::clock::describe(offset, now);
                }
            }
            Msg::ClockMoved(Ok(state)) => {
                self.clock_offset = state.offset;
                self.note = crate::io::clock::describe(state.offset, state.now);
            }
            Msg::Note(n) => self.note = n,
            Msg::ClockMoved(Err(why)) => self.note = format!("the lab's clock did not move: {why}"),
            Msg::Quit => return vec![Effect::Quit],
        }
        Vec::new()
    }

    /// Whether one of the current step's checks, run for real, waits for the learner's own
    /// traffic: it runs again when that arrives.
    pub fn watching(&self) -> bool {
        let Some(s) = self.current().and_then(|l| l.steps.get(self.step)) else {
            return false;
        };
        !self.showing
            && s.checks_on(self.track).any(|(i, c)| {
                crate::checks::waits_for_learner(&c.kind)
                    && matches!(
                        self.results.get(&(self.lesson, self.step, i)),
                        Some(CheckState::Done(o)) if !o.pass
                    )
            })
    }

    /// The learner's own traffic arrived: checks that wait for it run again.
    fn learner_acted(&mut self) -> Vec<Effect> {
        let running = self.results.iter().any(|((l, s, _), c)| {
            (*l, *s) == (self.lesson, self.step) && *c == CheckState::Running
        });
        if !self.watching() || running {
            return Vec::new();
        }
        self.run_checks(false)
    }

    /// When every check of a step has an answer and all passed, the step is marked.
    pub(super) fn step_finished(&mut self, lesson: usize, step: usize) -> Vec<Effect> {
        let Some(s) = self.lessons.get(lesson).and_then(|l| l.steps.get(step)) else {
            return Vec::new();
        };
        let states: Vec<Option<&CheckState>> = s
            .checks_on(self.track)
            .map(|(i, _)| self.results.get(&(lesson, step, i)))
            .collect();
        if states
            .iter()
            .any(|c| matches!(c, Some(CheckState::Running)))
        {
            return Vec::new();
        }
        let passed = |want: bool| {
            states
                .iter()
                .filter(
                    |c| matches!(c, Some(CheckState::Done(Outcome { pass, .. })) if *pass == want),
                )
                .count()
        };
        let failed = passed(false);
        let done = passed(true) == states.len();
        let id = self.lessons[lesson].id.clone();
        if self.showing {
            self.note = format!(
                "shown: {} of {} worked when the guide did it; now do it yourself, then c",
                passed(true),
                states.len()
            );
            return Vec::new();
        }
        if done && !self.progress.passed(self.track, &id, step) {
            self.progress.mark(self.track, &id, step);
            self.note = format!("step {} passed: n for the next one", step + 1);
            return vec![Effect::SaveProgress];
        }
        self.note = if failed == 0 {
            format!("all {} check(s) pass", states.len())
        } else if self.watching() {
            "waiting for you: do what the check says; it runs again when your traffic arrives (s: show me)".into()
        } else {
            format!(
                "{failed} of {} check(s) failed: the reason and a command to try are under each",
                states.len()
            )
        };
        Vec::new()
    }

    pub(super) fn next_step(&mut self) -> Vec<Effect> {
        let Some(l) = self.current() else {
            return Vec::new();
        };
        if self.step + 1 < l.steps.len() {
            self.go(self.lesson, self.step + 1)
        } else if self.lesson + 1 < self.lessons.len() {
            self.go(self.lesson + 1, 0)
        } else {
            self.note = "that was the last step of the course".into();
            Vec::new()
        }
    }

    /// Moves to a lesson and step, and saves where the learner is.
    pub fn go(&mut self, lesson: usize, step: usize) -> Vec<Effect> {
        self.lesson = lesson;
        self.cursor = lesson;
        self.step = step;
        self.hints = 0;
        self.step_scroll = 0;
        self.generation += 1;
        // What was said about the last step is not about this one.
        self.note.clear();
        self.showing = false;
        if let Some(l) = self.lessons.get(lesson) {
            self.progress.lesson.clone_from(&l.id);
            self.progress.step = step;
        }
        vec![Effect::SaveProgress]
    }

    /// Runs the step's checks; `show_me` runs each one's demonstration instead (the guide
    /// driving the flow itself), which passes nothing.
    pub(super) fn run_checks(&mut self, show_me: bool) -> Vec<Effect> {
        if !self.ready {
            self.note = format!("the {} is not ready yet", self.label);
            return Vec::new();
        }
        let Some(step) = self.current().and_then(|l| l.steps.get(self.step)) else {
            return Vec::new();
        };
        let checks: Vec<(usize, Check)> = step
            .checks_on(self.track)
            .map(|(i, c)| {
                let mut c = c.clone();
                if show_me && let Some(k) = c.show_me.take() {
                    c.kind = k;
                }
                (i, c)
            })
            .collect();
        self.showing = show_me;
        if checks.is_empty() {
            // Nothing to check here (the lab has no VPC, say): reading it is the step.
            let id = self.lessons[self.lesson].id.clone();
            self.progress.mark(self.track, &id, self.step);
            self.note = format!(
                "nothing to check on the {} track: step marked as read",
                self.track
            );
            return vec![Effect::SaveProgress];
        }
        self.generation += 1;
        for (i, _) in &checks {
            self.results
                .insert((self.lesson, self.step, *i), CheckState::Running);
        }
        self.note = if show_me {
            format!(
                "showing: the guide runs {} check(s) itself; its exchanges are marked ⚙ and pass nothing",
                checks.len()
            )
        } else {
            format!("running {} check(s)…", checks.len())
        };
        vec![Effect::RunChecks {
            generation: self.generation,
            lesson: self.lesson,
            step: self.step,
            checks,
        }]
    }
}

/// A flow event from the app's log: on the cloud track, where there is no trace, every request
/// the app logged; on the local one, those sent straight to the app, which the ALB never saw
/// (`seq` 0: the Flow pane places them after what it has).
pub fn flow_from_token(e: &TokenEvent, seq: u64) -> TraceEvent {
    let at_ms = u64::try_from(e.at_ms).unwrap_or(0);
    TraceEvent {
        seq,
        at_ms,
        start_seq: seq,
        start_ms: at_ms,
        from: if e.direct { Actor::Browser } else { Actor::Alb },
        to: Actor::App,
        request: format!("{} {}", e.method, e.path),
        status: u16::try_from(e.status).unwrap_or(0),
        note: match (&e.app.data, e.direct) {
            (Some(said), true) => format!("straight to the app, x-amzn-oidc-data {said}"),
            (None, true) => "straight to the app, not through the ALB".into(),
            (Some(_), false) => "with x-amzn-oidc-* headers".into(),
            (None, false) => String::new(),
        },
        back_channel: false,
        client: e.client,
        exchange: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    const LESSON: &str = r#"
format_version = 1
title = "Two steps"
[[steps]]
title = "First"
text = "one"
hints = ["a hint"]
[[steps.checks]]
kind = "http"
name = "public"
command = "curl {site}/v1/public"
url = "{site}/v1/public"
[[steps.checks]]
kind = "http"
name = "cloud only"
track = "cloud"
command = "curl {site}/"
url = "{site}/"
[[steps]]
title = "Second"
text = "two"
"#;

    fn app() -> App {
        let a = crate::lessons::parse("01-a.toml", LESSON).unwrap();
        let b = crate::lessons::parse("02-b.toml", LESSON).unwrap();
        let mut app = App::new(vec![a, b], Vec::new(), Track::Local, Progress::default());
        app.update(Msg::Ready {
            label: "local lab".into(),
            services: Vec::new(),
            vars: BTreeMap::new(),
        });
        app
    }

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn done(generation: u64, check: usize, pass: bool) -> Msg {
        Msg::CheckDone {
            generation,
            lesson: 0,
            step: 0,
            check,
            outcome: Outcome {
                pass,
                detail: "seen".into(),
            },
        }
    }

    #[test]
    fn checking_runs_only_this_tracks_checks_and_a_pass_marks_the_step() {
        let mut app = app();
        let fx = app.update(key(KeyCode::Char('c')));
        let [
            Effect::RunChecks {
                generation, checks, ..
            },
        ] = fx.as_slice()
        else {
            panic!("{fx:?}");
        };
        assert_eq!(checks.len(), 1, "the cloud-only check does not run locally");
        assert_eq!(app.results[&(0, 0, 0)], CheckState::Running);
        let fx = app.update(done(*generation, 0, true));
        assert_eq!(fx, [Effect::SaveProgress]);
        assert!(app.progress.passed(Track::Local, "01-a", 0));
        assert!(app.note.contains("step 1 passed"));
    }

    #[test]
    fn a_step_with_nothing_to_check_is_marked_read_on_c() {
        let mut app = app();
        app.update(key(KeyCode::Char('n')));
        assert_eq!(app.step, 1);
        assert_eq!(app.update(key(KeyCode::Char('c'))), [Effect::SaveProgress]);
        assert!(app.progress.passed(Track::Local, "01-a", 1));
        assert!(!app.progress.passed(Track::Cloud, "01-a", 1));
        assert!(app.note.contains("marked as read"), "{}", app.note);
    }

    #[test]
    fn a_failure_does_not_mark_and_stale_results_are_dropped() {
        let mut app = app();
        app.update(key(KeyCode::Char('c')));
        let stale = app.generation;
        // Running again (or moving) makes the first run's answers stale.
        app.update(key(KeyCode::Enter));
        assert!(app.update(done(stale, 0, true)).is_empty());
        assert_eq!(app.results[&(0, 0, 0)], CheckState::Running);
        app.update(done(app.generation, 0, false));
        assert!(!app.progress.passed(Track::Local, "01-a", 0));
        assert!(app.note.contains("1 of 1 check(s) failed"), "{}", app.note);
    }

    #[test]
    fn steps_move_across_lessons_and_save_where_the_learner_is() {
        let mut app = app();
        assert_eq!(app.update(key(KeyCode::Char('n'))), [Effect::SaveProgress]);
        assert_eq!((app.lesson, app.step), (0, 1));
        app.update(key(KeyCode::Char('n')));
        assert_eq!((app.lesson, app.step), (1, 0));
        assert_eq!(
            (app.progress.lesson.as_str(), app.progress.step),
            ("02-b", 0)
        );
        app.update(key(KeyCode::Char('p')));
        assert_eq!((app.lesson, app.step), (0, 1));
        // The lessons pane: move the cursor and open.
        app.focus = Pane::Lessons;
        app.update(key(KeyCode::Char('j')));
        app.update(key(KeyCode::Enter));
        assert_eq!((app.lesson, app.step), (1, 0));
    }

    #[test]
    fn hints_help_panes_and_quit() {
        let mut app = app();
        app.update(key(KeyCode::Char('h')));
        assert_eq!(app.hints, 1);
        app.update(key(KeyCode::Char('h')));
        assert_eq!((app.hints, app.note.as_str()), (1, "every hint is shown"));
        app.update(key(KeyCode::Char('?')));
        assert!(app.help);
        // Esc closes the help rather than quitting.
        assert!(app.update(key(KeyCode::Esc)).is_empty());
        assert!(!app.help);
        app.update(key(KeyCode::Tab));
        assert_eq!(app.focus, Pane::Flow);
        app.update(key(KeyCode::BackTab));
        assert_eq!(app.focus, Pane::Step);
        assert_eq!(app.update(key(KeyCode::Char('q'))), [Effect::Quit]);
        assert_eq!(app.update(Msg::Quit), [Effect::Quit]);
    }

    fn token_event(path: &str, n: u64) -> TokenEvent {
        TokenEvent {
            at_ms: i64::try_from(n).unwrap(),
            method: "GET".into(),
            path: path.into(),
            status: 200,
            data: None,
            access: None,
            identity: None,
            app: Default::default(),
            client: Default::default(),
            direct: false,
        }
    }

    #[test]
    fn the_stream_is_bounded_pauses_and_filters() {
        let mut app = app();
        let events: Vec<TokenEvent> = (0..TOKEN_BUFFER as u64 + 5)
            .map(|n| token_event(if n % 2 == 0 { "/v1/secrets" } else { "/" }, n))
            .collect();
        app.update(Msg::Tokens(events));
        assert_eq!(app.tokens.len(), TOKEN_BUFFER);
        assert_eq!(app.tokens[0].at_ms, 5, "the oldest were dropped");
        app.update(key(KeyCode::Char(' ')));
        app.update(Msg::Tokens(vec![token_event("/late", 1)]));
        assert_eq!(
            app.tokens.shown().unwrap().path,
            "/v1/secrets",
            "held while paused"
        );
        app.update(key(KeyCode::Char(' ')));
        assert_eq!(app.tokens.shown().unwrap().path, "/late");
        for c in "/secr".chars() {
            app.update(key(KeyCode::Char(c)));
        }
        app.update(key(KeyCode::Enter));
        assert_eq!(app.tokens.filter, "secr");
        assert_eq!(app.tokens.shown().unwrap().path, "/v1/secrets");
        assert_eq!(app.tokens.visible_count(), TOKEN_BUFFER / 2);
    }

    #[test]
    fn an_older_request_stays_on_screen_as_new_ones_arrive() {
        let mut app = app();
        app.update(Msg::Tokens(
            (0..5).map(|n| token_event("/old", n)).collect(),
        ));
        app.focus = Pane::Tokens;
        app.update(key(KeyCode::Left));
        app.update(key(KeyCode::Left));
        let shown = app.tokens.shown().unwrap().at_ms;
        assert_eq!(shown, 2);
        app.update(key(KeyCode::Down));
        assert_eq!(app.tokens.scroll, 1, "up and down scroll the tokens");
        app.update(Msg::Tokens(vec![token_event("/new", 9)]));
        assert_eq!(app.tokens.shown().unwrap().at_ms, shown);
        app.update(key(KeyCode::Right));
        assert_eq!(
            (app.tokens.shown().unwrap().at_ms, app.tokens.scroll),
            (3, 0)
        );
    }

    #[test]
    fn a_browser_request_is_drawn_before_the_calls_it_caused() {
        let mut app = app();
        // Published when answered, stamped when they arrived: the ALB's call to the app (it
        // arrived second) is published before the browser's request that caused it.
        let ev = |seq, start_seq, from, to, req: &str| TraceEvent {
            seq,
            at_ms: 1000 + seq,
            start_seq,
            start_ms: 1000 + start_seq,
            from,
            to,
            request: req.into(),
            status: 200,
            note: String::new(),
            back_channel: false,
            client: Default::default(),
            exchange: None,
        };
        app.update(Msg::Flow(vec![
            ev(3, 2, Actor::Alb, Actor::App, "GET /"),
            ev(4, 1, Actor::Browser, Actor::Alb, "GET /"),
            ev(7, 6, Actor::Alb, Actor::Cognito, "POST /oauth2/token"),
        ]));
        app.update(Msg::Flow(vec![ev(
            9,
            5,
            Actor::Browser,
            Actor::Alb,
            "GET /oauth2/idpresponse",
        )]));
        let order: Vec<u64> = app.flow.iter().map(|e| e.seq).collect();
        assert_eq!(order, [4, 3, 9, 7]);
        // A restarted lab counts from 1 again: its flow starts on a clean pane, with a note.
        app.update(Msg::LabRestarted {
            vars: BTreeMap::new(),
            services: Vec::new(),
        });
        assert!(app.flow.is_empty());
        assert!(app.note.contains("the lab restarted"));
        app.update(Msg::Flow(vec![ev(
            2,
            1,
            Actor::Browser,
            Actor::Alb,
            "GET /",
        )]));
        assert_eq!(app.flow.len(), 1);
    }
}
