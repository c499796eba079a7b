//! Startup as a value: [`Application::build`] opens the store, binds the listener (port 0 picks a
//! free one, which tests use) and wires the routes; [`Application::run_until_stopped`] serves and
//! runs the background jobs. `main` and the tests start the server the same way.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::catalog::sync::IndexSync;
use crate::catalog::{self, Catalog};
use crate::circulation::binding;
use crate::circulation::builtin::BuiltinIls;
use crate::circulation::status::CopyStatuses;
use crate::circulation::{Ils, reminders};
use crate::clock::Clock;
use crate::config::Config;
use crate::conversation;
use crate::db::{Db, unix_now};
use crate::lang::Lang;
use crate::services::Services;
use crate::web::session::SessionSigner;
use crate::wechat::api::WeChatApi;
use crate::wechat::callback::{self, CallbackState};
use crate::wechat::journal::Journal;
use crate::wechat::outbox::{Outbox, OutboxWorker};
use crate::wechat::router::Router;

pub struct Application {
    listener: TcpListener,
    /// `server.metrics_listen`'s listener, when configured: `/metrics` without a token.
    metrics_listener: Option<TcpListener>,
    services: Services,
    router: axum::Router,
    index_sync: IndexSync,
    /// The callback's state, for the task that runs again the late callbacks of nodes that died.
    callback: Arc<CallbackState<Services>>,
}

/// Everything handlers and jobs use, without a listener: for the server and for commands
/// (`push-menu`, `remind-now`) that run beside a running server.
pub async fn build_services(config: Config) -> anyhow::Result<(Services, IndexSync)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = Db::connect(&config.database_url()).await?;
    let node_id = format!("{:016x}", rand::random::<u64>());
    let api = WeChatApi::new(&config.wechat.api_base, &config.wechat.app_id, &config.wechat.app_secret, db.clone(), node_id)?;
    let journal = Journal::start(db.clone());
    let index_dir = config.index_dir();
    let index = Arc::new(
        crate::catalog::sync::open_index(&index_dir)
            .map_err(|e| anyhow::anyhow!("cannot open the search index at {}: {e}", index_dir.display()))?,
    );
    let index_sync =
        IndexSync { db: db.clone(), index: index.clone(), seq_file: index_dir.join("wxlib-seq"), wake: Arc::new(Notify::new()) };
    let clock = Clock::default();
    let ils = library_system(&config, &db, &clock)?;
    let c = &config.circulation;
    let copies = CopyStatuses::new(
        db.clone(),
        ils.clone(),
        clock.clone(),
        Duration::from_secs(c.status_ttl_secs),
        Duration::from_millis(c.status_budget_ms),
    );
    let catalog = Catalog { db: db.clone(), index, copies };
    let session_key =
        db.setting_or_init("session_key", || format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>())).await?;
    let outbox = Outbox { db: db.clone(), wake: Arc::new(Notify::new()) };
    let services = Services {
        db,
        outbox,
        api,
        journal,
        catalog,
        ils,
        clock,
        sessions: SessionSigner::new(&session_key),
        answers: crate::answers::AnswerBook::default(),
        partners: Default::default(),
        lang: Lang::from_config(&config.wechat.lang),
        config: Arc::new(config),
    };
    Ok((services, index_sync))
}

impl Application {
    /// Builds the app with the account's standard conversation.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_router(config, conversation::router()).await
    }

    /// Builds the app with a given message router (tests register special handlers).
    pub async fn build_with_router(config: Config, chat_router: Router<Services>) -> anyhow::Result<Self> {
        let crypto = config.message_crypto().map(Arc::new);
        let (services, index_sync) = build_services(config).await?;
        // Bring the index up to date before serving, so the first search sees the catalog.
        let applied = index_sync.run_once().await?;
        if applied > 0 {
            tracing::info!(changes = applied, "search index caught up with the database");
        }
        let catalog = services.catalog.clone();
        let seeded = crate::partners::seed(&services.db, &services.config).await?;
        if seeded > 0 {
            tracing::info!(partners = seeded, "partner libraries seeded from partners.seed_file");
        }
        let listener = TcpListener::bind(services.config.server.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", services.config.server.listen))?;
        let callback = Arc::new(CallbackState {
            config: services.config.clone(),
            journal: services.journal.clone(),
            outbox: services.outbox.clone(),
            lang: services.lang,
            crypto,
            router: Arc::new(chat_router),
            context: services.clone(),
        });
        let metrics_listener = match services.config.server.metrics_listen.as_str() {
            "" => None,
            addr => {
                Some(TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr} (server.metrics_listen): {e}"))?)
            }
        };
        // Every page (not the callback, which answers within its own deadline) is answered
        // within server.page_timeout_secs.
        let page_timeout = Duration::from_secs(services.config.server.page_timeout_secs);
        let pages = axum::Router::new()
            .merge(catalog::http::routes(catalog, crate::partners::web::PartnerTabs { db: services.db.clone() }))
            .merge(binding::routes(services.clone()))
            .merge(crate::circulation::shelf_watch::routes(services.clone()))
            .merge(crate::partners::web::routes(services.clone()))
            .merge(sru_routes(&services))
            .merge(crate::console::routes(services.clone(), console_sections()))
            .merge(crate::news::pages::public_routes(services.clone()))
            .merge(crate::activities::web::routes(services.clone()))
            .merge(crate::broadcasts::page::routes(services.clone()))
            .merge(crate::reach::draw::routes(services.clone()))
            .merge(crate::reach::referral_web::routes(services.clone()))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, page_timeout));
        let router = callback::routes(callback.clone())
            .merge(pages)
            .merge(simulator_routes(&services.config)?)
            .merge(crate::health::probe_routes(crate::health::Readiness::new(
                services.db.clone(),
                services.ils.clone(),
                index_sync.seq_file.clone(),
            )))
            .merge(crate::health::metrics_on_main_listener(&services.config.server.metrics_token))
            .route("/static/wxlib.js", get(crate::web::policy::script))
            .layer(axum::middleware::from_fn(crate::web::policy::security_headers));
        Ok(Self { listener, metrics_listener, services, router, index_sync, callback })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port of `server.metrics_listen`, when configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until the process is stopped, with the outbox worker and housekeeping alongside.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let s = self.services.clone();
        tokio::spawn(self.index_sync.run());
        tokio::spawn(reminders::scheduler(s.clone()));
        tokio::spawn(crate::circulation::notices::poller(s.clone()));
        tokio::spawn(crate::catalog::harvest::job::scheduler(s.clone()));
        tokio::spawn(crate::news::pages::scheduler(s.clone()));
        tokio::spawn(crate::activities::reminders::scheduler(s.clone()));
        tokio::spawn(crate::broadcasts::send::worker(s.clone()));
        tokio::spawn(crate::broadcasts::figures::daily(s.clone()));
        tokio::spawn(OutboxWorker { db: s.db.clone(), api: s.api.clone(), wake: s.outbox.wake.clone() }.run());
        tokio::spawn(callback::rerun_orphans(self.callback.clone()));
        let journal = s.journal.clone();
        let options = crate::web::serve::ServeOptions {
            header_read_timeout: Duration::from_secs(s.config.server.header_read_timeout_secs),
            trusted: Arc::new(crate::web::client::TrustedProxies::parse(&s.config.server.trusted_proxies).map_err(std::io::Error::other)?),
        };
        if let Some(listener) = self.metrics_listener {
            tokio::spawn(crate::web::serve::serve(listener, crate::health::metrics_listener_routes(), options.clone(), shutdown_signal()));
        }
        tokio::spawn(purge_callbacks(s));
        let served = crate::web::serve::serve(self.listener, self.router, options, shutdown_signal()).await;
        journal.flush().await;
        served
    }
}

/// Forgets handled callbacks (and the answers they stored) once WeChat can no longer retry them,
/// and attempt counters whose window is over, every minute.
async fn purge_callbacks(s: Services) {
    let retention = crate::wechat::journal::callback_retention_secs(s.config.wechat.timestamp_tolerance_secs);
    let db = &s.db;
    crate::jobs::forever("purge of old callback records", crate::jobs::Pause::every(Duration::from_secs(60)), move || async move {
        let n = db.purge_callbacks(unix_now() - retention).await?;
        if n > 0 {
            tracing::debug!(n, "purged old callback records");
        }
        // Attempt counters whose window is over (sign-in and binding limits).
        db.purge_attempts(unix_now() - crate::db::limits::LONGEST_WINDOW_SECS).await?;
        Ok::<_, crate::db::DbError>(crate::jobs::Next::Pause)
    })
    .await
}

/// Every feature's section of the librarians' console, under `/console` (behind its sign-in).
fn console_sections() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(crate::dashboard::home))
        .nest("/menu", crate::menu::console::console_routes())
        .nest("/hours", crate::news::hours_console::console_routes())
        .nest("/resources", crate::news::resources::console_routes())
        .nest("/pages", crate::news::pages::console_routes())
        .nest("/answers", crate::answers::console::console_routes())
        .nest("/inbox", crate::consultation::console::console_routes())
        .nest("/partners", crate::partners::console::console_routes())
        .nest("/harvest", crate::catalog::harvest::console::console_routes())
        .nest("/suggestions", crate::catalog::console::console_routes())
        .nest("/activities", crate::activities::console::console_routes())
        .nest("/broadcasts", crate::broadcasts::console::console_routes())
        .nest("/reach", crate::reach::console::console_routes())
        .nest("/analytics", crate::reach::console::analytics_routes())
}

/// Our catalog over SRU at `/sru`, for partner libraries, when `partners.sru_enabled`.
fn sru_routes(services: &Services) -> axum::Router {
    if services.config.partners.sru_enabled { crate::partners::sru_server::routes(services.clone()) } else { axum::Router::new() }
}

/// "WeChat in a box" when `simulator.enabled`: WeChat's API at /sim/api, the phone at /sim.
#[cfg(feature = "simulator")]
fn simulator_routes(config: &Config) -> anyhow::Result<axum::Router> {
    if !config.simulator.enabled {
        return Ok(axum::Router::new());
    }
    let public = &config.server.public_url;
    let sim = simulator::Simulator::new(simulator::SimConfig {
        app_id: config.wechat.app_id.clone(),
        app_secret: config.wechat.app_secret.clone(),
        public_base: Some(format!("{public}/sim/api")),
        ..Default::default()
    });
    let phone = simulator::Phone::new(
        sim.clone(),
        simulator::PhoneConfig {
            callback_url: format!("{public}/wechat"),
            token: config.wechat.token.clone(),
            encoding_aes_key: Some(config.wechat.encoding_aes_key.clone()).filter(|k| !k.is_empty()),
            app_id: config.wechat.app_id.clone(),
            gh_id: config.simulator.gh_id.clone(),
            public_base: public.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("simulator: {e}"))?;
    // The phone page is one inline-scripted page (a test tool, never on a production account): its
    // own policy, which the app's security headers keep, allows that script and any image.
    let phone_policy = |mut r: axum::response::Response| async move {
        r.headers_mut().insert(
            axum::http::header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src * data: blob:; \
                 object-src 'none'; frame-ancestors 'self'",
            ),
        );
        r
    };
    Ok(axum::Router::new()
        .nest("/sim/api", sim.router())
        .merge(phone.mounted_at("/sim").layer(axum::middleware::map_response(phone_policy))))
}

/// Without the `simulator` feature there is no WeChat in a box to serve.
#[cfg(not(feature = "simulator"))]
fn simulator_routes(config: &Config) -> anyhow::Result<axum::Router> {
    if config.simulator.enabled {
        anyhow::bail!("simulator.enabled needs wxlib built with the `simulator` feature");
    }
    Ok(axum::Router::new())
}

/// The library system named by `circulation.system`.
pub fn library_system(config: &Config, db: &Db, clock: &Clock) -> anyhow::Result<Ils> {
    match config.circulation.system.as_str() {
        "builtin" => Ok(Arc::new(BuiltinIls { db: db.clone(), clock: clock.clone(), rules: config.circulation.clone() })),
        "sip2" => Ok(Arc::new(crate::circulation::sip2_ils::Sip2Ils::new(&config.circulation.sip2, db.clone()))),
        other => anyhow::bail!("circulation.system = {other:?} is not available in this build"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
