//! Counters and a latency histogram for `/metrics`, rendered in Prometheus text format.
//!
//! Deliberately tiny: a mutex-protected map of labelled counters is plenty for a daemon whose
//! hot path is network IO, and it spares a metrics dependency. The counters are a closed set,
//! [`Counter`], each declared once with its name and help text: a counter that is counted is
//! always printed, and a misspelt one does not compile.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the fetch latency histogram buckets.
const BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The counters pantau keeps, in the order `/metrics` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// Feed polls, by `result`.
    Polls,
    /// Bytes of feed bodies and article pages received.
    FetchBytes,
    /// New items stored.
    ItemsNew,
    /// Items another feed had already carried (the same link).
    CrossFeedDuplicates,
    /// Items that joined an earlier item's story.
    StoryDuplicates,
    /// Alerts queued, by `rule`.
    Matches,
    /// Delivery attempts, by `sink` and `outcome`.
    Deliveries,
    /// Config reloads, by `result`.
    Reloads,
    /// Article pages read, by `result`.
    Articles,
    /// Failed database calls of the long-lived tasks, by `task`.
    StoreErrors,
    /// Connections to the endpoint closed by pantau, by `reason`.
    HttpConnectionsDropped,
    /// Leases taken on a shared database, by `node` and `kind` (feed, sink).
    LeasesTaken,
}

impl Counter {
    /// Every counter, in the order `/metrics` prints them.
    pub const ALL: [Counter; 12] = [
        Counter::Polls,
        Counter::FetchBytes,
        Counter::ItemsNew,
        Counter::CrossFeedDuplicates,
        Counter::StoryDuplicates,
        Counter::Matches,
        Counter::Deliveries,
        Counter::Reloads,
        Counter::Articles,
        Counter::StoreErrors,
        Counter::HttpConnectionsDropped,
        Counter::LeasesTaken,
    ];

    /// Its name in the exposition.
    pub fn name(self) -> &'static str {
        match self {
            Counter::Polls => "pantau_polls_total",
            Counter::FetchBytes => "pantau_fetch_bytes_total",
            Counter::ItemsNew => "pantau_items_new_total",
            Counter::CrossFeedDuplicates => "pantau_cross_feed_duplicates_total",
            Counter::StoryDuplicates => "pantau_story_duplicates_total",
            Counter::Matches => "pantau_matches_total",
            Counter::Deliveries => "pantau_deliveries_total",
            Counter::Reloads => "pantau_reloads_total",
            Counter::Articles => "pantau_articles_total",
            Counter::StoreErrors => "pantau_store_errors_total",
            Counter::HttpConnectionsDropped => "pantau_http_connections_dropped_total",
            Counter::LeasesTaken => "pantau_leases_taken_total",
        }
    }

    /// Its `# HELP` text.
    pub fn help(self) -> &'static str {
        match self {
            Counter::Polls => "Feed polls by result (ok, not_modified, error).",
            Counter::FetchBytes => "Bytes of feed bodies received.",
            Counter::ItemsNew => "New items stored.",
            Counter::CrossFeedDuplicates => {
                "New items already carried by another feed (the same link), not alerted again."
            }
            Counter::StoryDuplicates => "New items that joined an earlier item's story (a reprint), not alerted again.",
            Counter::Matches => "Alerts queued, by rule.",
            Counter::Deliveries => "Delivery attempts by sink and outcome (delivered, retry, dead).",
            Counter::Reloads => "Config reloads by result (applied, refused).",
            Counter::Articles => "Article pages read for fetch_article feeds, by result (fetched, failed).",
            Counter::StoreErrors => "Failed database calls of the long-lived tasks, by task (each is retried).",
            Counter::LeasesTaken => {
                "Leases taken on a shared (PostgreSQL) database by node and kind (feed: a poll; sink: draining its outbox)."
            }
            Counter::HttpConnectionsDropped => {
                "Connections to /healthz and /metrics closed by pantau, by reason (evicted: the oldest, for a \
                 new one; header_timeout: no request head within 2 s, idle keep-alive included)."
            }
        }
    }
}

impl std::fmt::Display for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The process's counters.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    counters: Mutex<BTreeMap<(Counter, String), u64>>,
    histogram: Mutex<(Vec<u64>, u64, f64)>,
    heartbeat: AtomicI64,
    /// Which tasks cannot use the database now.
    pub health: super::health::Health,
    /// Why the last config reload was refused, while no later one was applied.
    reload_refused: Mutex<Option<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            counters: Mutex::new(BTreeMap::new()),
            histogram: Mutex::new((vec![0; BUCKETS.len()], 0, 0.0)),
            heartbeat: AtomicI64::new(chrono::Utc::now().timestamp()),
            health: super::health::Health::default(),
            reload_refused: Mutex::new(None),
        }
    }
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One gauge family for [`Metrics::render`]: name, help text, and values by rendered labels.
pub type Gauge<'a> = (&'a str, &'a str, Vec<(String, f64)>);

impl Metrics {
    /// Remember that a reload was refused (`Some(why)`), or that one was applied (`None`).
    pub fn set_reload_refused(&self, why: Option<String>) {
        *self.reload_refused.lock().unwrap_or_else(|e| e.into_inner()) = why;
    }

    /// Why the last reload was refused, unless a later one was applied.
    pub fn reload_refused(&self) -> Option<String> {
        self.reload_refused.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Add `by` to `counter` with `pairs` as labels.
    pub fn inc(&self, counter: Counter, pairs: &[(&str, &str)], by: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((counter, labels(pairs))).or_insert(0) += by;
    }

    /// Record one fetch's duration.
    pub fn observe_fetch(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let mut h = self.histogram.lock().unwrap_or_else(|e| e.into_inner());
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.0[i] += 1;
            }
        }
        h.1 += 1;
        h.2 += secs;
    }

    /// The scheduler loop is alive.
    pub fn heartbeat(&self) {
        self.heartbeat.store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Seconds since the scheduler loop last went round.
    pub fn since_heartbeat(&self) -> i64 {
        chrono::Utc::now().timestamp() - self.heartbeat.load(Ordering::Relaxed)
    }

    /// Time since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The counter's value (for tests and health).
    pub fn get(&self, counter: Counter, pairs: &[(&str, &str)]) -> u64 {
        let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.get(&(counter, labels(pairs))).copied().unwrap_or(0)
    }

    /// Prometheus text exposition of the counters and histogram, followed by `gauges`
    /// computed by the caller at scrape time.
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for counter in Counter::ALL {
            let _ = writeln!(out, "# HELP {counter} {}\n# TYPE {counter} counter", counter.help());
            for ((_, l), v) in counters.range((counter, String::new())..).take_while(|((c, _), _)| *c == counter) {
                let _ = writeln!(out, "{counter}{l} {v}");
            }
        }
        {
            let h = self.histogram.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(
                out,
                "# HELP pantau_fetch_seconds Duration of feed fetches.\n# TYPE pantau_fetch_seconds histogram"
            );
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "pantau_fetch_seconds_bucket{{le=\"{le}\"}} {}", h.0[i]);
            }
            let _ = writeln!(out, "pantau_fetch_seconds_bucket{{le=\"+Inf\"}} {}", h.1);
            let _ = writeln!(out, "pantau_fetch_seconds_sum {}", h.2);
            let _ = writeln!(out, "pantau_fetch_seconds_count {}", h.1);
        }
        let _ = writeln!(out, "# HELP pantau_uptime_seconds Seconds since start.\n# TYPE pantau_uptime_seconds gauge");
        let _ = writeln!(out, "pantau_uptime_seconds {}", self.uptime().as_secs());
        for (name, help, values) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (l, v) in values {
                let _ = writeln!(out, "{name}{l} {v}");
            }
        }
        out
    }
}

/// Format labels for a gauge value.
pub fn gauge_labels(pairs: &[(&str, &str)]) -> String {
    labels(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histogram_and_gauges_render_as_prometheus_text() {
        let m = Metrics::default();
        m.inc(Counter::Polls, &[("result", "ok")], 2);
        m.inc(Counter::Polls, &[("result", "error")], 1);
        m.inc(Counter::Matches, &[("rule", "a\"b")], 1);
        m.observe_fetch(Duration::from_millis(70));
        m.observe_fetch(Duration::from_secs(3));
        let text =
            m.render(&[("pantau_outbox_pending", "Pending alerts.", vec![(gauge_labels(&[("sink", "s")]), 4.0)])]);
        assert!(text.contains("pantau_polls_total{result=\"ok\"} 2\n"), "{text}");
        assert!(text.contains("pantau_polls_total{result=\"error\"} 1\n"));
        assert!(text.contains("pantau_matches_total{rule=\"a\\\"b\"} 1\n"));
        assert!(text.contains("pantau_fetch_seconds_bucket{le=\"0.05\"} 0\n"));
        assert!(text.contains("pantau_fetch_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(text.contains("pantau_fetch_seconds_bucket{le=\"5\"} 2\n"));
        assert!(text.contains("pantau_fetch_seconds_count 2\n"));
        assert!(text.contains("# TYPE pantau_outbox_pending gauge\npantau_outbox_pending{sink=\"s\"} 4\n"));
        assert_eq!(m.get(Counter::Polls, &[("result", "ok")]), 2);
    }

    #[test]
    fn every_counter_is_declared_once_and_printed_even_at_zero() {
        let text = Metrics::default().render(&[]);
        for counter in Counter::ALL {
            let declared = format!("# HELP {counter} ");
            assert_eq!(text.matches(&declared).count(), 1, "{text}");
            assert!(text.contains(&format!("# TYPE {counter} counter\n")), "{text}");
            assert!(counter.name().starts_with("pantau_") && counter.name().ends_with("_total"));
        }
        let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Counter::ALL.len());
    }
}
