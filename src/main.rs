//! The `pantau` binary: flags, logging set-up, then one command of [`pantau::cli`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Watch news feeds and tell a chat room the moment a story matches a watch rule.
#[derive(Debug, Parser)]
#[command(name = "pantau", version, about, propagate_version = true)]
struct Args {
    /// Config file [default: $PANTAU_CONFIG, else config/pantau.toml].
    #[arg(short, long, global = true, env = "PANTAU_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Log format on stderr (filter with RUST_LOG, e.g. RUST_LOG=pantau=debug).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: poll on schedule, match, deliver, until SIGTERM/SIGINT.
    Run,
    /// Poll every enabled feed now, deliver everything due, then exit.
    Once,
    /// Validate the config and every rule; print each problem as PATH:LINE:COL: message.
    Check,
    /// Fetch or read one feed and print its items as pantau sees them.
    Parse {
        /// An http(s) URL or a file path.
        #[arg(value_name = "URL_OR_FILE")]
        source: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    let config = args.config.unwrap_or_else(|| PathBuf::from(pantau::config::DEFAULT_PATH));
    if let Command::Check = args.command {
        return pantau::cli::check(&config);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pantau: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        match args.command {
            Command::Run => pantau::cli::run(&config).await,
            Command::Once => pantau::cli::once(&config).await,
            Command::Parse { source, json } => pantau::cli::parse(&source, json).await,
            Command::Check => unreachable!("handled before the runtime starts"),
        }
    })
}
