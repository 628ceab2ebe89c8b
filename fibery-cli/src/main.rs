//! The `fibery` binary. See `fibery --help`.

use std::sync::atomic::Ordering;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use fibery_cli::cli::{Cli, Command};
use fibery_cli::error::{CliError, EXIT_FAILURE};
use fibery_cli::{commands, conn, import};

fn main() {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if matches.value_source("token") == Some(ValueSource::CommandLine) {
        conn::warn_token_on_command_line(cli.global.quiet);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(EXIT_FAILURE);
        }
    };
    let code = rt.block_on(async {
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                import::INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!(
                    "\ninterrupted: finishing the batch in flight (Ctrl-C again to stop at once)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        let r: Result<i32, CliError> = match &cli.command {
            Command::Import(a) => import::run(&cli.global, a).await,
            Command::Export(a) => commands::export(&cli.global, a).await,
            Command::Schema(c) => commands::schema(&cli.global, c).await,
            Command::Codegen(a) => commands::codegen(&cli.global, a).await,
            Command::Query(a) => commands::query(&cli.global, a).await,
            Command::Emulator(a) => commands::emulator(&cli.global, a).await,
        };
        match r {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {}", e.message);
                if let Some(h) = &e.hint {
                    eprintln!("hint: {h}");
                }
                e.exit_code()
            }
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}
