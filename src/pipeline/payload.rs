//! The webhook payload of an alert (CONTRACT §4), rendered when the alert is created so that
//! delivery never depends on a later config; and the summary an alert shows.

use chrono::{DateTime, Utc};

use crate::model::{self, AlertPayload, FeedRef, Item, PayloadFeed, PayloadItem};

/// A feed summary this short (in characters, without a sentence end) says little: the alert
/// shows the article's opening instead.
const SHORT_SUMMARY: usize = 80;

/// How much of the article an alert shows when the feed's summary is empty or short.
const ARTICLE_OPENING: usize = 300;

/// The summary an alert shows: the feed's (or its content's), unless that is empty or shorter
/// than a sentence and the article was fetched, then the article's opening cut at a word.
pub fn alert_summary(item: &Item) -> String {
    let source = if item.summary.trim().is_empty() { &item.content } else { &item.summary };
    let summary = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = summary.chars().count() >= SHORT_SUMMARY || summary.ends_with(['.', '!', '?', '…']);
    if item.article.trim().is_empty() || (!summary.is_empty() && sentence) {
        return summary;
    }
    let article = item.article.split_whitespace().collect::<Vec<_>>().join(" ");
    if article.chars().count() <= ARTICLE_OPENING {
        return article;
    }
    // Cut at the last space within the limit, so no word is broken.
    let cut: String = article.chars().take(ARTICLE_OPENING).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > ARTICLE_OPENING / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// The CONTRACT §4 JSON of one alert; `fields` says where each matched word hit.
pub fn payload(
    id: &str,
    rule: &str,
    feed: &FeedRef,
    item: &Item,
    matched: &[String],
    fields: &[(String, Vec<&'static str>)],
    now: DateTime<Utc>,
) -> String {
    let summary = alert_summary(item);
    let matched_in =
        fields.iter().map(|(term, names)| (term.clone(), names.iter().map(|n| n.to_string()).collect())).collect();
    let p = AlertPayload {
        id: id.to_string(),
        rule: rule.to_string(),
        feed: PayloadFeed { name: feed.name.clone(), url: feed.url.clone() },
        item: PayloadItem {
            id: item.id.clone(),
            title: item.title.clone(),
            link: item.link.clone(),
            published: item.date().map(model::rfc3339),
            summary: model::truncate_chars(&summary, model::SUMMARY_LIMIT),
            authors: item.authors.clone(),
            article: !item.article.is_empty(),
        },
        matched: matched.to_vec(),
        matched_in,
        created_at: model::rfc3339(now),
    };
    serde_json::to_string(&p).unwrap_or_else(|_| "{}".to_string())
}
