//! The `wxlib` command line: `wxlib serve --config FILE`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use wxlib::config::Config;
use wxlib::startup::Application;

#[derive(Parser)]
#[command(name = "wxlib", version, about = "The server behind a university library's WeChat Official Account")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the WeChat callback at /wechat).
    Serve {
        /// TOML configuration file; every key can also be set as WXLIB_<SECTION>__<KEY>.
        #[arg(long, short)]
        config: Option<PathBuf>,
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
