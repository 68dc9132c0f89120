//! Fuzz target: the feed parser's entry point never panics, whatever the bytes and the
//! declared charset, and every item it returns has a key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a Content-Type, so charset handling is fuzzed too.
    let (ctype, body) = match data.split_first() {
        Some((b, rest)) => {
            let ctype = match b % 5 {
                0 => None,
                1 => Some("application/rss+xml; charset=utf-8"),
                2 => Some("text/xml; charset=windows-1252"),
                3 => Some("application/xml; charset=utf-16"),
                _ => Some("application/feed+json; charset=shift_jis"),
            };
            (ctype, rest)
        }
        None => (None, data),
    };
    if let Ok(feed) = pantau::parse::parse_feed_with(body, ctype, Some("https://example.org/feed")) {
        for item in &feed.items {
            assert!(!item.id.is_empty(), "every item has a key");
        }
    }
});
