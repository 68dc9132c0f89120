//! Test helpers, one per job: throwaway HTTP servers on 127.0.0.1 (`feed_server.rs`: feeds and
//! webhook receivers), the config builder (`config.rs`), the process guard for the real `pantau`
//! binary (`process.rs`), the PostgreSQL test server, its databases and a proxy that cuts it
//! (`pg.rs`), temporary directories, and the sample feed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

mod config;
mod feed_server;
mod pg;
mod process;

pub use config::{ConfigBuilder, KORUT};
pub use feed_server::{FeedServer, Receiver, Request, Response, Server};
pub use pg::{fresh_database, shown as shown_url, PgProxy};
pub use process::{get, listen_port, Daemon};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "pantau-test-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `pantau.toml` with `contents` and return its path. The samples are dated (2022),
    /// so unless `[daemon]` sets `max_age`, it is turned off (the default of a week would keep
    /// them from alerting); [`TempDir::config_as_is`] writes the text unchanged.
    pub fn config(&self, contents: &str) -> PathBuf {
        self.config_as_is(&without_max_age(contents))
    }

    /// Write `pantau.toml` with exactly `contents`.
    pub fn config_as_is(&self, contents: &str) -> PathBuf {
        let p = self.0.join("pantau.toml");
        std::fs::write(&p, contents).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `contents` with `max_age = "off"` in its `[daemon]` table unless that sets `max_age`.
pub fn without_max_age(contents: &str) -> String {
    match contents.find("[daemon]") {
        Some(at) => {
            let body_start = at + "[daemon]".len();
            let body_end = contents[body_start..].find("\n[").map_or(contents.len(), |n| body_start + n);
            if contents[body_start..body_end].contains("max_age") {
                contents.to_string()
            } else {
                format!("{}\nmax_age = \"off\"{}", &contents[..body_start], &contents[body_start..])
            }
        }
        None => format!("[daemon]\nmax_age = \"off\"\n{contents}"),
    }
}

/// The `pantau` binary under test.
pub fn pantau() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pantau"));
    c.env_remove("PANTAU_CONFIG").env("RUST_LOG", "pantau=debug");
    c
}

/// Run `pantau -c CONFIG ARGS…` to completion.
pub fn run(config: &Path, args: &[&str]) -> Output {
    pantau().arg("-c").arg(config).args(args).output().expect("run pantau")
}

/// Stdout and stderr of an output, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The sample feed of ../shared/samples (copied into tests/data).
pub fn sample_feed() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/world-news.rss")).unwrap()
}

/// An RSS item to splice into the sample feed.
pub fn rss_item(guid: &str, title: &str, description: &str) -> String {
    format!(
        "<item><title>{title}</title><link>https://news.example.id/world/{guid}</link><guid>{guid}</guid>\
         <pubDate>Wed, 25 Nov 2026 10:00:00 +0700</pubDate><description>{description}</description></item>"
    )
}

/// The sample feed with `items` added before the existing ones.
pub fn sample_with(items: &[String]) -> String {
    let feed = sample_feed();
    let at = feed.find("<item>").unwrap();
    format!("{}{}{}", &feed[..at], items.concat(), &feed[at..])
}

pub mod score;
pub mod story_set;

/// A data set of `../shared` (`name`, recognised by its file `marker`), or `None` with a loud
/// SKIPPED line when it is absent (a clone without `../shared`). In CI (`CI` set), where
/// `../shared` is always present, its absence fails the test instead.
pub fn shared(name: &str, marker: &str) -> Option<PathBuf> {
    let var = format!("PANTAU_{}", name.to_ascii_uppercase());
    let dir = std::env::var_os(&var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(name));
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    let msg = format!(
        "SKIPPED: {} needs the {name} data set at {} (set {var} or put ../shared beside the repo)",
        std::thread::current().name().unwrap_or("this test"),
        dir.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}; in CI the data set must be there");
    eprintln!("{msg}");
    println!("{msg}");
    None
}
