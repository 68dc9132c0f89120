//! Markup read as text, for every stage that meets it: feed items, article pages, OPML files,
//! chat messages and the terminal.
//!
//! - `entities.rs`: character references (`&amp;`, `&#233;`) decoded, by the HTML standard's
//!   table: [`decode_entities`].
//! - `visible.rs`: HTML reduced to the text a reader sees: [`html_to_text`], which reads tags
//!   with `tags.rs` and writes through `out.rs`.
//! - `control.rs`: the characters no reader should get (controls, terminal escapes, bidi
//!   overrides): [`is_unsafe`], dropped by [`strip`] or shown as escapes by [`printable`].
//! - `scan.rs`: a forgiving XML tokenizer, for feeds and OPML files.
//!
//! Pure: no IO, linear time, no recursion.

mod control;
mod entities;
mod out;
pub(crate) mod scan;
mod tags;
mod visible;

pub use control::{is_unsafe, printable, printable_line, strip};
pub use entities::decode_entities;
pub use visible::html_to_text;

/// Whether `css` is a selector pantau can use, with the parser's complaint when not.
pub fn check_selector(css: &str) -> Result<(), String> {
    if css.trim().is_empty() {
        return Err("it is empty".into());
    }
    dom_query::Matcher::new(css).map(drop).map_err(|e| format!("{:?}", e.kind))
}
