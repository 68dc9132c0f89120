//! The decision of one poll, pure: which items of a document are new, edited or re-keyed, and
//! which alerts follow. The poll asks the store what it knows of the document's keys and links
//! and hands the answer to [`classify`]; the unit tests and the pipeline bench call the same
//! function, so what they measure and check is what the daemon does.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::payload::payload;
use crate::config::{Config, Feed, FirstPoll, IdPolicy, OnUpdate};
use crate::identity::{identify, Identity};
use crate::model::{self, FeedRef, Item, NewAlert};
use crate::rules::{DocFields, Document};
use crate::secrets::redact_url;
use crate::store::{Known, PollRecord, Polled, Rekey};

/// The items of one document, each with its identity (key, normalised link, content hash):
/// what the store is asked about before the poll is classified.
#[derive(Debug, Clone)]
pub struct Identified {
    items: Vec<Item>,
    ids: Vec<Identity>,
}

impl Identified {
    /// Identify the items of a document of `feed` read at `now`, by the feed's `id_policy`.
    /// A date in the future is a publisher's clock or time-zone error: it is taken as `now`.
    pub fn new(feed: &Feed, mut items: Vec<Item>, now: DateTime<Utc>) -> Identified {
        for item in &mut items {
            item.published = item.published.map(|d| d.min(now));
            item.updated = item.updated.map(|d| d.min(now));
        }
        let ids = identify(&items, feed.id_policy);
        Identified { items, ids }
    }

    /// The items' keys, for [`crate::store::Store::known_items`].
    pub fn keys(&self) -> Vec<String> {
        self.ids.iter().map(|i| i.key.clone()).collect()
    }

    /// The keys of items the store knows with other content: the edits of this poll.
    pub fn edited_keys(&self, known: &Known) -> Vec<String> {
        self.ids.iter().filter(|i| is_edit(known, i)).map(|i| i.key.clone()).collect()
    }

    /// The items' normalised links, for [`crate::store::Store::known_items`].
    pub fn links(&self) -> Vec<String> {
        self.ids.iter().filter_map(|i| i.link.clone()).collect()
    }
}

/// Whether the store knows the item of `id` with other content (a row stored before content
/// hashes were recorded is not taken for an edit).
fn is_edit(known: &Known, id: &Identity) -> bool {
    matches!(known.keys.get(&id.key), Some(Some(hash)) if *hash != id.content_hash)
}

/// Sort the items of one poll of `feed` into new, edited and re-keyed ones and build their
/// alerts, given what the store `known` of their keys and links and whether the feed was
/// `polled_before`.
///
/// - An item whose key is unknown is new. It alerts on every matching rule in scope (one alert
///   per sink of the rule) unless it is older than the feed's `max_age`, or this is the
///   feed's first poll and its `first_poll` is `silent`. For a `fetch_article` feed, an item
///   whose page is to be read is stored without alerts: the article stage matches it.
/// - A known key with another content hash is an edit; with `on_update = "realert"` it alerts
///   again, under ids of its own (key and hash).
/// - An unknown key whose normalised link is known (`id_policy = "auto"`) is a re-key: the
///   stored row takes the new key, and nothing alerts.
/// - A key listed twice in the document counts once (the first).
///
/// The record's validators, status, repairs and ttl are left for the caller to fill in. No
/// IO: only log lines ("rule matched", "item edited") leave it.
pub fn classify(
    feed: &Feed,
    known: &Known,
    polled_before: bool,
    document: Identified,
    config: &Config,
    now: DateTime<Utc>,
) -> PollRecord {
    let alerting = polled_before || feed.first_poll == FirstPoll::Alert;
    if !alerting {
        tracing::info!(feed = %feed.name, "first poll of this feed: storing its items without alerting (first_poll = \"silent\")");
    }
    let mut record =
        PollRecord { feed: feed.name.clone(), grouping: config.daemon.grouping(), ..PollRecord::default() };
    let mut seen = HashSet::new();
    for (mut item, id) in document.items.into_iter().zip(document.ids) {
        // A document can list the same item twice; the first one wins.
        if !seen.insert(id.key.clone()) {
            continue;
        }
        item.id = id.key.clone();
        match known.keys.get(&id.key) {
            Some(_) if is_edit(known, &id) => {
                let realert = feed.on_update == OnUpdate::Realert;
                // The article read for the first version still stands beside the new feed
                // text (the edit does not replace it in the store).
                if let Some(text) = known.articles.get(&id.key).filter(|_| realert && item.article.is_empty()) {
                    item.article = text.clone();
                }
                let alerts = if realert {
                    let version = format!("{}#{}", id.key, id.content_hash);
                    alerts_for_version(config, feed, &item, &version, now)
                } else {
                    Vec::new()
                };
                tracing::info!(feed = %feed.name, item = %id.key, title = %item.title, realert, "item edited");
                record.edits.push(Polled { item, identity: id, alerts, fetch_article: false, signature: None });
            }
            Some(_) => {}
            None if feed.id_policy == IdPolicy::Auto && id.link.as_ref().is_some_and(|l| known.links.contains(l)) => {
                // The same link under a new guid: the feed regenerates its ids.
                tracing::debug!(feed = %feed.name, item = %id.key, "known link under a new key");
                record.rekeys.push(Rekey { link: id.link.clone().unwrap_or_default(), new_key: id.key });
            }
            None => {
                // With fetch_article, matching waits for the article (the article stage
                // matches the item once its page is read or has failed).
                let fetch_article = alerting && wants_article(config, feed, &item, now);
                let alerts = if alerting && !fetch_article { alerts_for(config, feed, &item, now) } else { Vec::new() };
                for a in &alerts {
                    tracing::info!(feed = %feed.name, rule = %a.rule, sink = %a.sink, alert = %a.id, title = %item.title, matched = ?a.matched, "rule matched");
                }
                // The signature of an item whose article is to come is computed on the
                // article, by the article stage.
                let signature = if fetch_article || record.grouping.is_none() {
                    None
                } else {
                    crate::stories::Signature::of_item(&item)
                };
                record.items.push(Polled { item, identity: id, alerts, fetch_article, signature });
            }
        }
    }
    record
}

/// Whether the page of a new `item` of `feed` is to be fetched before the item is matched:
/// the feed asks for articles, the item links to a web page, it is young enough to alert at
/// all, and some rule with sinks watches the feed (no page is fetched for nothing).
pub fn wants_article(config: &Config, feed: &Feed, item: &Item, now: DateTime<Utc>) -> bool {
    feed.fetch_article
        && item.link.as_deref().is_some_and(|l| l.starts_with("http://") || l.starts_with("https://"))
        && !too_old(feed, item, now)
        && config.rules.iter().any(|r| r.applies_to(feed) && !r.sinks.is_empty())
}

fn too_old(feed: &Feed, item: &Item, now: DateTime<Utc>) -> bool {
    match (feed.max_age, item.date()) {
        (Some(max_age), Some(date)) => (now - date).to_std().unwrap_or_default() > max_age,
        _ => false,
    }
}

/// The alerts a new `item` of `feed` raises: one per (matching rule in scope, sink of the rule),
/// none when the item is older than the feed's `max_age`.
pub fn alerts_for(config: &Config, feed: &Feed, item: &Item, now: DateTime<Utc>) -> Vec<NewAlert> {
    alerts_for_version(config, feed, item, &item.id, now)
}

/// [`alerts_for`] with the alert ids derived from `version` (the item key, or for a re-alert
/// of an edited item the key and content hash, so the new alert has an id of its own).
fn alerts_for_version(config: &Config, feed: &Feed, item: &Item, version: &str, now: DateTime<Utc>) -> Vec<NewAlert> {
    if too_old(feed, item, now) {
        return Vec::new();
    }
    if !config.rules.iter().any(|r| r.applies_to(feed) && !r.sinks.is_empty()) {
        return Vec::new();
    }
    // The document is built once per item and checked against the indexed rule set, which
    // evaluates only the rules whose required words occur in it.
    let doc = item_document(item, &feed.name);
    let feed_ref = FeedRef { name: feed.name.clone(), url: redact_url(&feed.url) };
    let mut out = Vec::new();
    for (index, hit) in config.rule_set.matches(&doc) {
        let Some(rule) = config.rules.get(index) else { continue };
        // The set is built from `rules` in order; a mismatch would be a bug, never an alert.
        if config.rule_set.rules().get(index).is_none_or(|(name, _)| *name != rule.name) || !rule.applies_to(feed) {
            continue;
        }
        // Where each word hit, for the alert's "why": computed per matching rule only.
        let fields = rule.matcher.hit_fields(&doc);
        for sink in &rule.sinks {
            let id = model::alert_id(&feed.name, version, &rule.name, sink);
            let matched = hit.terms.to_vec();
            let payload = payload(&id, &rule.name, &feed_ref, item, &matched, &fields, now);
            out.push(NewAlert {
                id,
                rule: rule.name.clone(),
                sink: sink.clone(),
                matched,
                payload,
                every_copy: rule.every_copy,
            });
        }
    }
    out
}

/// The rule engine's view of an item of the feed named `feed`.
pub fn item_document(item: &Item, feed: &str) -> Document {
    Document::new(&DocFields {
        title: &item.title,
        summary: &item.summary,
        content: &item.content,
        authors: &item.authors,
        categories: &item.categories,
        link: item.link.as_deref().unwrap_or(""),
        feed,
        article: &item.article,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const NOW: &str = "2026-03-01T12:00:00Z";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(NOW).unwrap().with_timezone(&Utc)
    }

    /// A config with one feed `f` (`keys` added to its table) and a rule on "gempa" with two
    /// sinks.
    fn config(keys: &str) -> Config {
        let src = format!(
            "[[feed]]\nname = \"f\"\nurl = \"https://f.example/rss\"\n{keys}\n\n\
             [[rule]]\nname = \"quake\"\nquery = \"gempa\"\nsinks = [\"a\", \"b\"]\n\n\
             [[sink]]\nname = \"a\"\ntype = \"console\"\n\n[[sink]]\nname = \"b\"\ntype = \"console\"\n"
        );
        crate::config::load_str(std::path::Path::new("/x/pantau.toml"), &src, &|_| None).unwrap()
    }

    /// An item with a guid, published `hours_ago`.
    fn item(guid: &str, title: &str, link: &str, hours_ago: i64) -> Item {
        Item {
            id: guid.into(),
            title: title.into(),
            link: Some(link.into()),
            summary: format!("{title}, menurut laporan."),
            published: Some(now() - chrono::Duration::hours(hours_ago)),
            ..Item::default()
        }
    }

    fn run(config: &Config, known: &Known, polled_before: bool, items: Vec<Item>) -> PollRecord {
        let feed = &config.feeds[0];
        classify(feed, known, polled_before, Identified::new(feed, items, now()), config, now())
    }

    /// What the store knows after storing `items` as they are.
    fn known_after(config: &Config, items: Vec<Item>) -> Known {
        let doc = Identified::new(&config.feeds[0], items, now());
        let keys: HashMap<String, Option<String>> =
            doc.ids.iter().map(|i| (i.key.clone(), Some(i.content_hash.clone()))).collect();
        Known { keys, links: doc.links().into_iter().collect(), articles: HashMap::new() }
    }

    fn sinks(p: &Polled) -> Vec<&str> {
        p.alerts.iter().map(|a| a.sink.as_str()).collect()
    }

    #[test]
    fn a_new_matching_item_alerts_once_per_sink_and_a_listed_twice_item_counts_once() {
        let c = config("");
        let items = vec![
            item("g1", "Gempa di Cianjur", "https://f.example/1", 1),
            item("g2", "Harga beras naik", "https://f.example/2", 1),
            item("g1", "Gempa di Cianjur", "https://f.example/1", 1),
        ];
        let r = run(&c, &Known::default(), true, items);
        assert_eq!(r.feed, "f");
        assert_eq!(r.items.len(), 2, "the repeated item counts once");
        assert_eq!((r.items[0].item.id.as_str(), sinks(&r.items[0])), ("g1", vec!["a", "b"]));
        assert_eq!(r.items[0].alerts[0].rule, "quake");
        assert_eq!(r.items[0].alerts[0].matched, ["gempa"]);
        assert!(r.items[1].alerts.is_empty(), "no rule matches the second item");
        assert!(r.edits.is_empty() && r.rekeys.is_empty());
        // The ids are stable: the same poll again makes the same alerts.
        let again = run(&c, &Known::default(), true, vec![item("g1", "Gempa di Cianjur", "https://f.example/1", 1)]);
        assert_eq!(again.items[0].alerts[0].id, r.items[0].alerts[0].id);
    }

    #[test]
    fn a_known_item_is_left_alone_and_an_edited_one_realerts_only_when_the_feed_says_so() {
        let before = vec![item("g1", "Gempa di Cianjur", "https://f.example/1", 1)];
        let edited = vec![item("g1", "Gempa di Cianjur, 3 orang terluka", "https://f.example/1", 1)];
        for (keys, realert) in [("", false), ("on_update = \"realert\"", true)] {
            let c = config(keys);
            let known = known_after(&c, before.clone());
            let same = run(&c, &known, true, before.clone());
            assert!(same.items.is_empty() && same.edits.is_empty(), "unchanged: nothing to do");
            let r = run(&c, &known, true, edited.clone());
            assert!(r.items.is_empty(), "an edit is not a new item");
            assert_eq!(r.edits.len(), 1);
            assert_eq!(r.edits[0].item.title, "Gempa di Cianjur, 3 orang terluka");
            assert_eq!(sinks(&r.edits[0]).len(), if realert { 2 } else { 0 }, "{keys}");
            if realert {
                // The re-alert has an id of its own, not the first alert's.
                let first = run(&c, &Known::default(), true, before.clone());
                assert_ne!(r.edits[0].alerts[0].id, first.items[0].alerts[0].id);
            }
        }
        // A row stored before content hashes were recorded is not taken for an edit.
        // (The article of an edited item is in the next test.)
        let c = config("on_update = \"realert\"");
        let mut known = known_after(&c, before.clone());
        known.keys.values_mut().for_each(|h| *h = None);
        let r = run(&c, &known, true, edited);
        assert!(r.items.is_empty() && r.edits.is_empty());
    }

    #[test]
    fn a_known_link_under_a_new_guid_is_a_rekey_not_a_new_item_unless_the_policy_is_not_auto() {
        let c = config("");
        let known = known_after(&c, vec![item("g1", "Gempa di Cianjur", "https://f.example/1", 1)]);
        let r = run(&c, &known, true, vec![item("g1-new", "Gempa di Cianjur", "https://f.example/1", 1)]);
        assert!(r.items.is_empty(), "{:?}", r.items);
        assert_eq!(r.rekeys.len(), 1);
        assert_eq!(r.rekeys[0].new_key, "g1-new");
        assert_eq!(Some(&r.rekeys[0].link), known.links.iter().next());
        // With guid keys, a new guid is a new item whatever its link.
        let c = config("id_policy = \"guid\"");
        let known = known_after(&c, vec![item("g1", "Gempa di Cianjur", "https://f.example/1", 1)]);
        let r = run(&c, &known, true, vec![item("g1-new", "Gempa di Cianjur", "https://f.example/1", 1)]);
        assert_eq!((r.items.len(), r.rekeys.len()), (1, 0));
        assert_eq!(sinks(&r.items[0]), ["a", "b"]);
    }

    #[test]
    fn a_silent_first_poll_stores_without_alerting_and_alerts_on_later_polls() {
        let items = vec![item("g1", "Gempa di Cianjur", "https://f.example/1", 1)];
        let silent = config("first_poll = \"silent\"");
        let first = run(&silent, &Known::default(), false, items.clone());
        assert_eq!(first.items.len(), 1, "stored");
        assert!(first.items[0].alerts.is_empty(), "not alerted");
        let later = run(&silent, &Known::default(), true, items.clone());
        assert_eq!(sinks(&later.items[0]), ["a", "b"]);
        let loud = config("first_poll = \"alert\"");
        let first = run(&loud, &Known::default(), false, items);
        assert_eq!(sinks(&first.items[0]), ["a", "b"]);
    }

    #[test]
    fn an_item_older_than_max_age_is_stored_without_alerting_and_a_future_date_counts_as_now() {
        let c = config("max_age = \"1d\"");
        let items = vec![
            item("old", "Gempa lama", "https://f.example/old", 30),
            item("young", "Gempa baru", "https://f.example/young", 20),
            item("future", "Gempa besok", "https://f.example/future", -48),
        ];
        let r = run(&c, &Known::default(), true, items);
        let by_key: HashMap<&str, &Polled> = r.items.iter().map(|p| (p.item.id.as_str(), p)).collect();
        assert!(by_key["old"].alerts.is_empty(), "30 h is older than 1 d");
        assert_eq!(sinks(by_key["young"]), ["a", "b"]);
        assert_eq!(by_key["future"].item.published, Some(now()), "a date in the future is taken as now");
        assert_eq!(sinks(by_key["future"]), ["a", "b"]);
    }

    #[test]
    fn a_fetch_article_item_waits_for_its_page_unless_no_rule_could_alert_it() {
        let c = config("fetch_article = true");
        let r = run(&c, &Known::default(), true, vec![item("g1", "Gempa di Cianjur", "https://f.example/1", 1)]);
        assert!(r.items[0].fetch_article, "its page is to be read");
        assert!(r.items[0].alerts.is_empty() && r.items[0].signature.is_none(), "the article stage matches it");
        let silent = config("fetch_article = true\nfirst_poll = \"silent\"");
        let r = run(&silent, &Known::default(), false, vec![item("g1", "Gempa", "https://f.example/1", 1)]);
        assert!(!r.items[0].fetch_article, "no page is read for an item that cannot alert");
    }

    #[test]
    fn an_edit_of_an_article_feeds_item_is_matched_with_the_article_read_before() {
        let c = config("fetch_article = true\non_update = \"realert\"");
        let before = vec![item("g1", "Kabar Cianjur", "https://f.example/1", 1)];
        let edited = vec![item("g1", "Kabar Cianjur terbaru", "https://f.example/1", 1)];
        let mut known = known_after(&c, before);
        let doc = Identified::new(&c.feeds[0], edited.clone(), now());
        assert_eq!(doc.edited_keys(&known), ["g1"]);
        // The feed's text alone does not say "gempa": no re-alert.
        assert!(run(&c, &known, true, edited.clone()).edits[0].alerts.is_empty());
        // With the article stored for the first version, it does.
        known.articles.insert("g1".into(), "Gempa mengguncang Cianjur pagi ini.".into());
        let r = run(&c, &known, true, edited);
        assert_eq!(sinks(&r.edits[0]), ["a", "b"]);
        assert_eq!(r.edits[0].alerts[0].matched, ["gempa"]);
        assert_eq!(r.edits[0].item.article, "Gempa mengguncang Cianjur pagi ini.");
    }
}
