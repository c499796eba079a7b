//! The `wxlib` command line: `wxlib serve --config FILE`.
// A command line answers the person at the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "the commands report to the terminal")]

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use wxlib::catalog::import::{ImportSummary, InputCharset, InputFormat, import_bytes};
use wxlib::catalog::sync::IndexSync;
use wxlib::config::Config;
use wxlib::db::{Db, unix_now};
use wxlib::startup::Application;

/// mimalloc instead of glibc's malloc: the callback path allocates and frees many small buffers
/// across threads, where glibc spent about a fifth of the request threads' time (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "wxlib", version, about = "The server behind a university library's WeChat Official Account")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LoadWhat {
    /// card,name,password
    Readers,
    /// barcode,record_id,location,call_number
    Items,
    /// card,barcode,loaned_on,due_on
    Loans,
}

#[derive(Subcommand)]
enum PartnersAction {
    /// Print every partner library.
    List,
    /// Add partners, or update them by name, from a JSON list (the `partners.seed_file` format).
    Add { file: PathBuf },
    /// Remove the partner with this name.
    Remove { name: String },
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the WeChat callback at /wechat).
    Serve {
        /// TOML configuration file; every key can also be set as WXLIB_<SECTION>__<KEY>.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Import MARC records (ISO 2709 or MARCXML; MARC 21 or UNIMARC; UTF-8, MARC-8 or GB18030).
    /// Re-importing updates records by control number; records marked deleted are deleted.
    Import {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Input format.
        #[arg(long, value_enum, default_value = "auto")]
        format: InputFormat,
        /// Character set of ISO 2709 input.
        #[arg(long, value_enum, default_value = "auto")]
        charset: InputCharset,
        /// MARC files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Harvest the catalog once from the OAI-PMH provider of `[catalog.harvest]`: what changed
    /// since the last harvest (from its saved checkpoint), or everything with --full. Exits
    /// non-zero when the provider could not be harvested (the checkpoint is kept).
    Harvest {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// List everything, not only the changes since the last harvest.
        #[arg(long)]
        full: bool,
    },
    /// Load readers, items or loans into the built-in library system from CSV.
    Load {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// What the file holds.
        #[arg(value_enum)]
        what: LoadWhat,
        file: PathBuf,
    },
    /// Run the due-date reminders now (normally daily at circulation.remind_hour) and send the
    /// digests they queue.
    RemindNow {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Push the menu (as saved in the console; the study's menu by default) to WeChat, after
    /// checking it against WeChat's limits.
    PushMenu {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Copy the database while the server runs — SQLite's online copy, or pg_dump for
    /// PostgreSQL — into the new directory OUT, with a manifest (versions, time, node, rows of
    /// every table). The search index is not copied: restore rebuilds it.
    Backup {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The backup directory to create (it must not exist).
        out: PathBuf,
    },
    /// Bring a backup back into the configured store, which must be empty (a fresh machine or
    /// database) unless --force, and not in use; then migrate it to this version and rebuild this
    /// node's search index from it.
    Restore {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Replace a store that already holds data (stop the server, every node, first).
        #[arg(long)]
        force: bool,
        /// The backup directory (made by `wxlib backup`).
        input: PathBuf,
    },
    /// Rebuild this node's search index from the database.
    Reindex {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Try the whole account without WeChat: a demo library, the study's menu and the simulator.
    Demo {
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Where the demo keeps its data (created on first run).
        #[arg(long, default_value = "./demo-data")]
        data_dir: PathBuf,
    },
    /// Partner libraries for federated search (SRU): list, add or update from a JSON file, remove.
    Partners {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: PartnersAction,
    },
    /// Create a console admin (the first one; admins add the others in the console).
    CreateAdmin {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// The admin's user name (letters, digits, '_', '.', '-').
        username: String,
    },
    /// Compose a news message (title, cover, HTML body) and, with --send, queue it for all
    /// followers (or a tag): the running server's send worker sends it within seconds.
    Broadcast {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        author: String,
        #[arg(long, default_value = "")]
        digest: String,
        /// The article body: an HTML file (restricted to simple formatting; scripts are removed).
        #[arg(long)]
        body: PathBuf,
        /// The cover image (JPG or PNG, at most 1 MB).
        #[arg(long)]
        cover: PathBuf,
        /// Send to this WeChat tag's members only.
        #[arg(long)]
        tag: Option<i64>,
        /// Queue it for sending now.
        #[arg(long)]
        send: bool,
    },
    /// Serve only the WeChat API stand-in (the simulator, at /sim/api with /sim/api/_control), as
    /// a process of its own: tests kill wxlib while "WeChat" keeps its state.
    Simulator {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value = "wx5157ad5e0c0ffee0")]
        app_id: String,
        #[arg(long, default_value = "5ec7e75157ad5e0c0ffee0000000beef")]
        app_secret: String,
    },
    /// Check a configuration file and print the effective settings (secrets redacted).
    CheckConfig {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    wxlib::telemetry::init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wxlib: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { config } => {
                let config = Config::load(config.as_deref())?;
                let app = Application::build(config).await?;
                tracing::info!(port = app.port(), db = app.services().db.dialect(), "wxlib listening");
                app.run_until_stopped().await?;
                Ok::<(), anyhow::Error>(())
            }
            Command::Import { config, format, charset, files } => import(Config::load(config.as_deref())?, format, charset, &files).await,
            Command::Harvest { config, full } => harvest(Config::load(config.as_deref())?, full).await,
            Command::Reindex { config } => reindex(Config::load(config.as_deref())?).await,
            Command::Backup { config, out } => {
                let config = Config::load(config.as_deref())?;
                let manifest = wxlib::backup::backup(&config.database_url(), &out).await?;
                println!(
                    "backup of {} ({}, schema version {}) written to {}: {} bytes, {} followers, {} bindings, {} outbox entries, {} news messages, {} catalog records",
                    manifest.source,
                    manifest.dialect,
                    manifest.schema_version,
                    out.display(),
                    manifest.bytes,
                    manifest.rows("followers"),
                    manifest.rows("bindings"),
                    manifest.rows("outbox"),
                    manifest.rows("broadcasts"),
                    manifest.rows("catalog_records"),
                );
                Ok(())
            }
            Command::Restore { config, force, input } => restore(Config::load(config.as_deref())?, &input, force).await,
            Command::PushMenu { config } => {
                let (services, _) = wxlib::startup::build_services(Config::load(config.as_deref())?).await?;
                // The menu saved in the console, or the study's menu if none was saved.
                let menu = wxlib::menu::current_menu(&services).await?;
                wxlib::menu::validate(&menu)?;
                services.api.create_menu(&menu).await?;
                wxlib::menu::record_push(&services, &menu).await?;
                wxlib::console::audit_system(&services.db, "menu.push", &menu.to_string()).await?;
                println!("menu pushed");
                Ok(())
            }
            Command::Load { config, what, file } => load(Config::load(config.as_deref())?, what, &file).await,
            Command::RemindNow { config } => {
                let (services, _) = wxlib::startup::build_services(Config::load(config.as_deref())?).await?;
                let summary = wxlib::circulation::reminders::run(&services).await?;
                // The digests are queued in the outbox; send them now rather than leave them to a
                // server (one that runs sends them too: a row is claimed by one sender).
                let outbox = wxlib::wechat::outbox::OutboxWorker {
                    db: services.db.clone(),
                    api: services.api.clone(),
                    wake: services.outbox.wake.clone(),
                };
                while outbox.deliver_due().await? > 0 {}
                println!("{summary:?}");
                Ok(())
            }
            Command::Partners { config, action } => partners(Config::load(config.as_deref())?, action).await,
            Command::CreateAdmin { config, password_stdin, username } => {
                create_admin(Config::load(config.as_deref())?, &username, password_stdin).await
            }
            Command::Broadcast { config, title, author, digest, body, cover, tag, send } => {
                let config = Config::load(config.as_deref())?;
                let db = Db::connect(&config.database_url()).await?;
                let lang = wxlib::lang::Lang::from_config(&config.wechat.lang);
                let body_html = std::fs::read_to_string(&body).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", body.display()))?;
                let cover_bytes = std::fs::read(&cover).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", cover.display()))?;
                let content_type = wxlib::broadcasts::check_image(&cover_bytes, lang)?;
                let draft =
                    wxlib::broadcasts::validate(&wxlib::broadcasts::Draft { title, author, digest, body_html, target_tag_id: tag }, lang)?;
                let image = wxlib::broadcasts::Image { content_type: content_type.to_owned(), bytes: cover_bytes };
                let id = db.create_broadcast(&draft, Some(&image), "cli", unix_now()).await?;
                wxlib::console::audit_system(&db, "broadcast.create", &format!("#{id} {} from the command line", draft.title)).await?;
                if send {
                    db.queue_broadcast(id, "cli", unix_now()).await?;
                    wxlib::console::audit_system(
                        &db,
                        "broadcast.send",
                        &format!(
                            "#{id} {} to {} from the command line",
                            draft.title,
                            tag.map(|t| format!("tag {t}")).unwrap_or_else(|| "all followers".into())
                        ),
                    )
                    .await?;
                    println!("news message {id} queued for sending");
                } else {
                    println!("news message {id} composed");
                }
                Ok(())
            }
            Command::Simulator { listen, app_id, app_secret } => simulator(listen, app_id, app_secret).await,
            Command::Demo { listen, data_dir } => wxlib::demo::run(listen, data_dir).await,
            Command::CheckConfig { config } => {
                let config = Config::load(config.as_deref())?;
                println!("{config:#?}");
                println!("database: {}", wxlib::db::redact_url(&config.database_url()));
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wxlib: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `wxlib simulator`: only WeChat's API stand-in, as a process of its own.
#[cfg(feature = "simulator")]
async fn simulator(listen: std::net::SocketAddr, app_id: String, app_secret: String) -> anyhow::Result<()> {
    let sim = simulator::Simulator::new(simulator::SimConfig {
        app_id,
        app_secret,
        public_base: (listen.port() != 0).then(|| format!("http://{listen}/sim/api")),
        ..Default::default()
    });
    let app = axum::Router::new().nest("/sim/api", sim.router());
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    println!("simulator listening on http://{}/sim/api", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(not(feature = "simulator"))]
async fn simulator(_listen: std::net::SocketAddr, _app_id: String, _app_secret: String) -> anyhow::Result<()> {
    anyhow::bail!("`wxlib simulator` needs wxlib built with the `simulator` feature")
}

async fn import(config: Config, format: InputFormat, charset: InputCharset, files: &[PathBuf]) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url()).await?;
    let started = std::time::Instant::now();
    let mut total = ImportSummary::default();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        let bar = indicatif::ProgressBar::new(bytes.len() as u64 / 1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos} records")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(file.display().to_string());
        let name = file.display().to_string();
        let summary = import_bytes(&db, &name, &bytes, format, charset, unix_now(), &|n| bar.set_position(n as u64)).await?;
        bar.finish_and_clear();
        println!(
            "{}: read {}, added {}, updated {}, deleted {}, skipped {}",
            name,
            summary.read,
            summary.added,
            summary.updated,
            summary.deleted,
            summary.skipped.len()
        );
        for s in &summary.skipped {
            match s.offset {
                Some(o) => println!("  skipped record #{} at byte {}: {}", s.index, o, s.reason),
                None => println!("  skipped record #{}: {}", s.index, s.reason),
            }
        }
        total.merge(summary);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "total: read {}, added {}, updated {}, deleted {}, skipped {}, warnings {} in {:.1} s ({:.0} records/s)",
        total.read,
        total.added,
        total.updated,
        total.deleted,
        total.skipped.len(),
        total.warnings,
        secs,
        total.read as f64 / secs.max(0.001)
    );
    update_index(&config, db, false).await
}

/// Restores the backup, opens the store (which migrates a backup from an older version forward)
/// and rebuilds this node's search index from it.
async fn restore(config: Config, input: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let url = config.database_url();
    let manifest = wxlib::backup::restore(&url, input, force).await?;
    println!(
        "restored {} (taken {} on {} by wxlib {}, schema version {}): {} followers, {} bindings, {} outbox entries, {} news messages, {} catalog records",
        input.display(),
        manifest.taken_at_utc,
        manifest.node,
        manifest.wxlib_version,
        manifest.schema_version,
        manifest.rows("followers"),
        manifest.rows("bindings"),
        manifest.rows("outbox"),
        manifest.rows("broadcasts"),
        manifest.rows("catalog_records"),
    );
    let db = Db::connect(&url).await?;
    if manifest.schema_version < wxlib::db::schema_version() {
        println!("migrated from schema version {} to {}", manifest.schema_version, wxlib::db::schema_version());
    }
    update_index(&config, db, true).await
}

/// `wxlib harvest`: one run, its summary line, then this node's index (a running server's
/// index follows by itself).
async fn harvest(config: Config, full: bool) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cfg = &config.catalog.harvest;
    if cfg.url.is_empty() {
        anyhow::bail!("no OAI-PMH provider is configured: set catalog.harvest.url");
    }
    let db = Db::connect(&config.database_url()).await?;
    // The same holder on every run from this host, so a run killed here and started again takes
    // its own lease back at once; a server's node or another host waits for it to expire.
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let holder = format!("wxlib harvest on {host}");
    let started = std::time::Instant::now();
    match wxlib::catalog::harvest::run(&db, cfg, &holder, full).await {
        Ok(summary) => {
            println!("{summary}");
            println!("took {:.1} s", started.elapsed().as_secs_f64());
            update_index(&config, db, false).await
        }
        Err(e) => {
            let chain = wxlib::web::error::Chain(&e).to_string();
            anyhow::bail!("harvest of {} failed: {chain} (nothing was lost; the next run goes on from the last saved page)", cfg.url)
        }
    }
}

async fn reindex(config: Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url()).await?;
    update_index(&config, db, true).await
}

/// Applies the database's changes to this node's index (from scratch with `rebuild`). If a running
/// server holds the index, it applies them itself within seconds.
async fn update_index(config: &Config, db: Db, rebuild: bool) -> anyhow::Result<()> {
    let dir = config.index_dir();
    if rebuild && dir.exists() {
        if let Ok(existing) = search::CatalogIndex::create_or_open(&dir)
            && let Err(search::Error::WriterBusy) = existing.writer().map(|_| ())
        {
            anyhow::bail!("the index at {} is in use: stop the server first, then run reindex", dir.display());
        }
        std::fs::remove_dir_all(&dir)?;
    }
    let index = std::sync::Arc::new(wxlib::catalog::sync::open_index(&dir)?);
    let sync = IndexSync { db, index, seq_file: dir.join("wxlib-seq"), wake: Default::default() };
    let started = std::time::Instant::now();
    match sync.run_once().await {
        Ok(n) => {
            println!("search index: {n} change(s) applied in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Err(e) if !rebuild => {
            println!("search index not updated here ({e}); a running server applies the changes within seconds");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn load(config: Config, what: LoadWhat, file: &std::path::Path) -> anyhow::Result<()> {
    use wxlib::circulation::{builtin::BuiltinIls, load};
    let db = Db::connect(&config.database_url()).await?;
    let ils = BuiltinIls { db, clock: Default::default(), rules: config.circulation.clone() };
    let data = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let summary = match what {
        LoadWhat::Readers => load::readers(&ils, &data).await,
        LoadWhat::Items => load::items(&ils, &data).await?,
        LoadWhat::Loans => load::loans(&ils, &data).await,
    };
    println!("{}: loaded {}, errors {}", file.display(), summary.loaded, summary.errors.len());
    for e in &summary.errors {
        println!("  {e}");
    }
    Ok(())
}

async fn partners(config: Config, action: PartnersAction) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url()).await?;
    match action {
        PartnersAction::List => {
            for p in db.partners().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{} ms\t{}",
                    p.id,
                    p.name,
                    p.endpoint(),
                    p.indexes.join(","),
                    p.timeout_ms,
                    if p.enabled { "enabled" } else { "disabled" }
                );
            }
        }
        PartnersAction::Add { file } => {
            let list = wxlib::partners::read_seed_file(&file.display().to_string(), config.partners.max_timeout_ms)?;
            for p in &list {
                let id = db.upsert_partner(p).await?;
                println!("partner {id}: {}", p.name);
            }
        }
        PartnersAction::Remove { name } => {
            let Some(p) = db.partners().await?.into_iter().find(|p| p.name == name) else { anyhow::bail!("no partner named {name:?}") };
            db.delete_partner(p.id).await?;
            println!("removed partner {}: {}", p.id, p.name);
        }
    }
    Ok(())
}

/// Creates a console admin; the password comes from stdin or a prompt and only its argon2 hash
/// is stored.
async fn create_admin(config: Config, username: &str, password_stdin: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    use wxlib::console::{Role, auth};
    auth::validate_username(username)?;
    let stdin = std::io::stdin();
    let interactive = !password_stdin && stdin.is_terminal();
    let read_line = || -> anyhow::Result<String> {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let password = if interactive {
        // Hide what is typed where `stty` exists (no extra dependency for one prompt).
        let hide = |on: bool| {
            let _ =
                std::process::Command::new("stty").arg(if on { "-echo" } else { "echo" }).stdin(std::process::Stdio::inherit()).status();
        };
        eprint!("Password for {username}: ");
        let _ = std::io::stderr().flush();
        hide(true);
        let first = read_line();
        hide(false);
        eprint!("\nRepeat the password: ");
        let _ = std::io::stderr().flush();
        hide(true);
        let second = read_line();
        hide(false);
        eprintln!();
        let (first, second) = (first?, second?);
        anyhow::ensure!(first == second, "the two passwords differ; nothing was created");
        first
    } else {
        read_line()?
    };
    let db = Db::connect(&config.database_url()).await?;
    let id = auth::create_librarian(&db, username, &password, Role::Admin).await?;
    wxlib::console::audit_system(&db, "librarian.add", &format!("#{id} {username} (admin) from the command line")).await?;
    println!("admin {username} created; sign in at {}/console", config.server.public_url);
    Ok(())
}
