//! `centredesk-server`: head office's sync server and its admin commands.
//!
//! `centredesk-server --data DIR` serves on 127.0.0.1:8787 with an SQLite file in DIR.
//! TLS: `serve --tls-cert cert.pem --tls-key key.pem`, or plain HTTP behind a reverse
//! proxy that terminates it (see README).

use centredesk_server::auth::hash_password;
use centredesk_server::{PgStore, SqliteStore, Store};
use clap::{Parser, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "centredesk-server", version, about = "CentreDesk head-office sync server")]
struct Cli {
    /// Data directory (the SQLite store lives in DIR/centredesk-server.db).
    #[arg(long, global = true, env = "CENTREDESK_SERVER_DATA", default_value = "centredesk-server-data")]
    data: PathBuf,
    /// Use PostgreSQL instead of the SQLite file: `postgres://user:pass@host/db`.
    #[arg(long, global = true, env = "CENTREDESK_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Run as if the time were this instant (RFC 3339), the clock then running on at the
    /// real rate: for tests of a given day. Only this option sets it.
    #[arg(long, global = true)]
    clock: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync protocol and head office's reads (the default).
    Serve {
        #[arg(long, env = "CENTREDESK_SERVER_LISTEN", default_value = "127.0.0.1:8787")]
        listen: String,
        /// HTTPS: the certificate chain (PEM). Without it, plain HTTP for a reverse proxy.
        #[arg(long, env = "CENTREDESK_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// HTTPS: the certificate's private key (PEM).
        #[arg(long, env = "CENTREDESK_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Head-office users (they register centre devices and read the consolidated data).
    #[command(subcommand)]
    User(UserCommand),
    /// Centres (each device registers for one).
    #[command(subcommand)]
    Centre(CentreCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from CENTREDESK_SERVER_PASSWORD or the first line of stdin.
    Add { username: String },
}

#[derive(Subcommand)]
enum CentreCommand {
    /// Add a centre by its short code (what the desk types when registering).
    Add {
        code: String,
        #[arg(long)]
        name: String,
    },
    /// List centres with their last push.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(text) = &cli.clock {
        let at = chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|e| format!("--clock wants an RFC 3339 instant ({text:?}: {e})"))?;
        centredesk_server::clock::start_at(at.with_timezone(&chrono::Utc));
    }
    let (store, where_): (Arc<dyn Store>, String) = match &cli.database_url {
        Some(url) => (Arc::new(PgStore::connect(url)?), "PostgreSQL".into()),
        None => (Arc::new(SqliteStore::open_dir(&cli.data)?), cli.data.display().to_string()),
    };
    let listen_default = std::env::var("CENTREDESK_SERVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let tls_from_env = (std::env::var_os("CENTREDESK_TLS_CERT").map(PathBuf::from), std::env::var_os("CENTREDESK_TLS_KEY").map(PathBuf::from));
    match cli.command.unwrap_or(Command::Serve { listen: listen_default, tls_cert: tls_from_env.0, tls_key: tls_from_env.1 }) {
        Command::Serve { listen, tls_cert, tls_key } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                match (tls_cert, tls_key) {
                    (Some(cert), Some(key)) => {
                        let listener = std::net::TcpListener::bind(&listen)?;
                        eprintln!("centredesk-server: data {where_} · listening on https://{}", listener.local_addr()?);
                        centredesk_server::http::serve_tls(listener, store, cert, key, shutdown).await
                    }
                    _ => {
                        let listener = tokio::net::TcpListener::bind(&listen).await?;
                        eprintln!("centredesk-server: data {where_} · listening on http://{}", listener.local_addr()?);
                        centredesk_server::serve(listener, store, shutdown).await
                    }
                }
            })?;
        }
        Command::User(UserCommand::Add { username }) => {
            let password = match std::env::var("CENTREDESK_SERVER_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            if password.chars().count() < 8 {
                return Err("the password needs at least 8 characters".into());
            }
            store.add_user(&username, &hash_password(&password))?;
            println!("user {username} added");
        }
        Command::Centre(CentreCommand::Add { code, name }) => {
            store.add_centre(&code, &name)?;
            println!("centre {code} ({name}) added");
        }
        Command::Centre(CentreCommand::List) => {
            for c in store.centres()? {
                println!("{}\t{}\tdevices {}\tacked {}\tlast push {}", c.code, c.name, c.devices, c.acked_through_seq, c.last_push_at.unwrap_or_default());
            }
        }
    }
    Ok(())
}
