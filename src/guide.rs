//! The guide's command line: the TUI (no subcommand), `check` and `lessons`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use cognito_learning::checks;
use cognito_learning::io::{self, Start};
use cognito_learning::lessons::{self, Lesson, Track};
use cognito_learning::target::CloudSettings;
use cognito_learning::tui;
use cognito_learning_emulator::LabOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// The local lab: one already running, else started in-process.
    Local,
    /// Your own AWS account (credentials and Region from the standard AWS chain).
    Aws,
}

#[derive(Debug, Clone, Args)]
pub struct GuideArgs {
    /// What the checks run against.
    #[arg(long, value_enum, default_value = "local")]
    pub target: TargetKind,
    /// Read lessons from this folder instead of the built-in ones (a `lessons/` folder in the
    /// current directory is used automatically).
    #[arg(long, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    /// The local lab's state directory [default: $XDG_STATE_HOME/cognito-learning/lab].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Start the in-process lab on free ports rather than 8080, 9229, 4566 and 5000.
    #[arg(long)]
    pub any_ports: bool,
    /// How to start the local lab when none is running: `blank` (you build it with the AWS
    /// CLI) or `built` (everything made). Remembered; asked on a fresh local track.
    #[arg(long, value_enum)]
    pub lab: Option<cognito_learning::progress::LabStart>,
    /// Where progress is kept [default: $XDG_STATE_HOME/cognito-learning/progress.json].
    #[arg(long, env = "COGNITO_LEARNING_PROGRESS")]
    pub progress: Option<PathBuf>,
    #[command(flatten)]
    pub cloud: CloudSettings,
}

impl GuideArgs {
    fn start(&self) -> Start {
        match self.target {
            TargetKind::Aws => Start::Cloud(self.cloud.clone()),
            TargetKind::Local => {
                let base = if self.any_ports {
                    LabOptions::any_ports()
                } else {
                    LabOptions::default()
                };
                Start::Local(LabOptions {
                    blank: self.lab == Some(cognito_learning::progress::LabStart::Blank),
                    state_dir: self
                        .state_dir
                        .clone()
                        .unwrap_or_else(cognito_learning_contract::lab::default_state_dir),
                    ..base
                })
            }
        }
    }

    fn track(&self) -> Track {
        match self.target {
            TargetKind::Local => Track::Local,
            TargetKind::Aws => Track::Cloud,
        }
    }
}

/// The interactive guide.
pub async fn interactive(args: GuideArgs) -> i32 {
    let opts = tui::Options {
        start: args.start(),
        lab: args.lab,
        lessons_dir: args.lessons.clone(),
        progress_file: args
            .progress
            .clone()
            .unwrap_or_else(cognito_learning::progress::default_path),
    };
    match tui::run(opts).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("cognito-learning: {e:#}");
            1
        }
    }
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["lesson", "all"]))]
pub struct CheckArgs {
    /// The lesson: its id (`11-the-flow`) or number (`11`).
    #[arg(long)]
    pub lesson: Option<String>,
    /// Only this step (counted from 1).
    #[arg(long, requires = "lesson")]
    pub step: Option<usize>,
    /// Every lesson.
    #[arg(long)]
    pub all: bool,
    /// One JSON document instead of lines (indented on a terminal).
    #[arg(long)]
    pub json: bool,
    /// Run each check's demonstration instead: the guide signs in and logs out itself, where
    /// the check would wait for you. Passes nothing in the guide.
    #[arg(long)]
    pub show_me: bool,
    #[command(flatten)]
    pub guide: GuideArgs,
}

/// The lessons, and the files that did not load said on stderr: a command about one lesson
/// goes on when another is broken.
fn load_all(dir: Option<&std::path::Path>) -> (Vec<Lesson>, usize) {
    let (lessons, errors) = lessons::load(dir);
    for e in &errors {
        eprintln!("{e}");
    }
    (lessons, errors.len())
}

/// Every lesson, or exit status 2 when a file did not load.
fn load(dir: Option<&std::path::Path>) -> Result<Vec<Lesson>, i32> {
    match load_all(dir) {
        (lessons, 0) => Ok(lessons),
        (_, broken) => {
            eprintln!("{broken} lesson file(s) could not be loaded");
            Err(2)
        }
    }
}

fn find<'a>(lessons: &'a [Lesson], want: &str) -> Option<&'a Lesson> {
    lessons
        .iter()
        .find(|l| l.id == want || l.number().is_some_and(|n| want.parse() == Ok(n)))
}

/// `check`: the same checks as the guide, without it. Exit 0 only when every check passes.
pub async fn check(args: CheckArgs) -> i32 {
    let (lessons, broken) = load_all(args.guide.lessons.as_deref());
    let chosen: Vec<&Lesson> = match &args.lesson {
        None if broken > 0 => {
            eprintln!("{broken} lesson file(s) could not be loaded");
            return 2;
        }
        None => lessons.iter().collect(),
        Some(id) => match find(&lessons, id) {
            Some(l) => vec![l],
            None => {
                let ids: Vec<&str> = lessons.iter().map(|l| l.id.as_str()).collect();
                eprintln!(
                    "no lesson {id}{}; there are: {}",
                    if broken > 0 {
                        format!(" among those that loaded ({broken} could not be)")
                    } else {
                        String::new()
                    },
                    ids.join(", ")
                );
                return 2;
            }
        },
    };
    if let (Some(n), Some(l)) = (args.step, chosen.first())
        && (n == 0 || n > l.steps.len())
    {
        eprintln!("{} has steps 1 to {}", l.id, l.steps.len());
        return 2;
    }
    let track = args.guide.track();
    let started = match io::start(args.guide.start()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cognito-learning check: cannot start: {e:#}");
            return 1;
        }
    };
    if let Some(note) = &started.note {
        eprintln!("cognito-learning check: {note}");
    }
    let t = &started.target;
    let mut results = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    let mut out = std::io::stdout().lock();
    for l in chosen {
        for (si, s) in l.steps.iter().enumerate() {
            if args.step.is_some_and(|n| n != si + 1) {
                continue;
            }
            let mut header = false;
            for (ci, c) in s.checks_on(track) {
                if !args.json && !header {
                    let _ = writeln!(out, "{} step {}: {}", l.id, si + 1, s.title);
                    header = true;
                }
                let shown;
                let c = match (&c.show_me, args.show_me) {
                    (Some(k), true) => {
                        shown = lessons::Check {
                            kind: k.clone(),
                            ..c.clone()
                        };
                        &shown
                    }
                    _ => c,
                };
                let o = checks::run(c, t).await;
                let command = t.render(&c.command).unwrap_or_else(|_| c.command.clone());
                if o.pass {
                    passed += 1;
                } else {
                    failed += 1;
                }
                if args.json {
                    results.push(serde_json::json!({
                        "lesson": l.id, "step": si + 1, "check": ci + 1, "name": c.name,
                        "pass": o.pass, "detail": o.detail, "command": command,
                    }));
                } else if o.pass {
                    let _ = writeln!(out, "  ✓ {}: {}", c.name, o.detail);
                } else {
                    let _ = writeln!(out, "  ✗ {}: {}\n    try: $ {command}", c.name, o.detail);
                }
            }
        }
    }
    if args.json {
        let doc = serde_json::json!({
            "target": t.label, "track": track.to_string(),
            "passed": passed, "failed": failed, "results": results,
        });
        let text = if std::io::IsTerminal::is_terminal(&out) {
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        } else {
            doc.to_string()
        };
        let _ = writeln!(out, "{text}");
    } else {
        let _ = writeln!(out, "{passed} passed, {failed} failed ({})", t.label);
    }
    drop(out);
    if let Some(lab) = started.lab {
        lab.stop().await;
    }
    if failed == 0 && passed > 0 { 0 } else { 1 }
}

#[derive(Debug, Args)]
pub struct LessonsArgs {
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Read lessons from this folder instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
}

/// `lessons`: the course's lessons, with their steps and checks per track.
pub fn list(args: &LessonsArgs) -> i32 {
    let lessons = match load(args.lessons.as_deref()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let count =
        |l: &Lesson, t: Track| -> usize { l.steps.iter().map(|s| s.checks_on(t).count()).sum() };
    if args.json {
        let list: Vec<_> = lessons
            .iter()
            .map(|l| {
                serde_json::json!({
                    "id": l.id, "title": l.title, "steps": l.steps.len(),
                    "checks": { "local": count(l, Track::Local), "aws": count(l, Track::Cloud) },
                })
            })
            .collect();
        say!("{}", serde_json::Value::Array(list));
    } else {
        say!(
            "{:<24} {:>5} {:>6} {:>5}  title",
            "id",
            "steps",
            "local",
            "aws"
        );
        for l in &lessons {
            say!(
                "{:<24} {:>5} {:>6} {:>5}  {}",
                l.id,
                l.steps.len(),
                count(l, Track::Local),
                count(l, Track::Cloud),
                l.title
            );
        }
    }
    0
}
