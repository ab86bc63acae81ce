//! Start-up split from serving: [`App`] turns settings into a ready [`Tinybase`] (database
//! open and migrated), which hands out a router for tests or serves on a listener.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::forward::{self, Primary};
use crate::api::{self, AppState};
use crate::auth::{file_tokens, sessions};
use crate::code_first;
use crate::collections::{NewCollection, Service as Collections};
use crate::config::Settings;
use crate::constants::{CHECKPOINT_INTERVAL_SECS, HOOK_BUDGET_MS, MAINTENANCE_INTERVAL_SECS};
use crate::db::Database;
use crate::functions::{Calls, Executor, FunctionRegistry};
use crate::hooks::{self, Hooks};
use crate::mail::{MailKind, MailTemplate, MailTemplates, Mailer};
use crate::replication::{Follower, Replication};
use crate::scheduling::Scheduler;
use crate::storage::{FileStore, deletions};
use crate::webhooks::Webhooks;
use crate::{Error, Result};

/// Configures a TinyBase server in code.
///
/// ```no_run
/// # async fn example() -> tinybase::Result<()> {
/// let mut settings = tinybase::config::Settings::default();
/// settings.database.url = "data/app.db".into();
/// let server = tinybase::App::new(settings).build().await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// server.serve(listener, tinybase::shutdown_signal()).await
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct App {
    settings: Settings,
    mail_templates: MailTemplates,
    /// Build a read replica (`serve --replica`) instead of a primary.
    replica: bool,
    /// The code-first collections to set up; `None`: every registered one.
    code_collections: Option<Vec<NewCollection>>,
}

impl App {
    /// An app with these settings.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            mail_templates: MailTemplates::default(),
            replica: false,
            code_collections: None,
        }
    }

    /// Sets up exactly these code-first collections at build instead of every
    /// `#[derive(tinybase::Collection)]` struct in the program (e.g. in tests that start
    /// one database with two versions of a struct). Get one with
    /// `<Post as tinybase::Collection>::definition()`.
    pub fn code_collections(mut self, collections: Vec<NewCollection>) -> Self {
        self.code_collections = Some(collections);
        self
    }

    /// Replaces the texts of one account mail (these win over `mail.templates_dir`).
    ///
    /// ```
    /// use tinybase::mail::{MailKind, MailTemplate};
    /// let app = tinybase::App::default().mail_template(
    ///     MailKind::PasswordReset,
    ///     MailTemplate {
    ///         subject: "Your {{app_name}} password".into(),
    ///         text: "Choose a new one: {{link}}".into(),
    ///         html: "<a href=\"{{link}}\">Choose a new one</a>".into(),
    ///     },
    /// );
    /// ```
    pub fn mail_template(mut self, kind: MailKind, template: MailTemplate) -> Self {
        self.mail_templates.set(kind, template);
        self
    }

    /// An app configured like the CLI: defaults < `config` (or `./tinybase.toml`) < env.
    ///
    /// # Errors
    /// A configuration error naming the bad key and where it came from.
    pub fn from_config(config: Option<&Path>) -> Result<Self> {
        let settings = Settings::load(config).map_err(Error::internal)?;
        Ok(Self::new(settings))
    }

    /// Makes this a read replica: [`App::build`] follows the replica in `[replication]`
    /// into `database.url` with Litestream (waiting for the first restore) and opens it
    /// read-only; the server serves reads and realtime from it and forwards writes,
    /// `/api/auth/*` and function calls to `replication.primary_url`. It never migrates,
    /// schedules, delivers webhooks or runs maintenance: the primary does.
    #[must_use]
    pub fn read_replica(mut self) -> Self {
        self.replica = true;
        self
    }

    /// The settings so far.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Changes settings before building.
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Validates the settings, opens (creating and migrating) the database, and creates or
    /// migrates the code-first collections.
    ///
    /// # Errors
    /// A bad setting, a database that cannot be opened or migrated, or a code-first
    /// collection whose declaration stored records would not fit (named with the field).
    pub async fn build(self) -> Result<Tinybase> {
        self.settings.validate().map_err(Error::internal)?;
        let path = self.settings.database.path().map_err(Error::internal)?;
        let store = FileStore::open(&self.settings.storage, &path)?;
        let replica = if self.replica {
            let primary = replica_primary(&self.settings)?;
            let follower = Follower::start(&self.settings.replication, &path).await?;
            Some(ReplicaRole {
                primary,
                follower: Arc::new(tokio::sync::Mutex::new(Some(follower))),
            })
        } else {
            None
        };
        let db = if replica.is_some() {
            tokio::task::spawn_blocking(move || Database::open_read_only(&path)).await??
        } else {
            tokio::task::spawn_blocking(move || Database::open(&path)).await??
        };
        let hooks = Arc::new(Hooks::collect(
            tokio::runtime::Handle::try_current().ok(),
            Duration::from_millis(HOOK_BUDGET_MS),
        )?);
        let collections = Collections::load(db.clone(), store)
            .await?
            .with_hooks(hooks.clone());
        let declared = match self.code_collections {
            Some(declared) => declared,
            None => code_first::registered()?,
        };
        // A replica's database is read-only: the primary sets the collections up.
        if replica.is_none() {
            code_first::sync(&collections, declared).await?;
        }
        check_hook_collections(&hooks, &collections);
        let registry = FunctionRegistry::collect()?;
        // The primary owns all of this; a replica's database cannot be written.
        let interrupted = if replica.is_none() {
            hooks::after::register_cursors(&db, &hooks).await?;
            Scheduler::release_stale_claims(&db).await?;
            Calls::new(db.clone()).fail_interrupted().await?
        } else {
            0
        };
        if interrupted > 0 {
            tracing::warn!(
                count = interrupted,
                "marked calls interrupted by the last shutdown as failed"
            );
        }
        let functions = Executor::new(
            db.clone(),
            collections.clone(),
            registry,
            self.settings.functions.timeout_seconds,
        );
        let max_subscriptions =
            usize::try_from(self.settings.realtime.max_subscriptions).unwrap_or(usize::MAX);
        functions
            .realtime()
            .set_max_subscriptions(max_subscriptions);
        let mailer = Mailer::from_settings(&self.settings.mail, self.mail_templates)?;
        let state = AppState::new(db, self.settings, collections, functions, mailer);
        Ok(Tinybase {
            state,
            started_at: crate::db::now(),
            replica,
        })
    }
}

/// Hooks on collections that do not exist are not an error at start-up: collections are
/// often created later (by an install function, or in the admin UI). They are reported,
/// with the hook's location, here and in `GET /api/admin/hooks`.
fn check_hook_collections(hooks: &Hooks, collections: &Collections) {
    for hook in hooks.all() {
        if !hook.event.is_auth() && collections.loaded(hook.collection).is_none() {
            tracing::warn!(
                hook = hook.name,
                location = %hook.location(),
                collection = hook.collection,
                "a hook watches a collection that does not exist (yet); it runs once the \
                 collection is created"
            );
        }
    }
}

/// The primary a read replica forwards writes to (`replication.primary_url`), refused
/// up front when replication is not fully set for a replica.
fn replica_primary(settings: &Settings) -> Result<Primary> {
    if !settings.replication.enabled() {
        return Err(Error::internal(
            "serve --replica needs replication.url (TINYBASE_REPLICATION_URL): the replica \
             the primary ships to, which this server follows",
        ));
    }
    let url = settings.replication.primary_url.as_deref().ok_or_else(|| {
        Error::internal(
            "serve --replica needs replication.primary_url (TINYBASE_REPLICATION_PRIMARY_URL): \
             the primary's address, such as http://10.0.0.1:8000, where writes are forwarded",
        )
    })?;
    Ok(Primary::new(url))
}

/// What makes a server a read replica.
#[derive(Clone)]
struct ReplicaRole {
    primary: Primary,
    /// Taken (and stopped) when serving ends.
    follower: Arc<tokio::sync::Mutex<Option<Follower>>>,
}

/// A ready server: database open, settings checked.
#[derive(Clone)]
pub struct Tinybase {
    state: AppState,
    /// When this process opened the database: file uploads reserved earlier can no longer
    /// finish, so a maintenance pass deletes them.
    started_at: DateTime<Utc>,
    /// Set for a read replica ([`App::read_replica`]).
    replica: Option<ReplicaRole>,
}

impl Tinybase {
    /// The database.
    pub fn database(&self) -> &Database {
        &self.state.db
    }

    /// Collections and records, with the same validation and rules as the HTTP API.
    pub fn collections(&self) -> &Collections {
        &self.state.collections
    }

    /// Runs the registered functions, recording each call.
    pub fn functions(&self) -> &Executor {
        &self.state.functions
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.state.settings
    }

    /// Runs one pass of the periodic housekeeping now and waits for it: the pass serving
    /// runs at start and then hourly (expired tokens and call records older than
    /// `functions.call_retention_days` go; planner statistics are refreshed). Serving
    /// needs no call; this lets tests see a whole pass finish.
    #[doc(hidden)]
    pub async fn run_maintenance(&self) {
        maintenance_pass(
            &self.state.db,
            &self.state.collections,
            &self.state.webhooks,
            self.started_at,
            Retention::of(&self.state.settings),
        )
        .await;
    }

    /// Whether this server is a read replica ([`App::read_replica`]).
    pub fn is_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// The complete HTTP router, without binding a port. A replica's forwards writes to
    /// the primary (see [`crate::api::forward`]).
    pub fn router(&self) -> Router {
        let router = api::router(self.state.clone());
        match &self.replica {
            Some(role) => router.layer(axum::middleware::from_fn_with_state(
                role.primary.clone(),
                forward::forward_writes,
            )),
            None => router,
        }
    }

    /// Serves a read replica: reads and realtime from the followed copy, nothing that
    /// writes; the follower stops when serving does.
    async fn serve_replica(
        self,
        role: ReplicaRole,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let router = self.router();
        let watcher = tokio::spawn(crate::replication::replica::watch(
            self.state.db.clone(),
            self.state.collections.clone(),
        ));
        let realtime = self.state.realtime.start();
        let trimming = tokio::spawn(crate::memory::return_freed_memory());
        let streams = self.state.realtime.clone();
        let shutdown = async move {
            shutdown.await;
            streams.close_all();
        };
        api::serve::serve(listener, router, &self.state.settings.server, shutdown).await;
        watcher.abort();
        realtime.abort();
        trimming.abort();
        if let Some(follower) = role.follower.lock().await.take() {
            follower.stop().await;
        }
        Ok(())
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight requests
    /// finish. Also runs periodic maintenance (expired-token pruning) while serving.
    /// Clients too slow to send a request are cut off (the `server.*_timeout_seconds`
    /// settings).
    ///
    /// With `[replication]` set, Litestream runs beside it (see [`crate::replication`]);
    /// call [`crate::replication::preflight`] first for a clear error when it cannot work.
    ///
    /// # Errors
    /// When Litestream cannot be started; accept errors are logged and retried.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        if let Some(role) = self.replica.clone() {
            return self.serve_replica(role, listener, shutdown).await;
        }
        let router = self.router();
        let maintenance = tokio::spawn(maintain(
            self.state.db.clone(),
            self.state.collections.clone(),
            self.state.webhooks.clone(),
            self.started_at,
            Retention::of(&self.state.settings),
        ));
        let replication = if self.state.settings.replication.enabled() {
            Some(
                crate::replication::start(
                    &self.state.settings.replication,
                    self.state.db.path(),
                    self.state.db.clone(),
                    self.state.replication.clone(),
                )
                .await?,
            )
        } else {
            None
        };
        let checkpoints = tokio::spawn(checkpoint_regularly(
            self.state.db.clone(),
            replication.as_ref().map(Replication::running),
        ));
        let realtime = self.state.realtime.start();
        let trimming = tokio::spawn(crate::memory::return_freed_memory());
        let webhooks = self
            .state
            .webhooks
            .start(self.state.collections.change_feed().clone())?;
        let streams = self.state.realtime.clone();
        // Open event streams would hold graceful shutdown forever: end them first.
        let shutdown = async move {
            shutdown.await;
            streams.close_all();
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let scheduler = self.state.settings.scheduler.enabled.then(|| {
            let scheduler = Scheduler::new(
                self.state.db.clone(),
                self.state.functions.clone(),
                self.state.schedules.scheduler(),
                Duration::from_secs(self.state.settings.scheduler.interval_seconds),
            );
            tokio::spawn(scheduler.run(stopped))
        });
        let after_hooks = tokio::spawn(hooks::after::run(
            self.state.db.clone(),
            self.state.collections.clone(),
            self.state.collections.hooks().clone(),
            stop.subscribe(),
        ));
        api::serve::serve(listener, router, &self.state.settings.server, shutdown).await;
        // Stop starting scheduled runs; let those in progress finish.
        let _ = stop.send(true);
        // An after-hook in progress finishes; its change is handled again after a restart
        // if its progress was not saved yet.
        let _ = after_hooks.await;
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        // No more writes: let Litestream ship the last ones before the process exits.
        if let Some(replication) = replication {
            replication.stop().await;
        }
        maintenance.abort();
        checkpoints.abort();
        realtime.abort();
        trimming.abort();
        webhooks.stop();
        Ok(())
    }
}

/// How long housekeeping keeps what it prunes (from the settings).
#[derive(Clone, Copy)]
struct Retention {
    /// `functions.call_retention_days`; 0 keeps calls forever.
    call_days: u32,
    /// `realtime.change_log_max_age_days`; 0 means no age limit.
    change_days: u32,
    /// `realtime.change_log_max_rows`; 0 means no count limit.
    change_rows: u64,
}

impl Retention {
    fn of(settings: &Settings) -> Self {
        Self {
            call_days: settings.functions.call_retention_days,
            change_days: settings.realtime.change_log_max_age_days,
            change_rows: settings.realtime.change_log_max_rows,
        }
    }
}

/// Periodic housekeeping while the server runs: a pass at start, then hourly.
async fn maintain(
    db: Database,
    collections: Collections,
    webhooks: Webhooks,
    started_at: DateTime<Utc>,
    retention: Retention,
) {
    let mut every = tokio::time::interval(Duration::from_secs(MAINTENANCE_INTERVAL_SECS));
    loop {
        every.tick().await;
        maintenance_pass(&db, &collections, &webhooks, started_at, retention).await;
    }
}

/// One housekeeping pass: expired tokens, old call records, old change-log entries and
/// week-old finished webhook deliveries go, pending file deletions are carried out, and
/// the query planner's statistics follow the data as it grows.
async fn maintenance_pass(
    db: &Database,
    collections: &Collections,
    webhooks: &Webhooks,
    started_at: DateTime<Utc>,
    retention: Retention,
) {
    match sessions::prune_expired(db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "pruned expired tokens"),
        Err(err) => tracing::warn!(%err, "could not prune expired tokens"),
    }
    match file_tokens::prune_expired(db).await {
        Ok(_) => {}
        Err(err) => tracing::warn!(%err, "could not prune expired file tokens"),
    }
    match deletions::sweep(db, collections.file_store(), started_at).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "deleted files no record refers to"),
        Err(err) => tracing::warn!(%err, "could not sweep pending file deletions"),
    }
    if retention.call_days > 0 {
        match Calls::new(db.clone())
            .prune_older_than(retention.call_days)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "pruned old function calls"),
            Err(err) => tracing::warn!(%err, "could not prune old function calls"),
        }
    }
    match webhooks
        .prune_change_log(retention.change_days, retention.change_rows)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "pruned old entries of the change log"),
        Err(err) => tracing::warn!(%err, "could not prune the change log"),
    }
    match webhooks.prune_log().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "pruned finished webhook deliveries"),
        Err(err) => tracing::warn!(%err, "could not prune webhook deliveries"),
    }
    if let Err(err) = db.optimize().await {
        tracing::warn!(%err, "could not refresh query statistics");
    }
}

/// Truncates the write-ahead log regularly so it stays small under sustained writes,
/// except while Litestream runs (`litestream_running`): then checkpoints are its own (see
/// `replication/supervisor.rs`).
async fn checkpoint_regularly(db: Database, litestream_running: Option<watch::Receiver<bool>>) {
    let mut every = tokio::time::interval(Duration::from_secs(CHECKPOINT_INTERVAL_SECS));
    every.tick().await;
    loop {
        every.tick().await;
        if litestream_running
            .as_ref()
            .is_some_and(|running| *running.borrow())
        {
            continue;
        }
        if let Err(err) = db.checkpoint().await {
            tracing::warn!(%err, "could not checkpoint the write-ahead log");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM: the usual way to ask a server to stop.
///
/// The signals are caught from the moment this is called (inside the tokio runtime),
/// not from the future's first poll. Call it before the server says it is listening: a
/// signal that arrived between then and the serve loop's first look at this future
/// would otherwise end the process at once, with requests in flight.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        tokio::select! {
            () = next_signal(interrupt, "Ctrl-C") => {}
            () = next_signal(terminate, "SIGTERM") => {}
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// Waits for the next of the signals `listener` catches; forever when it could not be set
/// up (the server then stops only when killed).
#[cfg(unix)]
async fn next_signal(listener: std::io::Result<tokio::signal::unix::Signal>, name: &str) {
    match listener {
        Ok(mut signals) => {
            signals.recv().await;
        }
        Err(err) => {
            tracing::warn!(%err, "cannot listen for {name}");
            std::future::pending::<()>().await;
        }
    }
}
