//! `pantau migrate --to URL`: copy the SQLite database the config names into an empty
//! PostgreSQL database, so that a single-node install becomes a cluster with its feeds' state,
//! its items and its outbox (nothing is sent again).

use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, ConfigErrors};
use crate::model::Database;
use crate::secrets::{self, scrub, Secrets};
use crate::store::{self, Store, StoreError};

/// `pantau migrate --to URL`: 0 copied, 1 refused or failed. The URL is never printed with its
/// password.
pub async fn migrate(path: &Path, to: &str) -> ExitCode {
    match copy(path, to).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pantau: {}", scrub(&message));
            ExitCode::from(1)
        }
    }
}

async fn copy(path: &Path, to: &str) -> Result<(), String> {
    let target = target(to, &|name| std::env::var(name).ok())?;
    // Only the database is needed: the service's secrets need not be set, and a config with
    // mistakes elsewhere still names its database.
    let config = match config::load_for_inspection(path) {
        Ok((config, _)) => config,
        Err(ConfigErrors(errors)) => {
            for e in &errors {
                eprintln!("{}", scrub(&e.render()));
            }
            return Err(format!("{} error(s) in {}; nothing copied", errors.len(), path.display()));
        }
    };
    let file = match &config.daemon.database {
        Database::Sqlite(file) => file.clone(),
        db @ Database::Postgres(_) => {
            return Err(format!(
                "the database of {} is PostgreSQL already ({}); migrate copies the SQLite file that a config's \
                 `database` names",
                path.display(),
                db.shown()
            ))
        }
    };
    if !file.is_file() {
        return Err(format!(
            "no database at {} (the `database` of {}); nothing to copy",
            file.display(),
            path.display()
        ));
    }
    // Held until the copy is done (dropped after the store): a daemon must not write meanwhile.
    let _lock = match store::lock_instance(&file) {
        Ok(lock) => lock,
        Err(StoreError::Locked { .. }) => {
            return Err(format!(
                "database {} is in use by a running pantau; stop pantau first, then copy (it would go on writing \
                 to the file during the copy)",
                file.display()
            ))
        }
        Err(e) => return Err(e.to_string()),
    };
    let source = Store::open(&file).await.map_err(|e| e.to_string())?;
    let into = Store::open_database(&target).await.map_err(|e| e.to_string())?;
    let counts = source.copy_into(&into).await.map_err(|e| e.to_string())?;

    let shown = target.shown();
    let mut out = format!("copied {} into {shown}\n", file.display());
    for (table, rows) in &counts.tables {
        out.push_str(&format!("  {table:<16} {rows:>10}\n"));
    }
    // A reference is not a secret: it is what the config should say too.
    let (value, note) = if to.contains("${") {
        (to.to_string(), "")
    } else if target != Database::Postgres(shown.clone()) {
        (shown, " (with the password for ***, best as ${NAME} from the service's environment)")
    } else {
        (shown, "")
    };
    out.push_str(&format!("next: set database = \"{value}\" in {}{note} and start the nodes\n", path.display()));
    // A password written beside a ${NAME} in --to is a registered secret: never printed.
    print!("{}", scrub(&out));
    Ok(())
}

/// The database `--to` names: a `postgres://` URL, in which `${NAME}` is read from the
/// environment (so that the password need not be on the command line). Its secrets are added
/// to those every message is scrubbed of. `env` looks variables up.
fn target(to: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Database, String> {
    let url = expand(to, env)?;
    let Some(usable) = config::postgres_url(&url) else {
        return Err("--to must be a PostgreSQL URL: postgres://USER:PASSWORD@HOST:PORT/DBNAME".into());
    };
    let mut found = Secrets::default();
    found.add_url_parts(&url);
    secrets::remember(&found);
    if let Err(e) = usable {
        return Err(format!(
            "--to is not a PostgreSQL URL that pantau can use ({e}); write postgres://USER:PASSWORD@HOST:PORT/DBNAME"
        ));
    }
    Ok(Database::Postgres(url))
}

/// `value` with each `${NAME}` replaced by that environment variable, as the config reads it;
/// the first problem is the error.
fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let expanded = config::expand_env(value, env);
    match expanded.problems.into_iter().next() {
        Some(problem) => Err(format!("--to: {problem}")),
        None => Ok(expanded.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_a_postgres_url_with_references_read_from_the_environment() {
        let env = |name: &str| (name == "PW").then(|| "s3cr%t".to_string());
        let db = target("postgres://u:${PW}@db:5432/p", &env).unwrap();
        assert_eq!(db, Database::Postgres("postgres://u:s3cr%t@db:5432/p".into()));
        assert!(!db.shown().contains("s3cr"), "{}", db.shown());
        assert!(!scrub("connect to s3cr%t failed").contains("s3cr"));
        for (to, says) in [
            ("/var/lib/pantau/pantau.db", "must be a PostgreSQL URL"),
            ("mysql://u:p@h/d", "must be a PostgreSQL URL"),
            ("postgres://u:${UNSET}@h/d", "UNSET is not set"),
            ("postgres://u:${P W}@h/d", "invalid environment variable name"),
            ("postgres://u:p@h/d?${X", "unterminated"),
        ] {
            let err = target(to, &env).unwrap_err();
            assert!(err.contains(says), "{to}: {err}");
        }
    }
}
