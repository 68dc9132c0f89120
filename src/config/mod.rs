//! Configuration: the TOML file of CONTRACT §2 read, checked and compiled into settings.
//!
//! `raw` mirrors the file; [`load`] validates it (`validate`, with `sinks` for `[[sink]]`
//! tables, whose type keys each sink type's module in [`crate::sinks`] reads) into the
//! compiled types of `types` ([`Config`]: durations parsed, rules compiled, `${VAR}` expanded,
//! paths resolved) and reports every problem with its location. `reload` compares two
//! configs; `glob` matches rules' feed patterns.

mod diagnostic;
mod glob;
mod raw;
mod reload;
use crate::secrets;
mod sinks;
mod types;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use diagnostic::{ConfigErrors, Diagnostic, Severity};
pub use glob::glob_match;
pub use reload::{diff, Changes, Diff};
pub use secrets::Secrets;
pub use types::*;
use validate::validate;
pub use validate::{expand_env, postgres_url, Expanded};

pub use crate::identity::IdPolicy;

/// The config file used when neither `--config` nor `$PANTAU_CONFIG` says otherwise.
pub const DEFAULT_PATH: &str = "config/pantau.toml";

/// Where the installed service's config lives (the unit's `PANTAU_CONFIG`, and the default of
/// every command when `config/pantau.toml` is not in the working directory).
pub const INSTALLED_PATH: &str = "/etc/pantau/pantau.toml";

/// The directory of [`INSTALLED_PATH`].
const INSTALLED_CONFIG_DIR: &str = "/etc/pantau";

/// The installed service's state directory (`StateDirectory=pantau`): a relative `database`
/// of the installed config is placed here.
const INSTALLED_STATE_DIR: &str = "/var/lib/pantau";

/// The config file to use when none is given and `$PANTAU_CONFIG` is not set:
/// `config/pantau.toml` in the working directory (a checkout), else [`INSTALLED_PATH`] when
/// it exists (an installed service), else `config/pantau.toml` (to name in the error).
pub fn default_path() -> PathBuf {
    let local = Path::new(DEFAULT_PATH);
    if !local.exists() && Path::new(INSTALLED_PATH).exists() {
        return PathBuf::from(INSTALLED_PATH);
    }
    local.to_path_buf()
}

/// Items older than this (by published/updated date) never alert unless `max_age` says
/// otherwise (`"off"`): a month-old archive in a newly added feed is not news.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 86_400);

/// Requests a webhook sink has in flight at once unless its `concurrency` says otherwise.
pub const DEFAULT_WEBHOOK_CONCURRENCY: usize = crate::sinks::webhook::DEFAULT_CONCURRENCY;

/// After this many failed attempts an alert is given up on, unless the sink's `max_attempts`
/// says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 25;

/// Total deadline of one fetch unless `[daemon] timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `[daemon] lease` when not set.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The shortest `[daemon] lease`: a node renews every third of it.
pub const MIN_LEASE: Duration = Duration::from_secs(3);

/// Largest feed body accepted unless `[daemon] max_body` says otherwise.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

/// The largest `max_items`: more items than this in one document is no news feed.
pub const MAX_ITEMS_LIMIT: usize = 100_000;

/// The most requests one sink may have in flight.
pub const MAX_SINK_CONCURRENCY: usize = 64;

/// Read, validate and compile the config file at `path`, expanding `${VAR}` from the process
/// environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let source = read_source(path)?;
    let config = load_str(path, &source, &|name| std::env::var(name).ok())?;
    // From now on every log line and stored error of this process is scrubbed of them.
    secrets::remember(&config.secrets);
    Ok(config)
}

/// The config file's text, or the error naming it (with a hint when it is missing).
fn read_source(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        let hint =
            if e.kind() == std::io::ErrorKind::NotFound { " (pass --config PATH or set PANTAU_CONFIG)" } else { "" };
        ConfigErrors(vec![Diagnostic::whole_file(path, format!("cannot read config file: {e}{hint}"))])
    })
}

/// The config for commands that only read the database (`feeds`, `items`, `alerts`,
/// `redeliver`, `test-rule --history`): as [`load`], but a `${VAR}` that is not set (the
/// service's secrets live in its EnvironmentFile) and invalid rules, sinks or feeds do not stop
/// them. What could not be validated is returned as diagnostics to mention; only a file that
/// cannot be read or is not TOML is an error.
pub fn load_for_inspection(path: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigErrors> {
    let source = read_source(path)?;
    // An unset variable reads as its own reference, which is never a secret and never sent.
    // ($STATE_DIRECTORY is looked up as itself: unset, the database is placed as usual.)
    let env = |name: &str| match std::env::var(name) {
        Ok(v) => Some(v),
        Err(_) if name == "STATE_DIRECTORY" => None,
        Err(_) => Some(format!("${{{name}}}")),
    };
    let (config, errors) = validate(path, &source, &env)?;
    secrets::remember(&config.secrets);
    Ok((config, errors))
}

/// Validate `source` as if read from `path`; `env` looks up `${VAR}` references.
pub fn load_str(path: &Path, source: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    match validate(path, source, env)? {
        (config, errors) if errors.is_empty() => Ok(config),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

#[cfg(test)]
mod tests;
