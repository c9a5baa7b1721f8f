//! The local lab: faithful stand-ins for the AWS pieces of the course, on loopback.
//!
//! - [`cognito`]: a user pool's hosted UI and OAuth 2.0 / OIDC endpoints.
//! - [`aws`]: the AWS API endpoint (SigV4, JSON 1.1): CloudWatch Logs, and the ALB's public keys.
//! - [`alb`]: listener rules, the `authenticate-cognito` action, session cookies, forwarding with
//!   the `x-amzn-oidc-*` headers.
//! - [`state`]: keys and secrets kept across restarts.
//! - [`trace`]: every exchange, for the lab guide's flow pane.
//! - `http`: the serving loop and request helpers the stand-ins share.
//! - [`running`]: `running.json` and `lab.lock` in the state directory.
//! - [`LabFile`]: `lab --config FILE`, what a learner may change without touching code.
//! - `api_port`: the AWS API port, with the lab's trace (`/lab/trace`) beside the AWS APIs.
//!
//! [`Lab::start`] binds every port (0 picks a free one), starts the stand-ins and, unless another
//! upstream is given, the app itself; [`Lab::stop`] ends them all.

// Handlers return their HTTP response as the `Err` of early checks; it is built once per request
// and returned at once, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod alb;
mod api_port;
pub mod aws;
pub mod cognito;
pub mod elb;
pub mod http;
mod lab_clock;
mod lab_file;
mod options;
pub mod running;
mod saved;
pub mod scenario;
pub mod state;
pub mod trace;

use api_port::ApiPort;
pub use cognito_learning_contract::lab::{LabInfo, LabUser};
pub use lab_file::LabFile;
pub use options::LabOptions;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use cognito_learning_server::net::Limits;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use alb::Alb;
use alb::rules::Rule;
use cognito::{Cognito, Directory, PoolConfig};
use state::LabKeys;
use trace::Trace;

/// A running lab.
#[derive(Debug)]
pub struct Lab {
    pub info: LabInfo,
    pub trace: Arc<Trace>,
    pub aws: Arc<aws::AwsApi>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    /// Writes the CloudWatch stand-in's changes to the state directory every half second.
    journal: Option<aws::journal::Writer>,
    /// `lab.lock` in the state directory, held while the lab runs.
    _lock: std::fs::File,
    /// The built-in app, stopped first so that it can still ship its last lines to the lab's
    /// CloudWatch Logs.
    app: Option<Arc<AppRunner>>,
}

pub const ALB_ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/cognito-learning/4c2a8f6e1b3d5a79";

async fn bind(port: u16, flag: &str) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr} ({flag}); is another lab running? `{flag} 0` picks a free port"
        )
    })
}

fn port(l: &TcpListener) -> anyhow::Result<u16> {
    Ok(l.local_addr()?.port())
}

impl Lab {
    pub async fn start(opts: LabOptions) -> anyhow::Result<Lab> {
        let lock = running::lock(&opts.state_dir)?;
        if let Some(name) = &opts.scenario {
            scenario::check(name)?;
            anyhow::ensure!(
                !opts.blank,
                "a scenario breaks a built lab: leave out --blank"
            );
            // A scenario starts its exercise afresh.
            for file in [cognito::directory::FILE, elb::FILE] {
                match std::fs::remove_file(opts.state_dir.join(file)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        let alb_l = bind(opts.alb_port, "--alb-port").await?;
        let cog_l = bind(opts.cognito_port, "--cognito-port").await?;
        let api_l = bind(opts.api_port, "--api-port").await?;
        let srv_l = match opts.upstream {
            None => Some(bind(opts.server_port, "--server-port").await?),
            Some(_) => None,
        };
        // Different cookie hosts for the ALB and the hosted UI, as on AWS (a browser does not
        // separate cookies by port).
        let alb_url = format!("http://localhost:{}", port(&alb_l)?);
        let cognito_url = format!("http://127.0.0.1:{}", port(&cog_l)?);
        let api_url = format!("http://127.0.0.1:{}", port(&api_l)?);
        let server_url = match (&srv_l, &opts.upstream) {
            (Some(l), _) => format!("http://127.0.0.1:{}", port(l)?),
            (None, Some(u)) => u.trim_end_matches('/').to_owned(),
            (None, None) => unreachable!("a listener is bound when there is no upstream"),
        };

        let keys = tokio::task::spawn_blocking({
            let dir = opts.state_dir.clone();
            move || LabKeys::load_or_create(&dir)
        })
        .await??;
        let client_id = client_id_for(&keys.client_secret);
        let mut pool = opts
            .pool
            .clone()
            .unwrap_or_else(|| PoolConfig::demo(&alb_url, &client_id, &keys.client_secret));
        if let Some(l) = opts.lifetimes {
            pool.lifetimes = l;
        }
        if let Some(users) = opts.users.clone() {
            pool.users = users;
        }
        let client = pool
            .clients
            .first()
            .context("the lab's user pool has no app client")?
            .clone();
        let trace = Arc::new(Trace::default());
        let LabKeys {
            alb: alb_key,
            id,
            access,
            session_key,
            api_key_id,
            api_secret,
            ..
        } = keys;
        let directory = Arc::new(Directory::open_as(
            Some(&opts.state_dir),
            &pool,
            opts.blank,
        )?);
        // One clock for the ALB, Cognito and the app, where the learner last moved it.
        let clock = lab_clock::load(&opts.state_dir);
        let mut cognito = Cognito::new(&cognito_url, directory.clone(), id, access, trace.clone());
        cognito.clock = clock.clone();
        let cognito = Arc::new(cognito);
        let seed = if opts.blank {
            elb::Seed::Blank
        } else {
            let rules = opts.rules.clone().unwrap_or_else(Rule::defaults);
            elb::Seed::Built {
                rules,
                pool_arn: format!(
                    "arn:aws:cognito-idp:{}:{}:userpool/{}",
                    pool.region,
                    elb::ACCOUNT,
                    pool.pool_id
                ),
                client_id: client.client_id.clone(),
                domain: cognito::directory::LAB_DOMAIN.into(),
            }
        };
        let lb = Arc::new(elb::LoadBalancing::open(
            Some(&opts.state_dir),
            &pool.region,
            &seed,
        )?);
        if let Some(name) = &opts.scenario {
            scenario::apply(name, &directory, &lb)?;
        }
        let mut alb = Alb::new(
            ALB_ARN.into(),
            lb.clone(),
            directory.clone(),
            &cognito_url,
            &server_url,
            port(&alb_l)?,
            alb_key,
            &session_key,
            trace.clone(),
        );
        alb.login_window = opts.login_window;
        alb.clock = clock.clone();
        let alb = Arc::new(alb);
        let alb_key_url = format!("{api_url}/elb-public-keys");
        let credentials = aws::sigv4::Credentials {
            access_key_id: api_key_id,
            secret_access_key: api_secret,
        };
        let aws_api = Arc::new(aws::AwsApi::new(
            credentials.clone(),
            opts.check_signatures,
            &pool.region,
            (
                alb.key_id().to_owned(),
                alb.public_key_pem().unwrap_or_default(),
            ),
            aws::Services {
                ssm: aws::ssm::Ssm::new(&server_url, opts.state_dir.join("server.log")),
                cognito_idp: aws::cognito_idp::CognitoIdp::new(cognito.clone()),
                elbv2: aws::elbv2::Elbv2::new(lb.clone(), directory.clone(), &server_url),
                acm: aws::acm::Acm::new(lb.clone()),
            },
        ));
        let journal = {
            let logs = aws_api.logs.clone();
            let dir = opts.state_dir.clone();
            tokio::task::spawn_blocking(move || aws::journal::Journal::open(&logs, &dir)).await?
        };
        let journal = match journal {
            Ok((journal, loaded)) => {
                if loaded.skipped > 0 {
                    eprintln!(
                        "{}: {} unreadable line(s) skipped (the lab stopped mid-write)",
                        opts.state_dir.join(aws::journal::JOURNAL).display(),
                        loaded.skipped
                    );
                }
                Some(aws::journal::Writer::start(aws_api.logs.clone(), journal)?)
            }
            Err(e) => {
                eprintln!("{e}; the lab's CloudWatch logs are kept in memory only this time");
                None
            }
        };

        // This run of the lab, in its info and on every trace page: a guide that sees another
        // one knows the lab restarted.
        let run = state::random_alnum(12);
        let (stop, stopped) = watch::channel(false);
        let until_stopped = move || {
            let mut rx = stopped.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let mut tasks = JoinSet::new();
        let mut app = None;
        tasks.spawn(http::serve_service(
            cog_l,
            Limits::LAB,
            cognito.clone(),
            until_stopped(),
        ));
        {
            // The ALB runs on a thread of its own with a single-threaded runtime: a forwarded
            // request, the onward connection to the app and the answer then stay on one thread,
            // with no wake-ups across threads (a futex and an eventfd write per request).
            let alb = alb.clone();
            let listener = alb_l.into_std()?;
            let stopped = until_stopped();
            tasks.spawn(on_own_thread("alb", async move {
                match TcpListener::from_std(listener) {
                    Ok(l) => http::serve_service(l, Limits::LAB, alb, stopped).await,
                    Err(e) => eprintln!("lab: the ALB cannot listen: {e}"),
                }
            }));
        }
        let api = Arc::new(ApiPort {
            api: aws_api.clone(),
            trace: trace.clone(),
            run: run.clone(),
            clock: clock.clone(),
            state_dir: opts.state_dir.clone(),
        });
        tasks.spawn(http::serve_service(
            api_l,
            Limits::LAB,
            api,
            until_stopped(),
        ));
        if let Some(listener) = srv_l {
            let base = cognito_learning_server::Settings {
                site_url: Some(alb_url.clone()),
                cognito_domain: Some(cognito_url.clone()),
                region: Some(pool.region.clone()),
                alb_arn: Some(ALB_ARN.into()),
                alb_key_url: Some(alb_key_url.clone()),
                log_file: Some(opts.state_dir.join("server.log")),
                // The app ships its lines to the lab's CloudWatch Logs, as it would on AWS.
                cloudwatch: Some(true),
                aws_endpoint_url: Some(api_url.clone()),
                aws_credentials: Some(cognito_learning_server::StaticCredentials {
                    access_key_id: credentials.access_key_id.clone(),
                    secret_access_key: credentials.secret_access_key.clone(),
                }),
                ..Default::default()
            };
            let runner = AppRunner::start(
                listener.into_std()?,
                base,
                opts.required_group.clone(),
                alb.clone(),
                clock.clone(),
            )?;
            app = Some(runner);
        }
        let base = LabInfo {
            run: run.clone(),
            alb: alb_url,
            cognito: cognito_url,
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            region: pool.region.clone(),
            user_pool_id: String::new(),
            alb_arn: ALB_ARN.into(),
            alb_key_url,
            aws: api_url,
            aws_access_key_id: credentials.access_key_id.clone(),
            aws_secret_access_key: credentials.secret_access_key.clone(),
            server: server_url,
            users: vec![],
            state_dir: opts.state_dir.clone(),
            certificate_arn: elb::certificate_arn(&pool.region),
            blank: opts.blank,
        };
        let publisher = Arc::new(Publisher {
            // Published below, whatever it holds.
            last: std::sync::Mutex::new((u64::MAX, u64::MAX, base.clone())),
            base,
            cognito: cognito.clone(),
            alb: alb.clone(),
            lb: lb.clone(),
            app: app.clone(),
        });
        let info = publisher.publish(true);
        let _ = aws_api.follower.set(publisher.clone());
        tasks.spawn({
            let stopped = until_stopped();
            async move {
                tokio::select! {
                    () = stopped => {}
                    () = publisher.every(PUBLISH_EVERY) => {}
                }
            }
        });
        Ok(Lab {
            info,
            trace,
            aws: aws_api,
            stop,
            tasks,
            journal,
            _lock: lock,
            app,
        })
    }

    /// Stops every stand-in and the app; open requests finish first, then the CloudWatch logs
    /// are compacted into the state directory for the next start.
    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        self.aws.logs.end_live_tails();
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        running::remove(&self.info);
        if let Some(journal) = self.journal.take() {
            let _ = tokio::task::spawn_blocking(move || journal.stop()).await;
        }
    }
}

/// Runs `task` on a new thread with a single-threaded runtime; the returned future ends when it
/// does.
fn on_own_thread(
    name: &str,
    task: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name(format!("lab {name}"))
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(task),
                Err(e) => eprintln!("lab: no runtime for a thread: {e}"),
            }
            let _ = done.send(());
        });
    async move {
        if spawned.is_ok() {
            let _ = finished.await;
        }
    }
}

/// A 26-character app-client id, stable for a state directory.
fn client_id_for(secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    d.as_ref()
        .iter()
        .take(26)
        .map(|b| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[usize::from(*b) % 36]))
        .collect()
}

/// The built-in app on the lab's instance, configured with the user pool and app client the
/// ALB's authenticate action names (on AWS a learner writes them into the app's `server.env`;
/// here the lab does it, and restarts the app when the rule names another pool or client).
/// The AWS API calls [`aws::Follower::sync`] after each change, so the app is restarted by the
/// time the call that changed the rule or the pool answers.
struct AppRunner {
    alb: Arc<Alb>,
    start: Box<StartApp>,
    current: tokio::sync::Mutex<Option<(Identity, Running)>>,
}

type Identity = Option<(String, String)>;
type Running = (watch::Sender<bool>, tokio::task::JoinHandle<()>);
type StartApp = dyn Fn(&Identity) -> anyhow::Result<Running> + Send + Sync;

impl std::fmt::Debug for AppRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRunner").finish_non_exhaustive()
    }
}

impl AppRunner {
    fn start(
        listener: std::net::TcpListener,
        base: cognito_learning_server::Settings,
        required_group: Option<String>,
        alb: Arc<Alb>,
        clock: lab_clock::Clock,
    ) -> anyhow::Result<Arc<Self>> {
        listener.set_nonblocking(true)?;
        let start = move |identity: &Identity| -> anyhow::Result<Running> {
            let mut s = base.clone();
            if let Some((issuer, client)) = identity {
                s.cognito_issuer = Some(issuer.clone());
                s.client_id = Some(client.clone());
                s.required_group.clone_from(&required_group);
            }
            let mut config = s
                .validate()
                .map_err(|e| anyhow::anyhow!("built-in server: {e}"))?;
            config.clock = clock.clone();
            let listener = TcpListener::from_std(listener.try_clone()?)?;
            let (stop, mut stopped) = watch::channel(false);
            let handle = tokio::spawn(async move {
                let stopped = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                if let Err(e) = cognito_learning_server::run(listener, config, stopped).await {
                    eprintln!("cognito-learning-server stopped: {e:#}");
                }
            });
            Ok((stop, handle))
        };
        let identity = alb.identity();
        let running = start(&identity)?;
        Ok(Arc::new(Self {
            alb,
            start: Box::new(start),
            current: tokio::sync::Mutex::new(Some((identity, running))),
        }))
    }

    async fn stop(&self) {
        if let Some((_, (stop, handle))) = self.current.lock().await.take() {
            let _ = stop.send(true);
            let _ = handle.await;
        }
    }

    /// Restarts the app when the rule names another pool or client than it runs with.
    async fn sync(&self) {
        let mut current = self.current.lock().await;
        let now = self.alb.identity();
        let Some((identity, _)) = current.as_ref() else {
            return;
        };
        if *identity == now {
            return;
        }
        if let Some((_, (stop, handle))) = current.take() {
            let _ = stop.send(true);
            let _ = handle.await;
        }
        match (self.start)(&now) {
            Ok(running) => *current = Some((now, running)),
            Err(e) => eprintln!("lab: the app cannot restart: {e:#}"),
        }
    }
}

/// How often the lab looks for changes the control plane did not make (a password changed in
/// the hosted UI) to write to `running.json`.
const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// What the lab serves, for `running.json`: the pool the hosted UI serves, the app client the
/// ALB's authenticate rule names (else that pool's first client with a secret, else its first),
/// and the pool's users with their passwords. A blank lab's are empty until the learner makes
/// them.
fn serving(base: &LabInfo, cognito: &Cognito, alb: &Alb) -> LabInfo {
    let mut info = base.clone();
    // First the rule: building what the ALB serves also settles which pool the hosted UI serves.
    let identity = alb.identity();
    let pool = cognito.pool();
    if !pool.exists {
        return info;
    }
    info.issuer = cognito.issuer();
    info.user_pool_id.clone_from(&pool.pool_id);
    let named = identity
        .filter(|(issuer, _)| *issuer == info.issuer)
        .map(|(_, client)| client);
    let client = pool
        .clients
        .iter()
        .find(|c| Some(&c.client_id) == named.as_ref())
        .or_else(|| pool.clients.iter().find(|c| c.client_secret.is_some()))
        .or(pool.clients.first());
    if let Some(c) = client {
        info.client_id.clone_from(&c.client_id);
        info.client_secret = c.client_secret.clone().unwrap_or_default();
    }
    info.users = pool
        .users
        .iter()
        .map(|u| LabUser {
            username: u.username.clone(),
            groups: u.groups.clone(),
            password: u.password.clone(),
        })
        .collect();
    info
}

/// Keeps what follows the control plane in step with it: the app (restarted for the rule's
/// pool and client) and `running.json` (rewritten when what the lab serves changes, so the
/// guide and `check` sign in with the pool, client and users the learner built).
#[derive(Debug)]
struct Publisher {
    base: LabInfo,
    cognito: Arc<Cognito>,
    alb: Arc<Alb>,
    lb: Arc<elb::LoadBalancing>,
    app: Option<Arc<AppRunner>>,
    /// The pools' and the load balancer's change counts when last published, and what was.
    last: std::sync::Mutex<(u64, u64, LabInfo)>,
}

impl Publisher {
    /// Writes `running.json` if what the lab serves changed (or `always`); returns it.
    fn publish(&self, always: bool) -> LabInfo {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = (self.cognito.directory.generation(), self.lb.generation());
        if !always && (last.0, last.1) == seen {
            return last.2.clone();
        }
        let now = serving(&self.base, &self.cognito, &self.alb);
        if (always || now != last.2)
            && let Err(e) = running::write(&now)
        {
            eprintln!(
                "{}: cannot record the running lab for other commands: {e}",
                running::path(&now.state_dir).display()
            );
        }
        *last = (seen.0, seen.1, now.clone());
        now
    }

    async fn every(&self, period: std::time::Duration) {
        loop {
            tokio::time::sleep(period).await;
            self.publish(false);
        }
    }
}

impl aws::Follower for Publisher {
    fn sync(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Some(app) = &self.app {
                app.sync().await;
            }
            self.publish(false);
        })
    }
}
