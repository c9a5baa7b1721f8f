//! The interactive guide: the runtime around [`app::App`].
//!
//! `run` initialises the terminal, draws the first frame at once, and only then starts the
//! target (the local lab in-process, or the learner's account) in a task. Everything slow
//! (checks, the CloudWatch poll, the lab's trace, health probes, terminal input) runs in tasks
//! or a thread and comes back as a [`Msg`] on one channel; the loop applies each to `update`,
//! carries out the effects and redraws. The terminal is restored on every way out: return,
//! error, panic (ratatui's hook, plus mouse capture) or SIGTERM/SIGHUP.

pub mod app;
pub mod keys;
pub mod markdown;
pub mod theme;
pub mod ui;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use cognito_learning_emulator::{Lab, LabOptions};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::lessons::{self, Track};
use crate::progress::Progress;
use crate::stream::{Cursor, Follower, TokenEvent};
use crate::target::{CloudSettings, Target, addr_of};
use app::{App, Effect, Msg, Service};

/// How the guide finds its target.
#[derive(Debug, Clone)]
pub enum Start {
    /// Use a lab already answering (recorded in `options.state_dir`), else start one.
    Local(LabOptions),
    Cloud(CloudSettings),
}

pub struct Options {
    pub start: Start,
    pub lessons_dir: Option<PathBuf>,
    pub progress_file: PathBuf,
}

/// A started target and, when this process started the lab, the lab to stop at the end.
pub struct Started {
    pub target: Target,
    pub lab: Option<Lab>,
}

/// Starts or finds the target. For the local track: a lab already answering on its recorded
/// URLs is used as it is; otherwise one starts in-process on the configured ports, or on free
/// ports when those are taken.
pub async fn start(start: Start) -> anyhow::Result<Started> {
    match start {
        Start::Cloud(s) => Ok(Started {
            target: Target::cloud(&s).await,
            lab: None,
        }),
        Start::Local(opts) => {
            if let Some(info) = cognito_learning_emulator::running::read(&opts.state_dir)
                && answers(&info.alb).await
                && answers(&info.aws).await
            {
                return Ok(Started {
                    target: Target::local(&info),
                    lab: None,
                });
            }
            let lab = match Lab::start(opts.clone()).await {
                Ok(lab) => lab,
                Err(first) => Lab::start(LabOptions {
                    alb_port: 0,
                    cognito_port: 0,
                    api_port: 0,
                    server_port: 0,
                    ..opts
                })
                .await
                .with_context(|| format!("{first:#}; on free ports too"))?,
            };
            Ok(Started {
                target: Target::local(&lab.info),
                lab: Some(lab),
            })
        }
    }
}

async fn answers(url: &str) -> bool {
    match addr_of(url) {
        Some(addr) => reachable(&addr, Duration::from_millis(500)).await,
        None => false,
    }
}

/// Whether a TCP connection to `addr` opens within `limit`: a probe that sends no request, so
/// it never shows in the lab's trace.
async fn reachable(addr: &str, limit: Duration) -> bool {
    // `localhost` may resolve to ::1 first, where the lab does not listen.
    let addr = addr.replace("localhost", "127.0.0.1");
    tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// The services on the top line, with the address each is probed at.
fn services(t: &Target) -> Vec<(Service, String)> {
    let var = |k: &str| t.vars.get(k).cloned().unwrap_or_default();
    let mut list = vec![("ALB", var("site")), ("Cognito", var("cognito"))];
    if t.track == Track::Local {
        if let Some(aws) = t.trace_url.as_deref() {
            list.push(("AWS", aws.trim_end_matches("/lab/trace").to_owned()));
        }
        list.push(("app", var("app")));
    }
    list.into_iter()
        .filter_map(|(name, url)| Some((name, addr_of(&url)?)))
        .map(|(name, probe)| {
            let addr = if t.track == Track::Local {
                format!(":{}", probe.rsplit(':').next().unwrap_or_default())
            } else {
                probe.trim_end_matches(":443").to_owned()
            };
            (
                Service {
                    name: name.into(),
                    addr,
                    up: None,
                },
                probe,
            )
        })
        .collect()
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

    let target: Arc<OnceLock<Arc<Target>>> = Arc::new(OnceLock::new());
    let lab: Arc<tokio::sync::Mutex<Option<Lab>>> = Arc::default();
    {
        let (tx, target, lab) = (tx.clone(), target.clone(), lab.clone());
        let start_with = opts.start.clone();
        tokio::spawn(async move {
            match start(start_with).await {
                Ok(s) => {
                    let t = Arc::new(s.target);
                    *lab.lock().await = s.lab;
                    let _ = target.set(t.clone());
                    let probes = services(&t);
                    let _ = tx.send(Msg::Ready {
                        label: t.label.clone(),
                        services: probes.iter().map(|(s, _)| s.clone()).collect(),
                        vars: t.vars.clone(),
                    });
                    spawn_followers(&t, probes.into_iter().map(|(_, p)| p).collect(), &tx);
                }
                Err(e) => {
                    let _ = tx.send(Msg::Failed(format!("cannot start: {e:#}")));
                }
            }
        });
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
                        let Some(t) = target.get().cloned() else {
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

/// The token stream, the lab's trace and the health probes.
fn spawn_followers(t: &Arc<Target>, probes: Vec<String>, tx: &UnboundedSender<Msg>) {
    let group = t.vars.get("log_group").cloned().unwrap_or_default();
    let from = i64::try_from(cognito_learning_tokens::time::now_millis()).unwrap_or(0) - 600_000;
    let follower =
        Follower::new(t.logs.clone(), group, Cursor::from(from)).with_live_tail(t.live_tail);
    // One page in hand and one being read: the follower waits while tokens are verified, so
    // a burst never piles up in memory as raw lines.
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(follower.run(Duration::from_millis(400), lines_tx));
    {
        let (t, tx) = (t.clone(), tx.clone());
        tokio::spawn(async move {
            let mut seq = 0;
            while let Some(res) = lines_rx.recv().await {
                let msg = match res {
                    Ok(lines) => {
                        let mut events = Vec::new();
                        for l in &lines {
                            if let Some(e) = TokenEvent::from_line(l, &t.tokens).await {
                                events.push(e);
                            }
                        }
                        if t.track == Track::Cloud {
                            let flow = events
                                .iter()
                                .map(|e| {
                                    seq += 1;
                                    app::flow_from_token(e, seq)
                                })
                                .collect();
                            let _ = tx.send(Msg::Flow(flow));
                        }
                        Msg::Tokens(events)
                    }
                    Err(why) => Msg::StreamStatus(why),
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
    }
    if let Some(url) = t.trace_url.clone() {
        let (http, tx) = (t.http.clone(), tx.clone());
        tokio::spawn(async move {
            let mut after = 0u64;
            loop {
                let got = async {
                    let v: serde_json::Value = http
                        .get(format!("{url}?after={after}"))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()?;
                    serde_json::from_value::<Vec<cognito_learning_emulator::trace::TraceEvent>>(
                        v["events"].clone(),
                    )
                    .ok()
                }
                .await;
                if let Some(events) = got.filter(|e| !e.is_empty()) {
                    after = events.last().map_or(after, |e| e.seq);
                    if tx.send(Msg::Flow(events)).is_err() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
    }
    let tx = tx.clone();
    tokio::spawn(async move {
        loop {
            let mut up = Vec::new();
            for p in &probes {
                up.push(Some(reachable(p, Duration::from_secs(1)).await));
            }
            if tx.send(Msg::Health(up)).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}
