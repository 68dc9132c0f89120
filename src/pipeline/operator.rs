//! Operator alerts: what the health sinks hear about pantau itself rather than about an item.
//! A feed that has failed too long, works again, has gone quiet or publishes again
//! ([`health_news`], [`feed_health_alert`]); and the alerts themselves ([`operator_alerts`]),
//! which the daemon also queues about the database and refused reloads. Pure: the poll reads
//! the feed's health and queues what these decide.

use chrono::{DateTime, Utc};

use super::payload::payload;
use super::PollOutcome;
use crate::config::{Config, Daemon};
use crate::model::{self, FeedRef, Item, NewAlert};
use crate::store::{FeedHealth, HealthFlag};

/// The rule name of operator alerts about feed health.
pub const HEALTH_RULE: &str = "pantau:feed-health";

/// The rule name of operator alerts about a refused config reload.
pub const CONFIG_RULE: &str = "pantau:config";

/// What the operator should hear about a feed after a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthNews {
    /// It has failed since `since`, for longer than `feed_alert_after`.
    Failing {
        /// Its last success (or its creation).
        since: DateTime<Utc>,
    },
    /// It works again after a "failing" alert.
    Recovered,
    /// It works but has brought nothing new since `since`, for `quiet_factor` times its rhythm.
    Quiet {
        /// When it last brought new items.
        since: DateTime<Utc>,
        /// How often it usually brings new items.
        rhythm: std::time::Duration,
    },
    /// It brings new items again after a "quiet" alert.
    Publishing,
}

/// Polls with new items needed before a feed's rhythm is trusted enough to call it quiet.
const RHYTHM_SAMPLES: u64 = 4;

/// Decide whether a poll's `outcome` is news for the operator, given the feed's `health` as
/// recorded after that poll. Pure, so every transition is unit-tested.
pub fn health_news(
    health: &FeedHealth,
    outcome: &PollOutcome,
    now: DateTime<Utc>,
    daemon: &Daemon,
) -> Option<HealthNews> {
    let elapsed = |t: DateTime<Utc>| (now - t).to_std().unwrap_or_default();
    let new_items = match outcome {
        PollOutcome::Failed { .. } => {
            return match (health.failing_since, health.alerted) {
                (Some(since), false) if elapsed(since) > daemon.feed_alert_after => Some(HealthNews::Failing { since }),
                _ => None,
            };
        }
        PollOutcome::Updated { new_items, .. } => *new_items,
        PollOutcome::NotModified { .. } => 0,
    };
    if health.alerted {
        return Some(HealthNews::Recovered);
    }
    if health.quiet_alerted {
        return (new_items > 0).then_some(HealthNews::Publishing);
    }
    match (health.last_new_items_at, health.rhythm) {
        (Some(since), Some(rhythm)) if daemon.quiet_factor > 0 && health.batches >= RHYTHM_SAMPLES => {
            let threshold = rhythm.saturating_mul(daemon.quiet_factor).max(daemon.feed_alert_after);
            (elapsed(since) > threshold).then_some(HealthNews::Quiet { since, rhythm })
        }
        _ => None,
    }
}

/// The operator alert one piece of [`HealthNews`] about a feed becomes, and the flag it sets
/// or clears on the feed (so that the same news is not told twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHealthAlert {
    /// The flag on the feed the news is about.
    pub flag: HealthFlag,
    /// Whether the flag is set (the trouble is told) or cleared (it is over).
    pub set: bool,
    /// The alert's key (`health:…`): one alert id per piece of news.
    pub key: String,
    /// The alert's title.
    pub title: String,
    /// The alert's text.
    pub text: String,
}

/// What the health sinks are told about `feed` for `news`; `health` is the feed's health
/// record (its last error goes into a "failing" alert).
pub fn feed_health_alert(feed: &str, news: HealthNews, health: &FeedHealth, now: DateTime<Utc>) -> FeedHealthAlert {
    let ago = |t: DateTime<Utc>| {
        humantime::format_duration(std::time::Duration::from_secs((now - t).num_seconds().max(0) as u64))
    };
    let (flag, set, key, title, text) = match news {
        HealthNews::Failing { since } => {
            let error = health.last_error.clone().unwrap_or_default();
            let title = format!("Feed {feed} has been failing for {}", ago(since));
            (HealthFlag::Failing, true, format!("failing:{}", since.timestamp_millis()), title, error)
        }
        HealthNews::Recovered => {
            let title = format!("Feed {feed} works again");
            (HealthFlag::Failing, false, format!("recovered:{}", now.timestamp_millis()), title, String::new())
        }
        HealthNews::Quiet { since, rhythm } => {
            let title = format!("Feed {feed} has published nothing new for {}", ago(since));
            let text = format!(
                "It usually brings new items every {}; its polls succeed, so the publisher may have \
                 stopped updating it or moved it elsewhere.",
                humantime::format_duration(std::time::Duration::from_secs(rhythm.as_secs()))
            );
            (HealthFlag::Quiet, true, format!("quiet:{}", since.timestamp_millis()), title, text)
        }
        HealthNews::Publishing => {
            let title = format!("Feed {feed} publishes again");
            (HealthFlag::Quiet, false, format!("publishing:{}", now.timestamp_millis()), title, String::new())
        }
    };
    FeedHealthAlert { flag, set, key: format!("health:{key}"), title, text }
}

/// One operator alert (no item behind it) for every sink in `daemon.health_sinks`. `key` makes
/// the alert id: the same key never alerts twice.
pub fn operator_alerts(
    config: &Config,
    rule: &str,
    about: &FeedRef,
    key: &str,
    title: String,
    text: String,
    now: DateTime<Utc>,
) -> Vec<NewAlert> {
    let item = Item {
        id: key.to_string(),
        title,
        link: Some(about.url.clone()).filter(|u| u.starts_with("http")),
        summary: text,
        published: Some(now),
        ..Item::default()
    };
    config
        .daemon
        .health_sinks
        .iter()
        .map(|sink| {
            let id = model::alert_id(&about.name, key, rule, sink);
            let payload = payload(&id, rule, about, &item, &[], &[], now);
            NewAlert { id, rule: rule.to_string(), sink: sink.clone(), matched: Vec::new(), payload, every_copy: true }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn daemon() -> Daemon {
        let c = crate::config::load_str(std::path::Path::new("/x/pantau.toml"), "", &|_| None).unwrap();
        c.daemon.clone()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn ok(new_items: usize) -> PollOutcome {
        PollOutcome::Updated { items: 5, new_items, new_alerts: 0, ttl: None }
    }

    fn failed() -> PollOutcome {
        PollOutcome::Failed { failures: 3, retry_after: None }
    }

    /// A feed that brought new items every hour, `quiet_for` ago for the last time.
    fn rhythmic(now: DateTime<Utc>, quiet_for: Duration) -> FeedHealth {
        FeedHealth {
            last_new_items_at: Some(now - chrono::Duration::from_std(quiet_for).unwrap()),
            rhythm: Some(HOUR),
            batches: 12,
            ..FeedHealth::default()
        }
    }

    #[test]
    fn a_feed_failing_longer_than_feed_alert_after_is_news_once() {
        let (d, now) = (daemon(), Utc::now());
        let since = |h: i64| Some(now - chrono::Duration::hours(h));
        let failing = |h, alerted| FeedHealth { failing_since: since(h), alerted, ..FeedHealth::default() };
        assert_eq!(health_news(&failing(5, false), &failed(), now, &d), None, "6 h is the default");
        assert_eq!(
            health_news(&failing(7, false), &failed(), now, &d),
            Some(HealthNews::Failing { since: since(7).unwrap() })
        );
        assert_eq!(health_news(&failing(9, true), &failed(), now, &d), None, "told already");
        let told = FeedHealth { alerted: true, ..FeedHealth::default() };
        assert_eq!(health_news(&told, &PollOutcome::NotModified { ttl: None }, now, &d), Some(HealthNews::Recovered));
    }

    #[test]
    fn a_working_feed_silent_for_many_times_its_rhythm_is_news_and_so_is_its_return() {
        let (d, now) = (daemon(), Utc::now());
        // Every hour, quiet_factor 10: 9 hours of silence is a slow day, 11 hours is news.
        assert_eq!(health_news(&rhythmic(now, 9 * HOUR), &ok(0), now, &d), None);
        let h = rhythmic(now, 11 * HOUR);
        assert_eq!(
            health_news(&h, &PollOutcome::NotModified { ttl: None }, now, &d),
            Some(HealthNews::Quiet { since: h.last_new_items_at.unwrap(), rhythm: HOUR })
        );
        // A failing poll is judged by the failure rules, not as silence.
        assert_eq!(health_news(&h, &failed(), now, &d), None);
        // Told: nothing more until items come again.
        let told = FeedHealth { quiet_alerted: true, ..rhythmic(now, 30 * HOUR) };
        assert_eq!(health_news(&told, &ok(0), now, &d), None);
        assert_eq!(health_news(&told, &ok(2), now, &d), Some(HealthNews::Publishing));
    }

    #[test]
    fn silence_is_not_judged_without_a_rhythm_or_when_disabled_and_never_sooner_than_feed_alert_after() {
        let (mut d, now) = (daemon(), Utc::now());
        let young = FeedHealth { batches: 3, ..rhythmic(now, 100 * HOUR) };
        assert_eq!(health_news(&young, &ok(0), now, &d), None, "three batches are not a rhythm yet");
        // A feed publishing every minute is not news after ten quiet minutes: feed_alert_after
        // (6 h) is the floor.
        let busy = FeedHealth { rhythm: Some(Duration::from_secs(60)), ..rhythmic(now, 5 * HOUR) };
        assert_eq!(health_news(&busy, &ok(0), now, &d), None);
        let busy = FeedHealth { rhythm: Some(Duration::from_secs(60)), ..rhythmic(now, 7 * HOUR) };
        assert!(matches!(health_news(&busy, &ok(0), now, &d), Some(HealthNews::Quiet { .. })));
        d.quiet_factor = 0;
        assert_eq!(health_news(&rhythmic(now, 100 * HOUR), &ok(0), now, &d), None, "quiet_factor = 0 disables it");
    }
}
