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

/// `pantau test-rule --help`: the query syntax in brief and the exit codes.
const TEST_RULE_HELP: &str = "\
Query syntax (the README has the whole of it):
  \"Korea Utara\" AND senjata     both words/phrases; juxtaposition also means AND
  Korut OR \"Korea Utara\"        either;  NOT olahraga  or  -olahraga  excludes
  rudal NEAR/5 Pyongyang        at most 5 words apart (ONEAR/5: in this order)
  title:senjata                 only in a field: title summary content article text author category link feed
  senjata*  *senjata*  senj?ta  wildcards inside one word
  =AS  ~senjata  /rudal (balistik|jelajah)/i   exact form, same stem (with --lang id), regex
  Precedence, tightest first: NEAR/ONEAR, NOT, AND, OR. Operators are upper case.

Exit codes: 0 something matched, 1 nothing matched, 2 the query is invalid,
3 the input could not be read (file, feed, page, stdin, database), 64 usage error.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: poll on schedule, match, deliver, until SIGTERM/SIGINT.
    #[command(
        after_help = "Exit codes: 0 after a clean shutdown, 1 on a fatal error (bad config, database in use or damaged), 64 usage error.\nSIGHUP reloads the config; an invalid one is refused and the running one stays."
    )]
    Run {
        /// This node's name in `pantau nodes` [default: hostname:pid].
        #[arg(long, env = "PANTAU_NODE", value_name = "NAME")]
        node: Option<String>,
    },
    /// Poll every enabled feed now, deliver everything due, then exit.
    #[command(
        after_help = "Exit codes: 0 when the cycle completed (failed feeds are reported), 1 on a fatal error, 64 usage error."
    )]
    Once {
        /// This node's name in `pantau nodes` [default: hostname:pid].
        #[arg(long, env = "PANTAU_NODE", value_name = "NAME")]
        node: Option<String>,
    },
    /// Validate the config and every rule; print each problem as PATH:LINE:COL: message.
    #[command(after_help = "Exit codes: 0 valid (warnings are printed), 2 invalid, 64 usage error.")]
    Check,
    /// Fetch or read one feed and print its items as pantau sees them.
    #[command(after_help = "Exit codes: 0 parsed, 1 failed (not readable or not a feed), 64 usage error.")]
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
    /// Fetch (or read) one article page and print the main text pantau extracts from it.
    #[command(
        after_help = "Exit codes: 0 extracted, 1 failed (not fetched, not HTML, no article text, bad selector), 64 usage error."
    )]
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
    /// Evaluate one rule query and show what matched and why.
    #[command(after_help = TEST_RULE_HELP)]
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
    /// Show every feed's health: last poll, last success, errors, next poll, items, articles.
    #[command(after_help = "Exit codes: 0, 1 when the database cannot be read, 64 usage error.")]
    Feeds {
        /// One JSON array of feed objects, every field and error in full.
        #[arg(long)]
        json: bool,
    },
    /// Show the nodes that ran on this database: last heartbeat, leases held, config hash.
    #[command(
        after_help = "A node is live while it beats (every third of [daemon] lease); on SQLite one node runs at a time and holds no leases.\nExit codes: 0, 1 when the database cannot be read, 64 usage error."
    )]
    Nodes {
        /// One JSON array of node objects.
        #[arg(long)]
        json: bool,
    },
    /// Show recent alerts and their delivery state.
    #[command(after_help = "Exit codes: 0, 1 when the database cannot be read, 64 usage error.")]
    Alerts {
        /// Only dead alerts and pending ones that failed at least once.
        #[arg(long)]
        failed: bool,
        /// How many alerts to show, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON array of alert objects, each last error in full.
        #[arg(long)]
        json: bool,
    },
    /// Show the newest stored items.
    #[command(after_help = "Exit codes: 0, 1 when the database cannot be read, 64 usage error.")]
    Items {
        /// Only this feed's items.
        #[arg(long)]
        feed: Option<String>,
        /// How many items to show, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON array of item objects.
        #[arg(long)]
        json: bool,
        /// Only the copies of this story (the STORY column), its first item first.
        #[arg(long)]
        story: Option<i64>,
    },
    /// Put dead (or named) alerts back into the outbox.
    #[command(
        after_help = "Exit codes: 0 every named alert queued, 1 an id is unknown (or the database cannot be read), 64 usage error."
    )]
    Redeliver {
        /// Alert ids (see `pantau alerts`).
        #[arg(required_unless_present = "failed")]
        ids: Vec<String>,
        /// Every dead alert.
        #[arg(long)]
        failed: bool,
    },
    /// Copy the config's SQLite database into an empty PostgreSQL database (to run several nodes).
    #[command(
        after_help = "Copies every feed's schedule and validators, every item, story and node, and the outbox with each alert's state, ids kept, so that nothing is sent again. Stop pantau first (the copy holds the SQLite file's lock); the target must hold no rows. Then set `database` to the URL and start the nodes.\nExit codes: 0 copied, 1 refused (a running pantau, no SQLite database, a target not empty) or failed, 64 usage error."
    )]
    Migrate {
        /// The PostgreSQL database to copy into: postgres://USER:PASSWORD@HOST:PORT/DBNAME; each ${NAME} in it is read from the environment (keeps the password off the command line).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Print [[feed]] tables for every feed outline of an OPML file.
    #[command(after_help = "Exit codes: 0 printed, 1 the file cannot be read or holds no feed, 64 usage error.")]
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
        .with_writer(|| pantau::secrets::ScrubWriter::new(pantau::service::progress::log_writer()))
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // --help and --version print to stdout and succeed; a usage error is EX_USAGE (64),
            // never one of a command's own codes (test-rule's 2 means an invalid query).
            let code = if e.use_stderr() { pantau::cli::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
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
        if matches!(args.command, Command::Once { .. } | Command::TestRule { .. }) {
            pantau::service::progress::enable();
        }
        match args.command {
            Command::Run { node } => pantau::cli::run(&config, node).await,
            Command::Once { node } => pantau::cli::once(&config, node).await,
            Command::Nodes { json } => pantau::cli::nodes(&config, json).await,
            Command::Parse { source, json, article } => pantau::cli::parse(&config, &source, json, article).await,
            Command::Article { source, json, selector } => {
                pantau::cli::article(&config, &source, json, selector.as_deref()).await
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
                            return ExitCode::from(pantau::cli::INPUT_FAILED);
                        }
                        Source::Text(t)
                    }
                };
                pantau::cli::test_rule(&config, &query, lang.as_deref(), source).await
            }
            Command::Feeds { json } => pantau::cli::feeds(&config, json).await,
            Command::Alerts { failed, limit, json } => pantau::cli::alerts(&config, failed, limit, json).await,
            Command::Items { feed, limit, json, story } => pantau::cli::items(&config, feed, limit, story, json).await,
            Command::Redeliver { ids, failed } => pantau::cli::redeliver(&config, ids, failed).await,
            Command::Migrate { to } => pantau::cli::migrate(&config, &to).await,
            Command::Check | Command::ImportOpml { .. } => unreachable!("handled before the runtime starts"),
        }
    })
}
