//! Start-up split from serving: [`App`] turns settings into a ready [`Tinybase`] (database
//! open and migrated), which hands out a router for tests or serves on a listener.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::auth::sessions;
use crate::changes;
use crate::collections::Service as Collections;
use crate::config::Settings;
use crate::constants::{
    CHANGE_LOG_MAX_AGE_DAYS, CHANGE_LOG_MAX_ROWS, CHECKPOINT_INTERVAL_SECS,
    MAINTENANCE_INTERVAL_SECS,
};
use crate::db::Database;
use crate::functions::{Executor, FunctionRegistry, calls};
use crate::scheduling::Scheduler;
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
}

impl App {
    /// An app with these settings.
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    /// An app configured like the CLI: defaults < `config` (or `./tinybase.toml`) < env.
    ///
    /// # Errors
    /// A configuration error naming the bad key and where it came from.
    pub fn from_config(config: Option<&Path>) -> Result<Self> {
        let settings = Settings::load(config).map_err(Error::internal)?;
        Ok(Self::new(settings))
    }

    /// The settings so far.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Changes settings before building.
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Validates the settings and opens (creating and migrating) the database.
    ///
    /// # Errors
    /// A bad setting, or a database that cannot be opened or migrated.
    pub async fn build(self) -> Result<Tinybase> {
        self.settings.validate().map_err(Error::internal)?;
        let path = self.settings.database.path().map_err(Error::internal)?;
        let db = tokio::task::spawn_blocking(move || Database::open(&path)).await??;
        let collections = Collections::load(db.clone()).await?;
        let registry = FunctionRegistry::collect()?;
        let interrupted = calls::fail_interrupted(&db).await?;
        Scheduler::release_stale_claims(&db).await?;
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
        Ok(Tinybase {
            state: AppState::new(db, self.settings, collections, functions),
        })
    }
}

/// A ready server: database open, settings checked.
#[derive(Clone)]
pub struct Tinybase {
    state: AppState,
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
            self.state.settings.functions.call_retention_days,
        )
        .await;
    }

    /// The complete HTTP router, without binding a port.
    pub fn router(&self) -> Router {
        api::router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight requests
    /// finish. Also runs periodic maintenance (expired-token pruning) while serving.
    /// Clients too slow to send a request are cut off (the `server.*_timeout_seconds`
    /// settings).
    ///
    /// # Errors
    /// None at present: accept errors are logged and retried. The `Result` leaves room.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let router = self.router();
        let maintenance = tokio::spawn(maintain(
            self.state.db.clone(),
            self.state.settings.functions.call_retention_days,
        ));
        let checkpoints = tokio::spawn(checkpoint_regularly(self.state.db.clone()));
        let realtime = self.state.realtime.start();
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
                self.state.scheduler.clone(),
                Duration::from_secs(self.state.settings.scheduler.interval_seconds),
            );
            tokio::spawn(scheduler.run(stopped))
        });
        api::serve::serve(listener, router, &self.state.settings.server, shutdown).await;
        // Stop starting scheduled runs; let those in progress finish.
        let _ = stop.send(true);
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        maintenance.abort();
        checkpoints.abort();
        realtime.abort();
        Ok(())
    }
}

/// Periodic housekeeping while the server runs: a pass at start, then hourly.
async fn maintain(db: Database, call_retention_days: u32) {
    let mut every = tokio::time::interval(Duration::from_secs(MAINTENANCE_INTERVAL_SECS));
    loop {
        every.tick().await;
        maintenance_pass(&db, call_retention_days).await;
    }
}

/// One housekeeping pass: expired tokens, old call records and old change-log entries go,
/// and the query planner's statistics follow the data as it grows.
async fn maintenance_pass(db: &Database, call_retention_days: u32) {
    match sessions::prune_expired(db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "pruned expired tokens"),
        Err(err) => tracing::warn!(%err, "could not prune expired tokens"),
    }
    if call_retention_days > 0 {
        match calls::prune_older_than(db, call_retention_days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "pruned old function calls"),
            Err(err) => tracing::warn!(%err, "could not prune old function calls"),
        }
    }
    match changes::prune(db, CHANGE_LOG_MAX_AGE_DAYS, CHANGE_LOG_MAX_ROWS).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "pruned old entries of the change log"),
        Err(err) => tracing::warn!(%err, "could not prune the change log"),
    }
    if let Err(err) = db.optimize().await {
        tracing::warn!(%err, "could not refresh query statistics");
    }
}

/// Truncates the write-ahead log regularly so it stays small under sustained writes.
async fn checkpoint_regularly(db: Database) {
    let mut every = tokio::time::interval(Duration::from_secs(CHECKPOINT_INTERVAL_SECS));
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(err) = db.checkpoint().await {
            tracing::warn!(%err, "could not checkpoint the write-ahead log");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM: the usual way to ask a server to stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
