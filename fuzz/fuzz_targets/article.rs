//! Extracts an article from arbitrary bytes (decoded as a page would be), with and without an
//! operator's selector, and looks for pagination links. Any panic, or a stack overflow on deep
//! nesting, is a bug.
//!
//! Run with `cargo +nightly fuzz run article` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = pantau::parse::decode_html(data, None);
    let _ = pantau::article::extract::extract(&html, Some("https://news.example.id/berita/1"), None);
    let _ = pantau::article::extract::extract(&html, None, Some("article p, div.isi"));
    let _ = pantau::article::extract::drop_teasers(&html);
});
