//! Small, fast, non-cryptographic hashing for the word indexes.
//!
//! Documents and rule sets both refer to words by a 64-bit hash computed here, so that the
//! hot loops of [`super::RuleSet::matches`] compare integers instead of strings. A hash is
//! only ever used to find candidates: every hit is confirmed against the real words, so a
//! collision can cost time but never change a result.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Namespaces for the keys of the indexes; a key is the hash of a string under one of these.
pub(crate) const SEED_WORD: u64 = 0x243f_6a88_85a3_08d3;
pub(crate) const SEED_PREFIX: u64 = 0x1319_8a2e_0370_7344;
pub(crate) const SEED_SUFFIX: u64 = 0xa409_3822_299f_31d0;
pub(crate) const SEED_STEM: [u64; 2] = [0x082e_fa98_ec4e_6c89, 0x4528_21e6_38d0_1377];

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hashes a string under a namespace seed, eight bytes at a time, with a strong final mix so
/// that the result can be used directly as a hash-table hash.
pub(crate) fn hash_str(seed: u64, s: &str) -> u64 {
    hash_words(seed, s.as_bytes(), |w| w)
}

/// The same as `hash_str(seed, &s.to_ascii_lowercase())` for an ASCII string, without
/// building the lower-case copy: each eight-byte chunk is lower-cased in a register.
#[inline]
pub(crate) fn hash_ascii_lower(seed: u64, s: &str) -> u64 {
    debug_assert!(s.is_ascii());
    hash_words(seed, s.as_bytes(), lower8)
}

/// The hash over `bytes` read as little-endian eight-byte words (the last one zero-padded),
/// each passed through `map` first.
#[inline(always)]
fn hash_words(seed: u64, bytes: &[u8], map: impl Fn(u64) -> u64) -> u64 {
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(MUL);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(chunk);
        h = (h ^ map(u64::from_le_bytes(buf))).wrapping_mul(MUL).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = (h ^ map(load_partial(rest))).wrapping_mul(MUL).rotate_left(29);
    }
    mix(h)
}

/// Up to eight bytes as a little-endian word, zero-padded: what copying them into a zeroed
/// buffer gives, without the call to `memcpy` that copy takes for a length not known in advance
/// (most words end in such a tail, so that call was a large part of hashing one).
#[inline(always)]
pub(crate) fn load_partial(b: &[u8]) -> u64 {
    let n = b.len();
    debug_assert!(n <= 8);
    if n >= 4 {
        // Two loads that overlap when n < 8; the bytes they share are the same in both.
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        u64::from(lo) | u64::from(hi) << (8 * (n - 4))
    } else if n >= 2 {
        let lo = u16::from_le_bytes([b[0], b[1]]);
        let hi = u16::from_le_bytes([b[n - 2], b[n - 1]]);
        u64::from(lo) | u64::from(hi) << (8 * (n - 2))
    } else if n == 1 {
        u64::from(b[0])
    } else {
        0
    }
}

/// Whether `lower` equals `word` lower-cased, for an ASCII `word`; compares eight bytes at a
/// time, as hashing reads them.
#[inline]
pub(crate) fn eq_ascii_lower(lower: &[u8], word: &[u8]) -> bool {
    debug_assert!(word.is_ascii());
    let n = word.len();
    if lower.len() != n {
        return false;
    }
    let mut i = 0;
    while i + 8 <= n {
        if load_partial(&lower[i..i + 8]) != lower8(load_partial(&word[i..i + 8])) {
            return false;
        }
        i += 8;
    }
    load_partial(&lower[i..]) == lower8(load_partial(&word[i..]))
}

/// 0x01 in each of eight bytes.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each of eight bytes.
pub(crate) const HIGH: u64 = 0x80 * ONES;

/// The top bit of each of eight ASCII bytes set when the byte is at least `lo`: adding
/// `0x80 - lo` carries into the top bit exactly then, and never out of the byte.
#[inline(always)]
pub(crate) fn at_least(x: u64, lo: u8) -> u64 {
    x.wrapping_add(u64::from(0x80 - lo) * ONES)
}

/// The top bit of each of eight ASCII bytes set when the byte lies in `lo..=hi` (other bits are
/// left over from the sums; mask with [`HIGH`]).
#[inline(always)]
pub(crate) fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
    at_least(x, lo) & !at_least(x, hi + 1)
}

/// Lower-cases eight ASCII bytes at once: a byte gets 0x20 added exactly when it lies in
/// `A..=Z` (its top-bit flag shifted down to bit 5).
fn lower8(x: u64) -> u64 {
    x | ((in_range(x, b'A', b'Z') & HIGH) >> 2)
}

/// The 64-bit finaliser of MurmurHash3: every input bit affects every output bit.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A hasher for keys that already are well-mixed 64-bit hashes: it passes them through.
#[derive(Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are used; anything else still hashes, just not as cheaply.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(MUL).rotate_left(7);
        }
        self.0 = mix(self.0);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// End marker of linked lists of ids, and "no value" in a [`KeyTable`] slot.
pub(crate) const NONE: u32 = u32::MAX;

/// One slot of a [`KeyTable`]; a slot whose two values are both NONE is free.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub(crate) key: u64,
    pub(crate) a: u32,
    pub(crate) b: u32,
}

const FREE: Slot = Slot { key: 0, a: NONE, b: NONE };

/// An open-addressing (linear probing) hash table from well-mixed 64-bit keys to two `u32`
/// values, with each key and its values in one 16-byte slot so that a lookup usually reads a
/// single cache line.
#[derive(Clone, Debug)]
pub(crate) struct KeyTable {
    slots: Vec<Slot>,
    len: usize,
}

impl KeyTable {
    /// A table that takes `n` keys before it first grows.
    pub(crate) fn with_capacity(n: usize) -> KeyTable {
        KeyTable { slots: vec![FREE; (2 * n).next_power_of_two().max(16)], len: 0 }
    }

    pub(crate) fn get(&self, key: u64) -> Option<&Slot> {
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.a == NONE && s.b == NONE {
                return None;
            }
            if s.key == key {
                return Some(s);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of a key, claimed when the key is new; the caller must then set a value.
    #[inline]
    pub(crate) fn slot(&mut self, key: u64) -> &mut Slot {
        // At most half full: linear probing degrades fast beyond that, most of all for the
        // keys that are absent, which is what most lookups by rules are.
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        loop {
            let s = self.slots[i];
            if s.a == NONE && s.b == NONE {
                self.len += 1;
                self.slots[i].key = key;
                return &mut self.slots[i];
            }
            if s.key == key {
                return &mut self.slots[i];
            }
            i = (i + 1) & mask;
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let bigger = vec![FREE; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.slots.len() - 1;
        for s in old {
            if s.a != NONE || s.b != NONE {
                let mut i = s.key as usize & mask;
                while self.slots[i].a != NONE || self.slots[i].b != NONE {
                    i = (i + 1) & mask;
                }
                self.slots[i] = s;
            }
        }
    }
}

pub(crate) type KeySet = HashSet<u64, BuildHasherDefault<PassThrough>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_table_grows_and_finds_everything() {
        let mut t = KeyTable::with_capacity(1);
        for k in 0..1000u64 {
            // Clustered keys make long probe runs.
            t.slot(k * 64).a = k as u32;
        }
        for k in 0..1000u64 {
            assert_eq!(t.get(k * 64).map(|s| s.a), Some(k as u32));
            assert!(t.get(k * 64 + 1).is_none());
        }
        t.slot(5 * 64).b = 7;
        assert_eq!(t.get(5 * 64).map(|s| (s.a, s.b)), Some((5, 7)));
    }

    #[test]
    fn hashes_depend_on_every_byte_and_the_seed() {
        let a = hash_str(SEED_WORD, "senjata");
        assert_eq!(a, hash_str(SEED_WORD, "senjata"));
        assert_ne!(a, hash_str(SEED_WORD, "senjatb"));
        assert_ne!(a, hash_str(SEED_PREFIX, "senjata"));
        assert_ne!(hash_str(SEED_WORD, ""), hash_str(SEED_WORD, "\0"));
        assert_ne!(hash_str(SEED_WORD, "abcdefgh"), hash_str(SEED_WORD, "abcdefgh\0"));
    }

    #[test]
    fn partial_loads_zero_pad() {
        let bytes: Vec<u8> = (1..=8).collect();
        for n in 0..=8 {
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(load_partial(&bytes[..n]), u64::from_le_bytes(buf), "{n}");
        }
    }

    #[test]
    fn eq_ascii_lower_agrees_with_lower_casing() {
        let words =
            ["", "a", "A", "b", "senjata", "SenjaTA", "senjatb", "persenjataan", "PERSENJATAAN", "persenjataam"];
        for lower in words.iter().map(|w| w.to_ascii_lowercase()).chain(["Aa".to_owned()]) {
            for w in words {
                assert_eq!(
                    eq_ascii_lower(lower.as_bytes(), w.as_bytes()),
                    lower == w.to_ascii_lowercase(),
                    "{lower:?} {w:?}"
                );
            }
        }
        for b in 0u8..128 {
            for len in [1, 7, 8, 9, 17] {
                let w = char::from(b).to_string().repeat(len);
                let lower = w.to_ascii_lowercase();
                assert!(eq_ascii_lower(lower.as_bytes(), w.as_bytes()), "{w:?}");
                let mut other = lower.clone().into_bytes();
                other[len - 1] ^= 1;
                assert!(!eq_ascii_lower(&other, w.as_bytes()), "{w:?}");
            }
        }
    }

    #[test]
    fn lower_case_hash_equals_hash_of_lower_case() {
        let all: String = (0u8..128).map(char::from).collect();
        for s in ["", "a", "Senjata", "KOREA", "AZaz@[`{", "Persenjataan2024", "x_Y-z.W", &all] {
            assert_eq!(hash_ascii_lower(SEED_WORD, s), hash_str(SEED_WORD, &s.to_ascii_lowercase()), "{s:?}");
        }
        for b in 0u8..128 {
            let s = char::from(b).to_string().repeat(9);
            assert_eq!(hash_ascii_lower(SEED_PREFIX, &s), hash_str(SEED_PREFIX, &s.to_ascii_lowercase()), "{b}");
        }
    }
}
