//! The `fibery` binary. See `fibery --help`.

use std::sync::atomic::Ordering;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use fibery_cli::cli::{Cli, Command, GlobalOpts};
use fibery_cli::error::{CliError, EXIT_FAILURE};
use fibery_cli::{commands, conn, import, listen};

fn main() {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    init_logging(&cli.global);
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
        // `listen` handles Ctrl-C itself (it removes its webhook first).
        let listening = matches!(cli.command, Command::Listen(_));
        tokio::spawn(async move {
            if !listening && tokio::signal::ctrl_c().await.is_ok() {
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
            Command::Listen(a) => listen::run(&cli.global, a).await,
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

/// Logs (tracing) to stderr, so retries and waits are visible as they happen. `-v` and `-vv`
/// raise the SDK's level (info, debug: every request, every 429) and `-vvv` everything's;
/// without them `RUST_LOG` is honoured, else warnings (each retry) or, with `--quiet`, errors
/// only. The client never logs the token and scrubs what the server echoes back.
fn init_logging(global: &GlobalOpts) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let sdk = |level: &str| {
        EnvFilter::new(format!(
            "warn,fibery_cli={level},fibery_client={level},fibery_core={level},fibery_emulator={level}"
        ))
    };
    let filter = match global.verbose {
        0 => match EnvFilter::try_from_default_env() {
            Ok(from_env) => from_env,
            Err(_) if global.quiet => EnvFilter::new("error"),
            Err(_) => EnvFilter::new("warn"),
        },
        1 => sdk("info"),
        2 => sdk("debug"),
        _ => EnvFilter::new("trace"),
    };
    // Fails only if a subscriber is already set, which nothing else in the binary does.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}
