//! The tasks that watch the target: the token stream, the lab's trace, the health probes and,
//! on the local track, the lab's run.

use std::sync::Arc;
use std::time::Duration;

use cognito_learning_contract::trace::TracePage;
use tokio::sync::watch;

use super::event::{CurrentTarget, Event, Sink};
use super::probe::{reachable, services};
use super::watch::LabWatch;
use crate::lessons::Track;
use crate::stream::{Checks, Cursor, Follower, TokenEvent};
use crate::target::Target;

/// How long after switching to a new lab run a refused poll is taken for one still in flight.
const SWITCH_GRACE: Duration = Duration::from_secs(3);

/// Starts every follower of the current target.
pub fn spawn_followers(current: &Arc<CurrentTarget>, sink: Sink) {
    let Some(t) = current.get() else { return };
    let lab = t.lab.as_ref().map(LabWatch::new);
    let (targets_tx, targets) = watch::channel(t.clone());
    if let Some(lab) = &lab {
        tokio::spawn(lab.clone().run());
        tokio::spawn(restarts(
            lab.clone(),
            current.clone(),
            targets_tx,
            sink.clone(),
        ));
    }
    tokio::spawn(health(targets.clone(), sink.clone()));
    tokio::spawn(tokens(t.clone(), targets, lab.clone(), sink.clone()));
    if let Some(lab) = lab {
        tokio::spawn(trace(t.http.clone(), lab, sink));
    }
}

/// For each new run of the lab, and each change to what it serves: the target is made once,
/// for the checks and the token stream both, and the learner is told once.
async fn restarts(
    lab: LabWatch,
    current: Arc<CurrentTarget>,
    targets: watch::Sender<Arc<Target>>,
    sink: Sink,
) {
    let mut rx = lab.subscribe();
    let mut run = rx.borrow_and_update().run.clone();
    while rx.changed().await.is_ok() {
        let info = rx.borrow_and_update().clone();
        let t = Arc::new(Target::local(&info));
        current.set(t.clone());
        let vars = t.vars.clone();
        let event = if info.run == run {
            Event::LabChanged { vars }
        } else {
            run.clone_from(&info.run);
            let services = services(&t).into_iter().map(|(s, _)| s).collect();
            Event::LabRestarted { vars, services }
        };
        let _ = targets.send(t);
        if !sink(event) {
            return;
        }
    }
}

/// The app's log group, each request's tokens verified again as of when it was logged.
async fn tokens(
    t: Arc<Target>,
    mut targets: watch::Receiver<Arc<Target>>,
    lab: Option<LabWatch>,
    sink: Sink,
) {
    let group = t.vars.get("log_group").cloned().unwrap_or_default();
    let from = i64::try_from(cognito_learning_tokens::time::now_millis()).unwrap_or(0) - 600_000;
    let (clients_tx, clients) = watch::channel(t.logs.clone());
    let follower = Follower::new(t.logs.clone(), group, Cursor::from(from))
        .with_live_tail(t.live_tail)
        .with_client_updates(clients);
    // One page in hand and one being read: the follower waits while tokens are verified, so
    // a burst never piles up in memory as raw lines.
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(follower.run(Duration::from_millis(400), lines_tx));
    let mut checks: Arc<Checks> = t.tokens.clone();
    let mut seq = 0;
    let mut switched: Option<std::time::Instant> = None;
    while let Some(res) = lines_rx.recv().await {
        if targets.has_changed().unwrap_or(false) {
            switched = Some(std::time::Instant::now());
            let now = targets.borrow_and_update().clone();
            checks = now.tokens.clone();
            let _ = clients_tx.send(now.logs.clone());
        }
        let event = match res {
            Ok(lines) => {
                let mut events = Vec::new();
                for l in &lines {
                    if let Some(e) = TokenEvent::from_line(l, &checks).await {
                        events.push(e);
                    }
                }
                // The cloud track has no trace: every request the app logged is a row. The lab's
                // trace has all but what was sent straight to the app (past the ALB), which
                // only the app's log shows; those rows come unsequenced (seq 0) and the Flow
                // pane puts them after what it has.
                let flow: Vec<_> = events
                    .iter()
                    .filter(|e| t.track == Track::Cloud || e.direct)
                    .map(|e| {
                        if t.track == Track::Cloud {
                            seq += 1;
                        }
                        crate::tui::app::flow_from_token(e, seq)
                    })
                    .collect();
                if !flow.is_empty() && !sink(Event::Flow(flow)) {
                    return;
                }
                Event::Tokens(events)
            }
            // A lab that restarted (on other ports, or from a state directory with other keys)
            // refuses or misses the old client: that is the lab's news, not a fault in the
            // learner's AWS set-up, and the switch comes with the next poll.
            Err(_) if restarted(lab.as_ref()).await => continue,
            // A poll sent with the old run's credentials just before the switch.
            Err(_) if switched.is_some_and(|t| t.elapsed() < SWITCH_GRACE) => continue,
            Err(why) => Event::StreamStatus(why),
        };
        if !sink(event) {
            return;
        }
    }
}

/// Whether a new run of the lab was found just now.
async fn restarted(lab: Option<&LabWatch>) -> bool {
    match lab {
        Some(l) => l.refresh().await,
        None => false,
    }
}

/// The lab's trace, from the first event of each run.
async fn trace(http: reqwest::Client, lab: LabWatch, sink: Sink) {
    let mut runs = lab.subscribe();
    let mut info = runs.borrow_and_update().clone();
    let mut after = 0u64;
    let mut clock_offset = 0i64;
    loop {
        if runs.has_changed().unwrap_or(false) {
            let now = runs.borrow_and_update().clone();
            // The same run serving what the learner built keeps its trace.
            if now.run != info.run {
                after = 0;
            }
            info = now;
        }
        let got = async {
            let resp = http
                .get(format!("{}?after={after}", info.trace_url()))
                .send()
                .await
                .ok()?;
            resp.json::<TracePage>().await.ok()
        }
        .await;
        if let Some(page) = &got
            && page.clock_offset != clock_offset
        {
            clock_offset = page.clock_offset;
            if !sink(Event::LabClock(clock_offset)) {
                return;
            }
        }
        match got {
            // Another run answers: its events wait until the watch has switched to it.
            Some(page) if page.run != info.run && !info.run.is_empty() => {
                lab.refresh().await;
            }
            Some(page) if !page.events.is_empty() => {
                after = page.events.iter().map(|e| e.seq).max().unwrap_or(after);
                if !sink(Event::Flow(page.events)) {
                    return;
                }
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Each service of the top line probed every two seconds, at the current target's addresses.
async fn health(mut targets: watch::Receiver<Arc<Target>>, sink: Sink) {
    loop {
        let probes: Vec<String> = services(&targets.borrow_and_update())
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let mut up = Vec::new();
        for p in &probes {
            up.push(Some(reachable(p, Duration::from_secs(1)).await));
        }
        if !sink(Event::Health(up)) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
