//! The interactive guide: the runtime around [`app::App`].
//!
//! `run` initialises the terminal, draws the first frame at once, and only then starts the
//! target (the local lab in-process, or the learner's account) in a task. Everything slow
//! (checks, the CloudWatch poll, the lab's trace, health probes, terminal input) runs in tasks
//! or a thread and comes back as a [`Msg`] on one channel; the loop applies each to `update`,
//! carries out the effects and redraws. The terminal is restored on every way out: return,
//! error, panic (ratatui's hook, plus mouse capture) or SIGTERM/SIGHUP.

pub mod app;
mod flow_log;
mod input;
mod intern;
pub mod keys;
pub mod markdown;
pub mod theme;
mod token_log;
pub mod ui;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cognito_learning_emulator::Lab;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::io::{CurrentTarget, Sink, probe};
pub use crate::io::{Start, Started, start};
use crate::lessons::{self, Track};
use crate::progress::Progress;
use app::{App, Effect, Msg};

pub struct Options {
    pub start: Start,
    /// How to start the local lab when none runs (`--lab`); else the remembered answer, else
    /// the guide asks.
    pub lab: Option<crate::progress::LabStart>,
    pub lessons_dir: Option<PathBuf>,
    pub progress_file: PathBuf,
}

pub async fn run(opts: Options) -> anyhow::Result<()> {
    let (lessons, errors) = lessons::load(opts.lessons_dir.as_deref());
    let track = match opts.start {
        Start::Local(_) => Track::Local,
        Start::Cloud(_) => Track::Cloud,
    };
    let (progress, note) = Progress::load(&opts.progress_file);
    let mut app = App::new(lessons, errors, track, progress);
    if let Some(n) = note {
        app.note = n;
    }

    let mut terminal = init_terminal()?;
    let result = drive(&mut terminal, &mut app, opts).await;
    restore_terminal();
    result
}

fn init_terminal() -> anyhow::Result<ratatui::DefaultTerminal> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        previous(info);
    }));
    let terminal = ratatui::try_init().context("cannot set up the terminal")?;
    execute!(std::io::stdout(), EnableMouseCapture).context("cannot enable the mouse")?;
    Ok(terminal)
}

fn restore_terminal() {
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

async fn drive(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    opts: Options,
) -> anyhow::Result<()> {
    let (tx, mut rx) = unbounded_channel::<Msg>();
    if let Ok(size) = terminal.size() {
        app.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    }
    terminal.draw(|f| f.render_widget(&*app, f.area()))?;
    if let Some(path) = std::env::var_os("COGNITO_LEARNING_FIRST_FRAME_FILE") {
        // For bench/tui.sh: the wall-clock time (Unix nanoseconds) the first frame was drawn.
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let _ = std::fs::write(path, format!("{at}\n"));
    }

    spawn_input(tx.clone());
    spawn_signals(tx.clone());
    let ticker = tx.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if ticker.send(Msg::Tick).is_err() {
                return;
            }
        }
    });

    let target: Arc<CurrentTarget> = Arc::default();
    let lab: Arc<tokio::sync::Mutex<Option<Lab>>> = Arc::default();
    let starter = Starter {
        tx: tx.clone(),
        target: target.clone(),
        lab: lab.clone(),
    };
    if let Some(chosen) = opts.lab
        && app.progress.lab != Some(chosen)
    {
        app.progress.lab = Some(chosen);
        if let Err(e) = app.progress.save(&opts.progress_file) {
            app.note = format!(
                "cannot save progress to {}: {e}",
                opts.progress_file.display()
            );
        }
    }
    match (&opts.start, app.progress.lab) {
        (Start::Local(o), None) => {
            // A lab already running is used as it is; else the learner says how to start one.
            let (starter, dir) = (starter.clone(), o.state_dir.clone());
            tokio::spawn(async move {
                match crate::io::running_lab(&dir).await {
                    Some(info) => {
                        starter
                            .ready(Started {
                                target: crate::target::Target::local(&info),
                                lab: None,
                                note: None,
                            })
                            .await;
                    }
                    None => {
                        let _ = starter.tx.send(Msg::AskLab);
                    }
                }
            });
        }
        (Start::Local(o), Some(how)) => starter.start(Start::Local(with_lab(o, how))),
        (Start::Cloud(_), _) => starter.start(opts.start.clone()),
    }

    let progress_file = opts.progress_file;
    'outer: while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for msg in batch {
            for effect in app.update(msg) {
                match effect {
                    Effect::Quit => break 'outer,
                    Effect::StartLab(how) => {
                        if let Start::Local(o) = &opts.start {
                            starter.start(Start::Local(with_lab(o, how)));
                        }
                    }
                    Effect::MoveClock(change) => {
                        let lab = target
                            .get()
                            .and_then(|t| t.lab.clone().map(|l| (t.http.clone(), l)));
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let moved = match lab {
                                Some((http, info)) => {
                                    crate::io::clock::change(&http, &info, change).await
                                }
                                None => Err("no local lab is running yet".into()),
                            };
                            let _ = tx.send(Msg::ClockMoved(moved));
                        });
                    }
                    Effect::Export(events) => {
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let stem = std::path::PathBuf::from(format!(
                                "flow-{}",
                                cognito_learning_tokens::time::utc(
                                    cognito_learning_tokens::time::now()
                                )
                                .replace([':', '-'], "")
                            ));
                            let said = crate::export::write_both(&events, &stem)
                                .unwrap_or_else(|e| format!("cannot export the flow: {e}"));
                            let _ = tx.send(Msg::Note(said));
                        });
                    }
                    Effect::Copy(text) => {
                        use std::io::Write;
                        let mut out = std::io::stdout();
                        let _ = out.write_all(osc52(&text).as_bytes());
                        let _ = out.flush();
                    }
                    Effect::Decode {
                        request,
                        client,
                        at_ms,
                        tokens,
                    } => {
                        let Some(t) = target.get() else {
                            continue;
                        };
                        let tx = tx.clone();
                        let now = u64::try_from(app.lab_now_ms() / 1000).unwrap_or(0);
                        tokio::spawn(async move {
                            let event =
                                decode_tokens(&t, request, client, at_ms, tokens, now).await;
                            let _ = tx.send(Msg::Tokens(vec![event]));
                        });
                    }
                    Effect::SaveProgress => {
                        if let Err(e) = app.progress.save(&progress_file) {
                            app.note =
                                format!("cannot save progress to {}: {e}", progress_file.display());
                        }
                    }
                    Effect::RunChecks {
                        generation,
                        lesson,
                        step,
                        checks,
                    } => {
                        let Some(t) = target.get() else {
                            continue;
                        };
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for (i, c) in checks {
                                let outcome = crate::checks::run(&c, &t).await;
                                let done = Msg::CheckDone {
                                    generation,
                                    lesson,
                                    step,
                                    check: i,
                                    outcome,
                                };
                                if tx.send(done).is_err() {
                                    return;
                                }
                            }
                        });
                    }
                }
            }
        }
        terminal.draw(|f| f.render_widget(&*app, f.area()))?;
    }
    if let Err(e) = app.progress.save(&progress_file) {
        eprintln!("cannot save progress to {}: {e}", progress_file.display());
    }
    if let Some(lab) = lab.lock().await.take() {
        lab.stop().await;
    }
    Ok(())
}

/// The local lab's options for a lab started `how`.
fn with_lab(
    o: &cognito_learning_emulator::LabOptions,
    how: crate::progress::LabStart,
) -> cognito_learning_emulator::LabOptions {
    cognito_learning_emulator::LabOptions {
        blank: how == crate::progress::LabStart::Blank,
        ..o.clone()
    }
}

/// Starts the target in a task: the guide is told when it is ready (or why it is not), and
/// the followers start.
#[derive(Clone)]
struct Starter {
    tx: UnboundedSender<Msg>,
    target: Arc<CurrentTarget>,
    lab: Arc<tokio::sync::Mutex<Option<Lab>>>,
}

impl Starter {
    fn start(&self, how: Start) {
        let starter = self.clone();
        tokio::spawn(async move {
            match start(how).await {
                Ok(s) => starter.ready(s).await,
                Err(e) => {
                    let _ = starter.tx.send(Msg::Failed(format!("cannot start: {e:#}")));
                }
            }
        });
    }

    /// The target is ready: the guide is told, and its followers start.
    async fn ready(&self, s: Started) {
        let t = Arc::new(s.target);
        *self.lab.lock().await = s.lab;
        self.target.set(t.clone());
        let _ = self.tx.send(Msg::Ready {
            label: t.label.clone(),
            services: probe::services(&t).into_iter().map(|(s, _)| s).collect(),
            vars: t.vars.clone(),
        });
        if let Some(note) = s.note {
            let _ = self.tx.send(Msg::Note(note));
        }
        let sink: Sink = {
            let tx = self.tx.clone();
            Arc::new(move |e: crate::io::Event| tx.send(Msg::from(e)).is_ok())
        };
        crate::io::spawn_followers(&self.target, sink);
    }
}

/// Terminal input on its own thread: crossterm's `read` blocks.
fn spawn_input(tx: UnboundedSender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::read() {
                Ok(Event::Key(k)) if k.kind == event::KeyEventKind::Press => Msg::Key(k),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

fn spawn_signals(tx: UnboundedSender<Msg>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Quit);
    });
}

/// OSC 52: asks the terminal to put `text` on the system clipboard. Terminals that allow it
/// (and tmux with `set-clipboard on`) do; the others ignore it.
fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// The tokens of one exchange, verified as of `now` on the lab's clock, as a Tokens pane entry:
/// the ALB's data token in its place, and an access token (a header, a bearer or the token
/// endpoint's answer) in the access token's. An ID token is verified in the access token's
/// place when there is no access token.
async fn decode_tokens(
    t: &crate::target::Target,
    request: String,
    client: cognito_learning_contract::trace::Client,
    at_ms: i64,
    tokens: Vec<(&'static str, String)>,
    now: u64,
) -> crate::stream::TokenEvent {
    use cognito_learning_tokens::TokenUse;
    use cognito_learning_tokens::logged::SeenToken;
    let (mut data, mut access) = (None, None);
    for (label, raw) in &tokens {
        if *label == "x-amzn-oidc-data" {
            let v = t.tokens.alb.verify(raw, now).await;
            data = Some(SeenToken::new(
                raw,
                v.map(|_| ()).map_err(|e| e.to_string()),
            ));
        } else if access.is_none() {
            let use_ = if *label == "the ID token" {
                TokenUse::Id
            } else {
                TokenUse::Access
            };
            let v = t.tokens.cognito.verify(raw, use_, now).await;
            access = Some(SeenToken::new(
                raw,
                v.map(|_| ()).map_err(|e| e.to_string()),
            ));
        }
    }
    let (method, path) = request.split_once(' ').unwrap_or(("", &request));
    crate::stream::TokenEvent {
        at_ms,
        method: method.to_owned(),
        path: format!("{} (decoded from the Flow pane)", path),
        status: 0,
        data,
        access,
        identity: None,
        app: Default::default(),
        client,
        direct: false,
    }
}
