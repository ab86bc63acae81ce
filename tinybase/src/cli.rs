//! The command line: `init`, `serve` and `admin create`. Every TinyBase app binary — the
//! stock `tinybase` one and each user's own — gets these commands from [`run`].

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::auth::users::{self, EnsureAdmin};
use crate::config::{DEFAULT_CONFIG_FILE, Settings};
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
    },
    /// Replace the database with the backup at PATH (refused while a server runs on it).
    Restore {
        /// The backup to restore.
        path: PathBuf,
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
}

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Address to listen on (overrides server.host).
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (overrides server.port; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
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
    if matches!(command, Command::Init) {
        write_config_if_missing(cli.config.as_deref())?;
    }
    let mut settings = Settings::load(cli.config.as_deref()).map_err(Error::internal)?;
    // Restoring replaces the file: it must not open the database (and its lock) first.
    if let Command::Restore { path } = &command {
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
        let app = App::new(settings).build().await?;
        match command {
            Command::Init => init(&app).await,
            Command::Serve(_) => serve(app).await,
            Command::Admin {
                command: AdminCommand::Create { email, password },
            } => admin_create(&app, &email, password).await,
            Command::Backup { path } => {
                app.database().backup_to(&path).await?;
                println!("backup: wrote {}", path.display());
                Ok(())
            }
            Command::New { .. } | Command::Restore { .. } => Ok(()),
        }
    })
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

fn init_logging(settings: &Settings) {
    // RUST_LOG, when set, wins: it is the usual way to debug one module.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{},tower_http=info", settings.server.log_level))
    });
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
            users::ensure_admin(app.database(), email, password).await?,
        );
    } else if users::count_admins(app.database()).await? > 0 {
        println!("admin: an admin already exists");
    } else if std::io::stdin().is_terminal() {
        let email = prompt("admin email: ")?;
        let password = prompt_new_password()?;
        report_admin(
            &email,
            users::ensure_admin(app.database(), &email, &password).await?,
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
    if let (Some(email), Some(password)) = (&settings.admin.email, &settings.admin.password) {
        match users::ensure_admin(app.database(), email, password).await? {
            EnsureAdmin::AlreadyAdmin => {}
            outcome => tracing::info!(%email, ?outcome, "admin from settings"),
        }
    } else if users::count_admins(app.database()).await? == 0 {
        tracing::warn!("there is no admin yet: {HOW_TO_CREATE_ADMIN}");
    }
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
        "TinyBase {} listening on {base}",
        env!("CARGO_PKG_VERSION"),
    );
    app.serve(listener, shutdown_signal()).await?;
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
        users::ensure_admin(app.database(), email, &password).await?,
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
