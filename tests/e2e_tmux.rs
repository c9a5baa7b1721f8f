#![allow(clippy::unwrap_used)]
//! The guide in a real terminal: a private tmux server, a fixed size, a temporary state
//! directory, keys sent with `send-keys` and the screen read with `capture-pane`. The lab runs
//! as its own process (`cognito-learning lab`), so a test can kill it under the guide.

#[path = "fixtures/lab_process.rs"]
mod lab_process;
#[path = "fixtures/learner.rs"]
mod learner;

use std::path::PathBuf;
use std::process::{Child, Command};

use lab_process::start_lab;
use std::time::{Duration, Instant};

struct Session {
    socket: String,
    lab: Option<Child>,
    alb: String,
    state: PathBuf,
}

impl Session {
    /// The guide on a lab already running.
    fn start(name: &str) -> Self {
        let s = Self::open(name, true, 1);
        s.wait_for("● ALB");
        s
    }

    /// The guide in tmux, `runs` times one after the other (quit one and the next starts), on
    /// a lab started for it, or with none (the guide starts its own on free ports).
    fn open(name: &str, with_lab: bool, runs: usize) -> Self {
        let state = std::env::temp_dir().join(format!("cl-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).unwrap();
        let (lab, alb) = if with_lab {
            let (lab, info) = start_lab(&state.join("lab"));
            (Some(lab), info["alb"].as_str().unwrap().to_owned())
        } else {
            (None, String::new())
        };
        let socket = format!("e2e-{name}-{}", std::process::id());
        let guide = format!(
            "{} --state-dir {} --progress {} --lessons {} --any-ports",
            env!("CARGO_BIN_EXE_cognito-learning"),
            state.join("lab").display(),
            state.join("progress.json").display(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/lessons"),
        );
        let guide = vec![format!("{guide}; echo \"guide exited with $?\""); runs].join("; ");
        let ok = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "120", "-y", "40", "-s", "guide"])
            // Files the guide writes (its exports) land in the test's own directory.
            .arg("-c")
            .arg(&state)
            .args(["env", "TERM=xterm-256color"])
            .arg(format!("XDG_STATE_HOME={}", state.display()))
            // The pane outlives the guide, so a test can see how it left the terminal.
            .args(["sh", "-c", &format!("{guide}; sleep 60")])
            .status()
            .unwrap();
        assert!(ok.success(), "tmux did not start");
        Session {
            socket,
            lab,
            alb,
            state,
        }
    }

    /// The lab's `running.json`: its URLs and ids under `info`, the users' `passwords`.
    fn running(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.state.join("lab/running.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// alice signed in with the learner's own browser, and her token verified on screen: the
    /// runtime and the browser, to go on with.
    fn alice_signed_in(&self) -> (tokio::runtime::Runtime, reqwest::Client) {
        let pw = self.running()["passwords"]["alice"]
            .as_str()
            .unwrap()
            .to_owned();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let b = learner::own_browser();
        assert_eq!(
            rt.block_on(learner::sign_in_with(&b, &self.alb, "alice", &pw)),
            200
        );
        self.wait_for("ES256 ✓ verified");
        (rt, b)
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "guide"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until it shows `text`; dumps it on failure.
    fn wait_for(&self, text: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < until,
                "{text:?} never appeared; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Pages down the focused pane until the screen shows `text`.
    fn scroll_to(&self, text: &str) -> String {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(100));
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            self.keys(&["NPage"]);
        }
        panic!("{text:?} is not in the pane:\n{}", self.screen());
    }

    /// A tmux format for the pane: `#{alternate_on}`, `#{mouse_any_flag}`, `#{pane_pid}`.
    fn pane(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "display", "-p", "-t", "guide", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "guide", k])
                .status()
                .unwrap();
            assert!(ok.success());
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        if let Some(lab) = &mut self.lab {
            let _ = lab.kill();
            let _ = lab.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// From the first lesson, open the fifth (05: the routes through the ALB).
fn open_routes_lesson(s: &Session) {
    s.keys(&["BTab", "j", "j", "j", "j", "Enter"]);
    s.wait_for("5 · The routes through the ALB");
}

/// A fresh local track with no lab running: the guide asks how to start it, starts a blank
/// lab on `b`, shows the build track's commands, and remembers the answer the next time.
#[test]
fn a_fresh_local_track_asks_blank_or_built_once_and_remembers() {
    let s = Session::open("ask", false, 2);
    s.wait_for("How should the local lab start?");
    s.keys(&["b"]);
    s.wait_for("● ALB");
    open_routes_lesson(&s);
    // After the step's text for AWS, what to do on this lab.
    s.keys(&["Tab"]);
    s.scroll_to("On your blank lab:");
    let screen = s.scroll_to("TG=$(aws elbv2 create-target-group");
    assert!(
        !screen.contains("How should the local lab start?"),
        "{screen}"
    );
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.state.join("progress.json")).unwrap())
            .unwrap();
    assert_eq!(progress["lab"], "blank");
    assert_eq!(s.running()["info"]["blank"], true);

    // The second run starts the same way without asking (its lab on other free ports).
    let port = |screen: &str| {
        let at = screen.split("● ALB :").nth(1)?;
        Some(at.split(' ').next()?.to_owned())
    };
    let first = port(&screen).unwrap();
    s.keys(&["q"]);
    let until = Instant::now() + Duration::from_secs(30);
    while port(&s.screen()).is_none_or(|p| p == first) {
        assert!(Instant::now() < until, "no second run:\n{}", s.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    // It opens where the learner was, with the step pane in focus.
    let screen = s.scroll_to("On your blank lab:");
    assert!(
        !screen.contains("How should the local lab start?"),
        "{screen}"
    );
}

#[test]
fn a_step_checked_against_the_running_lab_passes_and_is_saved() {
    let s = Session::start("pass");
    open_routes_lesson(&s);
    s.keys(&["c"]);
    let screen = s.wait_for("step 1 passed");
    assert!(
        screen.contains("✓ the home page answers through the ALB"),
        "{screen}"
    );
    assert!(
        screen.contains("✓ /v1/public answers with JSON"),
        "{screen}"
    );
    // The flow pane drew the checks' requests through the lab's ALB.
    s.wait_for("GET /v1/public 200");
    s.keys(&["q"]);
    let progress = s.state.join("progress.json");
    let until = Instant::now() + Duration::from_secs(10);
    while !progress.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&progress).unwrap()).unwrap();
    assert_eq!(saved["lesson"], "05-through-the-alb");
    assert_eq!(saved["passed"]["local"]["05-through-the-alb"][0], 0);
}

#[test]
fn the_learners_sign_in_shows_apart_and_opens_with_its_cookies() {
    let s = Session::start("exchange");
    let running = s.running();
    let pw = running["passwords"]["alice"].as_str().unwrap().to_owned();
    // The guide's own check first, then the learner's sign-in.
    open_routes_lesson(&s);
    s.keys(&["c"]);
    s.wait_for("⚙ GET /v1/public");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(learner::sign_in_with(
        &learner::own_browser(),
        &s.alb,
        "alice",
        &pw,
    ));
    assert_eq!(status, 200);
    s.wait_for("GET /oauth2/idpresponse");
    // Focus the Flow pane (twice Tab from the lessons), select the newest row, open it, and step back
    // through the exchanges until the ALB's callback with its cookies.
    s.keys(&["Tab", "Tab", "k", "Enter"]);
    s.wait_for("j/k scroll");
    let mut screen = s.screen();
    for _ in 0..20 {
        if screen.contains("Set-Cookie AWSELBAuthSessionCookie-0") {
            break;
        }
        s.keys(&["Left"]);
        std::thread::sleep(Duration::from_millis(150));
        screen = s.screen();
    }
    assert!(screen.contains("Request GET /oauth2/idpresponse") && screen.contains("made by you"));
    // Its answer is further down.
    s.keys(&["PageDown", "PageDown"]);
    std::thread::sleep(Duration::from_millis(300));
    let screen = s.screen();
    for want in [
        "Set-Cookie AWSELBAuthSessionCookie-0",
        "bytes]",
        "HttpOnly: page scripts cannot read it",
        "Set-Cookie AWSALBAuthNonce: expires the cookie",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    // Esc closes the exchange; g hides the guide's rows.
    s.keys(&["Escape", "g"]);
    let screen = s.wait_for("of the guide's hidden");
    assert!(!screen.contains("⚙ GET /v1/public"), "{screen}");
}

/// The guide's keys for what it holds: `y` copies the Tokens pane's data token to the
/// clipboard (OSC 52, which tmux takes with `set-clipboard on`), `e` writes the Flow pane as
/// HAR and Mermaid files (0600), and `d` in an open exchange decodes its tokens into the
/// Tokens pane, verified.
#[test]
fn tokens_copy_export_and_decode_from_the_keys() {
    let s = Session::start("keys");
    let (rt, _) = s.alice_signed_in();
    let trace: cognito_learning_contract::trace::TracePage = rt.block_on(async {
        let url = format!("{}/lab/trace", s.running()["info"]["aws"].as_str().unwrap());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    });
    let data = learner::last_data_token(&trace).unwrap();

    // y in the Tokens pane (Step → Flow → Tokens).
    let ok = Command::new("tmux")
        .args(["-L", &s.socket, "set", "-g", "set-clipboard", "on"])
        .status()
        .unwrap();
    assert!(ok.success());
    s.keys(&["Tab", "Tab", "y"]);
    s.wait_for("copied to the clipboard");
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new("tmux")
            .args(["-L", &s.socket, "show-buffer"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout) == data {
            break;
        }
        assert!(
            Instant::now() < until,
            "the clipboard never held the data token"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // e: both files, private, the HAR with every exchange shown.
    s.keys(&["e"]);
    let screen = s.wait_for("exchange(s) to flow-");
    let har = std::fs::read_dir(&s.state)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "har"))
        .unwrap_or_else(|| panic!("no .har file:\n{screen}"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&har).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    assert_eq!(doc["log"]["version"], "1.2");
    assert!(doc["log"]["entries"].as_array().unwrap().len() >= 6);
    let mmd = std::fs::read_to_string(har.with_extension("mmd")).unwrap();
    assert!(mmd.starts_with("sequenceDiagram"), "{mmd}");

    // d in an open exchange: the ALB's forwarded request, its tokens decoded and verified.
    s.keys(&["BTab"]);
    std::thread::sleep(Duration::from_millis(200));
    s.keys(&["k"]);
    std::thread::sleep(Duration::from_millis(200));
    s.keys(&["Enter"]);
    s.wait_for("j/k scroll");
    let mut screen = s.screen();
    for _ in 0..20 {
        if screen.contains("x-amzn-oidc-data") {
            break;
        }
        s.keys(&["Left"]);
        std::thread::sleep(Duration::from_millis(150));
        screen = s.screen();
    }
    s.keys(&["d"]);
    let screen = s.wait_for("(decoded from the Flow pane)");
    assert!(screen.contains("ES256 ✓ verified"), "{screen}");
}

/// Time travel under the guide: `lab clock +3m` turns the learner's data token's verdict to
/// expired, with no ✓, and the top line shows the lab's time; the learner's next request
/// brings a fresh, verified token. `t` then `0` puts the clock back.
#[test]
fn the_lab_clock_expires_the_token_on_screen_and_the_next_request_is_fresh() {
    let s = Session::start("clock");
    let (rt, b) = s.alice_signed_in();
    let moved = std::process::Command::new(env!("CARGO_BIN_EXE_cognito-learning"))
        .args(["lab", "clock", "+3m", "--state-dir"])
        .arg(s.state.join("lab"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&moved.stdout);
    assert!(
        moved.status.success() && said.contains("3 min ahead"),
        "{said}"
    );
    let screen = s.wait_for("ES256 verified when it was sent");
    assert!(
        screen.contains("⏱ lab time") && screen.contains("expired"),
        "{screen}"
    );
    rt.block_on(learner::get(&b, &format!("{}/v1/secrets", s.alb)));
    s.wait_for("ES256 ✓ verified");
    s.keys(&["t"]);
    s.wait_for("move the lab's clock");
    s.keys(&["0"]);
    let screen = s.wait_for("the wall clock's time");
    assert!(!screen.contains("⏱ lab time"), "{screen}");
}

/// What a newcomer does: from the first step to the last, `c` then `n`, reading the screen. Every
/// step passes its checks or, with nothing to check on this track, is marked read, and every
/// lesson ends with its ✓.
#[test]
fn the_whole_local_track_can_be_finished_in_the_guide() {
    let s = Session::start("course");
    let progress = s.state.join("progress.json");
    let passed = || -> usize {
        std::fs::read_to_string(&progress)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| {
                v["passed"]["local"]
                    .as_object()
                    .map(|l| l.values().filter_map(|s| s.as_array()).map(Vec::len).sum())
            })
            .unwrap_or(0)
    };
    let (lessons, errors) = cognito_learning::lessons::load(Some(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/lessons"
    ))));
    assert!(errors.is_empty(), "{errors:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut done = 0;
    // Once the learner has signed in, later steps may pass on that same traffic.
    let mut acted_before = false;
    for l in &lessons {
        for step in &l.steps {
            done += 1;
            s.keys(&["c"]);
            // A step whose checks wait for the learner passes only once the learner acts:
            // the guide then runs them again by itself.
            let mut acted = false;
            let until = Instant::now() + Duration::from_secs(60);
            while passed() < done {
                let screen = s.screen();
                if !acted && screen.contains("waiting for you") {
                    rt.block_on(act(&s, step));
                    acted = true;
                }
                assert!(
                    !screen.contains("check(s) failed") && Instant::now() < until,
                    "{} step {done} of the course did not pass:\n{screen}",
                    l.id
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let learners = step
                .checks_on(cognito_learning::lessons::Track::Local)
                .any(|(_, c)| cognito_learning::checks::waits_for_learner(&c.kind));
            assert!(
                !learners || acted || acted_before,
                "{}: passed before the learner did anything",
                l.id
            );
            acted_before |= acted;
            s.keys(&["n"]);
        }
    }
    let screen = s.wait_for("that was the last step of the course");
    for l in &lessons {
        let title: String = l.title.chars().take(12).collect();
        assert!(
            screen
                .lines()
                .any(|line| line.contains('✓') && line.contains(&title)),
            "{} has no ✓:\n{screen}",
            l.id
        );
    }
}

/// What the learner does for a step whose checks wait for them, with their own client.
async fn act(s: &Session, step: &cognito_learning::lessons::Step) {
    use cognito_learning::lessons::{Kind, Track};
    let running = s.running();
    let var = |k: &str| running["info"][k].as_str().unwrap_or_default().to_owned();
    let (site, cognito, app, client) =
        (var("alb"), var("cognito"), var("server"), var("client_id"));
    let pw = |u: &str| running["passwords"][u].as_str().unwrap().to_owned();
    for (_, c) in step.checks_on(Track::Local) {
        let b = learner::own_browser();
        match &c.kind {
            Kind::YourSignIn { user, .. } => {
                learner::sign_in_with(&b, &site, user, &pw(user)).await;
            }
            Kind::TokenInLogs { yours: true, .. } => {
                learner::sign_in_with(&b, &site, "alice", &pw("alice")).await;
            }
            Kind::YourLogout { through, then } => {
                learner::sign_in_with(&b, &site, "alice", &pw("alice")).await;
                let out = if through == "app" {
                    format!("{site}/logout")
                } else {
                    format!("{cognito}/logout?client_id={client}&logout_uri={site}/logout")
                };
                learner::get(&b, &out).await;
                if !then.is_empty() {
                    learner::get(&b, &format!("{site}/v1/secrets")).await;
                }
            }
            Kind::YourTime { what } => {
                learner::sign_in_with(&b, &site, "alice", &pw("alice")).await;
                if what == "refresh_refused" {
                    let pool = var("user_pool_id");
                    learner::aws(
                        &s.state.join("lab"),
                        &format!("cognito-idp admin-user-global-sign-out --user-pool-id {pool} --username alice"),
                    )
                    .unwrap();
                }
                // The guide's own key: t, then how far.
                let far = match what.as_str() {
                    "fresh_data_token" => "3",
                    "session_timeout" => "w",
                    _ => "h",
                };
                let info: cognito_learning_contract::lab::LabInfo =
                    serde_json::from_value(running["info"].clone()).unwrap();
                let http = reqwest::Client::new();
                let offset = || async {
                    use cognito_learning::io::clock::{ClockChange, change};
                    change(&http, &info, ClockChange::Show)
                        .await
                        .unwrap()
                        .offset
                };
                let before = offset().await;
                s.keys(&["t"]);
                s.wait_for("move the lab's clock");
                s.keys(&[far]);
                let until = Instant::now() + Duration::from_secs(10);
                while offset().await == before {
                    assert!(
                        Instant::now() < until,
                        "the t key did not move the lab's clock"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if what == "hosted_ui_hour" {
                    learner::get(&b, &format!("{site}/logout")).await;
                }
                learner::get(&b, &format!("{site}/v1/secrets")).await;
            }
            Kind::YourForgedHeader { path } => {
                b.get(format!("{app}{path}"))
                    .header("x-amzn-oidc-data", "forged.by.the.learner")
                    .send()
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }
}

#[test]
fn a_killed_lab_shows_as_down_and_the_failure_is_explained() {
    let mut s = Session::start("killed");
    open_routes_lesson(&s);
    let lab = s.lab.as_mut().unwrap();
    lab.kill().unwrap();
    lab.wait().unwrap();
    s.wait_for("○ ALB");
    s.keys(&["c"]);
    let screen = s.wait_for("check(s) failed");
    let origin = s.alb.clone();
    assert!(
        screen.contains(&format!("nothing answers at {origin}")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("try: $ curl -si {origin}/")),
        "{screen}"
    );
}

/// The lab stopped and started again (on other ports, with the credentials it keeps) under a running
/// guide: the guide says so once, and the learner's next login shows in the Flow pane and,
/// verified, in the Tokens pane, with no word against the learner's AWS set-up.
#[test]
fn a_lab_restarted_under_the_guide_is_followed_and_said_once() {
    let mut s = Session::start("restart");
    s.wait_for("● AWS");
    let lab = s.lab.as_mut().unwrap();
    lab_process::signal(lab, "-TERM");
    lab.wait().unwrap();
    let (lab, info) = start_lab(&s.state.join("lab"));
    s.lab = Some(lab);
    s.alb = info["alb"].as_str().unwrap().to_owned();
    let screen = s.wait_for("the lab restarted");
    assert_eq!(screen.matches("the lab restarted").count(), 1, "{screen}");
    // The top line follows the new run's ports, and says they answer.
    let port = s.alb.rsplit(':').next().unwrap().to_owned();
    s.wait_for(&format!("● ALB :{port}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = cognito_learning::browser::client().unwrap();
        cognito_learning::browser::login(&http, &s.alb, "alice", "Passw0rd!")
            .await
            .unwrap();
    });
    s.wait_for("GET /oauth2/idpresponse");
    let screen = s.wait_for("ES256 ✓ verified");
    assert!(screen.contains("the app: valid"), "{screen}");
    assert!(!screen.contains("credentials"), "{screen}");
    assert_eq!(screen.matches("the lab restarted").count(), 1, "{screen}");
}

#[test]
fn sigterm_ends_the_guide_and_restores_the_terminal() {
    let s = Session::start("sigterm");
    assert_eq!(
        s.pane("#{alternate_on}"),
        "1",
        "the guide draws on the alternate screen"
    );
    assert_eq!(s.pane("#{mouse_any_flag}"), "1", "and captures the mouse");
    let shell = s.pane("#{pane_pid}");
    let guide = child_of(&shell).expect("the guide runs under the pane's shell");
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {guide}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let screen = s.wait_for("guide exited with 0");
    assert!(
        !screen.contains("Lessons"),
        "the guide's screen is gone:\n{screen}"
    );
    assert_eq!(s.pane("#{alternate_on}"), "0", "back on the main screen");
    assert_eq!(s.pane("#{mouse_any_flag}"), "0", "mouse capture is off");
}

/// A process whose parent is `parent`, from /proc.
fn child_of(parent: &str) -> Option<String> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid = e.ok()?.file_name().into_string().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command name, which is in parentheses: state, then the parent.
        let after = stat.rsplit_once(')')?.1;
        (after.split_whitespace().nth(1)? == parent).then_some(pid)
    })
}
