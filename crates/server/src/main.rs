//! `centredesk-server`: head office's sync server and its admin commands.
//!
//! `centredesk-server --data DIR` serves on 127.0.0.1:8787 with an SQLite file in DIR.
//! TLS: `serve --tls-cert cert.pem --tls-key key.pem`, or plain HTTP behind a reverse
//! proxy that terminates it (see README).

use centredesk_server::auth::hash_password;
use centredesk_server::store::Role;
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
    /// Use PostgreSQL instead of the SQLite file: `postgres://user:pass@host/db`, with
    /// `?sslmode=disable|prefer|require` (default prefer; require checks the certificate).
    #[arg(long, global = true, env = "CENTREDESK_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// With `sslmode=require`: the CA (PEM) that issued PostgreSQL's certificate, instead
    /// of the public CAs.
    #[arg(long, global = true, env = "CENTREDESK_DATABASE_CA")]
    database_ca: Option<PathBuf>,
    /// Run as if the time were this instant (RFC 3339), the clock then running on at the
    /// real rate: for tests of a given day. Only this option sets it.
    #[arg(long, global = true)]
    clock: Option<String>,
    /// The address of a reverse proxy in front of this server (repeat, or comma-separated
    /// in the variable). Its requests are rate-limited by the client address it puts in
    /// X-Forwarded-For, and the portal's cookies are Secure (the proxy terminates TLS).
    /// Without it X-Forwarded-For is ignored.
    #[arg(long = "trusted-proxy", global = true, env = "CENTREDESK_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
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
    /// Head-office accounts: administrators (every centre) and centres' accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Centres (each device registers for one).
    #[command(subcommand)]
    Centre(CentreCommand),
    /// Registered devices (centre desks).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Benchmarks with their own generators (a temporary store; `--data` is not touched).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The parents' child page with this many families published and signed in.
    Portal {
        #[arg(long, default_value_t = 10_000)]
        families: usize,
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account: a head-office administrator, or with --centre a centre's account
    /// (registers that centre's desks and reads that centre only). The password is read
    /// from CENTREDESK_SERVER_PASSWORD or the first line of stdin.
    Add {
        username: String,
        /// The centre (its code) this account belongs to.
        #[arg(long)]
        centre: Option<String>,
    },
    /// List the accounts and what each may reach.
    List,
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// List registered devices (every centre's, or one's).
    List {
        #[arg(long)]
        centre: Option<String>,
    },
    /// Revoke a device: its token is refused from its next push on (the desk must be
    /// registered again).
    Revoke { id: i64 },
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
    if let Some(Command::Bench(BenchCommand::Portal { families, requests })) = &cli.command {
        return centredesk_server::bench::portal((*families).max(1), (*requests).max(4));
    }
    if let Some(text) = &cli.clock {
        let at = chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|e| format!("--clock wants an RFC 3339 instant ({text:?}: {e})"))?;
        centredesk_server::clock::start_at(at.with_timezone(&chrono::Utc));
    }
    let (store, where_): (Arc<dyn Store>, String) = match &cli.database_url {
        Some(url) => {
            let pg = PgStore::connect_with(url, cli.database_ca.as_deref())?;
            let tls = if pg.encrypted()? { "TLS" } else { "not encrypted" };
            (Arc::new(pg), format!("PostgreSQL ({tls})"))
        }
        None => (Arc::new(SqliteStore::open_dir(&cli.data)?), cli.data.display().to_string()),
    };
    let listen_default = std::env::var("CENTREDESK_SERVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let tls_from_env = (std::env::var_os("CENTREDESK_TLS_CERT").map(PathBuf::from), std::env::var_os("CENTREDESK_TLS_KEY").map(PathBuf::from));
    let trusted_proxies = cli.trusted_proxies.clone();
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
                        let behind_proxy = !trusted_proxies.is_empty();
                        let options = centredesk_server::Options { trusted_proxies, secure_cookies: behind_proxy, ..Default::default() };
                        centredesk_server::serve_with(listener, centredesk_server::router_with(store, options), shutdown).await
                    }
                }
            })?;
        }
        // Run above, before the store under --data is opened.
        Command::Bench(_) => {}
        Command::User(UserCommand::Add { username, centre }) => {
            let centre_id = match &centre {
                Some(code) => Some(store.centre_id(code)?.ok_or_else(|| format!("there is no centre {code} (add it first: centre add {code} --name …)"))?),
                None => None,
            };
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
            store.add_account(&username, &hash_password(&password), centre_id)?;
            match &centre {
                Some(code) => println!("user {username} added (centre {code}'s account)"),
                None => println!("user {username} added (head-office administrator)"),
            }
        }
        Command::User(UserCommand::List) => {
            for u in store.users()? {
                let role = match u.role {
                    Role::Admin => "administrator".to_string(),
                    Role::Centre { code, .. } => format!("centre {code}"),
                    Role::None => "no access".to_string(),
                };
                println!("{}\t{role}", u.username);
            }
        }
        Command::Device(DeviceCommand::List { centre }) => {
            let centre_id = match &centre {
                Some(code) => Some(store.centre_id(code)?.ok_or_else(|| format!("there is no centre {code}"))?),
                None => None,
            };
            for d in store.devices(centre_id)? {
                let state = match &d.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{}\tby {}\tregistered {}\tlast push {}\tacked {}\t{state}",
                    d.id,
                    d.centre,
                    d.name,
                    d.registered_by.unwrap_or_default(),
                    d.registered_at,
                    d.last_push_at.unwrap_or_default(),
                    d.acked_through_seq
                );
            }
        }
        Command::Device(DeviceCommand::Revoke { id }) => {
            let d = store.revoke_device(id, None)?.ok_or_else(|| format!("there is no device {id}"))?;
            println!("device {id} ({}, centre {}) revoked at {}", d.name, d.centre, d.revoked_at.unwrap_or_default());
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
