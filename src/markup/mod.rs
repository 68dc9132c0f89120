//! HTML read as text, for every stage that meets it: feed items, article pages, OPML files and
//! chat messages.
//!
//! - `entities.rs`: character references (`&amp;`, `&#233;`) decoded, by the HTML standard's
//!   table: [`decode_entities`].
//! - `visible.rs`: markup reduced to the text a reader sees: [`html_to_text`], which reads tags
//!   with `tags.rs` and writes through `out.rs`.
//! - `control.rs`: the characters no reader should get (controls, terminal escapes, bidi
//!   overrides): [`is_unsafe`].
//!
//! Pure: no IO, no allocation beyond the result, linear time, no recursion.

mod control;
mod entities;
mod out;
mod tags;
mod visible;

pub use control::is_unsafe;
#[cfg(test)]
pub(crate) use control::OSC_MAX;
pub(crate) use control::{has_unsafe, Seq};
pub use entities::decode_entities;
pub use visible::html_to_text;
