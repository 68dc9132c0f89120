//! Store calls of long-lived tasks, retried until the database answers: each failure counted
//! (`pantau_store_errors_total`), logged and recorded as a trouble of the task in
//! [`super::health`], each success ending it.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::metrics::{Counter, Metrics};
use crate::store::StoreError;

/// The longest pause between two attempts of a failing store call.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// The pause before attempt `failures + 1` of a failing store call: 1 s doubling to
/// [`MAX_RETRY_DELAY`].
pub fn delay(failures: u64) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(MAX_RETRY_DELAY)
}

impl Metrics {
    /// A store call of `task` that started at `started` failed: count it, record the trouble and
    /// log it; returns how many times in a row the task failed.
    pub fn store_failed(&self, task: &str, error: &StoreError, started: DateTime<Utc>) -> u64 {
        self.inc(Counter::StoreErrors, &[("task", task)], 1);
        let failures = self.health.failed(task, &error.to_string(), started);
        if failures == 1 {
            tracing::error!(task, error = %error, "database call failed; retrying until it works");
        } else {
            tracing::warn!(task, failures, error = %error, "database call failed again");
        }
        failures
    }

    /// A store call of `task` succeeded: its trouble, if any, is over.
    pub fn store_ok(&self, task: &str) {
        if let Some(t) = self.health.succeeded(task, Utc::now()) {
            let secs = (Utc::now() - t.since).num_seconds().max(0);
            tracing::info!(task, failures = t.failures, seconds = secs, "database works again; carrying on");
        }
    }
}

/// Run `op` until it succeeds, pausing with backoff after each store error (each recorded as a
/// trouble of `task`); `None` when `cancel` fires first.
pub async fn store<T, F, Fut>(metrics: &Metrics, task: &str, cancel: &CancellationToken, mut op: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    loop {
        let started = Utc::now();
        match op().await {
            Ok(v) => {
                metrics.store_ok(task);
                return Some(v);
            }
            Err(e) => {
                let failures = metrics.store_failed(task, &e, started);
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(delay(failures)) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_one_second_to_thirty() {
        assert_eq!(delay(1), Duration::from_secs(1));
        assert_eq!(delay(2), Duration::from_secs(2));
        assert_eq!(delay(5), Duration::from_secs(16));
        assert_eq!(delay(6), MAX_RETRY_DELAY);
        assert_eq!(delay(u64::MAX), MAX_RETRY_DELAY);
    }
}
