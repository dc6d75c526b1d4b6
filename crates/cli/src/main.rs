//! `centredesk`: the command line over the same core as the app (same database file).

mod bench;
mod bench_centre;
mod bench_export;
mod bench_phone;
mod bench_portal;
mod bench_reports;
mod bench_rollcall;
mod bench_roster;
mod crash;

use centredesk_core::members::{GuardianInput, MemberApplication, MemberApproval};
use centredesk_core::export::ExportRequest;
use centredesk_core::import::{ColumnMapping, ImportField, ImportKind, ImportPreview, RowStatus};
use centredesk_core::print::WeekLayout;
use centredesk_core::error::{Field, Rule};
use centredesk_core::{Core, CoreError, Lang, Session};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "centredesk", version, about = "CentreDesk front-desk CRM — command line")]
struct Cli {
    /// Database file (default: CENTREDESK_DB, else the OS data directory).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Language of messages: zh-CN or en.
    #[arg(long, global = true, default_value = "zh-CN")]
    lang: String,
    /// Staff username for commands that act on the centre's data.
    #[arg(long, global = true, env = "CENTREDESK_USER")]
    user: Option<String>,
    /// That staff member's password.
    #[arg(long, global = true, env = "CENTREDESK_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Run as if the time were this instant (RFC 3339, e.g. 2026-12-02T19:30:00Z), the
    /// clock then running on at the real rate: for tests and demos of a given day.
    #[arg(long, global = true)]
    clock: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new centre with its manager account.
    Init {
        #[arg(long)]
        centre: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
    },
    /// Create a demo centre (a year of history) in a new database.
    Demo {
        #[arg(long, default_value_t = 300)]
        members: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The history runs through the whole of this day (default: it ends now, or at
        /// --clock; nothing is ever written after that instant).
        #[arg(long)]
        today: Option<String>,
    },
    /// Check the database's invariants (member status vs contracts, leave vs marks,
    /// lessons, stock, the change log, arrears, the report caches); exit 1 on findings.
    /// Needs no login: support runs it on a file a centre sent.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The desk's hourly upkeep once: member statuses for contracts that ended, tiers.
    Upkeep,
    /// Members: add, find, show.
    #[command(subcommand)]
    Member(MemberCommand),
    /// The latest change-log entries (the audit trail and sync outbox).
    Log {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Dated class sessions in a range (their ids are what `print roster` takes).
    Sessions {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Export a list as CSV for Excel (UTF-8 with BOM): members, leads, contracts,
    /// payments or attendance. For scheduled exports to head office or the accountant.
    Export {
        list: String,
        #[arg(long, default_value = "")]
        from: String,
        #[arg(long, default_value = "")]
        to: String,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Leave out the BOM (for scripts rather than Excel).
        #[arg(long)]
        no_bom: bool,
        /// Machine column names instead of the language's.
        #[arg(long)]
        machine_headers: bool,
    },
    /// Import members (with guardians) or leads from a CSV file (UTF-8 or GB18030 as
    /// Chinese Excel saves it). Shows what each row would do; --commit imports.
    Import {
        /// members or leads
        kind: String,
        file: PathBuf,
        /// Import the accepted rows (all in one transaction); without it nothing is written.
        #[arg(long)]
        commit: bool,
        /// Map a column (1-based) to a field, overriding the guess: `--map 3=phone`,
        /// `--map 5=` to ignore column 5. Fields: name, gender, birthday, guardian_name,
        /// relation, phone, wechat, school, course_interest, notes, contact_name, source,
        /// needs, next_follow_up.
        #[arg(long = "map")]
        map: Vec<String>,
        /// The whole report as JSON (what the app shows), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Print sheets to PDF files, as the app's print buttons do.
    #[command(subcommand)]
    Print(PrintCommand),
    /// Benchmarks (figures for the README's performance section).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The crash test's child: payments and roll calls until killed (scripts/crash-test.sh).
    #[command(hide = true)]
    CrashChild {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1_000_000)]
        iterations: usize,
    },
    /// The crash test's check of a database against the children's journal.
    #[command(hide = true)]
    CrashVerify {
        #[arg(long)]
        journal: PathBuf,
        /// Look up payments from this line of the journal on.
        #[arg(long, default_value_t = 0)]
        since_line: usize,
    },
    /// The coach's phone server over this database (what Settings → 手机点名 starts in
    /// the desk app), until killed: prints its address and a pairing code opened as
    /// --user (a manager). For trying the phone pages and for the end-to-end tests.
    PhoneServe {
        /// The address to listen on; the desk app's default port is 8765.
        #[arg(long, default_value = "127.0.0.1:8765")]
        listen: std::net::SocketAddr,
        /// Serve HTTPS with the desk's own certificate, kept in (or made into) this
        /// folder; its fingerprint is printed on the third line.
        #[arg(long)]
        https: Option<std::path::PathBuf>,
    },
    /// Head-office sync: register this desk, push now, show where it stands.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// The parents' portal 家长端 on the head-office server: turn it on, invite a
    /// guardian, run one round (push, apply the inbox, publish).
    #[command(subcommand)]
    Portal(PortalCommand),
    /// Notices to parents: channels, the automatic reminders, delivery, the outbox.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Member tiers: the evaluation the app runs every hour, the table, one member's tier.
    #[command(subcommand)]
    Tiers(TiersCommand),
}

#[derive(Subcommand)]
enum TiersCommand {
    /// Re-evaluate every member now (what the app's hourly run does); writes only changes.
    Evaluate,
    /// The tier table as JSON.
    Config,
    /// One member's tier and their total in the current period, as JSON.
    Show { member_id: String },
}

#[derive(Subcommand)]
enum NotifyCommand {
    /// Set the delivery channels (a manager). Without options: show them (secrets blanked).
    Channels {
        #[arg(long)]
        smtp_host: Option<String>,
        #[arg(long, default_value_t = 465)]
        smtp_port: u16,
        /// tls, starttls or none.
        #[arg(long, default_value = "tls")]
        smtp_security: String,
        #[arg(long, default_value = "")]
        smtp_user: String,
        #[arg(long, env = "CENTREDESK_SMTP_PASSWORD", hide_env_values = true, default_value = "")]
        smtp_password: String,
        #[arg(long, default_value = "")]
        smtp_from: String,
        #[arg(long)]
        webhook_url: Option<String>,
        #[arg(long, env = "CENTREDESK_WEBHOOK_SECRET", hide_env_values = true, default_value = "")]
        webhook_secret: String,
    },
    /// Queue the renewal reminders and birthday greetings due today.
    Scan,
    /// One delivery round: send every due notice (what the app does each minute).
    Deliver,
    /// The outbox as JSON, newest first (optionally one status: queued, sent, failed).
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Send a notice again.
    Resend { id: String },
}

#[derive(Subcommand)]
enum PortalCommand {
    /// Turn the portal on or off (a manager); prints the settings as JSON.
    Enable {
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        on: bool,
    },
    /// A single-use invite for the guardian with this phone number (or id): prints the
    /// token, its expiry and the link's path on the head-office server.
    Invite { guardian: String },
    /// One portal round: push, take in the inbox (waiting up to --wait seconds for a
    /// first request), apply it, push the answers, publish the documents.
    Sync {
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Every document this desk would publish now, as JSON.
    Documents,
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Register with the head-office server (a manager; the head-office password comes
    /// from CENTREDESK_HO_PASSWORD) and turn sync on.
    Register {
        #[arg(long)]
        server: String,
        #[arg(long)]
        centre: String,
        #[arg(long)]
        ho_user: String,
        #[arg(long, env = "CENTREDESK_HO_PASSWORD", hide_env_values = true)]
        ho_password: String,
        #[arg(long, default_value = "centredesk-cli")]
        device_name: String,
    },
    /// Push every waiting change now.
    Push,
    /// Last push, changes waiting, last error, clock warning (JSON).
    Status,
}

#[derive(Subcommand)]
enum PrintCommand {
    /// The roster 点名表 of one session.
    Roster {
        session_id: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Every roster of a class group's week (the week holding --week).
    GroupWeek {
        group_id: String,
        #[arg(long)]
        week: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The week's timetable for the notice board, by room (or --by-coach).
    Week {
        #[arg(long)]
        week: String,
        #[arg(long)]
        by_coach: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The receipt 收据 of a payment.
    Receipt {
        payment_id: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Register a member (an application), optionally with a guardian, and approve it
    /// when --birthday is given.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        gender: String,
        #[arg(long)]
        guardian_name: Option<String>,
        #[arg(long, default_value = "妈妈")]
        relation: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        birthday: Option<String>,
    },
    /// Search members, guardians and leads like the app's search box.
    Find {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One member's record as JSON.
    Show { id: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = Lang::parse(&cli.lang);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.message(lang));
            eprintln!("({})", e.code());
            ExitCode::from(2)
        }
    }
}

fn session(core: &Core, cli_user: &Option<String>, cli_password: &Option<String>) -> Result<Session, CoreError> {
    let user = cli_user.clone().unwrap_or_default();
    let password = cli_password.clone().unwrap_or_default();
    core.login(&user, &password)
}

fn run(cli: Cli) -> Result<(), CoreError> {
    let db = cli.db.clone().unwrap_or_else(centredesk_core::default_db_path);
    let clock: std::sync::Arc<dyn centredesk_core::Clock> = match &cli.clock {
        Some(text) => centredesk_core::OffsetClock::starting_at(
            centredesk_core::OffsetClock::parse_instant(text).map_err(CoreError::Internal)?,
        ),
        None => std::sync::Arc::new(centredesk_core::SystemClock),
    };
    let open = |db: &PathBuf| Core::open_with_clock(db, clock.clone());
    match cli.command {
        Command::Init { centre, username, display_name } => {
            let core = open(&db)?;
            let s = core.first_run(centredesk_core::auth::FirstRun {
                centre_name: centre,
                username,
                display_name,
                password: cli.password.unwrap_or_default(),
            })?;
            println!("{} ({}) → {}", s.display_name, s.username, db.display());
        }
        Command::Demo { members, seed, today } => {
            use centredesk_core::demo::DemoOptions;
            let options = match today {
                Some(t) => DemoOptions::through_day(members, seed, centredesk_core::validate::date(centredesk_core::error::Field::StartDate, &t)?),
                None => DemoOptions::ending(members, seed, clock.now()),
            };
            let started = std::time::Instant::now();
            let summary = centredesk_core::demo::generate(&db, &options)?;
            println!(
                "demo centre → {} ({} members, {} leads, {} contracts, {} payments, {} sessions, {} roll calls) in {:.1}s; log in as admin / {}",
                db.display(),
                summary.members,
                summary.leads,
                summary.contracts,
                summary.payments,
                summary.sessions,
                summary.roll_calls,
                started.elapsed().as_secs_f64(),
                centredesk_core::demo::DEMO_PASSWORD
            );
        }
        Command::PhoneServe { listen, https } => {
            let core = std::sync::Arc::new(open(&db)?);
            let manager = session(&core, &cli.user, &cli.password)?;
            let cannot = |e: std::io::Error| CoreError::Internal(format!("cannot serve on {listen}: {e}"));
            let server = match &https {
                Some(dir) => {
                    let identity = centredesk_lan::tls_identity(dir, &centredesk_lan::reachable_at(listen.ip())).map_err(cannot)?;
                    centredesk_lan::start_tls(core.clone(), listen, &identity).map_err(cannot)?
                }
                None => centredesk_lan::start(core.clone(), listen).map_err(cannot)?,
            };
            let offer = core.phone_pairing_open(&manager)?;
            let scheme = if server.secure() { "https" } else { "http" };
            println!("{scheme}://{}/pair?code={}", server.addr(), offer.code);
            println!("{} {}", offer.code, offer.expires_at);
            if let Some(f) = server.fingerprint() {
                println!("{f}");
            }
            use std::io::Write;
            let _ = std::io::stdout().flush();
            loop {
                std::thread::park();
            }
        }
        Command::Check { json } => {
            let lang = Lang::parse(&cli.lang);
            let report = open(&db)?.check_unattended(lang)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                for r in &report.rules {
                    println!("{}\t{}\t{}", if r.findings == 0 { "ok" } else { "FOUND" }, r.findings, r.description);
                }
                for f in &report.findings {
                    println!("  [{}] {}: {}", f.rule, f.subject, f.detail);
                }
                println!("{}", lang.pick(&format!("共 {} 处问题", report.findings.len()), &format!("{} findings", report.findings.len())));
            }
            if !report.healthy() {
                std::process::exit(1);
            }
        }
        Command::Upkeep => centredesk_core::upkeep::round(&open(&db)?),
        Command::Member(cmd) => {
            let core = open(&db)?;
            let s = session(&core, &cli.user, &cli.password)?;
            match cmd {
                MemberCommand::Add { name, gender, guardian_name, relation, phone, birthday } => {
                    let guardian = match (guardian_name, phone) {
                        (Some(name), Some(phone)) => Some(GuardianInput { name, relation, phone, wechat: String::new() }),
                        (None, None) => None,
                        (None, Some(_)) => {
                            return Err(CoreError::invalid(centredesk_core::error::Field::GuardianName, centredesk_core::error::Rule::Required))
                        }
                        (Some(_), None) => {
                            return Err(CoreError::invalid(centredesk_core::error::Field::GuardianPhone, centredesk_core::error::Rule::Required))
                        }
                    };
                    let mut m = core.member_apply(&s, MemberApplication { name, gender, guardian, referred_by: None, notes: String::new() })?;
                    if let Some(b) = birthday {
                        m = core.member_approve(&s, &m.id, MemberApproval { birthday: b, school: String::new(), course_interest: String::new() })?;
                    }
                    println!("{}\t{}\t{}", m.id, m.member_no.unwrap_or_else(|| "-".into()), m.name);
                }
                MemberCommand::Find { query, limit, json } => {
                    let hits = core.search(&s, &query, limit)?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&hits).unwrap_or_default());
                    } else {
                        for h in hits {
                            println!(
                                "{}\t{}\t{}\t{}\t{}",
                                h.entity,
                                h.member_no.unwrap_or_else(|| "-".into()),
                                h.name,
                                h.phone.unwrap_or_default(),
                                h.related.join("、")
                            );
                        }
                    }
                }
                MemberCommand::Show { id } => {
                    let d = core.member_get(&s, &id)?;
                    println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
                }
            }
        }
        Command::Log { limit } => {
            let core = open(&db)?;
            let s = session(&core, &cli.user, &cli.password)?;
            for e in core.change_log_tail(&s, limit)? {
                println!("{}\t{}\t{}\t{}\t{}\t{}", e.seq, e.at, e.staff_name.unwrap_or_default(), e.entity, e.op, e.entity_id);
            }
        }
        Command::Sessions { from, to } => {
            let core = open(&db)?;
            let s = session(&core, &cli.user, &cli.password)?;
            let filter = centredesk_core::timetable::SessionFilter { from_date: from, to_date: to, ..Default::default() };
            for x in core.session_list(&s, filter)? {
                println!("{}	{}	{}–{}	{}	{}	{}	{}", x.id, x.date, x.start_time, x.end_time, x.group_name, x.room_name, x.coach_name, x.status);
            }
        }
        Command::Export { list, from, to, out, no_bom, machine_headers } => {
            let core = open(&db)?;
            let s = session(&core, &cli.user, &cli.password)?;
            let req = ExportRequest { list, from_date: from, to_date: to, bom: !no_bom, machine_headers };
            let csv = core.export_csv(&s, &req, Lang::parse(&cli.lang))?;
            let path = out_path(out, &csv.file_name);
            std::fs::write(&path, &csv.bytes).map_err(|e| CoreError::Internal(format!("{}: {e}", path.display())))?;
            println!("{} ({} rows)", path.display(), csv.rows);
        }
        Command::Import { kind, file, commit, map, json } => {
            let lang = Lang::parse(&cli.lang);
            let kind = ImportKind::parse(&kind).ok_or_else(|| {
                CoreError::invalid(Field::ImportFile, Rule::OneOf { allowed: vec!["members".into(), "leads".into()] })
            })?;
            let mapping = map.iter().map(|m| parse_map(m)).collect::<Result<Vec<_>, _>>()?;
            let mapping = if mapping.is_empty() { None } else { Some(mapping.as_slice()) };
            let bytes = std::fs::read(&file).map_err(|e| CoreError::Internal(format!("{}: {e}", file.display())))?;
            let core = open(&db)?;
            let s = session(&core, &cli.user, &cli.password)?;
            if commit {
                let report = core.import_commit(&s, kind, &bytes, mapping)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
                    return Ok(());
                }
                print_import(&report.preview, kind, lang);
                println!(
                    "{}",
                    match lang {
                        Lang::ZhCn => format!("已导入：新建 {} 条（其中 {} 名会员已审核并编号），关联家长 {} 位", report.created, report.approved, report.guardians_linked),
                        Lang::En => format!("Imported: {} created ({} members approved with a number), {} guardians linked", report.created, report.approved, report.guardians_linked),
                    }
                );
            } else {
                let preview = core.import_preview(&s, kind, &bytes, mapping)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&preview).unwrap_or_default());
                    return Ok(());
                }
                print_import(&preview, kind, lang);
                println!("{}", lang.pick("预览：尚未写入任何数据；加 --commit 导入", "Preview: nothing was written; add --commit to import"));
            }
        }
        Command::Print(cmd) => {
            let core = open(&db)?;
            let s = session(&core, &cli.user, &cli.password)?;
            let lang = Lang::parse(&cli.lang);
            let (pdf, out) = match cmd {
                PrintCommand::Roster { session_id, out } => (core.print_roster(&s, &session_id, lang)?, out),
                PrintCommand::GroupWeek { group_id, week, out } => (core.print_group_week(&s, &group_id, &week, lang)?, out),
                PrintCommand::Week { week, by_coach, out } => {
                    let layout = if by_coach { WeekLayout::ByCoach } else { WeekLayout::ByRoom };
                    (core.print_timetable_week(&s, &week, layout, lang)?, out)
                }
                PrintCommand::Receipt { payment_id, out } => (core.print_receipt(&s, &payment_id, lang)?, out),
            };
            let path = out_path(out, &pdf.file_name);
            std::fs::write(&path, &pdf.bytes).map_err(|e| CoreError::Internal(format!("{}: {e}", path.display())))?;
            println!("{} ({} pages)", path.display(), pdf.pages);
            if !pdf.missing_glyphs.is_empty() {
                let chars: String = pdf.missing_glyphs.iter().collect();
                eprintln!("{}", lang.pick("字体缺少这些字，打印为 □：", "The font lacks these characters (printed as □): ") + &chars);
            }
        }
        Command::Bench(cmd) => bench::run(cmd)?,
        Command::CrashChild { seed, iterations } => crash::child(&open(&db)?, seed, iterations)?,
        Command::CrashVerify { journal, since_line } => {
            let problems = crash::verify(&open(&db)?, &db, &journal, since_line)?;
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("{p}");
                }
                return Err(CoreError::Internal(format!("{} problems after the crash", problems.len())));
            }
        }
        Command::Notify(cmd) => {
            let core = open(&db)?;
            let v = match cmd {
                NotifyCommand::Channels { smtp_host, smtp_port, smtp_security, smtp_user, smtp_password, smtp_from, webhook_url, webhook_secret } => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    if smtp_host.is_none() && webhook_url.is_none() {
                        serde_json::json!(core.notify_channels(&s)?)
                    } else {
                        use centredesk_core::notify::delivery::{EmailChannel, NotifyChannels, WebhookChannel};
                        let input = NotifyChannels {
                            email: EmailChannel { host: smtp_host.unwrap_or_default(), port: smtp_port, security: smtp_security, username: smtp_user, password: smtp_password, from: smtp_from },
                            webhook: WebhookChannel { url: webhook_url.unwrap_or_default(), secret: webhook_secret },
                        };
                        serde_json::json!(core.notify_channels_set(&s, input)?)
                    }
                }
                NotifyCommand::Scan => serde_json::json!({ "queued": core.notify_scan()? }),
                NotifyCommand::Deliver => serde_json::json!(core.deliver_notices()?),
                NotifyCommand::List { status, limit } => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    serde_json::json!(core.outbox(&s, status, limit)?)
                }
                NotifyCommand::Resend { id } => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    serde_json::json!(core.notice_resend(&s, &id)?)
                }
            };
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Command::Tiers(cmd) => {
            let core = open(&db)?;
            let v = match cmd {
                TiersCommand::Evaluate => serde_json::json!(core.tiers_evaluate_scheduled()?),
                TiersCommand::Config => serde_json::json!(core.tier_config(&session(&core, &cli.user, &cli.password)?)?),
                TiersCommand::Show { member_id } => serde_json::json!(core.member_tier(&session(&core, &cli.user, &cli.password)?, &member_id)?),
            };
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Command::Portal(cmd) => {
            let core = open(&db)?;
            let lang = Lang::parse(&cli.lang);
            let out = match cmd {
                PortalCommand::Enable { on } => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    let settings = centredesk_core::portal::PortalSettings { enabled: on, ..core.portal_settings()? };
                    serde_json::json!(core.portal_settings_update(&s, settings)?)
                }
                PortalCommand::Invite { guardian } => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    let id = core.guardian_by_phone_or_id(&s, &guardian)?;
                    let invite = core.portal_invite(&s, &id)?;
                    let centre = core.sync_settings().map(|x| x.centre).unwrap_or_default();
                    serde_json::json!({ "guardian_id": invite.guardian_id, "token": invite.token, "expires_at": invite.expires_at, "url": invite.url, "path": format!("/p/{centre}/#invite={}", invite.token) })
                }
                PortalCommand::Sync { wait } => match core.portal_sync(wait) {
                    Ok(r) => serde_json::json!(r),
                    Err(centredesk_core::sync::SyncError::Core(e)) => return Err(e),
                    Err(e) => {
                        eprintln!("{}", e.message(lang));
                        eprintln!("({})", e.code());
                        std::process::exit(3);
                    }
                },
                PortalCommand::Documents => serde_json::json!(core.portal_documents()?),
            };
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Command::Sync(cmd) => {
            let core = open(&db)?;
            let lang = Lang::parse(&cli.lang);
            let out = match cmd {
                SyncCommand::Register { server, centre, ho_user, ho_password, device_name } => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    core.sync_register(&s, &server, &centre, &ho_user, &ho_password, &device_name).map(|x| serde_json::json!(x))
                }
                SyncCommand::Push => {
                    let s = session(&core, &cli.user, &cli.password)?;
                    core.sync_now(&s).map(|x| serde_json::json!(x))
                }
                SyncCommand::Status => core.sync_state().map(|x| serde_json::json!(x)),
            };
            match out {
                Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
                Err(centredesk_core::sync::SyncError::Core(e)) => return Err(e),
                Err(e) => {
                    eprintln!("{}", e.message(lang));
                    eprintln!("({})", e.code());
                    std::process::exit(3);
                }
            }
        }
    }
    Ok(())
}

/// `3=phone` (1-based column) → a mapping entry; `3=` ignores the column.
fn parse_map(arg: &str) -> Result<ColumnMapping, CoreError> {
    let bad = || CoreError::invalid(Field::Column, Rule::OneOf { allowed: vec!["N=field".into(), "N=".into()] });
    let (col, field) = arg.split_once('=').ok_or_else(bad)?;
    let column: usize = col.trim().parse().map_err(|_| bad())?;
    let column = column.checked_sub(1).ok_or_else(bad)?;
    let field = match field.trim() {
        "" | "-" => None,
        f => Some(ImportField::parse(f).ok_or_else(|| {
            CoreError::invalid(Field::Column, Rule::OneOf { allowed: ImportField::ALL.iter().map(|f| f.as_str().to_string()).collect() })
        })?),
    };
    Ok(ColumnMapping { column, field })
}

/// The per-row report: encoding and columns, then one line per row.
fn print_import(p: &ImportPreview, kind: ImportKind, lang: Lang) {
    println!("{}: {}", lang.pick("编码", "Encoding"), p.encoding);
    for (i, (h, f)) in p.headers.iter().zip(&p.mapping).enumerate() {
        let target = match f {
            Some(f) => format!("{} ({})", f.label(kind, lang), f.as_str()),
            None => lang.pick("（不导入）", "(ignored)"),
        };
        println!("  {}\t{h}\t→ {target}", i + 1);
    }
    for r in &p.rows {
        let status = match (r.status, lang) {
            (RowStatus::Accepted, Lang::ZhCn) => "新建",
            (RowStatus::Merged, Lang::ZhCn) => "合并",
            (RowStatus::Rejected, Lang::ZhCn) => "拒绝",
            (RowStatus::Accepted, Lang::En) => "accepted",
            (RowStatus::Merged, Lang::En) => "merged",
            (RowStatus::Rejected, Lang::En) => "rejected",
        };
        let v = &r.values;
        let mut cols = vec![r.line.to_string(), status.to_string(), v.name.clone(), v.gender.clone(), v.birthday.clone(), v.phone.clone()];
        if let Some(no) = &r.member_no {
            cols.push(no.clone());
        }
        let reasons: Vec<&str> = r.reasons.iter().map(|m| m.text(lang)).collect();
        cols.push(reasons.join(if lang == Lang::ZhCn { "；" } else { "; " }));
        println!("{}", cols.join("\t"));
    }
    println!(
        "{}",
        match lang {
            Lang::ZhCn => format!("共 {} 行：新建 {}，合并 {}，拒绝 {}", p.rows.len(), p.accepted, p.merged, p.rejected),
            Lang::En => format!("{} rows: {} accepted, {} merged, {} rejected", p.rows.len(), p.accepted, p.merged, p.rejected),
        }
    );
}

/// `--out`: a file, or a folder to write the file under its own name (what the app
/// would name it); by default that name in the current folder.
fn out_path(out: Option<PathBuf>, file_name: &str) -> PathBuf {
    match out {
        Some(dir) if dir.is_dir() => dir.join(file_name),
        Some(file) => file,
        None => PathBuf::from(file_name),
    }
}
