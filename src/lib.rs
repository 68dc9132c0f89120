//! pantau watches news feeds and tells a chat room the moment a story matches a watch rule.
//!
//! The crate is laid out as the pipeline an item travels:
//!
//! ```text
//! config → scheduler → fetch → parse → store (dedup + outbox) → rules → deliver
//! ```
//!
//! - [`config`]: the TOML file read, validated and compiled (rules parsed, `${VAR}` expanded).
//! - [`scheduler`]: when each feed is due; concurrency limits; never two polls of one feed.
//! - [`fetch`]: one HTTP GET with a conditional request, timeouts and a body cap.
//! - [`parse`]: bytes → items with plain-text fields (pure).
//! - [`markup`]: markup read as text wherever it turns up (feed items, article pages, OPML, chat
//!   messages, the terminal): character references, HTML → visible text, control characters,
//!   a forgiving XML tokenizer (pure).
//! - [`pipeline`]: one poll of one feed, top to bottom, writing items and alerts together.
//! - [`article`]: whole articles: a new item's page fetched, its main text extracted (pure)
//!   and matched; the daemon's article stage.
//! - [`rules`]: the watch-rule language (pure).
//! - [`store`]: the only home of SQL: feeds, deduplicated items, the alert outbox.
//! - [`sinks`]: one module per sink type: its keys, defaults and rendering (pure).
//! - [`deliver`]: outbox workers: they send what [`sinks`] renders.
//! - [`daemon`]: wiring for `run` and `once`; [`cli`]: the commands.
//! - [`model`]: plain domain types shared by the stages; [`opml`]: subscription lists.
//! - [`identity`]: item keys; [`jitter`]: the one way waits are spread; [`secrets`]: secret values
//!   kept out of every log line and printed message.

pub mod article;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod fetch;
pub mod identity;
pub mod jitter;
pub mod markup;
pub mod model;
pub mod opml;
pub mod parse;
pub mod pipeline;
pub mod rules;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod sinks;
pub mod store;
pub mod stories;
