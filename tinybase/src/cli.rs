//! The command line: `init`, `serve`, `admin create`, `backup`, `restore`, `replication`. Every TinyBase app binary — the
//! stock `tinybase` one and each user's own — gets these commands from [`run`].

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::auth::users::{self, EnsureAdmin, Users};
use crate::config::{DEFAULT_CONFIG_FILE, Settings, StorageBackend};
use crate::constants::{ADMIN_PATH, DOCS_PATH, OPENAPI_PATH};
use crate::{App, Error, Result, Tinybase, scaffold, shutdown_signal};

/// The commented configuration file `init` writes.
const CONFIG_TEMPLATE: &str = include_str!("../templates/tinybase.toml");

#[derive(Debug, Parser)]
#[command(
    version,
    about = "A TinyBase backend: auth, collections, functions, schedules and an admin UI."
)]
struct Cli {
    /// Configuration file (default: ./tinybase.toml when it exists).
    #[arg(long, global = true, value_name = "PATH", env = "TINYBASE_CONFIG")]
    config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write tinybase.toml if missing, create the database and the first admin.
    Init,
    /// Serve the API, the docs and the admin UI.
    Serve(ServeArgs),
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write a consistent copy of the database to PATH (safe while a server runs).
    Backup {
        /// Where to write the copy; must not exist.
        path: PathBuf,
        /// Also copy the uploaded files (local storage) into PATH.files, after the
        /// database, so every file the copy refers to is in it.
        #[arg(long)]
        with_files: bool,
    },
    /// Replace the database with the backup at PATH, or with the replica (refused while a
    /// server runs on it).
    Restore(RestoreArgs),
    /// Continuous replication with Litestream.
    Replication {
        #[command(subcommand)]
        command: ReplicationCommand,
    },
    /// Add code to this app from a template.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
}

#[derive(Debug, Subcommand)]
enum NewCommand {
    /// A function: writes src/functions/NAME.rs and wires its `mod` lines.
    #[command(name = "fn")]
    Function {
        /// The function's name, e.g. add_numbers.
        name: String,
        /// Its description, written as its doc comment (shown in the API docs).
        #[arg(short, long)]
        description: Option<String>,
    },
    /// A collection declared in code: writes src/collections/NAME.rs (a struct deriving
    /// tinybase::Collection) and wires its `mod` lines.
    Collection {
        /// The collection's name, e.g. posts.
        name: String,
    },
    /// A record hook: writes src/hooks/NAME.rs (a before_create hook) and wires its
    /// `mod` lines.
    Hook {
        /// The hook's name, e.g. fill_slug.
        name: String,
        /// The collection it watches.
        #[arg(short, long, default_value = "posts")]
        collection: String,
    },
}

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Address to listen on (overrides server.host).
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (overrides server.port; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Run a read replica: follow `replication.url` into `database.url`, serve reads and
    /// realtime, forward writes, sign-ins and function calls to `replication.primary_url`.
    #[arg(long)]
    replica: bool,
}

#[derive(Debug, clap::Args)]
struct RestoreArgs {
    /// The backup to restore.
    #[arg(
        required_unless_present = "from_replica",
        conflicts_with = "from_replica"
    )]
    path: Option<PathBuf>,
    /// Restore from the replica in `[replication]` instead of a backup file.
    #[arg(long)]
    from_replica: bool,
    /// With --from-replica: the database as it was at this time (RFC 3339, e.g.
    /// 2026-12-06T22:43:50Z) rather than the latest.
    #[arg(long, requires = "from_replica", value_name = "RFC3339")]
    timestamp: Option<String>,
}

#[derive(Debug, Subcommand)]
enum ReplicationCommand {
    /// Show the last sync and how far the replica is behind.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin, or promote an existing user to admin.
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
        /// Password for a new account (prompted for when omitted on a terminal).
        #[arg(long)]
        password: Option<String>,
    },
}

/// Runs the command line of a TinyBase app and returns its exit code.
///
/// With no command it serves. Errors are printed to stderr and give exit code 1.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> Result<()> {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    // Scaffolding edits source files only: no settings, no database.
    if let Command::New {
        what: NewCommand::Function { name, description },
    } = &command
    {
        return new_function(name, description.as_deref());
    }
    if let Command::New {
        what: NewCommand::Hook { name, collection },
    } = &command
    {
        return new_hook(name, collection);
    }
    if let Command::New {
        what: NewCommand::Collection { name },
    } = &command
    {
        return new_collection(name);
    }
    if matches!(command, Command::Init) {
        write_config_if_missing(cli.config.as_deref())?;
    }
    let mut settings = Settings::load(cli.config.as_deref()).map_err(Error::internal)?;
    // Restoring replaces the file: it must not open the database (and its lock) first.
    if let Command::Restore(RestoreArgs {
        path: Some(path), ..
    }) = &command
    {
        let target = settings.database.path().map_err(Error::internal)?;
        crate::db::restore(&target, path)?;
        println!("restored {} from {}", target.display(), path.display());
        return Ok(());
    }
    if let Command::Serve(args) = &command {
        if let Some(host) = &args.host {
            settings.server.host.clone_from(host);
        }
        if let Some(port) = args.port {
            settings.server.port = port;
        }
    }
    init_logging(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Neither opens the database: a restore replaces it, and the status reads
        // Litestream's files, so both work beside a running server or without one.
        match &command {
            Command::Restore(args) => return restore_from_replica(&settings, args).await,
            Command::Replication {
                command: ReplicationCommand::Status { json },
            } => return replication_status(&settings, *json).await,
            _ => {}
        }
        let replica = matches!(&command, Command::Serve(args) if args.replica);
        if matches!(command, Command::Serve(_)) && settings.replication.enabled() {
            let db = settings.database.path().map_err(Error::internal)?;
            let version = crate::replication::preflight(&settings.replication, &db).await?;
            tracing::info!(%version, "Litestream is ready");
        }
        let app = if replica {
            App::new(settings).read_replica().build().await?
        } else {
            App::new(settings).build().await?
        };
        match command {
            Command::Init => init(&app).await,
            Command::Serve(_) => serve(app).await,
            Command::Admin {
                command: AdminCommand::Create { email, password },
            } => admin_create(&app, &email, password).await,
            Command::Backup { path, with_files } => backup(&app, &path, with_files).await,
            Command::New { .. } | Command::Restore(_) | Command::Replication { .. } => Ok(()),
        }
    })
}

/// `backup PATH [--with-files]`: the database, then (asked for, local storage only) the
/// files, or else a line saying where the files are and how to keep them.
async fn backup(app: &Tinybase, path: &Path, with_files: bool) -> Result<()> {
    let settings = &app.settings().storage;
    if with_files && settings.backend == StorageBackend::S3 {
        // Checked before writing anything, so a refused backup leaves nothing behind.
        return Err(Error::bad_request(
            "--with-files copies local storage only; files in S3 are kept by the bucket: \
             turn on its versioning or replication",
        ));
    }
    let files_target = files_backup_path(path);
    if with_files && files_target.exists() {
        return Err(Error::conflict(format!(
            "{} already exists",
            files_target.display()
        )));
    }
    app.database().backup_to(path).await?;
    println!("backup: wrote {}", path.display());
    let database = app.settings().database.path().map_err(Error::internal)?;
    let folder = crate::storage::local_folder(settings, &database);
    match settings.backend {
        StorageBackend::S3 => println!(
            "files: not copied; they stay in the S3 bucket {} (keep them with its versioning or replication)",
            settings.s3_bucket.as_deref().unwrap_or_default()
        ),
        StorageBackend::Local if with_files => {
            let target = files_target.clone();
            let copied = tokio::task::spawn_blocking(move || {
                crate::storage::copy::copy_folder(&folder, &target)
            })
            .await??;
            println!(
                "files: copied {} files ({} bytes) to {}",
                copied.files,
                copied.bytes,
                files_target.display()
            );
        }
        StorageBackend::Local => println!(
            "files: not copied; copy {} after this backup, or run backup with --with-files",
            folder.display()
        ),
    }
    Ok(())
}

/// Where `backup PATH --with-files` puts the files: `PATH.files` beside the copy.
fn files_backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".files");
    PathBuf::from(name)
}

async fn restore_from_replica(settings: &Settings, args: &RestoreArgs) -> Result<()> {
    let target = settings.database.path().map_err(Error::internal)?;
    crate::replication::restore_from_replica(
        &settings.replication,
        &target,
        args.timestamp.as_deref(),
    )
    .await?;
    match &args.timestamp {
        Some(at) => println!("restored {} from the replica as of {at}", target.display()),
        None => println!("restored {} from the replica", target.display()),
    }
    Ok(())
}

async fn replication_status(settings: &Settings, json: bool) -> Result<()> {
    let db = settings.database.path().map_err(Error::internal)?;
    let status = crate::replication::status(&settings.replication, &db).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status.to_text());
    }
    Ok(())
}

fn new_function(name: &str, description: Option<&str>) -> Result<()> {
    let root = std::env::current_dir()?;
    let plan = scaffold::plan_function(&root, name, description)?;
    scaffold::write_plan(&root, &plan)?;
    for file in &plan {
        let verb = if file.existed { "updated" } else { "created" };
        println!("{verb} {}", file.path.display());
    }
    println!(
        "next: edit src/functions/{name}.rs, then `cargo run -- serve` and POST /api/functions/{name}"
    );
    Ok(())
}

fn new_hook(name: &str, collection: &str) -> Result<()> {
    let root = std::env::current_dir()?;
    let plan = scaffold::plan_hook(&root, name, collection)?;
    scaffold::write_plan(&root, &plan)?;
    for file in &plan {
        let verb = if file.existed { "updated" } else { "created" };
        println!("{verb} {}", file.path.display());
    }
    println!(
        "next: edit src/hooks/{name}.rs, then `cargo run -- serve`; GET /api/admin/hooks lists it"
    );
    Ok(())
}

fn new_collection(name: &str) -> Result<()> {
    let root = std::env::current_dir()?;
    let plan = scaffold::plan_collection(&root, name)?;
    scaffold::write_plan(&root, &plan)?;
    for file in &plan {
        let verb = if file.existed { "updated" } else { "created" };
        println!("{verb} {}", file.path.display());
    }
    println!(
        "next: edit src/collections/{name}.rs, then `cargo run -- serve`: the collection is \
         created at start"
    );
    Ok(())
}

fn init_logging(settings: &Settings) {
    // RUST_LOG, when set, wins: it is the usual way to debug one module.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(log_directives(&settings.server.log_level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(settings.server.debug);
    // Another subscriber may already be set (e.g. by an embedding app): keep it.
    let _ = if settings.server.debug {
        builder.pretty().try_init()
    } else {
        builder.compact().try_init()
    };
}

/// The log filter for `server.log_level`. The access log (one line per request, from
/// tower-http at `info`) follows the level like everything else, so `warn` turns it off;
/// at `debug` and `trace` tower-http stays at `info`, because its own debug output is
/// about HTTP plumbing, not the app.
fn log_directives(level: &str) -> String {
    match level {
        "debug" | "trace" => format!("{level},tower_http=info"),
        other => other.to_owned(),
    }
}

fn write_config_if_missing(config: Option<&Path>) -> Result<()> {
    let path = config.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
    if path.exists() {
        println!("config: {} (kept as it is)", path.display());
        return Ok(());
    }
    std::fs::write(path, CONFIG_TEMPLATE)
        .map_err(|err| Error::internal(format!("cannot write {}: {err}", path.display())))?;
    println!("config: wrote {}", path.display());
    Ok(())
}

async fn init(app: &Tinybase) -> Result<()> {
    println!("database: {} (ready)", app.database().path().display());
    let settings = app.settings();
    if let (Some(email), Some(password)) = (&settings.admin.email, &settings.admin.password) {
        report_admin(
            email,
            Users::new(app.database().clone())
                .ensure_admin(email, password)
                .await?,
        );
    } else if Users::new(app.database().clone()).count_admins().await? > 0 {
        println!("admin: an admin already exists");
    } else if std::io::stdin().is_terminal() {
        let email = prompt("admin email: ")?;
        let password = prompt_new_password()?;
        report_admin(
            &email,
            Users::new(app.database().clone())
                .ensure_admin(&email, &password)
                .await?,
        );
    } else {
        println!("admin: none yet; {}", HOW_TO_CREATE_ADMIN);
    }
    println!("next: run `serve` and open the admin UI");
    Ok(())
}

const HOW_TO_CREATE_ADMIN: &str = "create one with `admin create --email you@example.com` or set \
     TINYBASE_ADMIN_EMAIL and TINYBASE_ADMIN_PASSWORD";

async fn serve(app: Tinybase) -> Result<()> {
    let settings = app.settings().clone();
    if app.is_replica() {
        // Admins are the primary's to create.
    } else if let (Some(email), Some(password)) = (&settings.admin.email, &settings.admin.password)
    {
        match Users::new(app.database().clone())
            .ensure_admin(email, password)
            .await?
        {
            EnsureAdmin::AlreadyAdmin => {}
            outcome => tracing::info!(%email, ?outcome, "admin from settings"),
        }
    } else if Users::new(app.database().clone()).count_admins().await? == 0 {
        tracing::warn!("there is no admin yet: {HOW_TO_CREATE_ADMIN}");
    }
    // Caught from here on: once "listening" is logged, a stop request must be honoured.
    let shutdown = shutdown_signal();
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let listener = TcpListener::bind(&address)
        .await
        .map_err(|err| Error::internal(format!("cannot listen on {address}: {err}")))?;
    let local = listener.local_addr()?;
    let base = format!("http://{local}");
    tracing::info!(
        api = %format!("{base}/api"),
        docs = %format!("{base}{DOCS_PATH}"),
        openapi = %format!("{base}{OPENAPI_PATH}"),
        admin = %format!("{base}{ADMIN_PATH}"),
        database = %app.database().path().display(),
        replica = app.is_replica(),
        "TinyBase {} listening on {base}",
        env!("CARGO_PKG_VERSION"),
    );
    app.serve(listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn admin_create(app: &Tinybase, email: &str, password: Option<String>) -> Result<()> {
    let password = match password {
        Some(password) => password,
        None if std::io::stdin().is_terminal() => prompt_new_password()?,
        // Promoting an existing user needs no password; creating one will say it is missing.
        None => String::new(),
    };
    report_admin(
        email,
        Users::new(app.database().clone())
            .ensure_admin(email, &password)
            .await?,
    );
    Ok(())
}

fn report_admin(email: &str, outcome: EnsureAdmin) {
    let email = users::normalize_email(email);
    match outcome {
        EnsureAdmin::Created => println!("admin: created {email}"),
        EnsureAdmin::Promoted => println!("admin: promoted {email} to admin"),
        EnsureAdmin::AlreadyAdmin => println!("admin: {email} is already an admin"),
    }
}

fn prompt(label: &str) -> Result<String> {
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn prompt_new_password() -> Result<String> {
    let first = rpassword::prompt_password("admin password: ")?;
    let second = rpassword::prompt_password("repeat password: ")?;
    if first != second {
        return Err(Error::bad_request("the passwords do not match"));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn the_access_log_follows_the_log_level() {
        let most_verbose = |level: &str| EnvFilter::new(log_directives(level)).max_level_hint();
        // `warn` hides the access log (tower-http's info lines) like every other info line.
        assert_eq!(most_verbose("warn"), Some(LevelFilter::WARN));
        assert_eq!(most_verbose("error"), Some(LevelFilter::ERROR));
        assert_eq!(most_verbose("off"), Some(LevelFilter::OFF));
        assert_eq!(most_verbose("info"), Some(LevelFilter::INFO));
        assert_eq!(most_verbose("debug"), Some(LevelFilter::DEBUG));
        // More verbose levels keep tower-http's own chatter out.
        assert_eq!(log_directives("trace"), "trace,tower_http=info");
    }
}
