//! `wxlib demo`: the whole account on one machine with no WeChat account — the embedded default
//! storage, a demo library (3,000 real catalog records, readers, copies, loans, a borrowing
//! history for the hot list), the study's menu, and the simulator (the phone at `/sim`, WeChat's
//! API at `/sim/api`), which wxlib talks to exactly as it would to WeChat.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::catalog::import::{InputCharset, InputFormat, import_bytes};
use crate::circulation::builtin::BuiltinIls;
use crate::config::Config;
use crate::db::Db;
use crate::startup::Application;

/// 3,000 LC records (see demo/README.md).
const CATALOG: &[u8] = include_bytes!("../../../demo/catalog.mrc");
const DAY: i64 = crate::clock::DAY_SECS;

pub const TOKEN: &str = "wxlibdemo";
pub const AES_KEY: &str = "wxlibDemoKeyForTheSimulator0123456789abcdef";
pub const APP_ID: &str = "wxd3m0000000000001";
/// The demo console's admin (user name, password).
pub const DEMO_ADMIN: (&str, &str) = ("admin", "demo-admin");

/// The demo's configuration: safe mode, the simulator on, WeChat's API pointed at it.
pub fn config(listen: SocketAddr, data_dir: PathBuf) -> Config {
    let mut c = Config::default();
    let public = format!("http://{listen}");
    c.server.listen = listen;
    c.server.data_dir = data_dir;
    c.server.public_url = public.clone();
    c.wechat.token = TOKEN.into();
    c.wechat.encoding_aes_key = AES_KEY.into();
    c.wechat.app_id = APP_ID.into();
    c.wechat.app_secret = "demo-secret".into();
    c.wechat.api_base = format!("{public}/sim/api");
    c.wechat.oauth_base = format!("{public}/sim/api");
    c.library.name = "示例大学图书馆".into();
    c.simulator.enabled = true;
    c.activities.showqrcode_url = format!("{public}/sim/api/cgi-bin/showqrcode");
    c
}

/// Loads the demo library into an empty store; a store that has records is left as it is.
pub async fn seed(db: &Db, config: &Config, now: i64) -> anyhow::Result<bool> {
    if db.count_records().await? > 0 {
        return Ok(false);
    }
    let summary = import_bytes(db, "demo/catalog.mrc", CATALOG, InputFormat::Iso2709, InputCharset::Auto, now, &|_| {}).await?;
    tracing::info!(records = summary.added, "demo catalog imported");
    let ils = BuiltinIls { db: db.clone(), clock: Default::default(), rules: config.circulation.clone() };
    for (card, name, password) in [("2021001", "张三", "1234"), ("2021002", "李四", "5678"), ("2021003", "王五", "0000")] {
        ils.add_reader(card, name, password).await?;
    }
    // Two copies each of the first 400 records (Chinese and English), on the shelves.
    // The demo file holds 1,500 Chinese records, then the English ones.
    let ids = db.record_ids_in_import_order(0, 200).await?;
    let english = db.record_ids_in_import_order(1500, 200).await?;
    let mut csv = String::from("barcode,record_id,location,call_number\n");
    for (i, id) in ids.iter().chain(english.iter()).enumerate() {
        for copy in 1..=2 {
            let location = if i % 3 == 0 { "总馆 三层" } else { "总馆 二层" };
            csv.push_str(&format!("T{:05}-{copy},{id},{location},\n", i + 1));
        }
    }
    crate::circulation::load::items(&ils, &csv).await?;
    // A borrowing history over the last 60 days, for the hot list.
    for round in 0..40i64 {
        let barcode = format!("T{:05}-1", (round % 12) * (round % 5 + 1) % 40 + 1);
        let at = now - (60 - round) * DAY;
        ils.checkout("2021003", &barcode, at, Some(at + 20 * DAY)).await.ok();
        ils.checkin(&barcode).await.ok();
    }
    // Zhang San has three loans: due in 2 days, due in 12 days, and one overdue.
    for (barcode, loaned, due) in [("T00001-1", -28, 2), ("T00201-1", -18, 12), ("T00003-1", -33, -3)] {
        ils.checkout("2021001", barcode, now + loaned * DAY, Some(now + due * DAY)).await?;
    }
    ils.checkout("2021002", "T00202-1", now - 5 * DAY, None).await?;
    // The console: an admin, opening hours and an e-resource to start from.
    crate::console::auth::create_librarian(db, DEMO_ADMIN.0, DEMO_ADMIN.1, crate::console::Role::Admin).await?;
    crate::news::seed_demo(db, now).await?;
    crate::consultation::seed_demo(db, now).await?;
    Ok(true)
}

/// Seeds, starts the server with the simulator, pushes the menu, and serves until stopped.
#[expect(clippy::print_stdout, reason = "`wxlib demo` tells the person at the terminal where to open the phone and the console")]
pub async fn run(listen: SocketAddr, data_dir: PathBuf) -> anyhow::Result<()> {
    if !cfg!(feature = "simulator") {
        anyhow::bail!("`wxlib demo` needs wxlib built with the `simulator` feature (it is on by default)");
    }
    let config = config(listen, data_dir);
    {
        let db = Db::connect(&config.database_url()).await?;
        if seed(&db, &config, crate::db::unix_now()).await? {
            println!("demo library created under {}", config.server.data_dir.display());
        }
    }
    let app = Application::build(config).await?;
    let services = app.services().clone();
    let port = app.port();
    let server = tokio::spawn(app.run_until_stopped());
    // The menu as last saved in the console (the study's menu at first).
    let menu = crate::menu::current_menu(&services).await?;
    crate::menu::validate(&menu)?;
    services.api.create_menu(&menu).await?;
    // The entrance poster's code, so a follow through it carries its scene.
    services.api.create_permanent_qr("entrance").await?;
    crate::activities::demo(&services).await?;
    let host = if listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { listen.ip().to_string() };
    println!();
    println!("  wxlib demo is running. Open the phone:  http://{host}:{port}/sim");
    println!("  Demo readers (card / password): 2021001 / 1234 (张三, 3 loans), 2021002 / 5678, 2021003 / 0000");
    println!("  Librarians' console: http://{host}:{port}/console  (user {} / password {})", DEMO_ADMIN.0, DEMO_ADMIN.1);
    println!("  WeChat's API stand-in: http://{host}:{port}/sim/api   Catalog: http://{host}:{port}/opac/search");
    println!();
    server.await??;
    Ok(())
}
