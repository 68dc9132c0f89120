//! The `pantau` binary: flags, logging set-up, then one command of [`pantau::cli`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Watch news feeds and tell a chat room the moment a story matches a watch rule.
#[derive(Debug, Parser)]
#[command(name = "pantau", version, about, propagate_version = true)]
struct Args {
    /// Config file [default: $PANTAU_CONFIG, else config/pantau.toml, else /etc/pantau/pantau.toml].
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
        /// Also fetch each item's page and show the article text pantau extracts from it.
        #[arg(long)]
        article: bool,
    },
    /// Fetch (or read) one article page and print the main text pantau extracts from it
    /// (exit 0 extracted, 1 failed).
    Article {
        /// An http(s) URL or an HTML file.
        #[arg(value_name = "URL_OR_FILE")]
        source: String,
        /// Print one JSON object: {"url", "title", "text", "pages", "bytes"}.
        #[arg(long)]
        json: bool,
        /// A CSS selector for the article's text, as a feed's `article_selector`.
        #[arg(long, value_name = "CSS")]
        selector: Option<String>,
    },
    /// Evaluate one rule query and show what matched and why (exit 0 match, 1 none, 2 invalid).
    #[command(group(clap::ArgGroup::new("source").args(["text", "file", "feed", "history", "url"])))]
    TestRule {
        /// The query, as in a rule's `query`.
        query: String,
        /// Language hint, e.g. "id" for Indonesian clitics and stemming.
        #[arg(long)]
        lang: Option<String>,
        /// Match this text (as title+summary+content); stdin when no source is given.
        #[arg(long)]
        text: Option<String>,
        /// Match the contents of this text or HTML file.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Match every item of this feed (URL or file).
        #[arg(long, value_name = "URL_OR_FILE")]
        feed: Option<String>,
        /// Backtest: match the items first seen within this span: days (7) or a duration (12h, 7d).
        #[arg(long, value_name = "SPAN", value_parser = pantau::cli::test_rule::history_span)]
        history: Option<std::time::Duration>,
        /// Fetch this article page, extract its main text and match it (as the `article` field).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Show every feed's health: last poll, last success, errors, next poll, items.
    Feeds,
    /// Show recent alerts and their delivery state.
    Alerts {
        /// Only dead alerts and pending ones that failed at least once.
        #[arg(long)]
        failed: bool,
        /// How many alerts to show, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show the newest stored items.
    Items {
        /// Only this feed's items.
        #[arg(long)]
        feed: Option<String>,
        /// How many items to show, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only the copies of this story (the STORY column), its first item first.
        #[arg(long)]
        story: Option<i64>,
    },
    /// Put dead (or named) alerts back into the outbox.
    Redeliver {
        /// Alert ids (see `pantau alerts`).
        #[arg(required_unless_present = "failed")]
        ids: Vec<String>,
        /// Every dead alert.
        #[arg(long)]
        failed: bool,
    },
    /// Print [[feed]] tables for every feed outline of an OPML file.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
    },
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every event is scrubbed of the config's secrets before it reaches stderr.
        .with_writer(|| pantau::config::secrets::ScrubWriter::new(pantau::service::progress::log_writer()))
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    let config = args.config.unwrap_or_else(pantau::config::default_path);
    match &args.command {
        Command::Check => return pantau::cli::check(&config),
        Command::ImportOpml { file } => return pantau::cli::import_opml(file),
        _ => {}
    }
    pantau::service::memory::limit_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(pantau::service::memory::BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pantau: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        if matches!(args.command, Command::Once | Command::TestRule { .. }) {
            pantau::service::progress::enable();
        }
        match args.command {
            Command::Run => pantau::cli::run(&config).await,
            Command::Once => pantau::cli::once(&config).await,
            Command::Parse { source, json, article } => pantau::cli::parse(&source, json, article).await,
            Command::Article { source, json, selector } => {
                pantau::cli::article(&source, json, selector.as_deref()).await
            }
            Command::TestRule { query, lang, text, file, feed, history, url } => {
                use pantau::cli::test_rule::Source;
                let source = match (text, file, feed, history, url) {
                    (Some(t), ..) => Source::Text(t),
                    (_, Some(f), ..) => Source::File(f),
                    (_, _, Some(u), ..) => Source::Feed(u),
                    (_, _, _, Some(d), _) => Source::History(d),
                    (_, _, _, _, Some(u)) => Source::Url(u),
                    _ => {
                        let mut t = String::new();
                        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut t) {
                            eprintln!("pantau: cannot read stdin: {e}");
                            return ExitCode::from(1);
                        }
                        Source::Text(t)
                    }
                };
                pantau::cli::test_rule(&config, &query, lang.as_deref(), source).await
            }
            Command::Feeds => pantau::cli::feeds(&config).await,
            Command::Alerts { failed, limit } => pantau::cli::alerts(&config, failed, limit).await,
            Command::Items { feed, limit, story } => pantau::cli::items(&config, feed, limit, story).await,
            Command::Redeliver { ids, failed } => pantau::cli::redeliver(&config, ids, failed).await,
            Command::Check | Command::ImportOpml { .. } => unreachable!("handled before the runtime starts"),
        }
    })
}
