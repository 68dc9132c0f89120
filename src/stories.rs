//! Story signatures: a compact MinHash of an item's text, so that a reprint of a story under
//! another headline (a new dateline, a trimmed last paragraph, a few words changed, a footer
//! added) can be found among recent items and joined to the first item's story. Pure.
//!
//! The text is split and folded exactly as the rules see it ([`crate::rules::for_each_folded_word`]),
//! cut into overlapping three-word shingles, and each shingle hashed once; [`HASHES`] cheap
//! 32-bit hash functions of that hash keep their minimum. The share of equal minima between two
//! signatures estimates the Jaccard similarity of the two shingle sets. The signature is cut
//! into [`BANDS`] bands of [`ROWS`] minima: two items with a similarity of 0.5 share at least
//! one band with a probability of 93 %, two unrelated ones (similarity ≤ 0.05) almost never, so
//! the store finds the candidates through an index of band hashes and checks only those.

use crate::model::Item;

/// Number of minima in a signature.
pub const HASHES: usize = 60;
/// Bands of the LSH index.
pub const BANDS: usize = 20;
/// Minima per band.
pub const ROWS: usize = HASHES / BANDS;
/// Words per shingle.
const SHINGLE: usize = 3;
/// A text with fewer shingles than this carries too little evidence: no signature.
pub const MIN_SHINGLES: u32 = 8;
/// A text with fewer shingles than this (about a headline and two sentences) is short: two
/// such texts need [`Threshold::short`] to join.
pub const SHORT_SHINGLES: u32 = 60;
/// The default of `[daemon] near_duplicate`, chosen on the evaluation (`tests/stories.rs`).
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// Bytes of a serialised signature.
pub const BYTES: usize = 4 + 4 * HASHES;

/// The MinHash signature of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// How many shingles the text had (a measure of the evidence it carries).
    pub shingles: u32,
    /// The minimum of each hash function over the text's shingles.
    pub mins: [u32; HASHES],
}

/// The seeds of the hash functions: an odd multiplier and an xor mask each, fixed forever
/// (stored signatures depend on them); kept apart so the loop over them vectorises.
const SEEDS: [(u32, u32); HASHES] = seeds();
const MULS: [u32; HASHES] = split(0);
const XORS: [u32; HASHES] = split(1);

const fn split(which: usize) -> [u32; HASHES] {
    let mut out = [0u32; HASHES];
    let mut i = 0;
    while i < HASHES {
        out[i] = if which == 0 { SEEDS[i].0 } else { SEEDS[i].1 };
        i += 1;
    }
    out
}

const fn seeds() -> [(u32, u32); HASHES] {
    let mut out = [(0u32, 0u32); HASHES];
    let mut state: u64 = 0x5eed_0f57_01e5;
    let mut i = 0;
    while i < HASHES {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out[i] = ((z as u32) | 1, (z >> 32) as u32);
        i += 1;
    }
    out
}

/// A 64-bit hash of one word (FNV-1a, then a finaliser).
fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in word.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// The splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The text a signature is computed from: the article when one was read, else title, summary
/// and content.
pub fn item_text(item: &Item) -> String {
    if !item.article.trim().is_empty() {
        return item.article.clone();
    }
    let mut text = String::with_capacity(item.title.len() + item.summary.len() + item.content.len() + 2);
    for part in [&item.title, &item.summary, &item.content] {
        if !part.is_empty() {
            text.push_str(part);
            text.push('\n');
        }
    }
    text
}

impl Signature {
    /// The signature of an item (see [`item_text`]); `None` when its text is too short.
    pub fn of_item(item: &Item) -> Option<Signature> {
        Signature::of_text(&item_text(item))
    }

    /// The signature of a text; `None` when it has fewer than [`MIN_SHINGLES`] shingles.
    pub fn of_text(text: &str) -> Option<Signature> {
        let mut window = [0u64; SHINGLE];
        let mut words = 0usize;
        let mut mins = [u32::MAX; HASHES];
        let mut shingles = 0u32;
        crate::rules::for_each_folded_word(text, |w| {
            window[words % SHINGLE] = word_hash(w);
            words += 1;
            if words >= SHINGLE {
                // The words in order: oldest first.
                let a = window[words % SHINGLE];
                let b = window[(words + 1) % SHINGLE];
                let c = window[(words + 2) % SHINGLE];
                let h = mix(a ^ b.rotate_left(21) ^ c.rotate_left(42));
                add(&mut mins, (h >> 32) as u32 ^ h as u32);
                shingles += 1;
            }
        });
        if shingles < MIN_SHINGLES {
            return None;
        }
        Some(Signature { shingles, mins })
    }

    /// The estimated Jaccard similarity of the two texts' shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let equal = self.mins.iter().zip(&other.mins).filter(|(a, b)| a == b).count();
        equal as f64 / HASHES as f64
    }

    /// The hashes of its bands, for the index; each also depends on the band's position.
    pub fn bands(&self) -> [i64; BANDS] {
        let mut out = [0i64; BANDS];
        for (i, band) in self.mins.chunks_exact(ROWS).enumerate() {
            let mut h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for &m in band {
                h = mix(h ^ u64::from(m));
            }
            out[i] = h as i64;
        }
        out
    }

    /// The signature as stored: the shingle count, then the minima, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BYTES);
        out.extend_from_slice(&self.shingles.to_le_bytes());
        for m in self.mins {
            out.extend_from_slice(&m.to_le_bytes());
        }
        out
    }

    /// A stored signature; `None` when the bytes are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        if bytes.len() != BYTES {
            return None;
        }
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut mins = [0u32; HASHES];
        for (i, m) in mins.iter_mut().enumerate() {
            *m = word(4 + 4 * i);
        }
        Some(Signature { shingles: word(0), mins })
    }
}

/// Keeps, for every hash function, the smaller of its minimum so far and its value of `x`.
#[inline]
fn add(mins: &mut [u32; HASHES], x: u32) {
    for i in 0..HASHES {
        let mut v = (x ^ XORS[i]).wrapping_mul(MULS[i]);
        v ^= v >> 16;
        mins[i] = mins[i].min(v);
    }
}

/// How reprints are grouped into stories (`[daemon] story_window` and `near_duplicate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grouping {
    /// How long after an item is first seen a reprint still joins its story.
    pub window: std::time::Duration,
    /// How similar a reprint must be.
    pub threshold: Threshold,
}

/// How similar two items must be to be one story (`[daemon] near_duplicate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// The estimated Jaccard similarity two long texts need.
    pub long: f64,
}

impl Default for Threshold {
    fn default() -> Threshold {
        Threshold { long: DEFAULT_THRESHOLD }
    }
}

impl Threshold {
    /// What two texts need when either is short: half-way from `long` to identical.
    pub fn short(&self) -> f64 {
        self.long + (1.0 - self.long) / 2.0
    }

    /// The similarity two signatures need to be one story.
    pub fn needed(&self, a: &Signature, b: &Signature) -> f64 {
        if a.shingles.min(b.shingles) < SHORT_SHINGLES {
            self.short()
        } else {
            self.long
        }
    }

    /// Whether two signatures are one story; a text with less than a third of the other's
    /// shingles is never a reprint of it (a teaser is not the article).
    pub fn joins(&self, a: &Signature, b: &Signature) -> bool {
        let (lo, hi) = (a.shingles.min(b.shingles), a.shingles.max(b.shingles));
        lo.saturating_mul(3) >= hi && a.similarity(b) >= self.needed(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Intelijen Amerika Serikat pada Selasa melaporkan bahwa Rusia membeli jutaan roket dan \
        peluru artileri dari Korea Utara. Pembelian itu dilakukan demi mendukung invasi Rusia di Ukraina. \
        Berbicara secara anonim, pejabat AS mengatakan bahwa militer Rusia menderita karena kekurangan \
        pasokan yang parah di Ukraina, sebagai dampak dari kontrol ekspor dan sanksi. Alhasil, Moskow harus \
        menjalin hubungan lebih dekat dengan Pyongyang.";

    #[test]
    fn identical_texts_are_identical_and_case_and_accents_do_not_matter() {
        let a = Signature::of_text(TEXT).unwrap();
        let b = Signature::of_text(&TEXT.to_uppercase()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.similarity(&b), 1.0);
        assert_eq!(a.bands(), b.bands());
    }

    #[test]
    fn a_reprint_is_similar_and_another_text_is_not() {
        let a = Signature::of_text(TEXT).unwrap();
        let reprint =
            format!("Jakarta (ANTARA) - {}", TEXT.replace("jutaan", "ribuan").replace("Alhasil", "Akibatnya"));
        let b = Signature::of_text(&reprint).unwrap();
        assert!(a.similarity(&b) > 0.6, "{}", a.similarity(&b));
        let other = Signature::of_text(
            "Korea Utara kembali meluncurkan rudal balistik ke arah Laut Jepang pada Kamis pagi, kata militer \
             Korea Selatan, peluncuran ketiga bulan ini setelah latihan gabungan Amerika Serikat dan Korea Selatan.",
        )
        .unwrap();
        assert!(a.similarity(&other) < 0.1, "{}", a.similarity(&other));
    }

    #[test]
    fn too_short_texts_have_no_signature_and_bytes_round_trip() {
        assert!(Signature::of_text("Rusia beli roket dari Korut").is_none());
        let a = Signature::of_text(TEXT).unwrap();
        assert_eq!(Signature::from_bytes(&a.to_bytes()), Some(a.clone()));
        assert_eq!(a.to_bytes().len(), BYTES);
        assert!(Signature::from_bytes(&[1, 2, 3]).is_none());
    }

    #[test]
    fn short_texts_need_more_and_a_teaser_never_joins_its_article() {
        let t = Threshold::default();
        assert!(t.short() > t.long);
        let long = Signature::of_text(&TEXT.repeat(3)).unwrap();
        let teaser = Signature::of_text(&TEXT[..200]).unwrap();
        assert!(!t.joins(&long, &teaser));
    }

    #[test]
    fn the_item_text_is_the_article_when_there_is_one() {
        let mut item = Item { title: "T".into(), summary: "S".into(), ..Item::default() };
        assert_eq!(item_text(&item), "T\nS\n");
        item.article = "A".into();
        assert_eq!(item_text(&item), "A");
    }
}
