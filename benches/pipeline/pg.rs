//! The PostgreSQL side of `--postgres URL`: a fresh database for each measurement, created and
//! dropped on the server at URL, and the CPU time of that database's server processes.
//!
//! The blocking `postgres` client runs its own tokio runtime inside, which must not be started
//! from a thread of another runtime: every call here runs on a plain thread of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::child::{proc_cpu_ticks, ticks_per_second};
use crate::die;

/// Databases created by this process and not dropped yet: (server URL, name). [`crate::die`]
/// drops them before the bench exits.
static CREATED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Run `f` on a thread of its own and wait for it (see the module's note).
fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap_or_else(|_| die("a PostgreSQL client thread panicked"))
}

/// `url` with its password masked, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

/// The server's own message when there is one ("db error" alone says nothing).
fn why(e: &postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{}: {}", d.code().code(), d.message()))
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| die(&format!("cannot connect to PostgreSQL at {}: {}", redacted(url), why(&e))))
}

/// A database made for one measurement, dropped (with its connections) when this is dropped.
pub struct FreshDb {
    /// The server's URL as given (`--postgres`), through which the database is created and
    /// dropped.
    pub server: String,
    pub name: String,
    /// The URL of the new database: the server's, with the database name replaced.
    pub url: String,
}

impl FreshDb {
    /// Create `pantau_bench_<pid>_<tag>` on the server at `server` (a `postgres://` URL whose
    /// role may CREATE DATABASE).
    pub fn create(server: &str, tag: &str) -> FreshDb {
        let mut u = url::Url::parse(server)
            .ok()
            .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
            .unwrap_or_else(|| die("--postgres takes a URL: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"));
        let name = format!("pantau_bench_{}_{tag}", std::process::id());
        u.set_path(&format!("/{name}"));
        let (admin, db) = (server.to_string(), name.clone());
        on_thread(move || {
            let mut c = connect(&admin);
            // One statement each: several in one query would be one transaction, which neither
            // may run in.
            for sql in [format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"), format!("CREATE DATABASE {db}")] {
                c.batch_execute(&sql).unwrap_or_else(|e| die(&format!("cannot create database {db}: {}", why(&e))));
            }
        });
        CREATED.lock().unwrap_or_else(|e| e.into_inner()).push((server.to_string(), name.clone()));
        FreshDb { server: server.to_string(), name, url: u.to_string() }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        drop_database(&self.server, &self.name);
        CREATED.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, n)| n != &self.name);
    }
}

/// Drop `name` on the server at `server`, closing its connections; a failure is only reported.
fn drop_database(server: &str, name: &str) {
    let (server, name) = (server.to_string(), name.to_string());
    on_thread(move || {
        let result = postgres::Client::connect(&server, postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
        if let Err(e) = result {
            eprintln!("bench: cannot drop database {name} (drop it by hand): {}", why(&e));
        }
    });
}

/// Drop every database this process created and has not dropped yet (on the way out of
/// [`crate::die`]).
pub fn drop_created() {
    let left: Vec<(String, String)> = std::mem::take(&mut *CREATED.lock().unwrap_or_else(|e| e.into_inner()));
    for (server, name) in left {
        drop_database(&server, &name);
    }
}

/// The CPU time of the server processes (backends) serving one database, read from
/// `/proc/PID/stat` of the pids `pg_stat_activity` lists for it: only possible when the server
/// runs on this machine. Sampled every 200 ms: a backend that exits between two samples loses
/// at most its last 200 ms.
pub struct BackendCpu {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<BackendTotals>,
}

/// What [`BackendCpu`] saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct BackendTotals {
    /// User + system CPU seconds of the backends, or None when none could be read (a server on
    /// another machine).
    pub cpu_s: Option<f64>,
    /// Backends seen.
    pub backends: usize,
}

impl BackendCpu {
    /// Start watching the backends of database `db` on the server at `server`.
    pub fn watch(server: &str, db: &str) -> BackendCpu {
        let stop = Arc::new(AtomicBool::new(false));
        let (server, db, flag) = (server.to_string(), db.to_string(), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let mut c = connect(&server);
            let mut seen: HashMap<i32, u64> = HashMap::new();
            let mut sample = |c: &mut postgres::Client| {
                let Ok(rows) = c.query("SELECT pid FROM pg_stat_activity WHERE datname = $1", &[&db]) else { return };
                for row in rows {
                    let pid: i32 = row.get(0);
                    if let Some(t) = u32::try_from(pid).ok().and_then(proc_cpu_ticks) {
                        let e = seen.entry(pid).or_default();
                        *e = (*e).max(t);
                    }
                }
            };
            while !flag.load(Ordering::Relaxed) {
                sample(&mut c);
                std::thread::sleep(Duration::from_millis(200));
            }
            sample(&mut c);
            let ticks: u64 = seen.values().sum();
            BackendTotals { cpu_s: (!seen.is_empty()).then(|| ticks as f64 / ticks_per_second()), backends: seen.len() }
        });
        BackendCpu { stop, handle }
    }

    /// Take a last sample and stop.
    pub fn finish(self) -> BackendTotals {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// What the server's statistics say of a database: transactions, and the busiest tables.
#[derive(Debug, Default, Clone)]
pub struct DbStats {
    /// Transactions committed and rolled back (each statement outside a transaction is one).
    pub transactions: i64,
    /// (table, rows inserted + updated + deleted, index scans, sequential scans), busiest first.
    pub tables: Vec<(String, i64, i64, i64)>,
}

/// The statistics of `db`, once its connections have closed (a backend reports its counts when
/// it ends); None when they cannot be read.
pub fn db_stats(db: &FreshDb) -> Option<DbStats> {
    let (server, url, name) = (db.server.clone(), db.url.clone(), db.name.clone());
    on_thread(move || {
        let mut c = postgres::Client::connect(&server, postgres::NoTls).ok()?;
        let row = c
            .query_one(
                "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = $1",
                &[&name],
            )
            .ok()?;
        let transactions: i64 = row.get(0);
        let mut c = postgres::Client::connect(&url, postgres::NoTls).ok()?;
        let rows = c
            .query(
                "SELECT relname::text, (n_tup_ins + n_tup_upd + n_tup_del)::bigint,
                        COALESCE(idx_scan, 0)::bigint, COALESCE(seq_scan, 0)::bigint
                 FROM pg_stat_user_tables
                 ORDER BY n_tup_ins + n_tup_upd + n_tup_del + COALESCE(idx_scan, 0) + COALESCE(seq_scan, 0) DESC
                 LIMIT 6",
                &[],
            )
            .ok()?;
        let tables = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        Some(DbStats { transactions, tables })
    })
}
