//! Which long-lived tasks cannot make progress, and why: a delivery worker, the polls, the
//! scheduler, retention or the article stage that fails to use the database. Tasks report each
//! failed and each successful store call; `/healthz`, `/metrics` and the operator alerts read
//! what is recorded here. A failing task never stops: [`super::retry::store`] waits with backoff
//! and tries again until the database answers.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A task failing for longer than this makes `/healthz` answer 503 (before that it is listed
/// as a problem and the status is "degraded").
pub const STUCK_AFTER: Duration = Duration::from_secs(120);

/// Ended troubles kept for the operator alerts until they are read.
const ENDED_KEPT: usize = 64;

/// One task's current failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trouble {
    /// When its first failure (since its last success) happened.
    pub since: DateTime<Utc>,
    /// Its latest error.
    pub error: String,
    /// Failed calls since its last success.
    pub failures: u64,
    /// Whether the operator was told that it fails.
    pub alerted: bool,
}

/// A trouble that is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The task.
    pub task: String,
    /// What it was.
    pub trouble: Trouble,
    /// When the task succeeded again.
    pub at: DateTime<Utc>,
}

/// The troubles of the process's tasks, by task name.
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    troubles: BTreeMap<String, Trouble>,
    ended: Vec<Ended>,
}

impl Health {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `task` failed with `error` in a call that started at `started` (a call can wait a while
    /// for a lock before it fails); returns how many times in a row it has.
    pub fn failed(&self, task: &str, error: &str, started: DateTime<Utc>) -> u64 {
        let mut state = self.state();
        let t = state.troubles.entry(task.to_string()).or_insert_with(|| Trouble {
            since: started,
            error: String::new(),
            failures: 0,
            alerted: false,
        });
        t.error = error.to_string();
        t.failures += 1;
        t.failures
    }

    /// `task` succeeded; returns its trouble if it had one (which is now over).
    pub fn succeeded(&self, task: &str, now: DateTime<Utc>) -> Option<Trouble> {
        let mut state = self.state();
        let trouble = state.troubles.remove(task)?;
        if state.ended.len() >= ENDED_KEPT {
            state.ended.remove(0);
        }
        state.ended.push(Ended { task: task.to_string(), trouble: trouble.clone(), at: now });
        Some(trouble)
    }

    /// The current troubles, by task.
    pub fn troubles(&self) -> Vec<(String, Trouble)> {
        self.state().troubles.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Remember that the operator was told about `task`'s current trouble.
    pub fn mark_alerted(&self, task: &str) {
        if let Some(t) = self.state().troubles.get_mut(task) {
            t.alerted = true;
        }
    }

    /// The troubles that ended since the last call.
    pub fn take_ended(&self) -> Vec<Ended> {
        std::mem::take(&mut self.state().ended)
    }
}

/// What `/healthz` says about the troubles at `now`: one line each, and whether any has lasted
/// longer than [`STUCK_AFTER`].
pub fn verdict(troubles: &[(String, Trouble)], now: DateTime<Utc>) -> (Vec<String>, bool) {
    let mut stuck = false;
    let lines = troubles
        .iter()
        .map(|(task, t)| {
            let secs = (now - t.since).num_seconds().max(0);
            stuck |= secs as u64 > STUCK_AFTER.as_secs();
            format!(
                "{task}: stuck for {secs} s ({} failure{}, retrying): {}",
                t.failures,
                if t.failures == 1 { "" } else { "s" },
                t.error
            )
        })
        .collect();
    (lines, stuck)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trouble_is_listed_until_it_ends_and_is_stuck_after_two_minutes() {
        let h = Health::default();
        let t0 = Utc::now();
        assert_eq!(h.failed("delivery:hook", "database is locked", t0), 1);
        assert_eq!(h.failed("delivery:hook", "database is locked", t0 + chrono::Duration::seconds(5)), 2);
        let troubles = h.troubles();
        let (lines, stuck) = verdict(&troubles, t0 + chrono::Duration::seconds(30));
        assert_eq!(lines, ["delivery:hook: stuck for 30 s (2 failures, retrying): database is locked"]);
        assert!(!stuck);
        assert!(verdict(&troubles, t0 + chrono::Duration::seconds(121)).1);
        h.mark_alerted("delivery:hook");
        let ended = h.succeeded("delivery:hook", t0 + chrono::Duration::seconds(40)).unwrap();
        assert!(ended.alerted && ended.since == t0);
        assert!(h.troubles().is_empty());
        assert_eq!(h.take_ended().len(), 1);
        assert!(h.take_ended().is_empty());
        assert_eq!(h.succeeded("delivery:hook", t0), None);
    }
}
